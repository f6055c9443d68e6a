"""Turn a stored business calendar into business-time arithmetic (``business_time.Clock``).

A compiled calendar is cached per process under the calendar's ``updated_at`` (bumped by every
change of the calendar or one of its dates), so a service call costs no more than reading the
calendar row. Library holidays are computed for ``HOLIDAY_YEARS``; China's make-up working days
exist once the State Council has published them (``holidays`` ships them up to the current year),
later ones an administrator adds as working dates.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from threading import Lock

from serviceloop.sla import business_time as bt
from serviceloop.sla.choices import DateKind
from serviceloop.sla.models import WEEKDAY_FIELDS, BusinessCalendar

__all__ = ["ALWAYS", "HOLIDAY_YEARS", "calendar_spec", "clock_for", "stage_due"]

HOLIDAY_YEARS = range(2000, 2041)

# Without any calendar a target counts elapsed time: every minute of every day, in UTC.
ALWAYS = bt.Clock(
    bt.BusinessCalendar.build(time_zone="UTC", weekly={d: [(0, 1440)] for d in range(7)})
)

_cache: dict[int, tuple[object, bt.Clock]] = {}
_lock = Lock()


def calendar_spec(calendar: BusinessCalendar) -> bt.BusinessCalendar:
    """The pure calendar: weekday hours, the country's holidays and make-up days, admin dates
    (which win over the library's)."""
    closed: set[date] = set()
    working: set[date] = set()
    if calendar.country:
        import holidays

        library = holidays.country_holidays(
            calendar.country, subdiv=calendar.subdivision or None, years=HOLIDAY_YEARS
        )
        closed.update(library)
        working.update(getattr(library, "weekend_workdays", ()))
    for day, kind in calendar.dates.values_list("date", "kind"):
        (closed if kind == DateKind.CLOSED else working).add(day)
        (working if kind == DateKind.CLOSED else closed).discard(day)
    return bt.BusinessCalendar(
        time_zone=calendar.time_zone,
        weekly=tuple(bt.parse_hours(getattr(calendar, name)) for name in WEEKDAY_FIELDS),
        closed=frozenset(closed - working),
        working=frozenset(working),
        makeup_hours=bt.parse_hours(calendar.makeup_hours) if calendar.makeup_hours else None,
    )


def clock_for(calendar: BusinessCalendar | None) -> bt.Clock:
    """Business-time arithmetic on ``calendar`` (``ALWAYS`` for None)."""
    if calendar is None:
        return ALWAYS
    stamp = calendar.updated_at
    cached = _cache.get(calendar.pk)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    clock = bt.Clock(calendar_spec(calendar))
    with _lock:
        _cache[calendar.pk] = (stamp, clock)
    return clock


def stage_due(*, stage: object, entered_at: datetime) -> datetime | None:
    """When a case entering ``stage`` at ``entered_at`` is due by the stage's time standard,
    counted in working time of the stage team's calendar (else the organisation's; elapsed time
    when there is none)."""
    from serviceloop.sla.selectors import calendar_for

    minutes = getattr(stage, "time_standard_minutes", None)
    if minutes is None:
        return None
    calendar = calendar_for(policy=None, team_id=getattr(stage, "responsible_team_id", None))
    if calendar is None:
        return entered_at + timedelta(minutes=minutes)  # elapsed time, to the microsecond
    return clock_for(calendar).add(entered_at, minutes * 60)
