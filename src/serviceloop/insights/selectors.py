"""Read the live case log into the analytics library, and the choices the filter form offers.

Pages read the log from its columnar copy on disk (:mod:`serviceloop.insights.logstore`, kept
current from the append-only event table by event id), not from the database: at 30M events no
way out of the database is fast enough (``benchmarks/read_columns.py``). Case attributes (team,
category, priority, channel, process version, the creation day) filter the copy's cases; time
window, case duration and variants are applied by the library's filters afterwards.
:func:`event_table` reads the same log straight from the database (the reference the tests hold
the copy to).

Two views of the log:

``stages``  what process mining needs: one event per stage visit, when the case entered the stage
            (:func:`serviceloop.cases.eventlog.entered_stage`: ``stage_entered``, ``closed``, and
            reopening a closed case, which re-enters the stage the case closed from).
``events``  every event of every kind (assigned, replied, ...), activity = the event's label.

The log for a set of database-level filters is kept in the process (not in Django's cache, which
would pickle millions of rows on every page) with the log's version: a page over unchanged data
reads nothing, and after new events only those events and the cases they touch are taken from
the copy (:func:`event_log_version`, ``_brought_up_to_date``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl
import pyarrow as pa
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from serviceloop.accounts.choices import STAFF_ROLES
from serviceloop.accounts.models import Team, User
from serviceloop.accounts.names import person_name
from serviceloop.analytics import (
    EventLog,
    filter_case_duration,
    filter_time,
    filter_variants,
)
from serviceloop.analytics._engine import get_engine
from serviceloop.analytics._schema import A, C, I, R, T
from serviceloop.cases.eventlog import (
    ENTRY_KINDS,
    fetch_frame,
    read_events,
    stage_visits,
)
from serviceloop.cases.models import Case, CaseEvent, Category
from serviceloop.insights import logstore
from serviceloop.processes.models import ProcessVersion, Stage

__all__ = [
    "ATTRIBUTES",
    "LOG_COLUMNS",
    "LogFilters",
    "end_stage_names",
    "event_log",
    "event_log_and_version",
    "event_log_version",
    "event_table",
    "filter_categories",
    "filter_teams",
    "filter_versions",
    "log_version_key",
    "narrowed",
    "staff_names",
]

View = Literal["stages", "events"]
TimeMode = Literal["started", "intersecting", "completed", "contained"]

#: Case attributes carried by every event of the loaded log.
ATTRIBUTES = ("team", "category", "priority", "channel", "version", "status")
#: The columns of :func:`event_table`, in order.
LOG_COLUMNS = ("case_id", "activity", "timestamp", "resource", *ATTRIBUTES)


@dataclass(frozen=True)
class LogFilters:
    """What the manager asked to look at. Dates are local calendar days, ``end`` inclusive."""

    view: View = "stages"
    start: dt.date | None = None
    end: dt.date | None = None
    time_mode: TimeMode = "started"
    teams: tuple[int, ...] = ()
    categories: tuple[int, ...] = ()
    priorities: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    process: int | None = None  # every version of one process
    version: int | None = None
    min_hours: float | None = None
    max_hours: float | None = None
    top_variants: int | None = None

    @property
    def start_at(self) -> dt.datetime | None:
        return _local_midnight(self.start) if self.start else None

    @property
    def end_at(self) -> dt.datetime | None:
        """Exclusive end: midnight after the last day asked for."""
        return _local_midnight(self.end + dt.timedelta(days=1)) if self.end else None

    def database_key(self) -> str:
        """Identifies what the database query reads (the window's pushed-down bounds included)."""
        parts = [repr(getattr(self, name)) for name in _QUERY_FIELDS]
        parts += [repr(self.start_at if self.time_mode in ("started", "contained") else None)]
        parts += [repr(self.end_at)]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


_QUERY_FIELDS = ("view", "teams", "categories", "priorities", "channels", "process", "version")


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


# -- the log ----------------------------------------------------------------------------------------
def _case_filters(filters: LogFilters) -> dict[str, Any]:
    """Lookups on Case for the database-level filters."""
    out: dict[str, Any] = {}
    if filters.teams:
        out["team_id__in"] = filters.teams
    if filters.categories:
        out["category_id__in"] = filters.categories
    if filters.priorities:
        out["priority__in"] = filters.priorities
    if filters.channels:
        out["channel__in"] = filters.channels
    if filters.process is not None:
        out["process_version__process_id"] = filters.process
    if filters.version is not None:
        out["process_version_id"] = filters.version
    # Every time mode needs the case's first event (its creation) before the window's end; the
    # "started" and "contained" modes also need it at or after the window's start.
    if filters.end_at is not None:
        out["created_at__lt"] = filters.end_at
    if filters.start_at is not None and filters.time_mode in ("started", "contained"):
        out["created_at__gte"] = filters.start_at
    return out


def _cases_queryset(filters: LogFilters) -> QuerySet[Case, tuple[Any, ...]]:
    """One row per case with the attributes every event of the case carries."""
    return (
        Case.objects.filter(**_case_filters(filters))
        .order_by()
        .values_list(
            "id",
            "number",
            "team__name",
            "category__name",
            "priority",
            "channel",
            "process_version_id",
            "status",
        )
    )


_CASE_SCHEMA = {
    "__case": pl.Int64,
    "case_id": pl.String,
    "team": pl.String,
    "category": pl.String,
    "priority": pl.String,
    "channel": pl.String,
    "version": pl.Int64,
    "status": pl.String,
}


def _view_rows(
    filters: LogFilters, *, case_lookups: dict[str, Any], after_id: int | None = None
) -> tuple[pl.DataFrame, list[int]]:
    """The view's rows (``__case``, ``id``, ``activity``, ``timestamp``, ``actor``) in log order,
    and the cases any of the events read belong to (with ``after_id``, events of every kind are
    read: any of them may change a case's attributes)."""
    if filters.view == "stages":
        raw = read_events(
            kinds=None if after_id is not None else ENTRY_KINDS,
            case_lookups=case_lookups,
            after_id=after_id,
        )
        rows = stage_visits(raw).select(
            "case", "id", "activity", pl.col("start").alias("timestamp"), "actor"
        )
    else:
        raw = read_events(case_lookups=case_lookups, after_id=after_id)
        rows = raw.select("case", "id", "activity", "timestamp", "actor")
    return rows.rename({"case": "__case"}), raw["case"].unique().to_list()


def _staff() -> pl.DataFrame:
    """Staff ids and usernames: a few thousand rows at most, read plainly (a columnar driver
    would cost more to load in a fresh process than the rows do)."""
    return pl.DataFrame(
        list(
            User.objects.filter(role__in=sorted(STAFF_ROLES))
            .order_by()
            .values_list("id", "username")
        ),
        schema={"actor": pl.Int64, "resource": pl.String},
        orient="row",
    )


def _joined(rows: pl.DataFrame, cases: pl.DataFrame, staff: pl.DataFrame) -> pa.Table:
    return (
        rows.join(cases, on="__case", how="inner", maintain_order="left")
        .join(staff, on="actor", how="left", maintain_order="left")
        .select(LOG_COLUMNS)
        .to_arrow()
    )


def event_table(filters: LogFilters) -> pa.Table:
    """The live log as Arrow columns :data:`LOG_COLUMNS`, ordered by case, time and event id.

    Three narrow reads (events, their cases, staff names) joined by the engine: the per-case
    attributes travel once per case instead of once per event. The stage view is
    :func:`serviceloop.cases.eventlog.stage_visits`, the one the export writes too.
    """
    cases = fetch_frame(_cases_queryset(filters), _CASE_SCHEMA)
    rows, _ = _view_rows(filters, case_lookups=_case_filters(filters))
    return _joined(rows, cases, _staff())


# -- the log kept in memory, brought up to date from the columnar copy --------------------------------
LATE_WINDOW = logstore.LATE_WINDOW
#: Sets of filters kept per process (least recently used dropped first).
KEPT_LOGS = 6

Version = tuple[int, int, int]


def event_log_version() -> Version:
    """(newest event id, events in the last :data:`LATE_WINDOW` ids, erasure mark): changes
    whenever the log does, and costs index probes, not a count of the whole log.

    Events are only appended, so a new one moves the newest id, and one committed late moves the
    window's count. The one removal there is, an audited erasure (``core.append_only.lifted``),
    drops and re-creates the table's triggers: on PostgreSQL their ids are the mark. SQLite's mark
    is the number of ids missing below the newest (it numbers rows without gaps, so only an
    erasure adds one; counting is cheap at the sizes SQLite serves).
    """
    table = CaseEvent._meta.db_table
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT m.last, (SELECT count(*) FROM {table} WHERE id > m.last - %s), "  # noqa: S608
            f"(SELECT coalesce(sum(oid::int8), 0) FROM pg_trigger "
            f"WHERE tgrelid = '{table}'::regclass) "
            f"FROM (SELECT coalesce(max(id), 0) AS last FROM {table}) m"
        )
    else:
        sql = (
            f"SELECT m.last, (SELECT count(*) FROM {table} WHERE id > m.last - %s), "  # noqa: S608
            f"m.last - (SELECT count(*) FROM {table}) "
            f"FROM (SELECT coalesce(max(id), 0) AS last FROM {table}) m"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, [LATE_WINDOW])
        last, recent, mark = cursor.fetchone()
    return int(last), int(recent), int(mark)


@dataclass
class _Kept:
    """One set of filters' log: its cases and view rows (with event ids) at a version of the
    columnar copy (``generation`` changes when the copy is written again whole)."""

    version: Version
    generation: str
    cases: pl.DataFrame
    rows: pl.DataFrame
    log: EventLog | None = None

    @property
    def table(self) -> pa.Table:
        """The log as :data:`LOG_COLUMNS` (built when asked: the kept coded log is what pages read)."""
        return _joined(self.rows, self.cases, _staff())

    def frame(self) -> pl.DataFrame:
        """The log as :data:`LOG_COLUMNS` for the engine, the per-case text columns coded
        (``Enum``, categories in sorted order, so they sort and group as the text does): at
        millions of visits each would otherwise be a string per row, read once more by the engine.
        """
        coded = ("team", "category", "priority", "channel", "status")
        cases = self.cases.with_columns(_as_enum(self.cases[name]) for name in coded)
        staff = _staff()
        return (
            self.rows.join(cases, on="__case", how="inner", maintain_order="left")
            .join(
                staff.with_columns(_as_enum(staff["resource"])),
                on="actor",
                how="left",
                maintain_order="left",
            )
            .select(LOG_COLUMNS)
        )


def _as_enum(values: pl.Series) -> pl.Series:
    return values.cast(pl.Enum(values.drop_nulls().unique().sort()))


_kept: OrderedDict[str, _Kept] = OrderedDict()
_kept_lock = threading.Lock()


def _stored_cases(
    state: logstore.StoreState, filters: LogFilters, ids: list[int] | None = None
) -> pl.DataFrame:
    """The cases of the copy the filters keep (:data:`_CASE_SCHEMA`, names joined now)."""
    scan = logstore.scan_cases(state)
    if ids is not None:
        scan = scan.filter(pl.col("__case").is_in(ids))
    conditions: list[pl.Expr] = []
    if filters.teams:
        conditions.append(pl.col("team_id").is_in(list(filters.teams)))
    if filters.categories:
        conditions.append(pl.col("category_id").is_in(list(filters.categories)))
    if filters.priorities:
        conditions.append(pl.col("priority").is_in(list(filters.priorities)))
    if filters.channels:
        conditions.append(pl.col("channel").is_in(list(filters.channels)))
    if filters.version is not None:
        conditions.append(pl.col("version") == filters.version)
    if filters.process is not None:
        versions = list(
            ProcessVersion.objects.filter(process_id=filters.process).values_list("id", flat=True)
        )
        conditions.append(pl.col("version").is_in(versions))
    if filters.end_at is not None:
        conditions.append(pl.col("created_at") < filters.end_at.astimezone(dt.UTC))
    if filters.start_at is not None and filters.time_mode in ("started", "contained"):
        conditions.append(pl.col("created_at") >= filters.start_at.astimezone(dt.UTC))
    if conditions:
        scan = scan.filter(*conditions)
    teams = pl.LazyFrame(
        list(Team.objects.values_list("id", "name")),
        schema={"team_id": pl.Int64, "team": pl.String},
        orient="row",
    )
    categories = pl.LazyFrame(
        list(Category.objects.values_list("id", "name")),
        schema={"category_id": pl.Int64, "category": pl.String},
        orient="row",
    )
    return (
        scan.join(teams, on="team_id", how="left", maintain_order="left")
        .join(categories, on="category_id", how="left", maintain_order="left")
        .select(list(_CASE_SCHEMA))
        .collect()
    )


def _stored_rows(
    state: logstore.StoreState,
    view: View,
    cases: pl.Series | None,
    *,
    after_id: int | None = None,
) -> pl.DataFrame:
    """The view's rows of ``cases`` (None: every case) after ``after_id``, in log order.

    Activities are held as categories (a few dozen names over millions of rows)."""
    scan = logstore.scan_rows(state, view)
    if after_id is not None:
        scan = scan.filter(pl.col("id") > after_id)
    if cases is not None:
        scan = scan.join(pl.LazyFrame({"__case": cases}), on="__case", how="semi")
    return _in_log_order(scan.with_columns(pl.col("activity").cast(pl.Categorical)).collect())


def _in_log_order(rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` sorted by case, time and id, taking its columns one at a time (``rows`` is left
    empty).

    The copy's files are in id order, each sorted by case and time, so a stable sort by case
    alone nearly always leaves each case's rows in time order (checked; else they are sorted by
    all three). Measured at 32M events: 2.7 s of CPU and one copy of the log at a time, where a
    sort by the three keys held two copies (3.5 GB) and the lazy engine's took 9 s."""
    order = rows.select(pl.arg_sort_by("__case", maintain_order=True)).to_series()
    columns = [rows.drop_in_place(name).gather(order) for name in list(rows.columns)]
    out = pl.DataFrame(columns)
    same_case = pl.col("__case") == pl.col("__case").shift(1)
    later = (pl.col("timestamp") > pl.col("timestamp").shift(1)) | (
        (pl.col("timestamp") == pl.col("timestamp").shift(1))
        & (pl.col("id") > pl.col("id").shift(1))
    )
    if out.select((~same_case | later).fill_null(True).all()).item():
        return out
    return out.sort("__case", "timestamp", "id")


def _read(filters: LogFilters, state: logstore.StoreState) -> _Kept:
    cases = _stored_cases(state, filters)
    every = all(getattr(filters, name) in (None, ()) for name in _QUERY_FIELDS[1:]) and (
        filters.start_at is None and filters.end_at is None
    )
    # Every case kept: no need to match the rows against them (every event has its case).
    rows = _stored_rows(state, filters.view, None if every else cases["__case"])
    return _Kept(state.version, state.generation, cases, rows)


def _brought_up_to_date(kept: _Kept, filters: LogFilters, state: logstore.StoreState) -> _Kept:
    """Take only the events after the kept ones (and the late window), and the cases they touch.

    A touched case may have left the filters (e.g. moved to another team: its rows go) or entered
    them (its whole history is taken, only then).
    """
    since = max(kept.version[0] - LATE_WINDOW, 0)
    touched = _stored_rows(state, "events", None, after_id=since)
    touched_ids = touched["__case"].unique().to_list()
    fresh = _stored_rows(state, filters.view, None, after_id=since)
    held = kept.rows.filter(pl.col("id") > since)["id"]
    fresh = fresh.filter(~pl.col("id").is_in(held.implode()))
    now = _stored_cases(state, filters, ids=touched_ids)
    known = kept.cases["__case"]
    entered = now.filter(~pl.col("__case").is_in(known.implode()))["__case"]
    keep_ids = now["__case"].implode()
    parts = [
        kept.rows.filter(~pl.col("__case").is_in(touched_ids) | pl.col("__case").is_in(keep_ids)),
        fresh.filter(pl.col("__case").is_in(keep_ids) & ~pl.col("__case").is_in(entered.implode())),
    ]
    if entered.len():
        parts.append(_stored_rows(state, filters.view, entered))
    rows = _in_log_order(pl.concat(parts, rechunk=False))
    cases = pl.concat([kept.cases.filter(~pl.col("__case").is_in(touched_ids)), now])
    return _Kept(state.version, state.generation, cases, rows)


def _kept_log(filters: LogFilters, version: Version | None = None) -> _Kept:
    """The log for ``filters``: kept while unchanged, brought up to date after new events, read
    again whole from the columnar copy the first time or after an erasure. ``version``: the log
    version just probed, if it was."""
    key = filters.database_key()
    version = version or event_log_version()
    with _kept_lock:
        kept = _kept.get(key)
        if kept is not None:
            _kept.move_to_end(key)
    if kept is not None and kept.version == version:
        return kept
    state = logstore.sync(version)
    if kept is not None and kept.generation == state.generation:
        if kept.version == state.version:
            return kept
        kept = _brought_up_to_date(kept, filters, state)
    else:
        kept = _read(filters, state)
    with _kept_lock:
        _kept[key] = kept
        _kept.move_to_end(key)
        while len(_kept) > KEPT_LOGS:
            _kept.popitem(last=False)
    return kept


#: Called by :func:`forget_kept_logs`: what else keeps answers computed from the kept logs.
on_forget: list[Callable[[], None]] = []


def forget_kept_logs() -> None:
    """Drop every kept log, and every answer kept from them (tests, benchmarks' cold runs, a
    worker that must free memory)."""
    with _kept_lock:
        _kept.clear()
    logstore.forget_verified()
    for forget in on_forget:
        forget()


def event_log(filters: LogFilters) -> EventLog | None:
    """The filtered live log, or None when nothing is left (an empty database or filters that
    keep no case)."""
    return event_log_and_version(filters)[0]


def log_version_key() -> tuple[str, Version]:
    """What the log is now, as the columnar copy holds it (its generation and version), without
    reading the log: what kept answers are keyed by, so a fresh process finds them before it
    reads anything."""
    state = logstore.sync(event_log_version())
    return state.generation, state.version


def event_log_and_version(
    filters: LogFilters, at: tuple[str, Version] | None = None
) -> tuple[EventLog | None, tuple[str, Version]]:
    """:func:`event_log` and the log version it was read at, with the copy's generation (what a
    kept answer is keyed by); ``at``: what :func:`log_version_key` just gave, if it was asked."""
    kept = _kept_log(filters, at[1] if at else None)
    return _filtered(kept, filters), (kept.generation, kept.version)


def _filtered(kept: _Kept, filters: LogFilters) -> EventLog | None:
    if kept.rows.height == 0:
        return None
    if kept.log is None:
        kept.log = _coded_log(kept.rows, kept.cases)
    return narrowed(kept.log, filters)


_CODED_ATTRIBUTES = ("team", "category", "priority", "channel", "status")


def _case_order(rows: pl.DataFrame) -> pl.DataFrame:
    """Each case of ``rows`` (sorted by case) once, in their order."""
    case_of_row = rows["__case"]
    first = case_of_row != case_of_row.shift(1)
    return pl.DataFrame({"__case": case_of_row.filter(first.fill_null(True))})


def _coded_log(rows: pl.DataFrame, cases: pl.DataFrame) -> EventLog:
    """The log the engine reads, coded straight from the kept rows.

    The same log as ``from_polars(kept.frame())`` (tests hold them equal), without its work on
    rows of unknown shape: the rows are already sorted by case, time and id and come from the
    copy, so a case's code is its run number, a case's attributes are gathered by that code
    from one row per case, and staff names are looked up per person, not per row (at 7.2M
    visits the general build took 2.7 s and a string per row and attribute)."""
    order = _case_order(rows)
    per_case = order.join(cases, on="__case", how="left", maintain_order="left")
    if per_case["case_id"].null_count():  # rows of a case the kept cases lack (never expected)
        rows = rows.join(cases.select("__case"), on="__case", how="semi", maintain_order="left")
        order = _case_order(rows)
        per_case = order.join(cases, on="__case", how="left", maintain_order="left")
    run = rows["__case"].rle_id()
    code_type = pl.UInt32 if rows.height < 2**32 else pl.UInt64
    per_case = per_case.with_columns(  # categories of every kept case, as frame() has them
        per_case[name].cast(_as_enum(cases[name]).dtype) for name in _CODED_ATTRIBUTES
    )
    activities = rows["activity"]
    activity_names = activities.unique().cast(pl.String).sort()
    codes = run.cast(code_type)
    actors = rows["actor"]
    staff = _staff()
    present = staff.filter(pl.col("actor").is_in(actors.unique().drop_nulls().implode()))
    resource_names = present["resource"].unique().sort()
    width = pl.Series(dtype=pl.Enum(resource_names)).to_physical().dtype
    resource_code = present.select(
        "actor",
        pl.col("resource").cast(pl.Enum(resource_names)).to_physical().cast(width),
    )
    coded = pl.DataFrame(
        {
            C: codes,
            A: activities.cast(pl.Enum(activity_names)).to_physical(),
            T: rows["timestamp"].dt.epoch("us"),
            R: actors.replace_strict(
                resource_code["actor"], resource_code["resource"], default=None, return_dtype=width
            ),
            I: pl.int_range(rows.height, dtype=code_type, eager=True),
        }
    ).with_columns(
        pl.col(C).set_sorted(),
        *(per_case[name].gather(codes).alias(name) for name in ATTRIBUTES),
    )
    return EventLog(
        coded,
        activity_names=activity_names,
        case_names=per_case["case_id"],
        resource_names=resource_names,
        attributes=ATTRIBUTES,
        engine=get_engine("polars"),
    )


def narrowed(log: EventLog, filters: LogFilters) -> EventLog | None:
    """``log`` (read with the database-level filters) narrowed by the time window, the case
    duration and the top variants; None when nothing is left."""
    if filters.start_at is not None or filters.end_at is not None:
        log = filter_time(log, start=filters.start_at, end=filters.end_at, mode=filters.time_mode)
    if filters.min_hours is not None or filters.max_hours is not None:
        log = filter_case_duration(
            log,
            min_seconds=None if filters.min_hours is None else filters.min_hours * 3600,
            max_seconds=None if filters.max_hours is None else filters.max_hours * 3600,
        )
    if filters.top_variants is not None and log.n_events:
        log = filter_variants(log, top=filters.top_variants)
    return log if log.n_events else None


# -- filter choices -----------------------------------------------------------------------------------
def filter_teams() -> QuerySet[Team]:
    return Team.objects.order_by("name")


def filter_categories() -> QuerySet[Category]:
    return Category.objects.order_by("name")


def filter_versions() -> QuerySet[ProcessVersion]:
    """Versions that cases ran on (or may run on), newest first, with their process."""
    return (
        ProcessVersion.objects.select_related("process")
        .exclude(status="draft")
        .order_by("process__name", "-number")
    )


def staff_names() -> dict[str, str]:
    """Each staff username (the log's resource: stable, the key) and the name people read, as
    their language writes it; two people of one name are told apart by their usernames."""
    rows = User.objects.filter(role__in=sorted(STAFF_ROLES)).values_list(
        "username", "first_name", "last_name"
    )
    names = {username: person_name(first, last, username) for username, first, last in rows}
    seen = Counter(names.values())
    return {u: n if seen[n] == 1 or n == u else f"{n} ({u})" for u, n in names.items()}


def end_stage_names() -> list[str]:
    """Names of the end stages of every version: a case whose last stage is one is closed."""
    return sorted(set(Stage.objects.filter(is_end=True).values_list("name", flat=True)))
