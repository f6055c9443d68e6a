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
from serviceloop.accounts.models import User
from serviceloop.cases.choices import EventKind
from serviceloop.cases.models import Case, CaseEvent
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
_LOOKUP_CHUNK = 2000  # ids per IN (...) list, well below every backend's parameter limit
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


def _events(query: EventLogQuery) -> Any:
    events = CaseEvent.objects.all()
    if query.kind == "stage":
        events = events.filter(kind__in=STAGE_KINDS)
    if query.since is not None:
        events = events.filter(timestamp__gte=query.since)
    if query.until is not None:
        events = events.filter(timestamp__lt=query.until)
    return events


def _fetch(queryset: Any) -> list[tuple[Any, ...]]:
    """Rows straight from the driver: Django's per-field converters cost more than the query
    itself at millions of rows."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _lookup(model: Any, ids: set[int], *fields: str) -> dict[int, tuple[Any, ...]]:
    found: dict[int, tuple[Any, ...]] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), _LOOKUP_CHUNK):
        chunk = ordered[start : start + _LOOKUP_CHUNK]
        for pk, *values in _fetch(model.objects.filter(pk__in=chunk).values_list("pk", *fields)):
            found[pk] = tuple(values)
    return found


def event_count(query: EventLogQuery) -> int:
    return int(_events(query).count())


def _utc(value: datetime | str) -> datetime:
    """The driver's timestamp as an aware UTC datetime: psycopg returns aware datetimes, Django's
    SQLite connection naive ones in UTC (or the stored text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def event_batches(
    query: EventLogQuery, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> Iterator[list[EventRow]]:
    """Lists of at most ``batch_size`` rows, in case / timestamp / id order, lazily.

    Per batch: one index range scan of the event table from the cursor, then the batch's cases and
    actors by primary key. Joining in the first query instead lets PostgreSQL merge-join the whole
    case table from its start on every batch, which grows with the log.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    events = _events(query).order_by(*_ORDER)
    after: tuple[int, datetime, int] | None = None
    while True:
        page = events.filter(keyset_after(_ORDER, after)) if after else events
        raw = _fetch(
            page.values_list(
                "case_id", "id", "activity", "timestamp", "actor_id", "lifecycle", "kind"
            )[:batch_size]
        )
        if not raw:
            return
        cases = _lookup(
            Case,
            {r[0] for r in raw},
            "number",
            "channel",
            "priority",
            "category__code",
            "team__code",
        )
        actors = _lookup(User, {r[4] for r in raw if r[4] is not None}, "username")
        rows: list[EventRow] = []
        for case_id, _, activity, timestamp, actor_id, lifecycle, kind in raw:
            number, channel, priority, category, team = cases[case_id]
            resource = actors[actor_id][0] if actor_id is not None else None
            rows.append(
                (
                    number,
                    activity,
                    _utc(timestamp),
                    resource,
                    lifecycle,
                    kind,
                    channel,
                    priority,
                    category,
                    team,
                )
            )
        last = raw[-1]
        after = (last[0], rows[-1][2], last[1])
        yield rows
        if len(raw) < batch_size:
            return
