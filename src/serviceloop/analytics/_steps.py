"""Step statistics shared by the DFG, the activity times and the bottlenecks, computed once per log.

A *step* is an event with the next event of its case. Three groupings of the steps answer most
performance questions, and each is computed once per :class:`EventLog` (``log.memo``), however
many analyses read it:

- per directly-follows pair (``edge_times``): the time from the source's completion to the
  target's completion (the DFG), or, with start times, to the target's start (waiting);
- per activity reached (``arrival_times``): the time before each activity, from the previous
  event of the case: waiting with start times, else the whole gap between two completions;
- per activity (``own_times``): its events, the sojourn until the case's next event and, with
  start times, the processing from start to completion.

Pairs are grouped by one integer key (``source * n + target``), which Polars groups about twice
as fast as the two code columns; codes come back by division. On Polars, medians and 90th
percentiles do not go through the group-by (it sorts every group of every grouping): the step
durations are sorted once by edge (:mod:`._order`), and the edges, the activities reached and
the activities left all read their order statistics from those runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals as nw
import polars as pl

from ._durations import duration_stats, seconds
from ._engine import PolarsEngine
from ._log import EventLog
from ._order import SortedRuns, sorted_runs, sorted_runs_of
from ._schema import A2, S2, T2, A, C, S, T

__all__ = ["arrival_times", "case_step_keys", "edge_times", "own_times"]

_EDGE = "__edge"
#: The memo of the cases per directly-follows pair (``_EDGE``, ``cases``), on Polars.
PAIR_CASES = "pair_cases"
_D = "__d"
_INT = "__d_us"
# Groups pooled from the edge runs at most this many (group, run) cells; beyond, a sort of its own.
_MAX_POOLED = 4096


def edge_times(log: EventLog, *, waiting: bool = False, cases: bool = True) -> pl.DataFrame:
    """Per directly-follows pair (codes ``A``, ``A2``): ``count``, and ``mean/median/p90/total``
    seconds from the source's completion to the target's completion; ``cases`` too unless
    ``waiting`` with start times. With ``waiting`` and start times, to the target's start
    instead. ``cases=False``: without ``cases`` unless they are computed already (a caller that
    does not show them spares the sort of every step they are counted from)."""
    to_start = waiting and log.has_start
    if not to_start and not cases and not log.has_memo(("edges", False)):
        return log.memo(
            ("edges", False, "without cases"),
            lambda: _edge_times(log, to_start=False, cases=False),
        )
    return log.memo(("edges", to_start), lambda: _edge_times(log, to_start=to_start))


def _edge_times(log: EventLog, *, to_start: bool, cases: bool = True) -> pl.DataFrame:
    n = max(1, len(log.activity_names))
    later = S2 if to_start else T2
    edge = nw.col(A).cast(nw.Int64()) * n + nw.col(A2).cast(nw.Int64())
    runs = _runs(log, later)
    aggs = [nw.len().alias("count"), *_stats(_D, "", sorted_=runs is not None)]
    # Distinct cases per pair: on Polars counted from the shared sorted key, not by a
    # distinct count inside this group-by (a third of its time).
    counted = cases and not to_start
    keys = case_step_keys(log) if counted else None
    if counted and keys is None:
        aggs.insert(1, nw.col(C).n_unique().alias("cases"))
    out = _grouped(
        log,
        log.lazy_steps()
        .filter(~nw.col(A2).is_null())
        .select(
            edge.alias(_EDGE),
            *([C] if counted and keys is None else []),
            seconds(nw.col(later) - nw.col(T)).alias(_D),
        )
        .group_by(_EDGE)
        .agg(*aggs),
    )
    if keys is not None:
        pairs = log.memo(PAIR_CASES, lambda: _pair_cases(keys, n))
        out = out.join(pairs, on=_EDGE, how="left").select(
            _EDGE, "count", "cases", pl.exclude(_EDGE, "count", "cases")
        )
    if runs is not None:
        groups = [[int(k)] for k in out[_EDGE]]
        out = _with_quantiles(out, runs.quantiles(groups, (0.5, 0.9)), "")
    key = pl.col(_EDGE)
    return out.select((key // n).alias(A), (key % n).alias(A2), pl.exclude(_EDGE))


def _grouped(log: EventLog, frame: nw.LazyFrame[Any]) -> pl.DataFrame:
    """A group-by of the steps (counts, sums, means per key). On Polars by its streaming engine:
    a third of the in-memory engine's CPU and memory at 32M steps. Float sums over millions of
    rows are added in pieces by either engine (two runs of the in-memory one differed in the
    last bits, 1e-12 relative), so neither is more exact; small logs are summed in one piece."""
    if isinstance(log.engine, PolarsEngine):
        out = frame.to_native().collect(engine="streaming")
        assert isinstance(out, pl.DataFrame)
        return out
    return log.engine.collect(frame)


def case_step_keys(log: EventLog) -> pl.Series | None:
    """On Polars: one integer per event, ``(case * n + activity) * (n + 1) + next``, where
    ``next`` is the next activity of the case or ``n`` after its last event, sorted once per log.

    Dividing by ``n + 1`` leaves ``case * n + activity`` still sorted: the runs are the events
    of each case and activity (rework); the distinct keys are the pairs each case has (the
    DFG's cases per pair). One sort serves both. None on other engines.
    """
    if not isinstance(log.engine, PolarsEngine):
        return None
    return log.memo("case_step_keys", lambda: _case_step_keys(log))


def _case_step_keys(log: EventLog) -> pl.Series:
    n = max(1, len(log.activity_names))
    span = n * (n + 1)
    width = pl.UInt32 if (log.n_cases + 1) * span < 2**32 else pl.UInt64
    key = (
        pl.col(C).cast(width) * span
        + pl.col(A).cast(width) * (n + 1)
        + pl.col(A2).cast(width).fill_null(n)
    )
    # Made a piece at a time by the streaming engine (a third of the in-memory engine's time).
    keys = log._with_next.lazy().select(key.alias(_EDGE)).collect(engine="streaming")
    return keys.to_series().sort()


def _pair_cases(keys: pl.Series, n: int) -> pl.DataFrame:
    """Per directly-follows pair (``_EDGE`` = ``A * n + A2``): the cases where it happens."""
    distinct = keys.filter((keys != keys.shift(1)).fill_null(True))
    pair = distinct.to_frame().select((pl.col(_EDGE) % (n * (n + 1))).alias("__pair"))
    source, target = pl.col("__pair") // (n + 1), pl.col("__pair") % (n + 1)
    counted = (
        pair.lazy()
        .filter(target != n)
        .group_by((source.cast(pl.Int64) * n + target.cast(pl.Int64)).alias(_EDGE))
        .agg(pl.len().alias("cases"))
        .collect(engine="streaming")  # counts: exact in any order, half the in-memory CPU
    )
    assert isinstance(counted, pl.DataFrame)
    return counted


def _stats(col: str, prefix: str, *, sorted_: bool) -> list[nw.Expr]:
    """The duration aggregations the group-by computes: all four, or without the order
    statistics when they come from sorted runs (:func:`_with_quantiles` adds them)."""
    stats = duration_stats(col, prefix)
    return [stats[0], stats[3]] if sorted_ else stats


def _with_quantiles(out: pl.DataFrame, qs: Sequence[pl.Series], prefix: str) -> pl.DataFrame:
    """Median and p90 put back between mean and total, where :func:`duration_stats` has them."""
    median, p90 = (f"{prefix}{name}_seconds" for name in ("median", "p90"))
    out = out.with_columns(qs[0].alias(median), qs[1].alias(p90))
    names = [c for c in out.columns if c not in (median, p90)]
    at = names.index(f"{prefix}mean_seconds") + 1
    return out.select(*names[:at], median, p90, *names[at:])


def _runs(log: EventLog, later: str) -> SortedRuns | None:
    """On Polars: the durations from each event to its successor's ``later`` time, sorted once
    per log by edge (``A * n + A2``); None on other engines or when they do not fit a sort key."""
    if not isinstance(log.engine, PolarsEngine):
        return None
    return log.memo(("runs", later), lambda: _edge_runs(log, later))


def _edge_runs(log: EventLog, later: str) -> SortedRuns | None:
    n = max(1, len(log.activity_names))
    width = pl.UInt32 if n * n < 2**32 else pl.UInt64
    # Packed from the steps' columns in one pass: filtering the steps first copied every column
    # of the log (1 GB at 32M events) to keep two.
    return sorted_runs_of(
        log._with_next.lazy(),
        pl.col(A).cast(width) * n + pl.col(A2).cast(width),
        pl.col(later) - pl.col(T),
        n * n,
    )


def _pooled(
    log: EventLog, runs: SortedRuns, codes: pl.Series, *, by_target: bool
) -> list[pl.Series] | None:
    """Median and p90 of the steps into (``by_target``) or out of each activity in ``codes``,
    pooled from the edge runs; None when that would mean too many (group, run) cells."""
    n = max(1, len(log.activity_names))
    present = [edge for edge, count in enumerate(runs.counts()) if count]
    groups: dict[int, list[int]] = {int(c): [] for c in codes}
    for edge in present:
        code = edge % n if by_target else edge // n
        if code in groups:
            groups[code].append(edge)
    width = max((len(g) for g in groups.values()), default=0)
    if len(groups) * width > _MAX_POOLED:
        return None
    return runs.quantiles([groups[int(c)] for c in codes], (0.5, 0.9))


def _own_runs(log: EventLog, column: pl.Expr, key: str, n_keys: int) -> SortedRuns | None:
    """``column`` (integer microseconds) per code in ``key``, nulls left out, sorted once."""
    frame = log._with_next.select(pl.col(key), column.alias(_INT)).filter(
        pl.col(_INT).is_not_null()
    )
    return sorted_runs(frame[key], frame[_INT], n_keys)


def arrival_times(log: EventLog) -> pl.DataFrame:
    """Per activity reached (code ``A2``): ``count`` and ``mean/median/p90/total`` seconds of the
    time before it since the previous event of the case (to its start, with start times)."""
    return log.memo("arrivals", lambda: _arrival_times(log))


def _arrival_times(log: EventLog) -> pl.DataFrame:
    later = S2 if log.has_start else T2
    runs = _runs(log, later)
    out = _grouped(
        log,
        log.lazy_steps()
        .filter(~nw.col(A2).is_null())
        .select(A2, seconds(nw.col(later) - nw.col(T)).alias(_D))
        .group_by(A2)
        .agg(nw.len().alias("count"), *_stats(_D, "", sorted_=runs is not None)),
    )
    if runs is None:
        return out
    qs = _pooled(log, runs, out[A2], by_target=True)
    if qs is None:
        n = max(1, len(log.activity_names))
        own = _own_runs(log, pl.when(pl.col(A2).is_not_null()).then(pl.col(later) - pl.col(T)),
                        A2, n)  # fmt: skip
        assert own is not None  # fits: the edge runs did, with a wider key
        qs = own.quantiles([[int(c)] for c in out[A2]], (0.5, 0.9))
    return _with_quantiles(out, qs, "")


def own_times(log: EventLog) -> pl.DataFrame:
    """Per activity (code ``A``): ``count``, ``sojourn_*`` (to the case's next event) and, with
    start times, ``processing_*`` (start to completion), each mean, median, p90 and total."""
    return log.memo("own", lambda: _own_times(log))


def _own_times(log: EventLog) -> pl.DataFrame:
    runs = _runs(log, T2)
    proc_runs = None
    if runs is not None and log.has_start:
        n = max(1, len(log.activity_names))
        proc_runs = _own_runs(log, pl.col(T) - pl.col(S), A, n)
    cols = [A, seconds(nw.col(T2) - nw.col(T)).alias("__soj")]
    aggs = [nw.len().alias("count"), *_stats("__soj", "sojourn_", sorted_=runs is not None)]
    if log.has_start:
        cols.append(seconds(nw.col(T) - nw.col(S)).alias("__proc"))
        aggs += _stats("__proc", "processing_", sorted_=proc_runs is not None)
    out = _grouped(log, log.lazy_steps().select(*cols).group_by(A).agg(*aggs))
    if runs is not None:
        qs = _pooled(log, runs, out[A], by_target=False)
        if qs is None:
            n = max(1, len(log.activity_names))
            soj = _own_runs(log, pl.col(T2) - pl.col(T), A, n)
            assert soj is not None  # fits: the edge runs did, with a wider key
            qs = soj.quantiles([[int(c)] for c in out[A]], (0.5, 0.9))
        out = _with_quantiles(out, qs, "sojourn_")
    if proc_runs is not None:
        out = _with_quantiles(out, proc_runs.quantiles([[int(c)] for c in out[A]], (0.5, 0.9)),
                              "processing_")  # fmt: skip
    return out.with_columns(pl.col("count").cast(pl.Int64))
