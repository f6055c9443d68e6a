"""Where the time goes: time per activity and the one bottleneck ranking.

What a log can say depends on its timestamps, and every result names which time it measures:

- with start times (a start-timestamp column, or lifecycle start/complete rows), the time
  before an activity splits into **waiting** (the previous event's completion to this
  activity's start) and **processing** (its start to its completion);
- without them, only completions are known, so the whole gap between two completions, the
  wait and the work together, is charged to the activity that completes: **elapsed**.

:func:`rank_bottlenecks` is the one ranking: :func:`bottlenecks`, the part-by-part path, the
CLI, the HTML report and the web pages all rank through it.
"""

from __future__ import annotations

import polars as pl

from ._steps import arrival_times, edge_times, own_times
from .errors import InvalidParameterError
from .eventlog import EventLog

__all__ = [
    "TIME_BASIS",
    "TIME_KINDS",
    "activity_times",
    "bottlenecks",
    "rank_bottlenecks",
    "time_basis",
]

#: What a bottleneck row's ``time`` column may say.
TIME_KINDS = ("waiting", "processing", "elapsed")
#: How times are measured, by whether the log has start times (see :func:`time_basis`).
TIME_BASIS = {
    True: "Start times known: waiting (the previous step's completion to this step's start) "
    "and processing (this step's start to its completion) are measured apart.",
    False: "No start times: the time between two completions (waiting and work together) is "
    "charged to the activity that completes.",
}
_STATS = ["count", "mean_seconds", "median_seconds", "p90_seconds", "total_seconds"]
_COLUMNS = ["kind", "source", "target", "time", *_STATS]


def time_basis(log: EventLog) -> str:
    """One sentence saying how this log's times are measured (for reports and summaries).

    Examples
    --------
    >>> import polars as pl
    >>> from serviceloop.analytics import from_polars
    >>> log = from_polars(pl.DataFrame({"case_id": [1], "activity": ["a"], "timestamp": [0]}))
    >>> time_basis(log).split(":")[0]
    'No start times'
    """
    return TIME_BASIS[log.has_start]


def activity_times(log: EventLog) -> pl.DataFrame:
    """Time per activity (stage): before it, in it and after it.

    Columns: ``activity``, ``count``; ``wait_time`` naming what ``wait_*`` measures and
    ``wait_*`` (time before the activity since the previous event of the case: ``"waiting"``
    with start times, else ``"elapsed"``, waiting and work together, charged to the activity
    that completes); ``sojourn_*`` (from this event to the next one of the case:
    time spent in the stage the event opens); with start times also ``processing_*`` (start to
    completion). Each as mean, median, p90 and total seconds.

    Examples
    --------
    >>> import polars as pl
    >>> from serviceloop.analytics import from_polars
    >>> log = from_polars(pl.DataFrame({"case_id": [1, 1, 1, 2, 2],
    ...     "activity": ["a", "b", "a", "a", "c"], "timestamp": [0, 60, 120, 0, 30],
    ...     "resource": ["ann", "bob", "ann", "ann", "cy"], "team": ["x", "x", "x", "y", "y"]}))
    >>> activity_times(log).filter(activity="b")["wait_mean_seconds"].to_list()
    [60.0]
    """
    before = arrival_times(log).select(
        pl.col("__act2").alias("__act"),
        *[pl.col(c).alias(f"wait_{c}") for c in _STATS[1:]],
    )
    out = own_times(log).join(before, on="__act", how="left")
    kind = "waiting" if log.has_start else "elapsed"
    return out.select(
        log.decode_activity("__act").alias("activity"),
        "count",
        pl.lit(kind).alias("wait_time"),
        pl.exclude("__act", "count"),
    ).sort(["count", "activity"], descending=[True, False])


def bottlenecks(log: EventLog, *, top: int | None = None) -> pl.DataFrame:
    """Where cases spend their time, ranked by :func:`rank_bottlenecks`, most total first.

    Rows: ``kind`` ``"edge"`` (from ``source``'s completion to ``target``) and ``"activity"``
    (all time spent before ``target`` completes or starts, from any source; ``source`` is null).
    ``time`` names what is measured: with start times, ``"waiting"`` rows (to the target's
    start) and ``"processing"`` rows (an activity's start to its completion); without them,
    ``"elapsed"`` rows (completion to completion, charged to the activity that completes).
    Also ``count``, mean, median, p90 and total seconds, and ``share`` of all the time measured.

    Examples
    --------
    >>> import polars as pl
    >>> from serviceloop.analytics import from_polars
    >>> log = from_polars(pl.DataFrame({"case_id": [1, 1, 1], "activity": ["a", "b", "c"],
    ...                                 "timestamp": [0, 10, 1000]}))
    >>> bottlenecks(log).filter(kind="edge").select("source", "target", "time").row(0)
    ('b', 'c', 'elapsed')
    """
    time = "waiting" if log.has_start else "elapsed"
    edges = edge_times(log, waiting=True, cases=False).select(
        pl.lit("edge").alias("kind"),
        log.decode_activity("__act").alias("source"),
        log.decode_activity("__act2").alias("target"),
        pl.lit(time).alias("time"),
        *_STATS,
    )
    arrivals = arrival_times(log).select(
        pl.lit("activity").alias("kind"),
        pl.lit(None, pl.String).alias("source"),
        log.decode_activity("__act2").alias("target"),
        pl.lit(time).alias("time"),
        *_STATS,
    )
    parts = [edges, arrivals]
    if log.has_start:
        parts.append(
            own_times(log).select(
                pl.lit("activity").alias("kind"),
                pl.lit(None, pl.String).alias("source"),
                log.decode_activity("__act").alias("target"),
                pl.lit("processing").alias("time"),
                "count",
                *[pl.col(f"processing_{c}").alias(c) for c in _STATS[1:]],
            )
        )
    return rank_bottlenecks(pl.concat(parts, how="vertical_relaxed"), top=top)


def rank_bottlenecks(times: pl.DataFrame, *, top: int | None = None) -> pl.DataFrame:
    """Rank time rows, most total time first: the one bottleneck ranking of ServiceLoop.

    ``times`` has the columns ``kind`` (``"edge"`` or ``"activity"``), ``source`` (null for
    activities), ``target``, ``time`` (one of :data:`TIME_KINDS`), ``count`` and
    ``mean/median/p90/total_seconds``. ``share`` is each row's part of all the time measured:
    the activity rows' total (each moment of a case counted once), or, when there are only edge
    rows, theirs. Ties go by kind, source, target and time, so the order is stable.

    Examples
    --------
    >>> rows = pl.DataFrame({"kind": ["activity", "activity"], "source": [None, None],
    ...     "target": ["Design", "Intake"], "time": ["waiting", "processing"],
    ...     "count": [3, 5], "mean_seconds": [60.0, 8.0], "median_seconds": [50.0, 8.0],
    ...     "p90_seconds": [90.0, 9.0], "total_seconds": [150.0, 50.0]})
    >>> rank_bottlenecks(rows).select("target", "time", "share").rows()
    [('Design', 'waiting', 0.75), ('Intake', 'processing', 0.25)]
    """
    missing = [c for c in _COLUMNS if c not in times.columns]
    if missing:
        raise InvalidParameterError(
            f"rank_bottlenecks needs the columns {', '.join(_COLUMNS)}; missing: "
            f"{', '.join(missing)}"
        )
    unknown = set(times["time"].drop_nulls().unique()) - set(TIME_KINDS)
    if unknown:
        raise InvalidParameterError(
            f"time must be one of {', '.join(TIME_KINDS)}, not {', '.join(sorted(unknown))}"
        )
    is_activity = pl.col("kind") == "activity"
    has_activity = times.select(is_activity.any()).item()
    basis = times.filter(is_activity) if has_activity else times
    grand = basis["total_seconds"].sum() or 1.0
    out = times.select(
        pl.col("kind").cast(pl.String),
        pl.col("source").cast(pl.String),
        pl.col("target").cast(pl.String),
        pl.col("time").cast(pl.String),
        pl.col("count").cast(pl.Int64),
        *[pl.col(c).cast(pl.Float64) for c in _STATS[1:]],
        (pl.col("total_seconds") / grand).alias("share"),
    ).sort(
        ["total_seconds", "kind", "source", "target", "time"],
        descending=[True, False, False, False, False],
        nulls_last=False,
    )
    return out if top is None else out.head(top)
