"""The two sorts of every step, kept per case so a log made from another one patches them.

The DFG, the activity times and the bottlenecks read their medians and 90th percentiles from the
step durations sorted by edge (:func:`._steps._runs`), and the DFG's cases per pair and the
rework from one integer per event sorted by case (:func:`._steps.case_step_keys`): two sorts of
every event, 0.4-0.8 s each at 32M events, however few cases changed since they were last made.
:class:`StepParts` keeps both with what makes them per case (each sorted step's case), so that
:func:`install_parts` makes them for a log whose cases are mostly those of the log they came
from (a filter set's cases, or new events spliced in): the kept cases' entries by a mask, their
case codes moved, and the other cases' entries made from their rows and merged in (a mask and a
merge, no sort of the kept millions). The results are what the two sorts give on that log, entry
for entry; every statistic over them is computed as before, so the answers are the same (the
group-bys' float sums included: they still run over the log).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ._engine import PolarsEngine
from ._log import EventLog
from ._order import SortedRuns, _split
from ._schema import A2, T2, A, C, T
from ._steps import _EDGE, PAIR_CASES, _pair_cases
from .discovery import ACTIVITY_COUNTS

__all__ = ["StepParts", "activity_counts", "install_parts", "step_parts"]

_P, _CASE = "__packed", "__case_of"


@dataclass(frozen=True)
class StepParts:
    """A log's sorted step durations by edge (``runs``) with each one's case code
    (``runs_case``), its sorted case-step keys (``keys``), and what they were made with."""

    runs: SortedRuns
    runs_case: pl.Series  # UInt32: the case code of each entry of ``runs.packed``
    keys: pl.Series
    activity_names: tuple[str, ...]
    n_cases: int
    #: Cases per directly-follows pair (``_EDGE``: Int64, ``cases``: UInt32), from ``keys``.
    pairs: pl.DataFrame
    #: Events and cases per activity (``A``: Int64, ``count``, ``cases``: UInt32), from ``keys``.
    activities: pl.DataFrame


def step_parts(log: EventLog) -> StepParts | None:
    """The :class:`StepParts` of ``log``; None on engines other than Polars or when the
    durations do not fit the packing (nothing to keep). Made from the coded columns and their
    views one row on, not from the next-event table (0.4 GB beside the log at 32M events, in
    the worker that writes them)."""
    if not isinstance(log.engine, PolarsEngine):
        return None
    n = max(1, len(log.activity_names))
    pairs = _pairs_frame(log)
    made = _runs_with_cases(pairs, n)
    if made is None:
        return None
    runs, cases = made
    keys = _sorted_keys(log, pairs, n)
    return StepParts(
        runs=runs,
        runs_case=cases,
        keys=keys,
        activity_names=tuple(log.activities),
        n_cases=log.n_cases,
        pairs=_pair_cases(keys, n),
        activities=activity_counts(keys, n),
    )


def _pairs_frame(log: EventLog) -> pl.DataFrame:
    """Each event but the last with the next row (``__c2``, ``A2``, ``T2``): views of the coded
    columns one row apart, not copies. A row is a step where the two cases are the same."""
    coded = log.coded()
    last = max(coded.height - 1, 0)
    return pl.DataFrame(
        {
            C: coded[C].slice(0, last),
            "__c2": coded[C].slice(1),
            A: coded[A].slice(0, last),
            A2: coded[A].slice(1),
            T: coded[T].slice(0, last),
            T2: coded[T].slice(1),
        }
    )


def _sorted_keys(log: EventLog, pairs: pl.DataFrame, n: int) -> pl.Series:
    """The log's case-step keys as :func:`._steps.case_step_keys` makes them, sorted."""
    span = n * (n + 1)
    width = pl.UInt32 if (log.n_cases + 1) * span < 2**32 else pl.UInt64
    nxt = pl.when(pl.col(C) == pl.col("__c2")).then(pl.col(A2)).otherwise(None)
    key = (
        pl.col(C).cast(width) * span
        + pl.col(A).cast(width) * (n + 1)
        + nxt.cast(width).fill_null(n)
    ).alias(_EDGE)
    last = (
        log.coded()
        .tail(1)
        .select(  # the last event has no row of its own in ``pairs``
            (pl.col(C).cast(width) * span + pl.col(A).cast(width) * (n + 1) + n).alias(_EDGE)
        )
    )
    keys = pairs.lazy().select(key).collect(engine="streaming")
    return pl.concat([keys, last.cast(keys.schema)])[_EDGE].sort()


def activity_counts(keys: pl.Series, n: int) -> pl.DataFrame:
    """Events and cases per activity code (``A``: Int64, ``count``, ``cases``: UInt32) from
    sorted case-step keys (of whole cases): a key per event, a run of keys per case and
    activity."""
    of = keys // (n + 1)  # case * n + activity: each case's activities are runs
    frame = pl.DataFrame({A: (of % n).cast(pl.Int64), "__first": of != of.shift(1)})
    out = frame.group_by(A).agg(
        pl.len().alias("count"), pl.col("__first").fill_null(True).sum().alias("cases")
    )
    return out.with_columns(pl.col("count").cast(pl.UInt32), pl.col("cases").cast(pl.UInt32))


def _runs_with_cases(pairs: pl.DataFrame, n: int) -> tuple[SortedRuns, pl.Series] | None:
    """The edge runs (packed as ``._steps._edge_runs`` packs them) and each entry's case: the
    steps packed with their cases and sorted by the packed value (equal values are
    interchangeable, so the runs are the same)."""
    steps = pairs.lazy().filter(pl.col(C) == pl.col("__c2"))
    value = pl.col(T2) - pl.col(T)
    bounds = steps.select(value.min().alias("low"), value.max().alias("high"))
    low, high = bounds.collect(engine="streaming").row(0)
    if low is None:
        empty = SortedRuns(pl.Series([], dtype=pl.UInt64), 0, 0, [0] * (n * n + 1))
        return empty, pl.Series(_CASE, [], dtype=pl.UInt32)
    bits = (high - low).bit_length()
    if bits + max(1, (n * n - 1).bit_length()) > 64:
        return None
    packing = SortedRuns(pl.Series([], dtype=pl.UInt64), bits, low, [0] * (n * n + 1))
    ordered = _packed_steps(steps, packing, n, sort=True)
    return _split(ordered[_P].alias(A), bits, low, n * n), ordered[_CASE]


def _packed_steps(
    frame: pl.LazyFrame, runs: SortedRuns, n: int, *, sort: bool = False
) -> pl.DataFrame:
    """The steps of ``frame`` packed as ``runs`` packs them (``_P``), with their case
    (``_CASE``); raises :class:`_Unfit` when one does not fit the packing. ``sort``: sorted by
    the packed value, by the streaming engine (a piece at a time: at 32M steps less memory than
    sorting the frame), for steps the packing was made from (they fit)."""
    width = pl.UInt32 if n * n < 2**32 else pl.UInt64
    edge = pl.col(A).cast(width) * n + pl.col(A2).cast(width)
    shifted = (pl.col(T2) - pl.col(T)).cast(pl.Int64) - runs.offset
    steps = frame.filter(shifted.is_not_null())
    if not sort:
        bounds = steps.select(shifted.min().alias("low"), shifted.max().alias("high")).collect()
        low, high = bounds.row(0)
        if low is not None and (low < 0 or high >= 1 << runs.bits):
            raise _Unfit
    out = steps.select(
        (edge.cast(pl.UInt64) * pl.lit(1 << runs.bits, pl.UInt64) + shifted.cast(pl.UInt64)).alias(
            _P
        ),
        pl.col(C).cast(pl.UInt32).alias(_CASE),
    )
    collected = (out.sort(_P) if sort else out).collect(engine="streaming")
    assert isinstance(collected, pl.DataFrame)
    return collected


class _Unfit(Exception):
    """A step of the log does not fit the kept packing (the caller sorts afresh)."""


#: The two sorts :func:`install_parts` makes: each one's memo on the log.
SORTS = {"runs": ("runs", T2), "keys": "case_step_keys"}


def install_parts(
    log: EventLog,
    parts: StepParts,
    codes: pl.Series | None,
    sorts: tuple[str, ...] = ("runs", "keys"),
) -> bool:
    """Memoise on ``log`` the ``sorts`` (of :data:`SORTS`: the edge runs, the case-step keys
    with the cases per pair and per activity) made from ``parts`` (of another log): ``codes``
    gives, for every case code of ``log``, the code of that case in the parts' log when its
    rows are that log's, else null (its entries are made from its rows); None: ``log`` is the
    parts' log case for case. False, nothing memoised, when they do not fit: another engine,
    other activity names, codes not in increasing order, a step outside the packing, or the
    sorts memoised already (the caller's analyses then sort as before). A log of fewer
    activity names (a filter set whose cases never had some) takes the entries with their
    codes moved."""
    if not isinstance(log.engine, PolarsEngine):
        return False
    wanted = tuple(sort for sort in sorts if not log.has_memo(SORTS[sort]))
    if not wanted:
        return False
    names = tuple(log.activities)
    at = {name: code for code, name in enumerate(names)}
    recoded = None
    if names != parts.activity_names:
        if codes is None or not set(names) <= set(parts.activity_names):
            return False
        recoded = pl.Series([at.get(name) for name in parts.activity_names], dtype=pl.Int64)
    kept_n = max(1, len(parts.activity_names))
    if parts.runs.n_keys != kept_n * kept_n:
        return False
    try:
        made = _made(log, parts, codes, max(1, len(names)), recoded, wanted)
    except _Unfit:
        return False
    if made is None:
        return False
    if made.runs is not None:
        runs = made.runs
        log.memo(SORTS["runs"], lambda: runs)
    if made.keys is not None:
        keys = made.keys
        log.memo(SORTS["keys"], lambda: keys)
    if made.counts is not None:
        pairs, activities = made.counts
        log.memo(PAIR_CASES, lambda: pairs)
        dtype = log.coded().schema[A]
        log.memo(ACTIVITY_COUNTS, lambda: activities.with_columns(pl.col(A).cast(dtype)))
    return True


#: A log whose cases are the parts' in at most this many stretches (a splice: the untouched
#: cases between two touched ones) takes the parts' entries by slices, without a copy; more (a
#: filter set) by a mask over every entry.
MAX_STRETCHES = 4096


@dataclass(frozen=True)
class _Made:
    """The sorts made for a log (None: not asked for), and its cases per pair and per activity
    when they come with the keys cheaply (by slices)."""

    runs: SortedRuns | None
    keys: pl.Series | None
    counts: tuple[pl.DataFrame, pl.DataFrame] | None


def _made(
    log: EventLog,
    parts: StepParts,
    codes: pl.Series | None,
    n: int,
    recoded: pl.Series | None,
    sorts: tuple[str, ...],
) -> _Made | None:
    """What :func:`install_parts` memoises; ``n``: the log's activities; ``recoded``: each of
    the parts' activity codes in the log (null: not there), None when they are the same."""
    span = n * (n + 1)
    width = pl.UInt32 if (log.n_cases + 1) * span < 2**32 else pl.UInt64
    with_runs, with_keys = "runs" in sorts, "keys" in sorts
    if codes is None:
        if log.n_cases != parts.n_cases:
            return None
        return _Made(
            parts.runs if with_runs else None,
            parts.keys.cast(width) if with_keys else None,
            (parts.pairs, parts.activities) if with_keys else None,
        )
    if codes.len() != log.n_cases:  # a narrowed log keeps other codes: not made here
        return None
    codes = codes.cast(pl.Int64)
    kept = codes.drop_nulls()
    if kept.len() and (
        int(kept.min()) < 0  # type: ignore[arg-type]
        or int(kept.max()) >= parts.n_cases  # type: ignore[arg-type]
        or not bool((kept.diff().drop_nulls() > 0).all())
    ):
        return None
    positions = pl.int_range(log.n_cases, dtype=pl.Int64, eager=True)
    rows = _rows_of(log, positions.filter(codes.is_null()))
    new_runs = _packed_steps(rows.lazy(), parts.runs, n)[_P].sort()  # checks they fit
    new_keys = _keys_of(rows, n).cast(width)
    stretches = _stretches(codes) if recoded is None else None
    name = parts.keys.name
    if stretches is None:  # a filter set: its counts are the library's, over its keys
        return _Made(
            _runs_masked(parts, kept, new_runs, n, recoded) if with_runs else None,
            _keys_masked(parts, codes, kept, new_keys, n, width, recoded).alias(name)
            if with_keys
            else None,
            None,
        )
    gone = _kept_flags(parts, kept).not_().arg_true()
    return _Made(
        _runs_sliced(parts, gone, new_runs) if with_runs else None,
        _keys_sliced(parts, stretches, new_keys, span, width).alias(name) if with_keys else None,
        _counts_patched(parts, gone, new_keys, n, span) if with_keys else None,
    )


def _counts_patched(
    parts: StepParts, gone: pl.Series, new: pl.Series, n: int, span: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The parts' cases per pair and events and cases per activity, less those of the cases
    ``gone`` (their keys: slices of the parts') and plus those of the ``new`` keys."""
    keys = parts.keys
    if gone.len():
        bounds = pl.concat([gone * span, (gone + 1) * span]).cast(keys.dtype)
        found = keys.search_sorted(bounds, side="left").to_list()
        half = gone.len()
        old = pl.concat(
            [keys.slice(a, b - a) for a, b in zip(found[:half], found[half:], strict=True)]
            + [keys.clear()]
        )
    else:
        old = keys.clear()
    old, new = old.cast(pl.UInt64).alias(_EDGE), new.cast(pl.UInt64).alias(_EDGE)
    pairs = _less_plus(parts.pairs, _pair_cases(old, n), _pair_cases(new, n), _EDGE, ["cases"])
    activities = _less_plus(
        parts.activities,
        activity_counts(old, n),
        activity_counts(new, n),
        A,
        ["count", "cases"],
    )
    return pairs, activities


def _less_plus(
    base: pl.DataFrame, less: pl.DataFrame, plus: pl.DataFrame, key: str, counts: list[str]
) -> pl.DataFrame:
    """``base``'s counts per ``key`` less ``less``'s and plus ``plus``'s; keys left without any
    dropped (a count of none is no row, as a group-by gives)."""
    signed = [
        frame.select(pl.col(key).cast(pl.Int64), *(pl.col(c).cast(pl.Int64) * sign for c in counts))
        for frame, sign in ((base, 1), (less, -1), (plus, 1))
    ]
    out = pl.concat(signed).group_by(key).agg(pl.col(c).sum() for c in counts)
    out = out.filter(pl.col(counts[-1]) > 0)
    return out.select(
        pl.col(key).cast(base.schema[key]), *(pl.col(c).cast(base.schema[c]) for c in counts)
    )


def _stretches(codes: pl.Series) -> list[tuple[int, int, int | None]] | None:
    """The log's case codes as stretches ``(first, length, shift)``: cases whose code in the
    parts is theirs plus ``shift``, or (``shift`` None) cases made from their rows; None when
    there are more than :data:`MAX_STRETCHES`."""
    shift = codes - pl.int_range(codes.len(), dtype=pl.Int64, eager=True)
    runs = shift.rle().struct.unnest()
    if runs.height > MAX_STRETCHES:
        return None
    out, first = [], 0
    for length, value in runs.select("len", "value").rows():
        out.append((first, int(length), None if value is None else int(value)))
        first += int(length)
    return out


def _keys_of(rows: pl.DataFrame, n: int) -> pl.Series:
    """The case-step keys of ``rows`` (whole cases of the log), sorted."""
    key = (pl.col(C).cast(pl.UInt64) * n + pl.col(A).cast(pl.UInt64)) * (n + 1) + pl.col(A2).cast(
        pl.UInt64
    ).fill_null(n)
    return rows.select(key.alias(_P))[_P].sort()


def _runs_sliced(parts: StepParts, gone: pl.Series, new: pl.Series) -> SortedRuns:
    """The sorted runs without the entries of the parts' cases ``gone`` (found by their
    cases) and with ``new`` (sorted) put in their places: slices of the parts' entries, not a
    copy of them."""
    runs = parts.runs
    removed = (
        parts.runs_case.is_in(gone.cast(pl.UInt32).implode()).arg_true().to_list()
        if gone.len()
        else []
    )
    packed = _spliced(runs.packed, removed, new)
    return _split(packed.alias(runs.packed.name), runs.bits, runs.offset, runs.n_keys)


def _spliced(values: pl.Series, removed: list[int], new: pl.Series) -> pl.Series:
    """``values`` (sorted) without the entries at ``removed`` and with ``new`` (sorted) where
    they sort: slices of ``values``, their chunks not copied."""
    at = values.search_sorted(new.cast(values.dtype), side="left").to_list() if new.len() else []
    events = sorted([(r, 1, 0) for r in removed] + [(a, 0, i) for i, a in enumerate(at)])
    pieces, start = [], 0
    for index, kind, i in events:
        if index > start:
            pieces.append(values.slice(start, index - start))
        start = max(start, index)
        if kind:
            start = index + 1
        else:
            pieces.append(new.slice(i, 1).cast(values.dtype))
    pieces.append(values.slice(start))
    return pl.concat(pieces, rechunk=False) if len(pieces) > 1 else pieces[0]


def _positions(column: pl.Series, bounds: list[int]) -> list[int]:
    """Where each of ``bounds`` would go in the sorted ``column`` (before equal values)."""
    if not bounds or not column.len():
        return [0] * len(bounds)
    found = column.search_sorted(pl.Series(bounds, dtype=pl.UInt64).cast(column.dtype), side="left")
    return found.to_list()


def _keys_sliced(
    parts: StepParts,
    stretches: list[tuple[int, int, int | None]],
    new: pl.Series,
    span: int,
    width: pl.DataType | type[pl.DataType],
) -> pl.Series:
    """The sorted case-step keys of the log: each stretch of kept cases a slice of the parts'
    keys (moved to the log's codes when they differ), each stretch of fresh cases a slice of
    ``new``."""
    keys = parts.keys
    bounds: list[int] = []
    for first, length, shift in stretches:
        if shift is not None:
            bounds += [(first + shift) * span, (first + shift + length) * span]
    found = _positions(keys, bounds)
    fresh_bounds = [
        b for first, length, shift in stretches if shift is None
        for b in (first * span, (first + length) * span)
    ]  # fmt: skip
    fresh_found = _positions(new, fresh_bounds)
    pieces = []
    kept_i = fresh_i = 0
    for _first, _length, shift in stretches:
        if shift is None:
            lo, hi = fresh_found[fresh_i], fresh_found[fresh_i + 1]
            fresh_i += 2
            pieces.append(new.slice(lo, hi - lo))
            continue
        lo, hi = found[kept_i], found[kept_i + 1]
        kept_i += 2
        piece = keys.slice(lo, hi - lo).cast(width)
        if shift > 0:
            piece = piece - pl.Series([shift * span], dtype=width)
        elif shift < 0:
            piece = piece + pl.Series([-shift * span], dtype=width)
        pieces.append(piece)
    pieces = [p for p in pieces if p.len()] or [new.clear()]
    return pl.concat(pieces, rechunk=False) if len(pieces) > 1 else pieces[0]


def _runs_masked(
    parts: StepParts, kept: pl.Series, new: pl.Series, n: int, recoded: pl.Series | None
) -> SortedRuns:
    """The sorted runs of the kept cases by a mask over every entry's case, their edges moved
    to the log's activity codes when ``recoded`` (the order of the edges stays: the codes keep
    the names' order), ``new`` merged in."""
    runs = parts.runs
    keep = _kept_flags(parts, kept)
    entries = pl.LazyFrame({_P: runs.packed, _CASE: parts.runs_case}).filter(
        pl.lit(keep).gather(pl.col(_CASE))
    )
    if recoded is not None:
        width = 1 << runs.bits
        old_n = max(1, len(parts.activity_names))
        edges = pl.Series(
            [
                None if a is None or b is None else (a * n + b) * width
                for a in recoded.to_list()
                for b in recoded.to_list()
            ][: old_n * old_n],
            dtype=pl.UInt64,
        )
        entries = entries.select(
            (pl.lit(edges).gather(pl.col(_P) // width) + pl.col(_P) % width).alias(_P)
        )
    packed = entries.select(_P).collect(engine="streaming")[_P]
    if packed.null_count():  # a kept case with an activity the log has not (never expected)
        raise _Unfit
    packed = _merged(packed, new)
    n_keys = runs.n_keys if recoded is None else n * n
    return _split(packed.alias(runs.packed.name), runs.bits, runs.offset, n_keys)


def _keys_masked(
    parts: StepParts,
    codes: pl.Series,
    kept: pl.Series,
    new: pl.Series,
    n: int,
    width: pl.DataType | type[pl.DataType],
    recoded: pl.Series | None,
) -> pl.Series:
    """The sorted case-step keys of the kept cases, each moved from its code in the parts to its
    code in the log (the codes increase with the parts', so the keys stay sorted), and its
    activities to their codes in the log when ``recoded``, by a mask over every key; ``new``
    merged in."""
    keep = _kept_flags(parts, kept)
    in_log = pl.int_range(codes.len(), dtype=pl.Int64, eager=True).filter(codes.is_not_null())
    old_n = max(1, len(parts.activity_names))
    old_span, span = old_n * (old_n + 1), n * (n + 1)
    case = pl.col(_P) // old_span
    if recoded is None:  # the same activities: only the case moves
        moved = pl.repeat(0, parts.n_cases, dtype=pl.Int64, eager=True).scatter(
            kept, (in_log - kept) * span
        )
        key = pl.col(_P).cast(pl.Int64) + pl.lit(moved).gather(case)
    else:
        to = recoded.to_list()
        rest = pl.Series(
            [
                None if to[a] is None or (b < old_n and to[b] is None)
                else to[a] * (n + 1) + (n if b == old_n else to[b])
                for a in range(old_n)
                for b in range(old_n + 1)
            ],
            dtype=pl.Int64,
        )  # fmt: skip
        base = pl.repeat(0, parts.n_cases, dtype=pl.Int64, eager=True).scatter(kept, in_log * span)
        key = pl.lit(base).gather(case) + pl.lit(rest).gather(pl.col(_P) % old_span)
    keys = (
        pl.LazyFrame({_P: parts.keys})
        .filter(pl.lit(keep).gather(case))
        .select(key.alias(_P))
        .collect(engine="streaming")[_P]
    )
    if keys.null_count():  # a kept case with an activity the log has not (never expected)
        raise _Unfit
    return _merged(keys.cast(width), new)


def _kept_flags(parts: StepParts, kept: pl.Series) -> pl.Series:
    """A flag per case of the parts: whether the log keeps it."""
    return pl.repeat(False, parts.n_cases, dtype=pl.Boolean, eager=True).scatter(kept, True)


def _merged(values: pl.Series, new: pl.Series) -> pl.Series:
    if not new.len():
        return values
    if new.len() <= MAX_STRETCHES:
        return _spliced(values, [], new)
    frame = values.to_frame(_P).merge_sorted(new.cast(values.dtype).to_frame(_P), key=_P)
    return frame[_P]


def _rows_of(log: EventLog, cases: pl.Series) -> pl.DataFrame:
    """The next-event table's rows of ``cases`` (codes, increasing): each case is one run of
    rows, found by a search, not a filter of every event."""
    steps: pl.DataFrame = log._with_next
    if not cases.len():
        return steps.clear()
    column = steps[C]
    wanted = cases.cast(column.dtype)
    starts = column.search_sorted(wanted, side="left").to_list()
    ends = column.search_sorted(wanted, side="right").to_list()
    return pl.concat([steps.slice(a, b - a) for a, b in zip(starts, ends, strict=True)])
