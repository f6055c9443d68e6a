"""The event log as column batches, a range of cases at a time, so memory stays flat for millions
of events.

Each batch is one Polars frame holding every row of the cases of one id range, ordered by case,
time and id: every writer can stream one trace after another. A range is read by its own
statements (:mod:`serviceloop.cases.export.reader`, which on PostgreSQL reads the next range
while this one is written), and its rows are made by the view of
:mod:`serviceloop.cases.eventlog` (who held the case, stage visits), defined there once.

Two kinds of log:

``all``    one row per event (``COLUMNS``); ``resource`` is who acted (username),
           ``resource_name`` their name as people write it, ``team`` the team that held the case
           once the event had happened.
``stage``  one row per stage visit (``STAGE_COLUMNS``): ``start_timestamp`` when the case entered
           the stage, ``timestamp`` when it left (``lifecycle`` "complete"), or, for a visit still
           under way, ``timestamp`` = ``start_timestamp`` and ``lifecycle`` "start";
           ``resource`` (username), ``resource_name`` and ``team`` held the case when the visit
           ended.

``resource`` stays the stable username (joins, other tools); ``resource_name`` is the person's
current name (:func:`serviceloop.accounts.names.person_name`), empty when no user has that
username any more.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, Literal

import polars as pl
from django.db.models import Max, Min

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import User
from serviceloop.accounts.names import person_name
from serviceloop.cases.eventlog import (
    EVENT_COLUMNS,
    STAGE_COLUMNS,
    read_stages,
    stage_visits,
    with_holders,
)
from serviceloop.cases.export.reader import read_ranges
from serviceloop.cases.models import Case

__all__ = [
    "CASE_ATTRIBUTES",
    "COLUMNS",
    "DEFAULT_BATCH_CASES",
    "STAGE_EXPORT_COLUMNS",
    "EventBatches",
    "EventLogQuery",
    "can_export_event_log",
    "event_batches",
    "event_count",
]


def _named(columns: tuple[str, ...]) -> tuple[str, ...]:
    at = columns.index("resource") + 1
    return (*columns[:at], "resource_name", *columns[at:])


COLUMNS = _named(EVENT_COLUMNS)
STAGE_EXPORT_COLUMNS = _named(STAGE_COLUMNS)
CASE_ATTRIBUTES = ("channel", "priority", "category", "team")
DEFAULT_BATCH_CASES = 10_000  # about 320k events of a realistic history: a bounded batch
_HOLDERS_UNUSED = {"assignee_raw": pl.String, "assignee_to": pl.String}


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
        return STAGE_EXPORT_COLUMNS if self.kind == "stage" else COLUMNS

    def case_lookups(self) -> dict[str, Any]:
        return {} if self.process is None else {"process_version__process__code": self.process}


def can_export_event_log(user: Any) -> bool:
    """The whole log spans every team and customer: managers and admins only (the roles that
    see every case)."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and user.role in {Role.ADMIN, Role.MANAGER}
    )


def event_count(query: EventLogQuery) -> int:
    """How many cases the export goes through (what its progress counts)."""
    return int(Case.objects.filter(**query.case_lookups()).count())


_PEOPLE_CHUNK = 50_000
_PEOPLE_SCHEMA = {"actor": pl.Int64, "username": pl.String, "name": pl.String}


def people() -> pl.DataFrame:
    """Every user: ``actor`` (id), ``username`` and ``name`` (as people write it). Read in
    chunks: customers are users too, and a large desk has millions of them."""
    rows = (
        User.objects.order_by()
        .values_list("id", "username", "first_name", "last_name")
        .iterator(chunk_size=_PEOPLE_CHUNK)
    )
    parts = [pl.DataFrame(schema=_PEOPLE_SCHEMA)]
    while chunk := list(islice(rows, _PEOPLE_CHUNK)):
        parts.append(
            pl.DataFrame(
                [(pk, user, person_name(first, last, user)) for pk, user, first, last in chunk],
                schema=_PEOPLE_SCHEMA,
                orient="row",
            )
        )
    return pl.concat(parts, rechunk=True)


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
        users, stages = people(), read_stages()
        ranges = [
            (low, low + self.batch_cases)
            for low in range(bounds["low"], bounds["high"] + 1, self.batch_cases)
        ]
        for cases, events in read_ranges(self.query, ranges):
            self.cases_done += cases.height
            if cases.height == 0:
                continue
            frame = _rows(self.query, cases, events, users, stages)
            if frame.height:
                yield frame


def _rows(
    query: EventLogQuery,
    cases: pl.DataFrame,
    events: pl.DataFrame,
    users: pl.DataFrame,
    stages: pl.DataFrame,
) -> pl.DataFrame:
    """One range's rows in ``query.columns``: ``events`` (sorted by case, time and id) through
    the view of :mod:`serviceloop.cases.eventlog`, with names and case attributes."""
    versions = cases.select("case", "version")
    names = users.select(
        pl.col("username").alias("resource"), pl.col("name").alias("resource_name")
    )
    if query.kind == "stage":
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
        rows = rows.join(names, on="resource", how="left", maintain_order="left")
    else:
        # Who acted is in the row; only the team is replayed (the assignee is not read).
        events = events.with_columns(pl.lit(None, t).alias(n) for n, t in _HOLDERS_UNUSED.items())
        rows = _window(with_holders(events, stages, versions), query, "timestamp")
        rows = rows.join(
            users.rename({"username": "resource", "name": "resource_name"}),
            on="actor",
            how="left",
            maintain_order="left",
        )
    return _with_cases(rows, cases).select(query.columns)


def _with_cases(rows: pl.DataFrame, cases: pl.DataFrame) -> pl.DataFrame:
    """``rows`` with their case's columns, those of a case ``cases`` lacks dropped (a case
    created between the range's two statements). Found by binary search in the cases sorted by
    id and gathered: measured, a third of the time of a hash join that keeps the rows' order."""
    cases = cases.sort("case")
    at = cases["case"].search_sorted(rows["case"]).clip(upper_bound=max(cases.height - 1, 0))
    found = cases[at]
    keep = found["case"] == rows["case"]
    joined = pl.concat([rows, found.drop("case")], how="horizontal")
    return joined if keep.all() else joined.filter(keep)


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
