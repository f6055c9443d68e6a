"""The event log as flat rows, read in keyset batches so memory stays flat for millions of events.

Rows come ordered by case, timestamp, id: every writer can stream one trace after another. Each batch
is one indexed query of at most ``batch_size`` rows starting after the previous batch's last row, so
no cursor stays open between batches (a slow HTTP client never holds a database snapshot).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from django.db import connection

from serviceloop.accounts.choices import Role
from serviceloop.cases.choices import EventKind
from serviceloop.cases.models import CaseEvent
from serviceloop.core.pagination import keyset_after

__all__ = [
    "COLUMNS",
    "DEFAULT_BATCH_SIZE",
    "EventLogQuery",
    "EventRow",
    "can_export_event_log",
    "event_batches",
    "event_count",
]

# Canonical columns shared with serviceloop.analytics (case_id, activity, timestamp, resource) plus
# the event's lifecycle and kind and the case attributes analyses segment by.
COLUMNS = (
    "case_id",
    "activity",
    "timestamp",
    "resource",
    "lifecycle",
    "kind",
    "channel",
    "priority",
    "category",
    "team",
)
CASE_ATTRIBUTES = ("channel", "priority", "category", "team")
DEFAULT_BATCH_SIZE = 5000
# The stage-level view: entering a stage; entering an end stage is logged as ``closed``.
STAGE_KINDS = (EventKind.STAGE_ENTERED, EventKind.CLOSED)
_ORDER = ("case_id", "timestamp", "id")

# One row in COLUMNS order; ``timestamp`` is an aware UTC datetime, absent values are None.
EventRow = tuple[str, str, datetime, str | None, str, str, str, str, str | None, str | None]


@dataclass(frozen=True)
class EventLogQuery:
    """Which events to export: ``since <= timestamp < until``; ``kind="stage"`` keeps only stage
    entries (the stage-level process view), ``"all"`` keeps every event."""

    since: datetime | None = None
    until: datetime | None = None
    kind: Literal["stage", "all"] = "all"

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware")
        if self.since and self.until and self.since >= self.until:
            raise ValueError("since must be before until")


def can_export_event_log(user: Any) -> bool:
    """The whole log spans every team and customer: managers and admins only."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and user.role in {Role.ADMIN, Role.MANAGER}
    )


def _base_queryset(query: EventLogQuery) -> Any:
    events = CaseEvent.objects.all()
    if query.kind == "stage":
        events = events.filter(kind__in=STAGE_KINDS)
    if query.since is not None:
        events = events.filter(timestamp__gte=query.since)
    if query.until is not None:
        events = events.filter(timestamp__lt=query.until)
    return events.order_by(*_ORDER).values_list(
        "case_id",
        "id",
        "case__number",
        "activity",
        "timestamp",
        "actor__username",
        "lifecycle",
        "kind",
        "case__channel",
        "case__priority",
        "case__category__code",
        "case__team__code",
    )


def event_count(query: EventLogQuery) -> int:
    return int(_base_queryset(query).count())


def _utc(value: datetime | str) -> datetime:
    """The driver's timestamp as an aware UTC datetime.

    Batches are read with the raw cursor: Django's per-field converters cost more than the query
    itself at millions of rows. psycopg returns aware datetimes; Django's SQLite connection returns
    naive ones in UTC (or the stored text).
    """
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def event_batches(
    query: EventLogQuery, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> Iterator[list[EventRow]]:
    """Lists of at most ``batch_size`` rows, in case / timestamp / id order, lazily."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    base = _base_queryset(query)
    after: tuple[int, datetime, int] | None = None
    while True:
        page = base.filter(keyset_after(_ORDER, after)) if after else base
        sql, params = page[:batch_size].query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            raw = cursor.fetchall()
        if not raw:
            return
        rows: list[EventRow] = [(r[2], r[3], _utc(r[4]), *r[5:]) for r in raw]
        last = raw[-1]
        after = (last[0], rows[-1][2], last[1])
        yield rows
        if len(raw) < batch_size:
            return
