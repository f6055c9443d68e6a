"""Business-time arithmetic against the minute-by-minute oracle (``tests/sla/oracle.py``).

Property-based: random calendars (several intervals a day, whole-day hours, hours across the DST
change), closed and make-up dates, time zones with DST (New York, Berlin, Lord Howe's half-hour
shift, Santiago's midnight change), starts outside working hours and targets beyond a week.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serviceloop.sla.business_time import BusinessCalendar, BusinessTimeError, Clock, parse_hours
from tests.sla.oracle import OracleCalendar, oracle_between, oracle_threshold

ZONES = [
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Asia/Shanghai",
    "Australia/Lord_Howe",
    "America/Santiago",
]
# Windows around DST changes of the zones above, and ordinary weeks.
ANCHORS = [
    datetime(2026, 3, 5, tzinfo=UTC),  # New York springs forward on 8 March
    datetime(2026, 3, 26, tzinfo=UTC),  # Berlin on 29 March
    datetime(2026, 4, 2, tzinfo=UTC),  # Lord Howe (back 30 min) and Santiago on 5 April
    datetime(2026, 9, 3, tzinfo=UTC),  # Santiago forward on 6 September
    datetime(2026, 10, 22, tzinfo=UTC),  # Berlin back on 25 October
    datetime(2026, 10, 29, tzinfo=UTC),  # New York back on 1 November
    datetime(2026, 6, 10, tzinfo=UTC),
]


@st.composite
def day_hours(draw: st.DrawFn) -> list[tuple[int, int]]:
    """0-3 intervals of whole minutes, sorted, with gaps; sometimes the whole day."""
    if draw(st.integers(0, 9)) == 0:
        return [(0, 1440)]
    cuts = sorted(draw(st.sets(st.integers(0, 1440), min_size=0, max_size=6)))
    pairs = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
    return [(s, e) for s, e in pairs if s < e]


@st.composite
def calendars(draw: st.DrawFn) -> tuple[BusinessCalendar, OracleCalendar, datetime]:
    zone = draw(st.sampled_from(ZONES))
    weekly = {d: draw(day_hours()) for d in range(7)}
    # Gaps between intervals of one day (a touching pair is one interval)
    weekly = {d: [(s, e) for s, e in h] for d, h in weekly.items()}
    if not any(weekly.values()):
        weekly[draw(st.integers(0, 6))] = [(540, 1020)]
    anchor = draw(st.sampled_from(ANCHORS))
    near = st.integers(-3, 40).map(lambda n: anchor.date() + timedelta(days=n))
    closed = draw(st.sets(near, max_size=6))
    working = draw(st.sets(near, max_size=6)) - closed
    makeup = draw(st.one_of(st.none(), day_hours().filter(bool)))
    cal = BusinessCalendar.build(
        time_zone=zone, weekly=weekly, closed=closed, working=working, makeup_hours=makeup
    )
    oracle = OracleCalendar(zone, weekly, set(closed), set(working), makeup)
    return cal, oracle, anchor


def weekly_minutes(oracle: OracleCalendar) -> int:
    return sum(e - s for h in oracle.weekly.values() for s, e in h)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), spec=calendars())
def test_add_matches_minute_walk(data: st.DataObject, spec) -> None:
    cal, oracle, anchor = spec
    start = int(anchor.timestamp()) + 60 * data.draw(st.integers(0, 14 * 1440), label="start")
    # Up to about 2.5 weeks of this calendar's working time: targets longer than a week.
    minutes = data.draw(st.integers(0, max(1, weekly_minutes(oracle) * 5 // 2)), label="minutes")
    expected = start if minutes == 0 else oracle_threshold(oracle, start, [], minutes)
    got = Clock(cal).add_many(np.array([start]), np.array([minutes * 60]))[0]
    assert got == expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), spec=calendars())
def test_between_matches_minute_walk(data: st.DataObject, spec) -> None:
    cal, oracle, anchor = spec
    start = int(anchor.timestamp()) + 60 * data.draw(st.integers(0, 20 * 1440))
    end = start + 60 * data.draw(st.integers(0, 20 * 1440))
    got = Clock(cal).between_many(np.array([start]), np.array([end]))[0]
    assert got == oracle_between(oracle, start, end)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), spec=calendars())
def test_vectorised_equals_one_by_one(data: st.DataObject, spec) -> None:
    cal, _, anchor = spec
    n = data.draw(st.integers(1, 30))
    starts = np.array(
        [int(anchor.timestamp()) + data.draw(st.integers(0, 30 * 86400)) for _ in range(n)]
    )
    seconds = np.array([data.draw(st.integers(0, 40 * 3600)) for _ in range(n)])
    clock = Clock(cal)
    many = clock.add_many(starts, seconds)
    fresh = Clock(cal)  # compiled for each row's own span: the same answer
    assert [int(fresh.add_many(starts[i : i + 1], seconds[i : i + 1])[0]) for i in range(n)] == [
        int(x) for x in many
    ]


NY = ZoneInfo("America/New_York")
OFFICE = BusinessCalendar.build(
    time_zone="America/New_York", weekly={d: [(540, 1020)] for d in range(5)}
)


def test_friday_afternoon_plus_two_hours_is_monday_morning() -> None:
    start = datetime(2026, 3, 6, 16, 0, tzinfo=NY)  # Friday; Monday is the first EDT day
    assert Clock(OFFICE).add(start, 2 * 3600) == datetime(2026, 3, 9, 10, 0, tzinfo=NY)


def test_target_using_up_the_day_ends_at_closing_time() -> None:
    start = datetime(2026, 3, 9, 9, 0, tzinfo=NY)
    assert Clock(OFFICE).add(start, 8 * 3600) == datetime(2026, 3, 9, 17, 0, tzinfo=NY)


def test_case_opened_at_night_starts_counting_at_opening_time() -> None:
    start = datetime(2026, 3, 10, 23, 30, tzinfo=NY)
    clock = Clock(OFFICE)
    assert clock.add(start, 30 * 60) == datetime(2026, 3, 11, 9, 30, tzinfo=NY)
    assert clock.next_working(start) == datetime(2026, 3, 11, 9, 0, tzinfo=NY)
    assert not clock.is_working(start)


def test_spring_forward_loses_the_skipped_working_hour() -> None:
    night = BusinessCalendar.build(time_zone="America/New_York", weekly={6: [(60, 240)]})
    sunday = date(2026, 3, 8)
    start = datetime.combine(sunday, datetime.min.time(), NY)
    end = start + timedelta(days=1)
    assert Clock(night).between(start, end) == 2 * 3600  # 01:00-04:00 without 02:00-03:00


def test_fall_back_counts_the_repeated_working_hour_twice() -> None:
    night = BusinessCalendar.build(time_zone="America/New_York", weekly={6: [(60, 180)]})
    start = datetime(2026, 11, 1, 0, 0, tzinfo=NY)
    assert Clock(night).between(start, start + timedelta(days=1)) == 3 * 3600


def test_two_week_target_skips_weekends_and_closed_dates() -> None:
    cal = BusinessCalendar.build(
        time_zone="Europe/Berlin",
        weekly={d: [(540, 1020)] for d in range(5)},
        closed={date(2026, 4, 3), date(2026, 4, 6)},  # Good Friday, Easter Monday
    )
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 3, 27, 12, 0, tzinfo=berlin)  # Friday before the DST change
    due = Clock(cal).add(start, 80 * 3600)  # ten working days
    assert due == datetime(2026, 4, 14, 12, 0, tzinfo=berlin)


def test_parse_hours_reads_ranges_and_refuses_bad_ones() -> None:
    assert parse_hours("09:00-12:00, 13:30-24:00") == ((540, 720), (810, 1440))
    for bad in ("9-12", "09:00-08:00", "09:00-12:00,11:00-13:00", "25:00-26:00", "09:60-10:00"):
        with pytest.raises(BusinessTimeError):
            parse_hours(bad)


def test_calendar_refuses_unknown_zone_and_no_hours() -> None:
    with pytest.raises(BusinessTimeError, match="time zone"):
        BusinessCalendar.build(time_zone="Mars/Olympus", weekly={0: [(0, 60)]})
    with pytest.raises(BusinessTimeError, match="at least one weekday"):
        BusinessCalendar.build(time_zone="UTC", weekly={})
    with pytest.raises(BusinessTimeError, match="aware"):
        Clock(OFFICE).add(datetime(2026, 1, 1), 60)
