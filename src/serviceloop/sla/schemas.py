from __future__ import annotations

from datetime import date, datetime

from ninja import Schema

__all__ = [
    "ChartPointOut",
    "ClockOut",
    "ControlChartsOut",
    "MarkedOut",
    "NotificationOut",
    "QualityOut",
    "UnreadOut",
]


class ClockOut(Schema):
    metric: str
    cycle: int
    state: str  # running / paused / stopped
    policy: str | None
    calendar: str | None
    target_minutes: int
    used_minutes: float  # working minutes used so far (as of the request)
    due_at: datetime | None
    warn_at: datetime | None
    warned_at: datetime | None
    breached_at: datetime | None
    stopped_at: datetime | None


class QualityOut(Schema):
    process: str
    stage: str | None
    indicator: str
    target: float
    at_least: bool  # first-contact resolution: at least the target; rates: at most
    cases: int  # the cases the share is taken of
    hits: int  # reopened / reworked / resolved at first contact
    value: float | None  # hits / cases; None without cases
    met: bool | None


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    case: str | None  # the case number
    created_at: datetime
    read_at: datetime | None


class UnreadOut(Schema):
    unread: int


class MarkedOut(Schema):
    marked: int


class ChartPointOut(Schema):
    day: date | None
    value: float
    center: float
    lcl: float
    ucl: float
    rules: list[int]  # Western Electric rules broken (1-4); empty when in control


class ControlChartsOut(Schema):
    breach_rate: list[ChartPointOut]  # p chart of the daily share of finished clocks breached
    resolution_minutes: list[ChartPointOut]  # XmR: daily mean working minutes to resolve
    moving_ranges: list[ChartPointOut]
