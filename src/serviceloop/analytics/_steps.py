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
as fast as the two code columns; codes come back by division.
"""

from __future__ import annotations

import narwhals as nw
import polars as pl

from ._durations import duration_stats, seconds
from ._log import EventLog
from ._schema import A2, S2, T2, A, C, S, T

__all__ = ["arrival_times", "edge_times", "own_times"]

_EDGE = "__edge"
_D = "__d"


def edge_times(log: EventLog, *, waiting: bool = False) -> pl.DataFrame:
    """Per directly-follows pair (codes ``A``, ``A2``): ``count``, and ``mean/median/p90/total``
    seconds from the source's completion to the target's completion; ``cases`` too unless
    ``waiting``. With ``waiting`` and start times, to the target's start instead."""
    to_start = waiting and log.has_start
    return log.memo(("edges", to_start), lambda: _edge_times(log, to_start=to_start))


def _edge_times(log: EventLog, *, to_start: bool) -> pl.DataFrame:
    n = max(1, len(log.activity_names))
    later = S2 if to_start else T2
    edge = nw.col(A).cast(nw.Int64()) * n + nw.col(A2).cast(nw.Int64())
    aggs = [nw.len().alias("count"), *duration_stats(_D, "")]
    if not to_start:
        aggs.insert(1, nw.col(C).n_unique().alias("cases"))
    out = log.engine.collect(
        log.lazy_steps()
        .filter(~nw.col(A2).is_null())
        .select(edge.alias(_EDGE), C, seconds(nw.col(later) - nw.col(T)).alias(_D))
        .group_by(_EDGE)
        .agg(*aggs)
    )
    key = pl.col(_EDGE)
    return out.select((key // n).alias(A), (key % n).alias(A2), pl.exclude(_EDGE))


def arrival_times(log: EventLog) -> pl.DataFrame:
    """Per activity reached (code ``A2``): ``count`` and ``mean/median/p90/total`` seconds of the
    time before it since the previous event of the case (to its start, with start times)."""
    return log.memo("arrivals", lambda: _arrival_times(log))


def _arrival_times(log: EventLog) -> pl.DataFrame:
    later = S2 if log.has_start else T2
    return log.engine.collect(
        log.lazy_steps()
        .filter(~nw.col(A2).is_null())
        .select(A2, seconds(nw.col(later) - nw.col(T)).alias(_D))
        .group_by(A2)
        .agg(nw.len().alias("count"), *duration_stats(_D, ""))
    )


def own_times(log: EventLog) -> pl.DataFrame:
    """Per activity (code ``A``): ``count``, ``sojourn_*`` (to the case's next event) and, with
    start times, ``processing_*`` (start to completion), each mean, median, p90 and total."""
    return log.memo("own", lambda: _own_times(log))


def _own_times(log: EventLog) -> pl.DataFrame:
    cols = [A, seconds(nw.col(T2) - nw.col(T)).alias("__soj")]
    aggs = [nw.len().alias("count"), *duration_stats("__soj", "sojourn_")]
    if log.has_start:
        cols.append(seconds(nw.col(T) - nw.col(S)).alias("__proc"))
        aggs += duration_stats("__proc", "processing_")
    out = log.engine.collect(log.lazy_steps().select(*cols).group_by(A).agg(*aggs))
    return out.with_columns(pl.col("count").cast(pl.Int64))
