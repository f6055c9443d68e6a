"""Coding and sorting a raw frame into an :class:`EventLog`, with every check on the way.

Case code = rank of the case's first appearance (found by one hash group-by that also groups
the rows, not by sorting strings); activity and resource codes = positions in their sorted
names; timestamps = UTC epoch microseconds; the one shared sort by (case, time, file order)
runs only when times within a case are out of file order.
"""

from __future__ import annotations

import contextlib
from typing import Any

import polars as pl

from ._engine import Engine, get_engine
from ._log import EventLog
from ._mapping import ColumnMapping, Duplicates
from ._schema import A, C, I, R, S, T
from ._threads import beside
from ._timestamps import to_epoch_us
from .errors import (
    DuplicateEventError,
    EmptyLogError,
    MissingColumnError,
    MissingValueError,
)

__all__ = ["ColumnMapping", "Duplicates", "build_log"]
_POS = "__pos"
_NAME_SAMPLE = 65_536  # rows whose activity names are read first (see _code_names)


def build_log(
    frame: pl.DataFrame,
    mapping: ColumnMapping,
    *,
    engine: str | Engine,
    path: str | None,
    row_offset: int,
    row_index: str | None = None,
) -> EventLog:
    """Check, code and sort ``frame`` into an :class:`EventLog`.

    ``row_index`` names a column that already holds each row's 0-based position in the source
    (a part of a bigger file), in ascending order; otherwise rows are numbered here.
    """
    case, activity, timestamp = mapping.case, mapping.activity, mapping.timestamp
    start_timestamp, resource, lifecycle = (
        mapping.start_timestamp,
        mapping.resource,
        mapping.lifecycle,
    )
    attributes, duplicates = mapping.attributes, mapping.duplicates
    available = frame.columns
    mapped = [case, activity, timestamp, start_timestamp, resource, lifecycle]
    for col in mapped:
        if col is not None and col not in available:
            raise MissingColumnError(col, available, path=path)
    used = {c for c in mapped if c is not None}
    if attributes is None:
        attrs = [c for c in available if c not in used and not c.startswith("__")]
    else:
        attrs = list(attributes)
        for col in attrs:
            if col not in available:
                raise MissingColumnError(col, available, path=path)
    keep = [*dict.fromkeys([*(c for c in mapped if c), *attrs])]
    # Rows numbered here are their own positions: the file order is then the position the
    # grouping hands back anyway, and a row's number is its position (no column of them).
    numbered = row_index is None and lifecycle is None
    if numbered:
        frame = frame.select(keep)
        top = frame.height
    elif row_index is None:
        frame = frame.select(keep).with_row_index(I)
        top = frame.height
    else:
        frame = frame.select(pl.col(row_index).alias(I), *keep)
        top = int(frame[I].max() or 0) + 1  # type: ignore[arg-type]
    # 32-bit positions and codes sort and group faster than 64-bit ones (and use half the memory).
    idx = pl.UInt32 if top < 2**32 else pl.UInt64
    if not numbered:
        frame = frame.with_columns(pl.col(I).cast(idx))
    if frame.height == 0:
        raise EmptyLogError(f"{path or 'the log'} has no events")
    row_col = None if numbered else I

    if lifecycle is not None:
        frame = _apply_lifecycle(frame, case, activity, timestamp, lifecycle, start_timestamp)
        if "__lc_start" in frame.columns:
            start_timestamp = "__lc_start"

    for col in (case, activity, timestamp):
        if frame[col].null_count():  # kept with the column: no pass over the rows
            nulls = frame[col].is_null()
            at = int(nulls.arg_true()[0])
            row = at if row_col is None else int(frame[row_col][at])
            raise MissingValueError(
                column=col, row=row + row_offset, count=int(nulls.sum()), path=path
            )
    case_str = frame[case].cast(pl.String)
    # Grouping the rows by case (the longest step) runs beside the coding of the other columns.
    grouping = beside(lambda: _case_order(_case_key(case_str, exact=False), idx))
    try:
        ts_opts: dict[str, Any] = {
            "row_col": row_col,
            "row_offset": row_offset,
            "timestamp_format": mapping.timestamp_format,
            "day_first": mapping.day_first,
            "timezone": mapping.timezone,
            "path": path,
        }
        cols: list[pl.Series | pl.Expr] = [to_epoch_us(frame, timestamp, **ts_opts).alias(T)]
        if start_timestamp is not None:
            start = to_epoch_us(frame, start_timestamp, **ts_opts)
            cols.append(start.alias(S))

        activity_names, act_codes = _code_names(frame[activity])
        cols.append(act_codes.alias(A))
        resource_names = None
        if resource is not None:
            res = frame[resource].cast(pl.String)
            resource_names = res.drop_nulls().unique().sort()
            cols.append(res.cast(pl.Enum(resource_names)).to_physical().alias(R))
    except BaseException:
        with contextlib.suppress(BaseException):
            grouping()  # not left running behind the error
        raise

    kept = [*([] if numbered else [I]), *dict.fromkeys(attrs)]
    base = frame.select(kept).with_columns(*cols) if kept else pl.DataFrame(cols)
    order = grouping()
    # The hash check and the cases' names run beside the reordering (a third of a second of
    # one core each at ten million events).
    checking = beside(lambda: (_hash_collided(case_str, order), case_str.gather(order[2])))
    try:
        coded, firsts = _grouped(base, order)
    except BaseException:
        with contextlib.suppress(BaseException):
            checking()  # not left running behind the error
        raise
    collided, case_names = checking()
    if collided:  # a 64-bit hash collision merged two cases: code them by the strings instead
        coded, firsts = _grouped(base, _case_order(_case_key(case_str, exact=True), idx))
        case_names = case_str.gather(firsts)
    if numbered:
        coded = coded.with_columns(pl.col(_POS).alias(I))
    coded = _shared_sort(coded).with_columns(pl.col(C).set_sorted()).drop(_POS)
    coded = _check_duplicates(coded, duplicates, path, row_offset)
    keep = [c for c in (C, A, T, S, R, I) if c in coded.columns]
    coded = coded.select(*keep, *attrs)
    eng = get_engine(engine)
    return EventLog(
        eng.adopt(coded),
        activity_names=activity_names,
        case_names=case_names,
        resource_names=resource_names,
        attributes=tuple(attrs),
        engine=eng,
        source=path,
    )


def _code_names(values: pl.Series, *, sample: int = _NAME_SAMPLE) -> tuple[pl.Series, pl.Series]:
    """The sorted distinct names of a null-free column and each row's position among them.

    The names are first taken from ``sample`` rows spread over the column, not from all of
    them (a hash of ten million strings, 0.12 s of the 0.28 s this takes): the coding then
    finds the rows whose name the sample missed (none, unless a name is rare), and only those
    are looked at again, so the answer is the full column's whatever the sample held.

    An Enum column is already coded: only its few categories are looked at and the codes are
    renumbered, so its strings are never built (a big log's parts arrive that way).
    """
    if not isinstance(values.dtype, pl.Enum):
        text = values.cast(pl.String)
        every = max(1, text.len() // sample)
        names = (text.gather_every(every) if every > 1 else text).unique().sort()
        codes = text.cast(pl.Enum(names), strict=False).to_physical()
        if not codes.null_count():
            return names, codes
        missed = codes.is_null()
        return _recoded(names, codes, missed.arg_true(), text.filter(missed))
    codes = values.to_physical()
    present = codes.unique()
    found = values.dtype.categories.gather(present)
    order = found.arg_sort()
    names = found.gather(order)
    width = pl.Series(dtype=pl.Enum(names)).to_physical().dtype
    lut = pl.zeros(len(values.dtype.categories), width, eager=True)
    lut = lut.scatter(present.gather(order), pl.int_range(len(names), eager=True).cast(width))
    return names, lut.gather(codes)


def _recoded(
    names: pl.Series, codes: pl.Series, at: pl.Series, missed: pl.Series
) -> tuple[pl.Series, pl.Series]:
    """Codes among ``names`` (null at the rows ``at``, whose names ``missed`` were not among
    them) made codes among all the names: as if every name had been known from the start."""
    full = pl.concat([names, missed.unique()]).sort()
    kind = pl.Enum(full)
    width = pl.Series(dtype=kind).to_physical().dtype
    lut = names.cast(kind).to_physical().cast(width)  # old position -> new position
    known = lut.gather(codes.fill_null(0))  # the sample held a name: ``names`` is not empty
    return full, known.scatter(at, missed.cast(kind).to_physical().cast(width))


def _case_key(case: pl.Series, *, exact: bool) -> pl.Series:
    """What rows of one case share: the 64-bit hash of the id, much cheaper to group by than the
    string (the caller checks that no two cases shared a hash, then retries with ``exact``)."""
    return case if exact else case.hash()


def _case_order(key: pl.Series, idx: Any) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Rows grouped by case: each row's case code ``C`` in grouped order, the file position of
    each grouped row (``_POS``), and the file position of each case's first row (by code).

    Cases come in order of first appearance (no string sort), each case's rows in file order:
    one hash group-by, no sort. A log already grouped by case (one run per case) keeps its row
    order; an interleaved export changes case on most rows (its first rows tell), so counting
    runs and distinct ids to prove a log grouped is only worth it when there are few runs.
    """
    n = key.len()
    pos = pl.int_range(n, dtype=idx, eager=True)
    head = key.head(4096)
    if 2 * int((head != head.shift(1)).sum()) <= head.len():  # few runs so far: grouped?
        runs = key.rle_id()
        n_runs = int(runs[-1]) + 1
        if 2 * n_runs <= n and key.n_unique() == n_runs:
            return (
                runs.cast(idx).alias(C),
                pos.alias(_POS),
                pos.filter(runs != runs.shift(1).fill_null(-1)),
            )
    groups = pl.DataFrame({"k": key, _POS: pos}).group_by("k", maintain_order=True).agg(_POS)
    firsts = groups[_POS].list.first()
    rows = groups.select(pl.int_range(pl.len(), dtype=idx).alias(C), _POS).explode(_POS)
    return rows[C], rows[_POS], firsts


def _hash_collided(case: pl.Series, order: tuple[pl.Series, pl.Series, pl.Series]) -> bool:
    """Whether two cases shared a 64-bit hash in :func:`_case_order`, and so a code: a second,
    independent hash of the ids then changes inside a case's rows, which sit together (odds
    2**-128; comparing the strings themselves costs a string gather)."""
    codes, positions, _ = order
    check = case.hash(seed=0x5EED).gather(positions)  # as Series: half the CPU of a query
    return bool(((check != check.shift(1)) & (codes == codes.shift(1))).any())


def _grouped(
    base: pl.DataFrame, order: tuple[pl.Series, pl.Series, pl.Series]
) -> tuple[pl.DataFrame, pl.Series]:
    """``base`` reordered by :func:`_case_order` with ``C`` and ``_POS``, and the first rows."""
    codes, positions, firsts = order
    if positions.is_sorted():  # a log grouped by case already: nothing moves
        return base.with_columns(codes, positions), firsts
    # A Parquet log's columns come in one piece per row group; gathering from many pieces
    # looks up each row's piece first: joined first, the gather takes a third of the CPU
    # (0.16 -> 0.10 s at ten million events, 81 pieces, the join included).
    return base.rechunk().select(pl.all().gather(positions)).with_columns(codes, positions), firsts


def _shared_sort(coded: pl.DataFrame) -> pl.DataFrame:
    """The one sort, by (case, time, file order), only when times within a case are out of order.

    Rows arrive grouped by case in file order (:func:`_group_cases`); real exports are ordered
    by time, so usually nothing is left to sort.
    """
    in_order = (pl.col(T) >= pl.col(T).shift(1)) | (pl.col(C) != pl.col(C).shift(1))
    if coded.select(in_order.fill_null(True).all()).item():
        return coded
    return coded.sort(C, T, I)


def _apply_lifecycle(
    frame: pl.DataFrame,
    case: str,
    activity: str,
    timestamp: str,
    lifecycle: str,
    start_timestamp: str | None,
) -> pl.DataFrame:
    """Keep 'complete' events; pair the k-th 'start' of an activity with its k-th 'complete'."""
    kind = frame[lifecycle].cast(pl.String).str.to_lowercase().fill_null("complete")
    frame = frame.with_columns(kind.alias("__lc"))
    complete = frame.filter(pl.col("__lc") == "complete")
    starts = frame.filter(pl.col("__lc") == "start")
    if starts.height and start_timestamp is None:
        key = [case, activity]
        nth = pl.int_range(pl.len()).over(key).alias("__nth")
        starts = starts.sort(I).select(*key, nth, pl.col(timestamp).alias("__lc_start"))
        complete = (
            complete.sort(I)
            .with_columns(nth)
            .join(starts, on=[*key, "__nth"], how="left", nulls_equal=False)
        )
        complete = complete.with_columns(
            pl.coalesce("__lc_start", timestamp).alias("__lc_start")
        ).drop("__nth")
    return complete.drop("__lc").sort(I)


def _check_duplicates(
    coded: pl.DataFrame, duplicates: Duplicates, path: str | None, row_offset: int
) -> pl.DataFrame:
    """Duplicates share case and time, so only rows tied on (case, time) need a full check."""
    if duplicates == "keep":
        return coded
    key = [c for c in (C, A, T, S, R) if c in coded.columns]
    tied = (pl.col(C) == pl.col(C).shift(1)) & (pl.col(T) == pl.col(T).shift(1))
    tied = tied | tied.shift(-1)
    suspects = coded.filter(tied.fill_null(False))
    if suspects.height == 0:
        return coded
    first = pl.col(I).min().over(key).alias("__first")
    dup = suspects.select(I, first).filter(pl.col(I) != pl.col("__first")).sort(I)
    if dup.height == 0:
        return coded
    if duplicates == "drop":
        return coded.filter(~pl.col(I).is_in(dup[I].implode()))
    raise DuplicateEventError(
        row=int(dup[I][0]) + row_offset,
        duplicate_of=int(dup["__first"][0]) + row_offset,
        count=dup.height,
        path=path,
    )
