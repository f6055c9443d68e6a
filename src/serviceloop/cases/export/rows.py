"""The event log as column batches, a range of cases at a time, so memory stays flat for millions
of events.

Each batch is one Polars frame holding every row of the cases of one id range, ordered by case,
time and id: every writer can stream one trace after another. A batch is read by its own
queries (the range's cases, then its events in columns, :mod:`serviceloop.cases.eventlog`), so no
cursor stays open between batches (a slow HTTP client never holds a database snapshot).

Two kinds of log, with the columns of :mod:`serviceloop.cases.eventlog`:

``all``    one row per event (``EVENT_COLUMNS``); ``resource`` is who acted, ``team`` the team that
           held the case once the event had happened.
``stage``  one row per stage visit (``STAGE_COLUMNS``): ``start_timestamp`` when the case entered
           the stage, ``timestamp`` when it left (``lifecycle`` "complete"), or, for a visit still
           under way, ``timestamp`` = ``start_timestamp`` and ``lifecycle`` "start";
           ``resource`` and ``team`` held the case when the visit ended.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import polars as pl
from django.db.models import Max, Min

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import User
from serviceloop.cases.eventlog import (
    ENTRY_KINDS,
    EVENT_COLUMNS,
    HOLDER_KINDS,
    STAGE_COLUMNS,
    fetch_frame,
    read_events,
    read_stages,
    stage_visits,
    with_holders,
)
from serviceloop.cases.models import Case

__all__ = [
    "CASE_ATTRIBUTES",
    "COLUMNS",
    "DEFAULT_BATCH_CASES",
    "EventBatches",
    "EventLogQuery",
    "can_export_event_log",
    "event_batches",
    "event_count",
]

COLUMNS = EVENT_COLUMNS
CASE_ATTRIBUTES = ("channel", "priority", "category", "team")
DEFAULT_BATCH_CASES = 10_000  # about 320k events of a realistic history: a bounded batch
_CASE_SCHEMA = {
    "case": pl.Int64,
    "case_id": pl.String,
    "channel": pl.String,
    "priority": pl.String,
    "category": pl.String,
    "version": pl.Int64,
}


@dataclass(frozen=True)
class EventLogQuery:
    """Which rows to export: ``since <= timestamp < until`` (for the stage log: the time the visit
    started); ``kind="stage"`` is the stage log (one row per stage visit), ``"all"`` every event;
    ``process`` keeps the cases of one process (any version)."""

    since: datetime | None = None
    until: datetime | None = None
    kind: Literal["stage", "all"] = "all"
    process: str | None = None  # a process code: only the cases of its versions

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware")
        if self.since and self.until and self.since >= self.until:
            raise ValueError("since must be before until")

    @property
    def columns(self) -> tuple[str, ...]:
        return STAGE_COLUMNS if self.kind == "stage" else EVENT_COLUMNS

    def case_lookups(self) -> dict[str, Any]:
        return {} if self.process is None else {"process_version__process__code": self.process}


def can_export_event_log(user: Any) -> bool:
    """The whole log spans every team and customer: managers and admins only."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and user.role in {Role.ADMIN, Role.MANAGER}
    )


def event_count(query: EventLogQuery) -> int:
    """How many cases the export goes through (what its progress counts)."""
    return int(Case.objects.filter(**query.case_lookups()).count())


@dataclass
class EventBatches:
    """The batches of one export: iterate for frames with ``query.columns``; ``cases_done``
    counts the cases read so far (for a progress bar)."""

    query: EventLogQuery
    batch_cases: int = DEFAULT_BATCH_CASES
    cases_done: int = 0
    _started: bool = field(default=False, repr=False)

    @property
    def columns(self) -> tuple[str, ...]:
        return self.query.columns

    def __iter__(self) -> Iterator[pl.DataFrame]:
        if self._started:
            raise RuntimeError("an export's batches can be read once")
        self._started = True
        return self._batches()

    def _batches(self) -> Iterator[pl.DataFrame]:
        bounds = Case.objects.aggregate(low=Min("id"), high=Max("id"))
        if bounds["low"] is None:
            return
        users = fetch_frame(
            User.objects.order_by().values_list("id", "username"),
            {"actor": pl.Int64, "username": pl.String},
        )
        stages = read_stages()
        for low in range(bounds["low"], bounds["high"] + 1, self.batch_cases):
            high = low + self.batch_cases
            cases = fetch_frame(
                Case.objects.filter(id__gte=low, id__lt=high, **self.query.case_lookups())
                .order_by()
                .values_list(
                    "id", "number", "channel", "priority", "category__code", "process_version_id"
                ),
                _CASE_SCHEMA,
            )
            self.cases_done += cases.height
            if cases.height == 0:
                continue
            frame = _read_range(self.query, (low, high), cases, users, stages)
            if frame.height:
                yield frame


def _read_range(
    query: EventLogQuery,
    case_range: tuple[int, int],
    cases: pl.DataFrame,
    users: pl.DataFrame,
    stages: pl.DataFrame,
) -> pl.DataFrame:
    versions = cases.select("case", "version")
    if query.kind == "stage":
        events = read_events(
            kinds={*ENTRY_KINDS, *HOLDER_KINDS}, case_range=case_range, holders=True
        )
        visits = stage_visits(with_holders(events, stages, versions))
        rows = visits.select(
            "case",
            "activity",
            pl.col("start").alias("start_timestamp"),
            pl.coalesce("end", "start").alias("timestamp"),
            pl.col("assignee").alias("resource"),
            "lifecycle",
            "kind",
            "team",
        )
        rows = _window(rows, query, "start_timestamp")
    else:
        events = read_events(
            case_range=case_range,
            since=query.since,
            until=query.until,
            window_exempt=HOLDER_KINDS,
            holders=True,
        )
        rows = _window(with_holders(events, stages, versions), query, "timestamp")
        rows = rows.join(users, on="actor", how="left", maintain_order="left").select(
            "case",
            "activity",
            "timestamp",
            pl.col("username").alias("resource"),
            "lifecycle",
            "kind",
            "team",
        )
    return rows.join(cases, on="case", how="inner", maintain_order="left").select(query.columns)


def _window(frame: pl.DataFrame, query: EventLogQuery, column: str) -> pl.DataFrame:
    if query.since is not None:
        frame = frame.filter(pl.col(column) >= query.since)
    if query.until is not None:
        frame = frame.filter(pl.col(column) < query.until)
    return frame


def event_batches(query: EventLogQuery, *, batch_cases: int = DEFAULT_BATCH_CASES) -> EventBatches:
    """The export's frames, lazily: each holds the rows of ``batch_cases`` consecutive case ids."""
    if batch_cases < 1:
        raise ValueError("batch_cases must be positive")
    return EventBatches(query, batch_cases)
