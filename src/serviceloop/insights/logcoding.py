"""The copy's rows coded for the engine (case codes by run, names as codes, case attributes as
``Enum``), and the log kept per set of filters (:class:`_Kept`) read whole from the copy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa

from serviceloop.analytics import EventLog
from serviceloop.analytics._engine import get_engine
from serviceloop.analytics._schema import A, C, I, R, T
from serviceloop.insights import logstore
from serviceloop.insights.copyrows import (
    _every_case,
    _staff,
    _stored_cases,
    _stored_rows,
    _window_ids,
)
from serviceloop.insights.logfilters import ATTRIBUTES, LOG_COLUMNS, LogFilters
from serviceloop.insights.logstore import Version

__all__ = ["CASES_MEMO", "log_frame"]

#: The log's memo of each case's ``case_id``, ``version`` and ``status`` (in code order), which
#: every page's scope reads: given with the kept log, which has them per case already.
CASES_MEMO = ("insights.cases", "version", "status")


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


def _read(filters: LogFilters, state: logstore.StoreState) -> _Kept:
    """The log for ``filters`` read whole from the copy at ``state`` and coded."""
    every = _every_case(filters)
    cases = _stored_cases(state, filters)
    # Every case kept: no need to match the rows against them (every event has its case).
    staff = _staff()
    rows = _stored_rows(state, filters.view, None if every else cases["__case"])
    log, keys = _code(rows, cases, staff, consume=True)
    return _Kept(state.version, state.generation, cases, keys, log, staff, _window_ids(state))


def _cases_of(log: EventLog) -> pl.DataFrame:
    """:data:`CASES_MEMO` read from the coded rows (a log always has it given; the fallback)."""
    coded = log.coded()
    first = coded.filter(pl.col(C).is_first_distinct())
    return first.select(
        log.decode_case(C).alias("case_id"), "version", pl.col("status").cast(pl.String)
    )


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
    given: dict[str, pl.Series] | None = None,
) -> EventLog:
    """The engine's log of coded rows in case order (``codes``: each row's case code, from
    0), each case's attributes from ``per_case`` (in code order) gathered onto its rows, but
    those ``given`` per row already (of the type ``per_case`` has them)."""
    given = given or {}
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
        *(
            given[name].alias(name) if name in given else per_case[name].gather(codes).alias(name)
            for name in ATTRIBUTES
        ),
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
