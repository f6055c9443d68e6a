"""An independent, slow oracle for business time: walk minute by minute in UTC, look at the wall
clock in the calendar's zone and ask whether that minute is a working one.

It shares nothing with ``serviceloop.sla.business_time`` but the rules as written in its docstring:
closed dates have no hours, working dates on a weekday without hours take the make-up hours, every
other date its weekday's hours.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

MINUTE = 60


@dataclass
class OracleCalendar:
    time_zone: str
    weekly: Mapping[int, Sequence[tuple[int, int]]]
    closed: set[date] = field(default_factory=set)
    working: set[date] = field(default_factory=set)
    makeup: Sequence[tuple[int, int]] | None = None
    # Overrides the weekday/closed/working rules with a day -> is-working-day function when set
    # (e.g. chinese_calendar.is_workday), keeping ``weekly[0]`` as the hours of every working day.
    workday: Callable[[date], bool] | None = None

    def __post_init__(self) -> None:
        self.tz = ZoneInfo(self.time_zone)

    def hours(self, day: date) -> Sequence[tuple[int, int]]:
        if self.workday is not None:
            return self.weekly[0] if self.workday(day) else ()
        if day in self.closed:
            return ()
        own = self.weekly.get(day.weekday(), ())
        if day in self.working and not own:
            if self.makeup is not None:
                return self.makeup
            for weekday in range(7):
                if self.weekly.get(weekday):
                    return self.weekly[weekday]
        return own

    def minute_works(self, second: int) -> bool:
        local = datetime.fromtimestamp(second, self.tz)
        wall = local.hour * 60 + local.minute
        return any(s <= wall < e for s, e in self.hours(local.date()))


def oracle_between(cal: OracleCalendar, start: int, end: int) -> int:
    """Working seconds in [start, end); both on whole minutes."""
    assert start % MINUTE == 0 and end % MINUTE == 0
    return sum(MINUTE for u in range(start, end, MINUTE) if cal.minute_works(u))


def oracle_threshold(
    cal: OracleCalendar,
    start: int,
    ops: Sequence[tuple[int, str, int]],
    target_minutes: int,
    *,
    limit_minutes: int = 400_000,
) -> int | None:
    """When a clock started at ``start`` reaches its target, walking minute by minute.

    ``ops`` are (time, op, value) on whole minutes, sorted: ("pause", _), ("resume", _),
    ("target", minutes). Reached means: counted working minutes (while running) >= the target in
    force; checked after the operations of each minute and after each counted minute. None when
    the walk ends (``limit_minutes``) with the clock paused and unreached.
    """
    count, target, running = 0, target_minutes, True
    pending = list(ops)
    u = start
    for _ in range(limit_minutes):
        while pending and pending[0][0] == u:
            _, op, value = pending.pop(0)
            if op == "pause":
                running = False
            elif op == "resume":
                running = True
            else:
                target = value
        if count >= target:
            return u
        if running and cal.minute_works(u):
            count += 1
            if count >= target:
                return u + MINUTE
        u += MINUTE
        if not running and not pending:
            return None
    raise AssertionError("oracle walked too far")
