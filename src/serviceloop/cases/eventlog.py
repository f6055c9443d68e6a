"""The case event log as columns, and its stage view: defined once for every reader.

The export (``cases.export``: the CLI, the API), Insights and the benchmarks read the log here, so
they agree on what a row means. Events are read column by column, never as model instances:
PostgreSQL streams one ``COPY (SELECT ...) TO STDOUT`` into Polars in slices (no Python object per
value), SQLite hands its rows to Polars in chunks with timestamps left as text and parsed in one step.

The stage view
--------------
A case is in one stage at a time. A *stage visit* starts with an entering event:

- ``stage_entered``: the stage's name is the activity;
- ``closed``: entering an end stage (activity: the end stage's name);
- ``reopened`` of a *closed* case, which goes back to the stage it closed from (activity: the name
  of that stage, the event's ``to_stage`` in the case's process version). Reopening a resolved case
  leaves it where it is, so it enters nothing.

A visit ends when the case's next visit starts. The last visit of a case ends as it starts when
the case is closed there (an end stage takes no time); otherwise it is still under way and has no
end (``lifecycle`` "start"). A visit carries the resource and the team that held the case when it
ended (for a visit under way: now), replayed from the events that change them (``assigned``, and
the re-route travelling in ``stage_entered``; before those, the start stage's responsible team),
not the case's current team.
"""

from __future__ import annotations

import gc
import io
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import quote

import polars as pl
from django.db import connection
from django.db.models import Case as CaseWhen
from django.db.models import F, OuterRef, Q, QuerySet, Subquery, TextField, When
from django.db.models import Value as V
from django.db.models.functions import Cast

from serviceloop.cases.choices import CaseStatus, EventKind
from serviceloop.cases.models import CaseEvent
from serviceloop.core.json_text import json_text
from serviceloop.processes.models import Stage

__all__ = [
    "ENTRY_KINDS",
    "EVENT_COLUMNS",
    "HOLDER_KINDS",
    "STAGE_COLUMNS",
    "STAGE_KINDS",
    "entered_stage",
    "fetch_frame",
    "parse_timestamps",
    "read_events",
    "read_stages",
    "stage_visits",
    "with_holders",
]

#: Columns of the exported event log (one row per event) and of the stage log (one row per
#: stage visit: ``start_timestamp`` when it was entered, ``timestamp`` when it was left).
EVENT_COLUMNS = (
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
STAGE_COLUMNS = (
    "case_id",
    "activity",
    "start_timestamp",
    "timestamp",
    "resource",
    "lifecycle",
    "kind",
    "channel",
    "priority",
    "category",
    "team",
)
#: Events that may start a stage visit (``reopened`` only when the case was closed).
STAGE_KINDS = (EventKind.STAGE_ENTERED, EventKind.CLOSED)
ENTRY_KINDS = (*STAGE_KINDS, EventKind.REOPENED)
#: Events that may change who holds the case (team, assignee).
HOLDER_KINDS = (EventKind.ASSIGNED, *STAGE_KINDS)

#: The columns :func:`read_events` returns.
RAW_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "id": pl.Int64,
    "case": pl.Int64,
    "kind": pl.String,
    "activity": pl.String,
    "timestamp": pl.Datetime("us", "UTC"),
    "actor": pl.Int64,
    "lifecycle": pl.String,
    "to_stage": pl.String,
    "stage_name": pl.String,
    "from_status": pl.String,
    "team_raw": pl.String,
    "team_to": pl.String,
    "assignee_raw": pl.String,
    "assignee_to": pl.String,
}
_SQLITE_CHUNK = 20_000
_COPY_SLICE = 64 << 20  # bytes of COPY text parsed at a time: bounds the text held in memory
_UNSET = "\x00"  # a holder explicitly set to nobody, until the replay is done
# A scan of every event looks costly enough to PostgreSQL to compile it first (JIT): measured,
# 0.8 s of compiling to save nothing on a 2.5 s read.
_NO_JIT = "SET jit = off"


def _only_for(kinds: Sequence[str], value: Any) -> CaseWhen | V:
    """``value`` for events of ``kinds``, NULL for the rest (the JSON is not even parsed)."""
    if not kinds:
        return V(None, output_field=TextField())
    return CaseWhen(
        When(kind__in=list(kinds), then=value), default=V(None), output_field=TextField()
    )


def _events_queryset(
    *,
    kinds: Collection[str] | None,
    case_lookups: dict[str, Any] | None,
    case_range: tuple[int, int] | None,
    window: tuple[datetime | None, datetime | None],
    window_exempt: Collection[str],
    after_id: int | None,
    holders: bool = False,
    until_id: int | None = None,
) -> QuerySet[CaseEvent, tuple[Any, ...]]:
    events = CaseEvent.objects.all()
    if kinds is not None:
        events = events.filter(kind__in=sorted(kinds))
    if case_lookups:
        events = events.filter(**{f"case__{k}": v for k, v in case_lookups.items()})
    if case_range is not None:
        events = events.filter(case_id__gte=case_range[0], case_id__lt=case_range[1])
    since, until = window
    inside = Q()
    if since is not None:
        inside &= Q(timestamp__gte=since)
    if until is not None:
        inside &= Q(timestamp__lt=until)
    if inside:
        events = events.filter(
            inside | Q(kind__in=sorted(window_exempt)) if window_exempt else inside
        )
    if after_id is not None:
        events = events.filter(id__gt=after_id)
    if until_id is not None:
        events = events.filter(id__lte=until_id)
    reopen = (EventKind.REOPENED,)
    # Reading a JSON attribute costs about a microsecond a row: only what the reader needs.
    holder_kinds = HOLDER_KINDS if holders else ()
    stage_kinds = STAGE_KINDS if holders else ()
    # The stage a reopened case goes back to, by its code in the case's own process version.
    reentered = (
        Stage.objects.filter(version__cases__id=OuterRef("case_id"), code=OuterRef("to_stage"))
        .order_by()
        .values("name")[:1]
    )
    return (
        events.order_by()
        .annotate(
            # SQLite: the stored ISO text, parsed in one step (its driver would build a datetime
            # per row); PostgreSQL: the column itself (COPY writes it as text, ADBC as a timestamp).
            ts=Cast("timestamp", TextField()) if connection.vendor == "sqlite" else F("timestamp"),
            to_stage=_only_for(
                ENTRY_KINDS if holders else reopen, json_text("attributes__to_stage")
            ),
            stage_name=_only_for(reopen, Subquery(reentered)),
            from_status=_only_for(reopen, json_text("attributes__from_status")),
            team_raw=_only_for(holder_kinds, json_text("attributes__team")),
            team_to=_only_for(stage_kinds, json_text("attributes__team__to")),
            assignee_raw=_only_for(holder_kinds, json_text("attributes__assignee")),
            assignee_to=_only_for(stage_kinds, json_text("attributes__assignee__to")),
        )
        .values_list(
            "id",
            "case_id",
            "kind",
            "activity",
            "ts",
            "actor_id",
            "lifecycle",
            "to_stage",
            "stage_name",
            "from_status",
            "team_raw",
            "team_to",
            "assignee_raw",
            "assignee_to",
        )
    )


def read_events(
    *,
    kinds: Collection[str] | None = None,
    case_lookups: dict[str, Any] | None = None,
    case_range: tuple[int, int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    window_exempt: Collection[str] = (),
    after_id: int | None = None,
    holders: bool = False,
    until_id: int | None = None,
) -> pl.DataFrame:
    """Events as columns :data:`RAW_SCHEMA`, sorted by case, time and id.

    ``kinds`` keeps events of those kinds; ``case_lookups`` are lookups on the case (``team_id__in``
    ...); ``case_range`` is a half-open range of case ids; ``since <= timestamp < until`` keeps a
    window, except for events of ``window_exempt`` kinds (those a replay of holders needs from
    before the window); ``after_id < id <= until_id`` keeps a range of event ids (events are only
    appended, so a range read once stays read). The attributes the
    stage view needs come as text columns for reopenings; with ``holders`` also those
    :func:`with_holders` replays (``to_stage``, ``team_*``, ``assignee_*``), else those are null.
    """
    queryset = _events_queryset(
        kinds=kinds,
        case_lookups=case_lookups,
        case_range=case_range,
        window=(since, until),
        window_exempt=window_exempt,
        after_id=after_id,
        holders=holders,
        until_id=until_id,
    )
    schema = dict(RAW_SCHEMA)
    schema["timestamp"] = pl.String  # text from COPY and SQLite; ADBC hands timestamps over
    frame = fetch_frame(queryset, schema)
    frame = frame.with_columns(parse_timestamps(frame["timestamp"]))
    return frame.sort("case", "timestamp", "id")


def parse_timestamps(column: pl.Series) -> pl.Series:
    """UTC timestamps from the text SQLite stores or PostgreSQL's COPY writes in the session's UTC
    (``2026-03-02 09:00:00.5+00``), or from ADBC's timestamps as they are."""
    if column.dtype == pl.String:
        return column.str.to_datetime(
            "%Y-%m-%d %H:%M:%S%.f%#z"
            if connection.vendor == "postgresql"
            else "%Y-%m-%d %H:%M:%S%.f",
            time_unit="us",
            time_zone="UTC",
        )
    return column.cast(pl.Datetime("us", "UTC"))


# -- reading columns -----------------------------------------------------------------------------
def fetch_frame(
    queryset: QuerySet[Any, Any] | tuple[str, Sequence[Any]],
    schema: dict[str, Any],
) -> pl.DataFrame:
    """Run a ``values_list`` queryset (or SQL and parameters) and return its rows as a frame
    with ``schema`` (names in the query's column order)."""
    if isinstance(queryset, tuple):
        sql, params = queryset
    else:
        sql, params = queryset.query.sql_with_params()
    if connection.vendor == "postgresql":
        if connection.in_atomic_block or not _has_adbc():
            # Inside a transaction only this connection sees its own writes.
            return _copy_frame(sql, params, schema)
        inline = connection.ops.compose_sql(sql, params)  # type: ignore[attr-defined]
        return _adbc_frame(inline, schema)
    return _cursor_frame(sql, params, schema)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The driver's row tuples cannot form cycles, but their sheer number triggers repeated full
    collections that cost more than reading the rows."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _cursor_frame(sql: str, params: Sequence[Any], schema: dict[str, Any]) -> pl.DataFrame:
    parts: list[pl.DataFrame] = []
    with connection.cursor() as cursor, _gc_paused():
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(_SQLITE_CHUNK):
            parts.append(pl.DataFrame(rows, schema=schema, orient="row"))
    if not parts:
        return pl.DataFrame(schema=schema)
    return pl.concat(parts, rechunk=True)


def _copy_frame(sql: str, params: Sequence[Any], schema: dict[str, Any]) -> pl.DataFrame:
    """``COPY (sql) TO STDOUT`` as CSV, parsed by Polars a slice at a time.

    A slice ends at a line break outside quotes (an even number of quotes before it), so a value
    holding a line break is never cut.
    """
    parts: list[pl.DataFrame] = []
    pending = bytearray()

    def parse(data: bytes | bytearray) -> None:
        if data:
            parts.append(
                pl.read_csv(
                    io.BytesIO(data),
                    has_header=False,
                    new_columns=list(schema),
                    schema_overrides=schema,
                    infer_schema=False,
                )
            )

    statement = f"COPY ({sql}) TO STDOUT (FORMAT csv)"
    began = time.perf_counter()
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor  # psycopg's own cursor: Django's wrapper has no copy()
        if connection.in_atomic_block:
            cursor.execute(_NO_JIT.replace("SET", "SET LOCAL"))
        with cursor.copy(statement, params or None) as copy:
            for block in copy:
                pending += block
                if len(pending) < _COPY_SLICE:
                    continue
                cut = _safe_cut(pending)
                if cut > 0:
                    parse(bytes(pending[:cut]))
                    del pending[:cut]
    if connection.queries_logged:  # seen by query counts and the debug toolbar, as any query
        connection.queries_log.append(
            {"sql": statement, "time": f"{time.perf_counter() - began:.3f}"}
        )
    parse(bytes(pending))
    if not parts:
        return pl.DataFrame(schema=schema)
    return pl.concat(parts, rechunk=True)


@cache
def _has_adbc() -> bool:
    try:
        import adbc_driver_postgresql.dbapi  # noqa: F401
    except ImportError:  # pragma: no cover - a runtime dependency; COPY is the fallback
        return False
    return True


def _database_uri() -> str:
    """The default database as a libpq URI, for drivers that open their own connection."""
    settings = connection.settings_dict
    user = quote(settings.get("USER") or "", safe="")
    password = quote(settings.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings.get("HOST") or "localhost"
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    return f"postgresql://{credentials}{host}{port}/{quote(settings['NAME'], safe='')}"


def _adbc_frame(sql: str, schema: dict[str, Any]) -> pl.DataFrame:
    """The statement through the ADBC PostgreSQL driver: binary COPY decoded in C++ into Arrow,
    no Python per row (``benchmarks/read_columns.py`` measures it against the other ways).

    It opens its own connection, so it reads what is committed: used outside transactions only.
    """
    import adbc_driver_postgresql.dbapi as adbc

    began = time.perf_counter()
    with adbc.connect(_database_uri()) as conn, conn.cursor() as cursor:
        cursor.execute(_NO_JIT)
        cursor.execute(sql)
        table = cursor.fetch_arrow_table()
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": f"{time.perf_counter() - began:.3f}"})
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    frame.columns = list(schema)
    # Temporal columns arrive typed (no text to parse); the rest take the schema's types.
    return frame.cast({n: t for n, t in schema.items() if not frame.schema[n].is_temporal()})


def _safe_cut(data: bytearray) -> int:
    """Position just after the last line break that ends a CSV record, or 0 if none does."""
    end = len(data)
    while (cut := data.rfind(b"\n", 0, end)) >= 0:
        if data.count(b'"', 0, cut) % 2 == 0:
            return cut + 1
        end = cut
    return 0


# -- the stage view ------------------------------------------------------------------------------
def read_stages() -> pl.DataFrame:
    """Every stage: ``version``, ``code``, ``name`` and its responsible team's code (``team``)."""
    return fetch_frame(
        Stage.objects.order_by().values_list(
            "version_id", "code", "name", "responsible_team__code"
        ),
        {"version": pl.Int64, "code": pl.String, "name": pl.String, "team": pl.String},
    )


def entered_stage() -> pl.Expr:
    """Over :func:`read_events`: the name of the stage each event enters, null for an event that
    enters none. It depends on the event alone, so a stage view can be kept by event id."""
    return (
        pl.when(_entries())
        .then(
            pl.when(pl.col("kind") == EventKind.REOPENED)
            .then(pl.coalesce("stage_name", "activity"))
            .otherwise(pl.col("activity"))
        )
        .otherwise(pl.lit(None, pl.String))
    )


def _entries() -> pl.Expr:
    return pl.col("kind").is_in(list(STAGE_KINDS)) | (
        (pl.col("kind") == EventKind.REOPENED) & (pl.col("from_status") == CaseStatus.CLOSED)
    )


def with_holders(
    events: pl.DataFrame, stages: pl.DataFrame, versions: pl.DataFrame
) -> pl.DataFrame:
    """``events`` (sorted by case and time) with ``team`` (code) and ``assignee`` (username):
    who held the case once each event had happened.

    ``versions`` maps each ``case`` to its process ``version``. Before any event sets a team,
    the case belongs to the responsible team of the first stage it entered.
    """
    kind = pl.col("kind")
    stage_event = kind.is_in(list(STAGE_KINDS))
    assigned = kind == EventKind.ASSIGNED

    def replayed(raw: str, to: str) -> pl.Expr:
        # assigned: the value itself; a stage event: the "to" of a re-route, when it has one.
        value = (
            pl.when(assigned)
            .then(pl.col(raw).fill_null(_UNSET))
            .when(stage_event & pl.col(raw).is_not_null())
            .then(pl.col(to).fill_null(_UNSET))
        )
        return value.forward_fill().over("case")

    start_team = (
        events.filter(kind == EventKind.STAGE_ENTERED)
        .group_by("case", maintain_order=True)
        .agg(pl.col("to_stage").first().alias("code"))
        .join(versions, on="case", how="left")
        .join(stages.select("version", "code", "team"), on=["version", "code"], how="left")
        .select("case", pl.col("team").alias("__start_team"))
    )
    return (
        events.with_columns(
            replayed("team_raw", "team_to").alias("team"),
            replayed("assignee_raw", "assignee_to").alias("assignee"),
        )
        .join(start_team, on="case", how="left", maintain_order="left")
        .with_columns(
            pl.col("team").fill_null(pl.col("__start_team")),
        )
        .with_columns(
            pl.when(pl.col(c) != _UNSET).then(pl.col(c)).alias(c) for c in ("team", "assignee")
        )
        .drop("__start_team")
    )


def stage_visits(events: pl.DataFrame) -> pl.DataFrame:
    """One row per stage visit, by case and start: ``id`` (of the entering event), ``case``,
    ``activity`` (the stage's name), ``kind`` (of the entering event), ``start``, ``end`` (null
    while under way), ``lifecycle`` ("complete", or "start" while under way), ``actor`` (who
    entered it), and, when ``events`` carries them (see :func:`with_holders`), ``team`` and
    ``assignee`` holding the case when the visit ended.

    ``events``: :func:`read_events` sorted by case and time, holding at least every event of
    :data:`ENTRY_KINDS`.
    """
    holders = [c for c in ("team", "assignee") if c in events.columns]
    marked = events.with_columns(_entries().alias("__entry")).with_columns(
        pl.col("__entry").cast(pl.UInt32).cum_sum().over("case").alias("__visit")
    )
    # Who held the case when the visit ended: the last event before the next entry.
    ended = (
        marked.filter(pl.col("__visit") > 0)
        .group_by("case", "__visit")
        .agg(pl.col(c).last() for c in holders)
        if holders
        else None
    )
    entries = marked.filter(pl.col("__entry")).with_columns(entered_stage().alias("activity"))
    following = pl.col("timestamp").shift(-1).over("case")
    closed_last = following.is_null() & (pl.col("kind") == EventKind.CLOSED)
    visits = entries.select(
        "id",
        "case",
        "activity",
        "kind",
        pl.col("timestamp").alias("start"),
        pl.when(closed_last).then(pl.col("timestamp")).otherwise(following).alias("end"),
        "actor",
        "__visit",
    ).with_columns(
        pl.when(pl.col("end").is_null())
        .then(pl.lit("start"))
        .otherwise(pl.lit("complete"))
        .alias("lifecycle")
    )
    if ended is not None:
        visits = visits.join(ended, on=["case", "__visit"], how="left", maintain_order="left")
    return visits.drop("__visit")
