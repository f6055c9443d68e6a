"""Working hours and arrivals of the demo: work pauses at night and on weekends, arrivals peak in
business hours, and the same seed gives the same arrivals."""

from __future__ import annotations

import random
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from serviceloop.demo.clock import WEEKEND_FACTOR, Shift, arrivals_for_day, poisson

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = Shift(SHANGHAI)  # 09:00-18:00, Monday to Friday


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)  # 2026-03-02 is a Monday


def test_work_within_the_day_ends_the_same_day():
    assert OFFICE.add(local(2, 10), 3) == local(2, 13)


def test_work_started_late_on_friday_ends_on_monday_morning():
    assert OFFICE.add(local(6, 17), 3) == local(9, 11)


def test_work_arriving_at_night_or_on_a_weekend_starts_at_the_next_opening():
    assert OFFICE.next_open(local(3, 22)) == local(4, 9)
    assert OFFICE.next_open(local(7, 12)) == local(9, 9)  # Saturday -> Monday
    assert OFFICE.add(local(8, 15), 1.5) == local(9, 10, 30)


def test_a_seven_day_shift_works_on_weekends():
    frontline = Shift(SHANGHAI, time(8, 0), time(20, 0), frozenset(range(7)))
    assert frontline.add(local(7, 19), 2) == local(8, 9)


def test_a_shift_without_working_days_is_refused():
    with pytest.raises(ValueError, match="no working days"):
        Shift(SHANGHAI, days=frozenset()).next_open(local(2, 10))


def test_poisson_draws_have_the_requested_mean():
    rng = random.Random(5)
    draws = [poisson(rng, 3.0) for _ in range(4000)]
    assert abs(sum(draws) / len(draws) - 3.0) < 0.15
    assert poisson(rng, 0.0) == 0


def test_arrivals_peak_in_business_hours_and_drop_on_weekends():
    rng = random.Random(1)
    weekday = [
        a for _ in range(30) for a in arrivals_for_day(rng, day_start=local(4, 0), per_weekday=40)
    ]
    sunday = [
        a for _ in range(30) for a in arrivals_for_day(rng, day_start=local(8, 0), per_weekday=40)
    ]
    assert abs(len(weekday) / 30 - 40) < 4
    assert len(sunday) / len(weekday) == pytest.approx(WEEKEND_FACTOR, abs=0.06)
    office_hours = sum(1 for a in weekday if 9 <= a.hour < 18)
    night = sum(1 for a in weekday if a.hour < 6)
    assert office_hours > 0.7 * len(weekday)
    assert night < 0.02 * len(weekday)
    assert all(a.date() == local(4, 0).date() for a in weekday)


def test_arrivals_are_sorted_and_repeat_for_a_seed():
    first = arrivals_for_day(random.Random(9), day_start=local(5, 0), per_weekday=25)
    again = arrivals_for_day(random.Random(9), day_start=local(5, 0), per_weekday=25)
    assert first == again == sorted(first)
