"""A clock's due and warning times through pauses, resumes and new targets (a priority changed
mid-flight), against the minute-by-minute oracle."""

from __future__ import annotations

from datetime import UTC, date, datetime

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serviceloop.sla.business_time import BusinessCalendar, Clock
from serviceloop.sla.clockwork import ClockState, warning_seconds
from tests.sla.oracle import OracleCalendar, oracle_threshold
from tests.sla.test_business_time import calendars, weekly_minutes


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), spec=calendars())
def test_due_through_pauses_and_new_targets_matches_minute_walk(data: st.DataObject, spec) -> None:
    cal, oracle, anchor = spec
    clock = Clock(cal)
    start = int(anchor.timestamp()) + 60 * data.draw(st.integers(0, 5 * 1440), label="start")
    week = max(1, weekly_minutes(oracle))
    target = data.draw(st.integers(0, week * 2), label="target")
    gaps = data.draw(st.lists(st.integers(0, 3 * 1440), max_size=6), label="gaps")
    ops: list[tuple[int, str, int]] = []
    state = ClockState.start(at=start, target=target * 60)
    at, running = start, True
    for gap in gaps:
        at += gap * 60
        op = data.draw(st.sampled_from(["pause" if running else "resume", "target"]))
        if op == "target":
            value = data.draw(st.integers(0, week * 2))
            state = state.retarget(clock, at, value * 60)
        else:
            value = 0
            state = state.pause(clock, at) if running else state.resume(clock, at)
            running = not running
        ops.append((at, op, value))
    # The first moment the clock reaches a target in force, over the whole history. A crossing
    # up to the last change was settled by that change (the service records it then); a later
    # one is the stored due time, exactly.
    first = oracle_threshold(oracle, start, ops, target)
    due = state.due(clock)
    if first is None:
        assert due is None
    elif first > state.since:
        assert due == first
    else:
        assert due is None or due >= state.since


def test_warning_share_rounds_up_to_the_minute_and_is_checked() -> None:
    assert warning_seconds(60 * 60, 0.75) == 45 * 60
    assert warning_seconds(10 * 60, 0.75) == 8 * 60
    assert warning_seconds(0, 0.75) == 0
    with pytest.raises(ValueError, match="share"):
        warning_seconds(600, 0)


def test_raising_priority_past_the_used_time_is_due_at_the_change() -> None:
    cal = BusinessCalendar.build(time_zone="UTC", weekly={d: [(540, 1020)] for d in range(7)})
    clock = Clock(cal)
    nine = int(datetime(2026, 5, 4, 9, tzinfo=UTC).timestamp())
    state = ClockState.start(at=nine, target=8 * 3600)
    later = state.retarget(clock, nine + 3 * 3600, 2 * 3600)
    assert later.used == 3 * 3600
    assert later.due(clock) == nine + 3 * 3600


def test_china_make_up_days_from_holidays_agree_with_chinesecalendar() -> None:
    """``holidays`` (the runtime choice) and ``chinesecalendar`` (an independent source, test-only)
    give the same working days, 调休 make-up Sundays included, over 2024-2026."""
    chinese_calendar = pytest.importorskip("chinese_calendar")
    china = holidays.China(years=range(2024, 2027))
    day_hours = [(540, 720), (810, 1080)]
    cal = BusinessCalendar.build(
        time_zone="Asia/Shanghai",
        weekly={d: day_hours for d in range(5)},
        closed=set(china),
        working=set(china.weekend_workdays),
    )
    assert date(2025, 1, 26) in cal.working  # a Sunday worked before the Spring Festival
    oracle = OracleCalendar("Asia/Shanghai", {0: day_hours}, workday=chinese_calendar.is_workday)
    clock = Clock(cal)
    for month in range(1, 13):
        for year in (2024, 2025, 2026):
            start = int(datetime(year, month, 1, tzinfo=UTC).timestamp())
            for hours in (1, 9, 40):
                assert clock.add_many([start], [hours * 3600])[0] == oracle_threshold(
                    oracle, start, [], hours * 60
                ), (year, month, hours)
