"""The database side of an export: per range of case ids, its cases and its events in columns.

A range is read by its own statements, so no cursor or snapshot stays open between ranges (a slow
HTTP client never holds one). The events come in the table's order and are sorted by case, time
and id here, only when they are not already (measured at 1M cases: the server's incremental sort
was a quarter of its time; checking the order costs this process a few milliseconds a range). Only
the columns the export's view needs are read: the JSON attributes only for the events that carry
what the replay of holders in :mod:`serviceloop.cases.eventlog` uses, and of a stage event's
``team`` (``assignee``) only whether it is set (``''``), not the object as text, since the replay
takes the value from its ``to``.

On PostgreSQL outside a transaction the ranges are read ahead, one at a time, in a thread holding
its own ADBC connection (binary COPY decoded into Arrow in C++, the GIL released), so the server
produces the next range while this process converts and writes the current one: the two cores
work at once. Inside a transaction (only this connection sees its own writes) and on SQLite, a
range is read when it is needed, through :func:`serviceloop.cases.eventlog.fetch_frame`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl
from django.db import connection
from django.db.models import Case as CaseWhen
from django.db.models import F, OuterRef, Q, QuerySet, Subquery, TextField, When
from django.db.models import Value as V
from django.db.models.functions import Cast

from serviceloop.cases.choices import EventKind
from serviceloop.cases.eventlog import (
    ENTRY_KINDS,
    HOLDER_KINDS,
    STAGE_KINDS,
    _database_uri,
    _only_for,
    fetch_frame,
)
from serviceloop.cases.models import Case, CaseEvent
from serviceloop.core.json_text import json_text
from serviceloop.processes.models import Stage

if TYPE_CHECKING:
    from serviceloop.cases.export.rows import EventLogQuery

__all__ = ["APPLICATION_NAME", "CASE_SCHEMA", "Range", "read_ranges"]

APPLICATION_NAME = "serviceloop-export"

CASE_SCHEMA: dict[str, Any] = {
    "case": pl.Int64,
    "case_id": pl.String,
    "channel": pl.String,
    "priority": pl.String,
    "category": pl.String,
    "version": pl.Int64,
}
# The columns :func:`serviceloop.cases.eventlog.with_holders` and ``stage_visits`` read; the
# stage log also needs ``id`` (ties and the visit's entering event) and the reopening's stage.
_ALL_EVENTS: dict[str, Any] = {
    "id": pl.Int64,
    "case": pl.Int64,
    "kind": pl.String,
    "activity": pl.String,
    "timestamp": pl.String,  # typed by ADBC, text from COPY and SQLite: see _timestamps
    "actor": pl.Int64,
    "lifecycle": pl.String,
    "to_stage": pl.String,
    "team_raw": pl.String,
    "team_to": pl.String,
}
_STAGE_EVENTS: dict[str, Any] = {
    **_ALL_EVENTS,
    "stage_name": pl.String,
    "from_status": pl.String,
    "assignee_raw": pl.String,
    "assignee_to": pl.String,
}
_NO_JIT = "SET jit = off"  # measured: compiling costs more than it saves on these scans
Range = tuple[int, int]


def _holder_raw(key: str) -> CaseWhen:
    """What :func:`~serviceloop.cases.eventlog.with_holders` reads as ``<key>_raw``: an
    assignment's value; for a stage event only whether the key is set (``''``), as the replay
    takes the value from ``<key>_to``."""
    return CaseWhen(
        When(kind=EventKind.ASSIGNED, then=json_text(f"attributes__{key}")),
        When(
            Q(kind__in=sorted(STAGE_KINDS)) & Q(**{f"set_{key}__isnull": False}),
            then=V(""),
        ),
        default=V(None),
        output_field=TextField(),
    )


def _cases_queryset(query: EventLogQuery, low: int, high: int) -> QuerySet[Case, tuple[Any, ...]]:
    return (
        Case.objects.filter(id__gte=low, id__lt=high, **query.case_lookups())
        .order_by()
        .values_list("id", "number", "channel", "priority", "category__code", "process_version_id")
    )


def _events_queryset(
    query: EventLogQuery, low: int, high: int
) -> QuerySet[CaseEvent, tuple[Any, ...]]:
    """The range's events in :data:`_ALL_EVENTS` (or :data:`_STAGE_EVENTS`) order, unsorted."""
    events = CaseEvent.objects.filter(case_id__gte=low, case_id__lt=high)
    lookups = query.case_lookups()
    if lookups:
        events = events.filter(**{f"case__{k}": v for k, v in lookups.items()})
    staged = query.kind == "stage"
    if staged:  # a visit needs every entry and holder change of its case, whatever the window
        events = events.filter(kind__in=sorted({*ENTRY_KINDS, *HOLDER_KINDS}))
    else:
        inside = Q()
        if query.since is not None:
            inside &= Q(timestamp__gte=query.since)
        if query.until is not None:
            inside &= Q(timestamp__lt=query.until)
        if inside:  # holder changes before the window still say who held the case in it
            events = events.filter(inside | Q(kind__in=sorted(HOLDER_KINDS)))
    # The team replay reads a stage event's ``to_stage`` only for its first ``stage_entered``.
    entering = ENTRY_KINDS if staged else [EventKind.STAGE_ENTERED]
    events = events.alias(
        set_team=json_text("attributes__team"), set_assignee=json_text("attributes__assignee")
    )
    columns: dict[str, Any] = {
        # SQLite's driver would build a datetime per row: its stored text, parsed in one step.
        "ts": Cast("timestamp", TextField()) if connection.vendor == "sqlite" else F("timestamp"),
        "to_stage": _only_for(entering, json_text("attributes__to_stage")),
        "team_raw": _holder_raw("team"),
        "team_to": _only_for(STAGE_KINDS, json_text("attributes__team__to")),
    }
    names = ["id", "case_id", "kind", "activity", "ts", "actor_id", "lifecycle", *list(columns)[1:]]
    if staged:
        reentered = (
            Stage.objects.filter(version__cases__id=OuterRef("case_id"), code=OuterRef("to_stage"))
            .order_by()
            .values("name")[:1]
        )
        columns |= {
            "stage_name": _only_for(["reopened"], Subquery(reentered)),
            "from_status": _only_for(["reopened"], json_text("attributes__from_status")),
            "assignee_raw": _holder_raw("assignee"),
            "assignee_to": _only_for(STAGE_KINDS, json_text("attributes__assignee__to")),
        }
        names = [*names, "stage_name", "from_status", "assignee_raw", "assignee_to"]
    return events.annotate(**columns).order_by().values_list(*names)


def _in_order(events: pl.DataFrame) -> pl.DataFrame:
    """``events`` sorted by case, time and id; as they are when they already are (the usual
    case: a case's events are appended in time order)."""
    case, time, key = pl.col("case"), pl.col("timestamp"), pl.col("id")
    after = (case.diff() > 0) | (
        (case.diff() == 0) & ((time.diff() > 0) | ((time.diff() == 0) & (key.diff() > 0)))
    )
    if events.height < 2 or events.select(after.slice(1).all()).item():
        return events
    return events.sort("case", "timestamp", "id")


def _timestamps(frame: pl.DataFrame) -> pl.DataFrame:
    """UTC timestamps from ADBC as they are, or from the text of SQLite (``2026-03-02
    09:00:00.5``) and of PostgreSQL's COPY in the session's UTC (``... 09:00:00.5+00``)."""
    column = frame["timestamp"]
    if column.dtype == pl.String:
        postgres = connection.vendor == "postgresql"
        column = column.str.to_datetime(
            "%Y-%m-%d %H:%M:%S%.f%#z" if postgres else "%Y-%m-%d %H:%M:%S%.f",
            time_unit="us",
            time_zone="UTC",
        )
    return frame.with_columns(column.cast(pl.Datetime("us", "UTC")))


@dataclass(frozen=True)
class _Statements:
    """One range's SQL, composed by the caller (Django's connection is per thread)."""

    cases: str
    events: str


def _compose(queryset: QuerySet[Any, Any]) -> str:
    sql, params = queryset.query.sql_with_params()
    return str(connection.ops.compose_sql(sql, params))  # type: ignore[attr-defined]


class _AdbcReader:
    """One ADBC connection for a whole export, used by one thread at a time."""

    def __init__(self) -> None:
        import adbc_driver_postgresql.dbapi as adbc

        # Named, so that pg_stat_activity (and benchmarks/export_log.py) can tell it apart.
        uri = f"{_database_uri()}?application_name={APPLICATION_NAME}"
        self.conn = adbc.connect(uri, autocommit=True)
        self.cursor = self.conn.cursor()
        self.cursor.execute(_NO_JIT)

    def frame(self, sql: str, schema: dict[str, Any]) -> pl.DataFrame:
        self.cursor.execute(sql)
        frame = pl.from_arrow(self.cursor.fetch_arrow_table())
        assert isinstance(frame, pl.DataFrame)
        frame.columns = list(schema)
        return frame.cast({n: t for n, t in schema.items() if not frame.schema[n].is_temporal()})

    def read(self, statements: _Statements, schema: dict[str, Any]) -> tuple[pl.DataFrame, ...]:
        cases = self.frame(statements.cases, CASE_SCHEMA)
        if cases.height == 0:
            return cases, pl.DataFrame(schema=schema)
        return cases, _in_order(_timestamps(self.frame(statements.events, schema)))

    def close(self) -> None:
        self.cursor.close()
        self.conn.close()


def _read_ahead(query: EventLogQuery, ranges: list[Range], schema: dict[str, Any]) -> Iterator[Any]:
    reader = _AdbcReader()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-read")
    pending: deque[Future[tuple[pl.DataFrame, ...]]] = deque()
    try:
        for low, high in ranges:
            statements = _Statements(
                _compose(_cases_queryset(query, low, high)),
                _compose(_events_queryset(query, low, high)),
            )
            pending.append(pool.submit(reader.read, statements, schema))
            if len(pending) > 1:  # one range read ahead: two in memory at most
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        reader.close()


def _read_in_turn(
    query: EventLogQuery, ranges: list[Range], schema: dict[str, Any]
) -> Iterator[Any]:
    for low, high in ranges:
        cases = fetch_frame(_cases_queryset(query, low, high), CASE_SCHEMA)
        if cases.height == 0:
            yield cases, pl.DataFrame(schema=schema)
            continue
        events = fetch_frame(_events_queryset(query, low, high), schema)
        yield cases, _in_order(_timestamps(events))


def _can_read_ahead() -> bool:
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return False
    try:
        import adbc_driver_postgresql.dbapi  # noqa: F401
    except ImportError:  # pragma: no cover - a runtime dependency
        return False
    return True


def read_ranges(
    query: EventLogQuery, ranges: list[Range]
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    """Per range, its cases (:data:`CASE_SCHEMA`, those ``query`` keeps) and their events sorted
    by case, time and id, with the columns the query's kind needs (none read for a range
    without cases)."""
    schema = _STAGE_EVENTS if query.kind == "stage" else _ALL_EVENTS
    read = _read_ahead if _can_read_ahead() else _read_in_turn
    return read(query, ranges, schema)
