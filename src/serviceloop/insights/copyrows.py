"""A filter set's cases and rows read from the columnar copy (:mod:`.logstore`), in log order,
for the kept logs (:mod:`.keptlogs`) to code: file by file, activities as categories, ids as 4
bytes where they fit, sorted by case taking a column at a time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from serviceloop.accounts.choices import STAFF_ROLES
from serviceloop.accounts.models import Team, User
from serviceloop.cases.models import Category
from serviceloop.insights import logstore
from serviceloop.insights.logfilters import _QUERY_FIELDS, LogFilters, View
from serviceloop.processes.models import ProcessVersion

__all__ = ["LATE_WINDOW"]

LATE_WINDOW = logstore.LATE_WINDOW

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
