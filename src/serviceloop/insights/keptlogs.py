"""The log of each set of database-level filters kept in the process, coded for the engine, and
the coded log of every case stored beside the columnar copy.

A log is kept in the process (not in Django's cache, which would pickle millions of rows on every
page) with the log's version: a page over unchanged data reads nothing, and after new events only
the cases they touch are read from the copy and spliced into the coded log
(:func:`event_log_version`, ``_brought_up_to_date``). A fresh process maps the coded log of every
case stored beside the copy (:mod:`serviceloop.insights.codedlog`) instead of coding the copy, and
derives a filter set on case attributes or a time window from it by a mask over its cases
(``_derived``). The pages read these logs through :mod:`serviceloop.insights.selectors`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from django.db import connection

from serviceloop.accounts.choices import STAFF_ROLES
from serviceloop.accounts.models import Team, User
from serviceloop.analytics import EventLog
from serviceloop.analytics._engine import get_engine
from serviceloop.analytics._schema import A, C, I, R, T
from serviceloop.cases.models import CaseEvent, Category
from serviceloop.insights import codedlog, lineage, logstore
from serviceloop.insights.logfilters import (
    _QUERY_FIELDS,
    ATTRIBUTES,
    LOG_COLUMNS,
    LogFilters,
    View,
)
from serviceloop.insights.logstore import Version
from serviceloop.processes.models import ProcessVersion

__all__ = [
    "CASES_MEMO",
    "KEPT_BYTES",
    "KEPT_LOGS",
    "REWRITE_AFTER",
    "REWRITE_AGE",
    "SMALL_MEMO",
    "Version",
    "coded_logs_keep",
    "computing_page",
    "event_log_version",
    "forget_kept_logs",
    "log_frame",
    "on_forget",
    "stored_log_at",
]

logger = logging.getLogger(__name__)

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


# -- the log kept in memory, brought up to date from the columnar copy --------------------------------
LATE_WINDOW = logstore.LATE_WINDOW
#: Sets of filters kept per process (least recently used dropped first)...
KEPT_LOGS = 6
#: ...and the bytes their logs and the memos kept over them (:data:`SMALL_MEMO`) may hold
#: together, the one used last included (it always stays): the log of every event at 32M events
#: (0.8 GB) is then kept alone, so a page over it computes beside nothing else, and a server
#: process computing every page in turn stays under 1.6 GB.
KEPT_BYTES = 800_000_000
#: The log's memo of each case's ``case_id``, ``version`` and ``status`` (in code order), which
#: every page's scope reads: given with the kept log, which has them per case already.
CASES_MEMO = ("insights.cases", "version", "status")


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
    """One set of filters' log, coded for the engine, at a version of the columnar copy
    (``generation`` changes when the copy is written again whole).

    The rows read from the copy are not kept beside the coded log (at 32M events they were a
    second copy of the log, 1.2 GB): after new events only the touched cases' histories are read
    from the copy again and spliced into the coded log (:func:`_brought_up_to_date`). ``keys``
    holds each case code's ``__case``, in code order; ``log`` is None when no row is kept;
    ``staff`` the staff names the log was coded with; ``held`` the ids of the copy's events in
    the last :data:`LATE_WINDOW` ids of ``version`` (every view reads its touched cases from
    them: an event of the window not among them came late, and its case is read again)."""

    version: Version
    generation: str
    cases: pl.DataFrame
    keys: pl.Series
    log: EventLog | None
    staff: pl.DataFrame
    held: pl.Series

    @property
    def table(self) -> pa.Table:
        """The log as :data:`LOG_COLUMNS`, decoded again (what the tests compare)."""
        if self.log is None:
            return pl.DataFrame(schema=_TABLE_SCHEMA).to_arrow()
        return (
            self.log.to_polars()
            .select(
                *LOG_COLUMNS[:4],
                *(pl.col(name).cast(_TABLE_SCHEMA[name]) for name in ATTRIBUTES),
            )
            .to_arrow()
        )


_CODED_ATTRIBUTES = ("team", "category", "priority", "channel", "status")
_TABLE_SCHEMA: dict[str, Any] = {
    "case_id": pl.String,
    "activity": pl.String,
    "timestamp": pl.Datetime("us", "UTC"),
    "resource": pl.String,
    **{name: pl.Int64 if name == "version" else pl.String for name in ATTRIBUTES},
}


def log_frame(rows: pl.DataFrame, cases: pl.DataFrame) -> pl.DataFrame:
    """``rows`` with their ``cases`` as :data:`LOG_COLUMNS` for the library's general build, the
    per-case text columns coded (``Enum``, categories in sorted order, so they sort and group as
    the text does): the log :func:`_code` makes, the slow way (the tests hold them equal)."""
    coded = cases.with_columns(
        *(_as_enum(cases[name]) for name in _CODED_ATTRIBUTES),
        pl.col("version").cast(_version_dtype(cases["version"])),
    )
    staff = _staff()
    return (
        rows.with_columns(pl.col("__case", "actor").cast(pl.Int64))
        .join(coded, on="__case", how="inner", maintain_order="left")
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
    few: bool = False,
    ids: bool = False,
) -> pl.DataFrame:
    """The view's rows of ``cases`` (None: every case) after ``after_id``, in log order.

    Read file by file, activities turned into categories as each is read (a few dozen names over
    millions of rows: read whole, the text column alone held 0.9 GB at 32M events), case and
    person ids as 4-byte integers where every one fits (else as the copy's 8). ``few``: the
    cases are a handful (the ones new events touched), matched by a filter the reader applies
    to each file's statistics and rows, instead of a join against every row. ``ids``: keep the
    event ids (left out unless asked: the log's order is all the engine needs of them)."""
    rows = _in_log_order(_stored_parts(state, view, cases, after_id, few=few, ids=ids))
    if rows is None:  # an event dated before its case's events in an earlier file: sort by id
        rows = _stored_parts(state, view, cases, after_id, few=few, ids=True)
        rows = rows.sort("__case", "timestamp", "id")
        if not ids:
            rows = rows.drop("id")
    return rows


def _stored_parts(
    state: logstore.StoreState,
    view: View,
    cases: pl.Series | None,
    after_id: int | None,
    *,
    few: bool,
    ids: bool,
) -> pl.DataFrame:
    """The rows of :func:`_stored_rows`, in file order."""
    conditions: list[pl.Expr] = []
    if after_id is not None:
        conditions.append(pl.col("id") > after_id)
    if cases is not None and few:
        conditions.append(pl.col("__case").is_in(cases.implode()))
    columns = [name for name in logstore.ROW_SCHEMA if ids or name != "id"]
    parts = []
    files = state.files(view)
    narrow = [pl.col(_NARROW).cast(pl.UInt32)] if _fits_4_bytes(files) else []
    for path in files:
        scan = pl.scan_parquet(path)
        if conditions:
            scan = scan.filter(*conditions)
        if cases is not None and not few:
            scan = scan.join(pl.LazyFrame({"__case": cases}), on="__case", how="semi")
        parts.append(
            scan.select(columns)
            .with_columns(pl.col("activity").cast(pl.Categorical), *narrow)
            .collect()
        )
    if not parts:
        schema = dict(logstore.ROW_SCHEMA, activity=pl.Categorical)
        return pl.DataFrame(schema={name: schema[name] for name in columns})
    return pl.concat(parts, rechunk=False)


#: Keys read as 4 bytes instead of 8 where they fit (case and person ids: 0.26 GB less at 32M
#: events while the log is read, sorted and coded).
_NARROW = ("__case", "actor")


def _fits_4_bytes(files: list[Path]) -> bool:
    """Every case and person id of ``files`` is in 0..2**32-1, by the files' statistics (read
    from their footers, not their rows; a row group without them counts as not fitting)."""
    for path in files:
        meta = pq.ParquetFile(path).metadata
        where = {meta.schema.column(i).name: i for i in range(meta.num_columns)}
        for group in range(meta.num_row_groups):
            for name in _NARROW:
                column = meta.row_group(group).column(where[name])
                stats = column.statistics
                if stats is not None and stats.null_count == column.num_values:
                    continue  # no id at all (events of the system, no person)
                if stats is None or not stats.has_min_max:
                    return False
                if stats.min < 0 or stats.max >= 2**32:
                    return False
    return True


def _in_log_order(rows: pl.DataFrame) -> pl.DataFrame | None:
    """``rows`` (in file order) sorted by case, time and id, taking its columns one at a time
    (``rows`` is left empty); None when that needs the ids and ``rows`` has none.

    The copy's files are in id order, each sorted by case, time and id, so a stable sort by case
    alone gives that order whenever each case's times do not go back (checked; else they are
    sorted by all three). Measured at 32M events: 2.7 s of CPU and one copy of the log at a
    time, where a sort by the three keys held two copies (3.5 GB) and the lazy engine's took
    9 s."""
    key = pl.col("__case")
    low, high = rows.select(key.min().alias("low"), key.max().alias("high")).row(0)
    if low is not None and low >= 0 and high < 2**32:
        key = key.cast(pl.UInt32)  # sorted as 4 bytes, not 8: 0.36 GB less at 32M rows
    order = rows.select(pl.arg_sort_by(key, maintain_order=True)).to_series()
    columns = [rows.drop_in_place(name).gather(order) for name in list(rows.columns)]
    del order
    out = pl.DataFrame(columns)
    same_case = pl.col("__case") == pl.col("__case").shift(1)
    if "id" in out.columns:
        later = (pl.col("timestamp") > pl.col("timestamp").shift(1)) | (
            (pl.col("timestamp") == pl.col("timestamp").shift(1))
            & (pl.col("id") > pl.col("id").shift(1))
        )
    else:
        later = pl.col("timestamp") >= pl.col("timestamp").shift(1)
    if out.select((~same_case | later).fill_null(True).all()).item():
        return out
    return out.sort("__case", "timestamp", "id") if "id" in out.columns else None


def _recent_events(state: logstore.StoreState, after_id: int) -> pl.DataFrame:
    """The ids and cases of the copy's events after ``after_id`` (its newest files only: the
    reader skips the others by their statistics)."""
    return (
        logstore.scan_rows(state, "events")
        .filter(pl.col("id") > after_id)
        .select("id", "__case")
        .collect()
    )


def _window_ids(state: logstore.StoreState) -> pl.Series:
    """The ids a log read at ``state`` holds in its late window (:attr:`_Kept.held`)."""
    return _recent_events(state, max(state.version[0] - LATE_WINDOW, 0))["id"]


def _every_case(filters: LogFilters) -> bool:
    """Whether ``filters`` keep every case of the database (no database-level filter)."""
    return all(getattr(filters, name) in (None, ()) for name in _QUERY_FIELDS[1:]) and (
        filters.start_at is None and filters.end_at is None
    )


def _first(filters: LogFilters, state: logstore.StoreState) -> _Kept:
    """The log for ``filters`` when this process keeps none: every case's from its coded log on
    disk where one is stored (brought up to date by a splice when the copy moved on), else read
    whole from the copy."""
    if _every_case(filters):
        stored = _stored_kept(filters.view, state)
        if stored is not None:
            if stored.version == state.version:
                return stored
            updated = _brought_up_to_date(stored, filters, state)
            if updated is not None:
                return updated
            del stored
        return _read(filters, state)
    return _again(filters, state)


def _again(filters: LogFilters, state: logstore.StoreState) -> _Kept:
    """The log for ``filters`` made whole again: derived from the log of every case where the
    log is at hand, else read from the copy."""
    if not _every_case(filters):
        base = _every_case_log(filters.view, state)
        if base is not None:
            return _derived(*base, filters, state)
    return _read(filters, state)


def _every_case_log(view: View, state: logstore.StoreState) -> tuple[_Kept, bool] | None:
    """The log of every case at ``state``, kept in this process or mapped from disk (spliced
    with the events since it was written, when it is fewer than :data:`REWRITE_AFTER` event ids
    behind), and whether it is the caller's alone (mapped for it: not kept); None when neither
    is at hand."""
    with _kept_lock:
        kept = _kept.get(LogFilters(view=view).database_key())
    if kept is not None and (kept.generation, kept.version) == (state.generation, state.version):
        return kept, False
    on_disk = codedlog.stored_version(view)
    if on_disk is None or on_disk[0] != state.generation:
        return None
    if state.version[0] - on_disk[1][0] >= REWRITE_AFTER:
        return None  # far behind: reading the filter set's rows costs less than the splice
    stored = _stored_kept(view, state)
    if stored is not None and stored.version != state.version:
        stored = _brought_up_to_date(stored, LogFilters(view=view), state)  # None: read the set
    return None if stored is None else (stored, True)


def _derived(base: _Kept, owned: bool, filters: LogFilters, state: logstore.StoreState) -> _Kept:
    """The log of ``filters`` taken from the log of every case by a mask and coded again, the
    log :func:`_read` would code from the copy: the cases the copy's case rows keep (by their
    attributes and, for a time window, their creation time, as :func:`_read` picks them), their
    rows, codes renumbered, the steps and people named by the rows kept alone, the case
    attributes typed by the kept cases (at 32M events reading 60 % of the copy took 8 s of CPU,
    a year's window 3.5 s of wall time). A column at a time; ``owned``: ``base`` is this call's
    alone (mapped for it), so each of its columns is let go of once its rows are taken (its file
    pages leave the process: taking 60 % of the cases of 32M events peaked 0.3 GB lower, 1.4 GB)."""
    cases = _stored_cases(state, filters)
    staff = _staff()
    if not staff.sort("actor").equals(base.staff.sort("actor")):
        return _read(filters, state)
    keep_case = base.keys.is_in(cases["__case"].implode())
    coded = None if base.log is None else base.log.coded()
    keep_row = None if coded is None else keep_case.gather(coded[C])
    if base.log is None or coded is None or keep_row is None or not keep_row.any():  # no row
        return _Kept(
            state.version, state.generation, cases, base.keys.clear(), None, staff, base.held
        )
    take = coded.drop_in_place if owned else coded.get_column

    def rows(column: str) -> pl.Series:
        assert keep_row is not None
        return take(column).filter(keep_row)

    order = base.keys.filter(keep_case).to_frame("__case")
    dtypes = _case_dtypes(cases)
    per_case = order.join(cases, on="__case", how="left", maintain_order="left")
    per_case = per_case.with_columns(per_case[name].cast(dtypes[name]) for name in dtypes)
    code_type = pl.UInt32 if keep_row.sum() < 2**32 else pl.UInt64
    codes = rows(C).rle_id().cast(code_type)

    def renamed(values: pl.Series, names: pl.Series) -> tuple[pl.Series, pl.Series]:
        """The codes ``values`` by the names they use alone (sorted as ``names``)."""
        used = values.drop_nulls().unique().sort()
        kept_names = names.gather(used)
        width = pl.Series(dtype=pl.Enum(kept_names)).to_physical().dtype
        if used.len() == names.len():  # every name still used: the codes stay as they are
            return values.cast(width), kept_names
        # Each old code's new one by position (null for a name no kept row uses), gathered:
        # a replace of every row's code took 0.3 s at 19M rows.
        lookup = pl.Series(values.name, [None] * names.len(), dtype=width).scatter(
            used, pl.Series(range(used.len())).cast(width)
        )
        return lookup.gather(values), kept_names

    activity, activity_names = renamed(rows(A), base.log.activity_names)
    resource_names = base.log.resource_names
    if resource_names is None:
        resource = rows(R)
    else:
        resource, resource_names = renamed(rows(R), resource_names)
    log = _coded_log(codes, activity, rows(T), resource, per_case, activity_names, resource_names)
    lineage.derived(log, base.log, keep_case)
    return _Kept(state.version, state.generation, cases, order["__case"], log, staff, base.held)


def _read(filters: LogFilters, state: logstore.StoreState) -> _Kept:
    """The log for ``filters`` read whole from the copy at ``state`` and coded."""
    every = _every_case(filters)
    cases = _stored_cases(state, filters)
    # Every case kept: no need to match the rows against them (every event has its case).
    staff = _staff()
    rows = _stored_rows(state, filters.view, None if every else cases["__case"])
    log, keys = _code(rows, cases, staff, consume=True)
    return _Kept(state.version, state.generation, cases, keys, log, staff, _window_ids(state))


#: A stored coded log this many event ids behind the kept one is written again (not at every
#: event: writing the all-events log costs about a second; a fresh process splices the rest).
REWRITE_AFTER = 1_000
#: The worker writes a stored log that is behind again once it is this many seconds old (a fresh
#: process then maps it in one piece instead of splicing the events since).
REWRITE_AGE = 600


def _names() -> dict[str, dict[str, str]]:
    """Each team's and category's name by id: what a stored log's names were joined from."""
    return {
        "team": {str(pk): name for pk, name in Team.objects.values_list("id", "name")},
        "category": {str(pk): name for pk, name in Category.objects.values_list("id", "name")},
    }


def _stored_kept(view: View, state: logstore.StoreState) -> _Kept | None:
    """The coded log of every case stored for ``view`` (:mod:`.codedlog`), mapped, if it is of
    this copy, whole, not ahead of it, and coded with today's staff and team and category
    names; else None, and the stored one is discarded."""
    if codedlog.stored_version(view) is None:
        return None
    stored = codedlog.load(view, state.generation)
    staff = _staff()
    if (
        stored is None
        or stored.version[2] != state.version[2]
        or codedlog.ahead(stored.version, state.version)
        or not staff.sort("actor").equals(stored.staff.sort("actor"))
        or stored.names != _names()
    ):
        codedlog.discard(view)  # the log read instead is written in its place
        return None
    keys = stored.percase["key"].rename("__case")
    log: EventLog | None = None
    if stored.coded.height:
        log = EventLog(
            stored.coded,
            activity_names=stored.activity_names,
            case_names=stored.percase["case_id"],
            resource_names=stored.resource_names,
            attributes=ATTRIBUTES,
            engine=get_engine("polars"),
        )
        for column, used in stored.name_counts.items():
            log.memo(("insights.name_counts", column), used.copy)
        _give_cases(log, stored.percase)
        lineage.stored(log, (view, stored.generation, stored.version))
    return _Kept(stored.version, stored.generation, stored.cases, keys, log, staff, stored.held)


def stored_log_at(log: EventLog) -> tuple[View, str, Version] | None:
    """The view, generation and version of the stored coded log ``log`` is, if it is one (not a
    filtered, spliced, narrowed or copied log): the key of what is stored beside it."""
    return lineage.stored_at(log)


def _keep_on_disk(filters: LogFilters, kept: _Kept, *, worker: bool = False) -> None:
    """Write the coded log of every case when none of this copy is stored, or the stored one is
    :data:`REWRITE_AFTER` event ids behind ``kept`` (the ``worker`` also when it is
    :data:`REWRITE_AGE` seconds old). A log in pieces (spliced) is written again by the worker
    alone, each column copied into one piece as it is written: mapped in pieces, the analyses
    would copy them beside the mapped file (1.9 GB instead of 1.4 GB at 32M events). A failed
    write leaves the pages as they are (the next process reads the copy)."""
    if not _every_case(filters) or kept.log is None:
        return
    on_disk = codedlog.stored_version(filters.view)
    current = on_disk is not None and on_disk[0] == kept.generation
    if current:
        assert on_disk is not None
        if not codedlog.ahead(kept.version, on_disk[1]):
            return
        behind = kept.version[0] - on_disk[1][0]
        age = codedlog.age(filters.view)
        if behind < REWRITE_AFTER and not (worker and age is not None and age >= REWRITE_AGE):
            return
    log = kept.log
    coded = log.coded()
    if max(coded.n_chunks("all")) > 1 and not worker and current:
        return
    percase = log.memo(CASES_MEMO, lambda: _cases_of(log))
    stored = codedlog.Stored(
        version=kept.version,
        generation=kept.generation,
        coded=coded,
        activity_names=log.activity_names,
        resource_names=log.resource_names,
        percase=kept.keys.rename("key").to_frame().hstack(percase).rechunk(),
        cases=kept.cases.rechunk(),
        staff=kept.staff,
        held=kept.held,
        names=_names(),
        name_counts=_name_counts(log),
    )
    try:
        if codedlog.write(filters.view, stored):
            lineage.stored(log, (filters.view, kept.generation, kept.version))
    except OSError as exc:
        logger.warning("insights: the coded log of %s was not written: %s", filters.view, exc)


def _cases_of(log: EventLog) -> pl.DataFrame:
    """:data:`CASES_MEMO` read from the coded rows (a log always has it given; the fallback)."""
    coded = log.coded()
    first = coded.filter(pl.col(C).is_first_distinct())
    return first.select(
        log.decode_case(C).alias("case_id"), "version", pl.col("status").cast(pl.String)
    )


def coded_logs_keep(after_write: Callable[[EventLog], None] | None = None) -> None:
    """Keep the coded log of every case on disk, both views, for the worker's copy-keeping
    thread (so page loads seldom code the whole copy, and map it in one piece): written when
    none is stored, or brought up to date and written again when it is :data:`REWRITE_AFTER`
    event ids behind or :data:`REWRITE_AGE` seconds old and behind. ``after_write`` is given
    each log just written (what is computed over it may be stored beside it). Nothing stays in
    this process."""
    state = logstore.sync(event_log_version())
    for view in ("stages", "events"):
        on_disk = codedlog.stored_version(view)
        if on_disk is not None and on_disk[0] == state.generation:
            if not codedlog.ahead(state.version, on_disk[1]):
                continue
            age = codedlog.age(view)
            if state.version[0] - on_disk[1][0] < REWRITE_AFTER and (
                age is not None and age < REWRITE_AGE
            ):
                continue
        filters = LogFilters(view=view)
        kept = _first(filters, state)
        _keep_on_disk(filters, kept, worker=True)
        if after_write is not None and kept.log is not None and stored_log_at(kept.log):
            after_write(kept.log)
        del kept


#: Beyond this many touched cases the log is read again whole rather than spliced piece by piece.
SPLICE_LIMIT = 5_000
#: A spliced log of more chunks than this is copied into one.
MAX_CHUNKS = 64


def _brought_up_to_date(
    kept: _Kept, filters: LogFilters, state: logstore.StoreState
) -> _Kept | None:
    """The kept log with the cases that events it does not hold touched (the events after the
    kept ones, and late ones in the window below them) taken out and, where the filters still
    keep them, put back from the copy whole. Only those: cases whose events of the window the
    log already holds stay as they are (re-reading them cut the log into thousands of pieces at
    32M events, and joining them copied the whole log).

    The untouched cases' coded rows are kept as they are, renumbered where cases come or go: no
    reading, sorting or coding of the whole history again. A touched case may have left the
    filters (e.g. moved to another team: its rows go) or entered them (its history comes in).
    When the names the log codes change (an activity, a person, a team first or last seen), the
    codes of every row would change: None, and the caller makes the log whole again (having let
    go of this one first: both side by side took 2.7 GB at 32M events)."""
    recent = _recent_events(state, max(kept.version[0] - LATE_WINDOW, 0))
    held = recent.filter(pl.col("id") > max(state.version[0] - LATE_WINDOW, 0))["id"]
    touched = recent.filter(~pl.col("id").is_in(kept.held.implode()))["__case"].unique().sort()
    if kept.log is None or touched.len() > SPLICE_LIMIT:
        return None
    now = _stored_cases(state, filters, ids=touched.to_list())
    cases = pl.concat([kept.cases.filter(~pl.col("__case").is_in(touched.implode())), now])
    fresh = _stored_rows(state, filters.view, now["__case"], few=True)
    gone = kept.keys.is_in(touched.implode())
    if not fresh.height and not gone.any():
        return _Kept(state.version, state.generation, cases, kept.keys, kept.log, kept.staff, held)
    staff = _staff()
    old = kept.log
    dtypes = _case_dtypes(cases)
    if not staff.equals(kept.staff) or any(
        old.coded().schema[name] != dtype for name, dtype in dtypes.items()
    ):
        return None
    fresh_log, fresh_keys = _code(
        fresh,
        now,  # the fresh rows' cases (a join against every kept case took 0.1 s)
        staff,
        dtypes=dtypes,
        activity_names=old.activity_names,
        resource_names=old.resource_names,
    )
    if fresh.height and fresh_log is None:
        return None
    spliced = _spliced(old, kept.keys, gone, fresh_log, fresh_keys)
    if spliced is None:
        return None
    return _Kept(state.version, state.generation, cases, spliced[1], spliced[0], staff, held)


def _case_dtypes(cases: pl.DataFrame) -> dict[str, pl.DataType]:
    """The ``Enum`` each coded case attribute takes (every kept case's values, sorted) and the
    ``version`` column's type (:func:`_version_dtype`): a splice whose cases change one reads
    the log whole again."""
    dtypes: dict[str, pl.DataType] = {
        name: pl.Enum(cases[name].drop_nulls().unique().sort()) for name in _CODED_ATTRIBUTES
    }
    dtypes["version"] = _version_dtype(cases["version"])
    return dtypes


def _version_dtype(versions: pl.Series) -> pl.DataType:
    """The narrowest unsigned type every process version id of ``versions`` fits: the log
    carries it per event (8 bytes each as Int64, 0.25 GB at 32M events; 2 as UInt16)."""
    values = versions.drop_nulls().cast(pl.Int64)
    if not values.len():
        return pl.UInt16()
    low, high = int(values.min()), int(values.max())  # type: ignore[arg-type]
    if low < 0:
        return pl.Int64()
    if high < 2**16:
        return pl.UInt16()
    return pl.UInt32() if high < 2**32 else pl.Int64()


def _spliced(
    old: EventLog,
    old_keys: pl.Series,
    gone: pl.Series,
    fresh: EventLog | None,
    fresh_keys: pl.Series,
) -> tuple[EventLog, pl.Series] | None:
    """``old`` without the cases ``gone`` marks and with the ``fresh`` ones, cases numbered in
    ``__case`` order again, and the case keys in code order; None when the names would change
    (a name only the gone cases used: a fresh coding would drop it and move the codes).

    Built from slices: between two places where a case goes or comes, the old rows stay in
    order and their codes move by one constant, so they stay views of the old log's columns
    (new columns only where codes move), not sorted or merged row by row (a merge took 0.64 s
    at 7.2M rows)."""
    coded = old.coded()
    codes = coded[C]
    code_type = pl.UInt64 if codes.dtype == pl.UInt64 else pl.UInt32
    gone_codes = gone.arg_true()
    starts = codes.search_sorted(gone_codes.cast(code_type), side="left").to_list()
    ends = codes.search_sorted(gone_codes.cast(code_type), side="right").to_list()
    staying_keys = old_keys.filter(~gone)
    keys = pl.concat([staying_keys, fresh_keys]).sort()
    # (row of the old log, 0 to put a fresh case in / 1 to skip a gone one, rows from, to)
    cuts = [(s, 1, s, e) for s, e in zip(starts, ends, strict=True)]
    if fresh is not None:
        block = fresh.coded()[C].search_sorted(
            pl.Series(range(fresh_keys.len() + 1), dtype=code_type)
        )
        # Before the first old case of a greater key (a re-read case: where its old rows were).
        at_row = codes.search_sorted(
            old_keys.search_sorted(fresh_keys).cast(code_type), side="left"
        )
        for index, row in enumerate(at_row.to_list()):
            cuts.append((row, 0, int(block[index]), int(block[index + 1])))
    cuts.sort()
    gone_rows = [coded.slice(s, e - s) for s, e in zip(starts, ends, strict=True)]
    name_counts = _names_hold(old, coded, gone_rows, fresh)
    if name_counts is None:
        return None
    gone_sorted = gone_codes.cast(pl.Int64)
    pieces: list[pl.DataFrame] = []
    placed = [0]  # rows placed so far
    cursor = 0

    def staying_piece(upto: int) -> None:
        if upto <= cursor:
            return
        first = int(codes[cursor])
        shift = int(fresh_keys.search_sorted(old_keys[first])) - int(
            gone_sorted.search_sorted(first)
        )
        piece = coded.slice(cursor, upto - cursor)
        moved = placed[0] - cursor
        if shift or moved:
            piece = piece.with_columns(
                (pl.col(C).cast(pl.Int64) + shift).cast(code_type),
                (pl.col(I).cast(pl.Int64) + moved).cast(code_type),
            )
        pieces.append(piece)
        placed[0] += piece.height

    for row, kind, start, end in cuts:
        staying_piece(row)
        cursor = max(cursor, row)
        if kind == 1:  # a gone case: its rows are skipped
            cursor = end
        else:  # a fresh case: its rows, coded by the old names, under its new code
            assert fresh is not None
            fresh_code = int(fresh.coded()[C][start])
            new_code = int(keys.search_sorted(fresh_keys[fresh_code]))
            first_row = placed[0]
            pieces.append(
                fresh.coded()
                .slice(start, end - start)
                .with_columns(
                    pl.lit(new_code, code_type).alias(C),
                    pl.int_range(first_row, first_row + end - start, dtype=code_type).alias(I),
                )
            )
            placed[0] += end - start
    staying_piece(codes.len())
    # Not copied: the staying pieces are views of the old log's columns (after a few dozen
    # splices the pieces are joined, so the analyses do not walk many small chunks).
    merged = pl.concat(pieces, rechunk=False) if pieces else coded.clear()
    if max(merged.n_chunks("all")) > MAX_CHUNKS:
        merged = merged.rechunk()
    merged = merged.with_columns(pl.col(C).set_sorted())
    # Each case's name, version and status in the new code order: the staying cases' rows of
    # the old log's (untouched, so unchanged) and the fresh ones', not joined again with every
    # kept case (a join of 1M cases took 0.6 s).
    staying = old.memo(CASES_MEMO, lambda: _cases_of(old)).filter(~gone)
    parts = [staying.with_columns(staying_keys.alias("__key"))]
    if fresh is not None:
        fresh_cases = fresh.memo(CASES_MEMO, lambda: _cases_of(fresh))
        parts.append(
            fresh_cases.cast(dict(staying.schema)).with_columns(fresh_keys.alias("__key"))  # type: ignore[arg-type]
        )
    per_case = pl.concat(parts).sort("__key").drop("__key")
    log = EventLog(
        merged,
        activity_names=old.activity_names,
        case_names=per_case["case_id"],
        resource_names=old.resource_names,
        attributes=ATTRIBUTES,
        engine=get_engine("polars"),
    )
    for column, used in name_counts.items():
        log.memo(("insights.name_counts", column), used.copy)
    _give_cases(log, per_case)
    lineage.spliced(log, old, gone, fresh_keys, keys)
    return log, keys


def _names_hold(
    old: EventLog, coded: pl.DataFrame, gone: list[pl.DataFrame], fresh: EventLog | None
) -> dict[str, np.ndarray] | None:
    """How many rows use each activity and person once the gone rows are taken out and the
    fresh ones put in (kept on the log, so the next splice need not count the whole log); None
    when one the old log names would be used no more (the fresh rows were coded by the old
    names, and a fresh coding would drop it)."""
    out: dict[str, np.ndarray] = {}
    held = _name_counts(old)
    for column, names in ((A, old.activity_names), (R, old.resource_names)):
        if names is None:
            continue
        size = names.len()
        used = held[column].copy()
        for part in gone:
            used -= _code_counts(part[column], size)
        if fresh is not None:
            used += _code_counts(fresh.coded()[column], size)
        if (used <= 0).any():
            return None
        out[column] = used
    return out


def _code_counts(values: pl.Series, size: int) -> np.ndarray:
    """How many of ``values`` are each code below ``size``. Counted by the engine: numpy's
    bincount would widen 32M codes to 8 bytes each."""
    found = values.drop_nulls().value_counts()
    out = np.zeros(size, dtype=np.int64)
    out[found[:, 0].to_numpy()] = found["count"].to_numpy()
    return out


def _name_counts(log: EventLog) -> dict[str, np.ndarray]:
    """The rows of each activity and person code of ``log`` (kept on it)."""
    coded = log.coded()
    return {
        column: log.memo(
            ("insights.name_counts", column),
            partial(_code_counts, coded[column], names.len()),
        )
        for column, names in ((A, log.activity_names), (R, log.resource_names))
        if names is not None
    }


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
    if kept is not None and (kept.generation, kept.version) == (state.generation, state.version):
        return kept
    _make_room(filters, state)
    if kept is not None and kept.generation == state.generation:
        updated = _brought_up_to_date(kept, filters, state)
        if updated is None:  # let go of the old log (and what was computed over it) first
            with _kept_lock:
                _kept.pop(key, None)
            kept = None
            updated = _again(filters, state)
        elif updated.log is not kept.log:
            # Let go of the old log and what was computed over it before the spliced one (views
            # of its columns) is copied into one piece: beside them, a page over 32M events
            # computed again after a new event held 2.4 GB.
            with _kept_lock:
                if _kept.get(key) is kept:
                    _kept.pop(key)
        kept = updated
    else:
        kept = _first(filters, state)
    _keep_on_disk(filters, kept)
    kept = _in_one_piece(kept)
    with _kept_lock:
        _kept[key] = kept
        _kept.move_to_end(key)
        while len(_kept) > KEPT_LOGS or (len(_kept) > 1 and _held_bytes() > KEPT_BYTES):
            _kept.popitem(last=False)
    return kept


def _held_bytes() -> int:
    return sum(kept.log.held_bytes() for kept in _kept.values() if kept.log is not None)


def _make_room(filters: LogFilters, state: logstore.StoreState) -> None:
    """Before the log of ``filters`` is made (or brought up to date), let go of the other kept
    logs, least recently used first, until they hold at most half of :data:`KEPT_BYTES`: the
    making holds the new log and what it is made from beside them (deriving 60 % of the cases of
    32M events beside another such log and a few smaller ones peaked at 1.9 GB). Kept: the log
    of ``filters`` (a splice reads it) and the current log of every case of its view (a
    filter set is derived from it)."""
    own, base = filters.database_key(), LogFilters(view=filters.view).database_key()
    now = (state.generation, state.version)
    with _kept_lock:
        for key, kept in list(_kept.items()):
            if _held_bytes() <= KEPT_BYTES // 2:
                break
            if key == own or (key == base and (kept.generation, kept.version) == now):
                continue
            del _kept[key]


#: Between pages a kept log holds, beside its rows, only the memos worth their bytes: each case's
#: attributes and the names' row counts (what a splice reads), the conformance check (seconds to
#: compute again), and any of at most :data:`SMALL_MEMO` bytes (a page's own tables). The rest
#: (the next-event table, the steps sorted by edge and by case, the counts per case and activity:
#: 0.6-0.9 GB at 32M events, under a second each to compute again) goes once no page is being
#: computed: the pages computed over them are kept as answers.
SMALL_MEMO = 16 * 2**20
_KEPT_MEMOS = (CASES_MEMO[0], "insights.name_counts", "insights.conformance")
#: Memos that stand for others they gave the log (the stored step sorts): they go every time, so
#: that what they gave is given again once it went.
_GIVING_MEMOS = ("insights.stored_steps",)

_computing = 0
_computing_lock = threading.Lock()


@contextmanager
def computing_page() -> Iterator[None]:
    """Around the computing of a page over kept logs: when the last page computing in this process
    is done, every kept log lets go of the memos not worth holding (:data:`SMALL_MEMO`). Pages
    computed at once (threads) keep theirs until the last one is done."""
    global _computing
    with _computing_lock:
        _computing += 1
    try:
        yield
    finally:
        with _computing_lock:  # held while letting go, so that no page starts meanwhile
            _computing -= 1
            if not _computing:
                _drop_memos()


def _drop_memos() -> None:
    with _kept_lock:
        logs = [kept.log for kept in _kept.values() if kept.log is not None]
    for log in logs:
        log.drop_memos(_worth_keeping)


def _worth_keeping(key: Any, size: int) -> bool:
    head = key[0] if isinstance(key, tuple) and key else key
    if head in _GIVING_MEMOS:
        return False
    return head in _KEPT_MEMOS or size <= SMALL_MEMO


def _in_one_piece(kept: _Kept) -> _Kept:
    """``kept`` with its log's columns copied into one piece each when they are in pieces (a
    splice): the pages' analyses copied them again each (the next-event table, the variants'
    group-by: two more copies of the whole log at 32M events, 2.2 GB where one piece keeps the
    page at 1.4 GB). What the splice kept on the log (each case's attributes, the names' row
    counts) goes with it."""
    log = kept.log
    if log is None or max(log.coded().n_chunks("all")) <= 1:
        return kept
    # A column at a time, each taken out of the spliced log (which goes): the pieces of a
    # mapped log are views of a file per column, let go of as its copy is made, so the log is
    # never held twice (copied whole beside the mapped files, 1.9 GB at 32M events).
    frame = log.coded()
    columns = [frame.drop_in_place(name).rechunk() for name in list(frame.columns)]
    whole = EventLog(
        pl.DataFrame(columns).with_columns(pl.col(C).set_sorted()),
        activity_names=log.activity_names,
        case_names=log.case_names,
        resource_names=log.resource_names,
        attributes=log.attributes,
        engine=log.engine,
    )
    log.give_memos(whole, (CASES_MEMO, *(("insights.name_counts", column) for column in (A, R))))
    lineage.copied(whole, log)  # its cases' conformance parts still apply
    return dataclasses.replace(kept, log=whole)


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


def _case_order(rows: pl.DataFrame) -> pl.DataFrame:
    """Each case of ``rows`` (sorted by case) once, in their order."""
    case_of_row = rows["__case"]
    first = case_of_row != case_of_row.shift(1)
    return pl.DataFrame({"__case": case_of_row.filter(first.fill_null(True)).cast(pl.Int64)})


def _code(
    rows: pl.DataFrame,
    cases: pl.DataFrame,
    staff: pl.DataFrame,
    *,
    dtypes: dict[str, pl.DataType] | None = None,
    activity_names: pl.Series | None = None,
    resource_names: pl.Series | None = None,
    consume: bool = False,
) -> tuple[EventLog | None, pl.Series]:
    """The coded log of ``rows`` and each case code's ``__case``; (None, no keys) for no rows.

    Without the library's work on rows of unknown shape: the rows are already sorted by case,
    time and id and come from the copy, so a case's code is its run number, a case's attributes
    are gathered by that code from one row per case, and staff names are looked up per person,
    not per row (at 7.2M visits the general build took 2.7 s and a string per row and
    attribute). ``dtypes``: :func:`_case_dtypes` of ``cases``, if known. ``activity_names`` /
    ``resource_names``: code by these names (a part to splice
    into a log coded by them); None when a row has a name they lack. ``consume``: take the
    columns out of ``rows`` as they are coded (they are the caller's last reference), so the
    log and the rows are not held whole side by side."""
    order = _case_order(rows)
    per_case = order.join(cases, on="__case", how="left", maintain_order="left")
    if per_case["case_id"].null_count():  # rows of a case the kept cases lack (never expected)
        known = cases.select(pl.col("__case").cast(rows["__case"].dtype, strict=False))
        rows = rows.join(known, on="__case", how="semi", maintain_order="left")
        order = _case_order(rows)
        per_case = order.join(cases, on="__case", how="left", maintain_order="left")
    if rows.height == 0:
        return None, pl.Series("__case", [], pl.Int64)
    take = rows.drop_in_place if consume else rows.get_column
    code_type = pl.UInt32 if rows.height < 2**32 else pl.UInt64
    codes = take("__case").rle_id().cast(code_type)
    dtypes = dtypes or _case_dtypes(cases)  # categories of every kept case, as log_frame has
    per_case = per_case.with_columns(per_case[name].cast(dtypes[name]) for name in dtypes)
    activities = take("activity")
    present_activities = activities.unique().cast(pl.String).sort()
    if activity_names is None:
        activity_names = present_activities
    elif not present_activities.is_in(activity_names.implode()).all():
        return None, order["__case"]
    activity = activities.cast(pl.Enum(activity_names)).to_physical()
    del activities
    actors = take("actor")
    present = staff.filter(
        pl.col("actor").is_in(actors.unique().drop_nulls().cast(pl.Int64).implode())
    )
    if resource_names is None:
        resource_names = present["resource"].unique().sort()
    elif not present["resource"].is_in(resource_names.implode()).all():
        return None, order["__case"]
    width = pl.Series(dtype=pl.Enum(resource_names)).to_physical().dtype
    resource_code = present.select(
        "actor",
        pl.col("resource").cast(pl.Enum(resource_names)).to_physical().cast(width),
    )
    resource = actors.replace_strict(
        resource_code["actor"].cast(actors.dtype),  # each is one of the rows' (they fit)
        resource_code["resource"],
        default=None,
        return_dtype=width,
    )
    del actors
    log = _coded_log(
        codes,
        activity,
        take("timestamp").dt.epoch("us"),
        resource,
        per_case,
        activity_names,
        resource_names,
    )
    return log, order["__case"]


def _coded_log(
    codes: pl.Series,
    activity: pl.Series,
    timestamps: pl.Series,
    resource: pl.Series,
    per_case: pl.DataFrame,
    activity_names: pl.Series,
    resource_names: pl.Series | None,
) -> EventLog:
    """The engine's log of coded rows in case order (``codes``: each row's case code, from
    0), each case's attributes from ``per_case`` (in code order) gathered onto its rows."""
    row_type = pl.UInt64 if codes.dtype == pl.UInt64 else pl.UInt32  # row numbers as codes
    frame = pl.DataFrame(
        {
            C: codes,
            A: activity,
            T: timestamps,
            R: resource,
            I: pl.int_range(codes.len(), dtype=row_type, eager=True),
        }
    ).with_columns(
        pl.col(C).set_sorted(),
        *(per_case[name].gather(codes).alias(name) for name in ATTRIBUTES),
    )
    log = EventLog(
        frame,
        activity_names=activity_names,
        case_names=per_case["case_id"],
        resource_names=resource_names,
        attributes=ATTRIBUTES,
        engine=get_engine("polars"),
    )
    _give_cases(log, per_case)
    return log


def _give_cases(log: EventLog, per_case: pl.DataFrame) -> None:
    """Put :data:`CASES_MEMO` on ``log`` from its cases' rows (in code order)."""
    frame = per_case.select("case_id", "version", pl.col("status").cast(pl.String))
    log.memo(CASES_MEMO, lambda: frame)
