"""Performance: case durations, throughput, rework, resources and handovers.

Times are in seconds (floats); percentiles interpolate linearly, like NumPy. Time per activity
and the bottleneck ranking live in :mod:`~serviceloop.analytics.times` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import narwhals as nw
import polars as pl

from ._durations import duration_stats, seconds
from ._engine import COUNT, FIRST, PolarsEngine, case_first_row, case_last_row
from ._schema import A2, R2, T2, US, A, C, R, S, T
from ._steps import case_step_keys
from .errors import InvalidParameterError
from .eventlog import EventLog
from .times import activity_times, bottlenecks  # their home is `times`; kept importable here

__all__ = [
    "activity_times",
    "bottlenecks",
    "case_durations",
    "cases_with_rework",
    "duration_summary",
    "handovers",
    "resource_workload",
    "rework",
    "rework_by_attribute",
    "rework_cases",
    "throughput",
]

_DAY = 86_400 * US
_UTC = frozenset(
    {"UTC", "Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "UCT", "Universal", "Zulu"}
)


def _utc(col: str) -> pl.Expr:
    return pl.from_epoch(col, "us").dt.replace_time_zone("UTC")


def case_durations(log: EventLog) -> pl.DataFrame:
    """One row per case: ``case_id``, ``start``, ``end`` (UTC), ``duration_seconds``, ``events``.

    Duration runs from the first event (its start time, when the log has one) to the last
    completion. Cases keep the order of their first appearance in the log.

    Examples
    --------
    >>> import polars as pl
    >>> from serviceloop.analytics import from_polars
    >>> log = from_polars(pl.DataFrame({"case_id": [1, 1], "activity": ["a", "b"],
    ...                                 "timestamp": [0, 90]}))
    >>> case_durations(log)["duration_seconds"].to_list()
    [90.0]
    """
    if isinstance(log.engine, PolarsEngine) and not log.has_start:
        out = _case_ends(log)
    else:
        # The first and last events are flagged by the successor step: picking their single
        # value per case is far cheaper than a min / max over every event.
        first = nw.col(S).min() if log.has_start else log.engine.pick(T, nw.col(FIRST))
        last = log.engine.pick(T, nw.col(A2).is_null())
        out = log.engine.collect(
            log.lazy_steps()
            .group_by(C)
            .agg(first.alias("__start"), last.alias("__end"), nw.len().alias("events"))
        ).sort(C)
    return out.select(
        log.decode_case(C).alias("case_id"),
        _utc("__start").alias("start"),
        _utc("__end").alias("end"),
        ((pl.col("__end") - pl.col("__start")) / US).alias("duration_seconds"),
        pl.col("events").cast(pl.Int64),
    )


def _case_ends(log: EventLog) -> pl.DataFrame:
    """On Polars, per case in code order (``C``): the first and last times (``__start``,
    ``__end``), ``events`` and the last event's activity (``__last``), once per log. The events
    are sorted by case, so a case's first and last events are the rows where the case changes:
    filters and a difference of positions, no group-by (a sixth of the time at ten million
    events) and no next-event table (0.4 GB at 32M events, which the overview needs for nothing
    else)."""

    def compute() -> pl.DataFrame:
        events = log._events
        codes = events[C]
        first, last = events.select(case_first_row(), case_last_row().alias("last")).get_columns()
        starts = first.arg_true()
        ends = pl.Series([events.height], dtype=starts.dtype)
        return pl.DataFrame(
            {
                C: codes.filter(first),
                "__start": events[T].filter(first),
                "__end": events[T].filter(last),
                "events": pl.concat([starts.slice(1), ends]) - starts,
                "__last": events[A].filter(last),
            }
        )

    return log.memo("case_ends", compute)


def duration_summary(
    durations: pl.DataFrame,
    *,
    percentiles: Sequence[float] = (0.1, 0.25, 0.5, 0.75, 0.9, 0.95),
) -> pl.DataFrame:
    """One row summarising a :func:`case_durations` frame: count, mean, min, max, ``p<q>``.

    Examples
    --------
    >>> d = pl.DataFrame({"duration_seconds": [1.0, 2.0, 3.0]})
    >>> duration_summary(d, percentiles=[0.5]).row(0, named=True)["p50"]
    2.0
    """
    for q in percentiles:
        if not 0.0 <= q <= 1.0:
            raise InvalidParameterError(f"percentiles must lie in [0, 1], not {q}")
    x = pl.col("duration_seconds")
    return durations.select(
        pl.len().cast(pl.Int64).alias("count"),
        x.mean().alias("mean"),
        x.median().alias("median"),
        x.min().alias("min"),
        x.max().alias("max"),
        *[x.quantile(q, interpolation="linear").alias(f"p{round(q * 100):g}") for q in percentiles],
    )


def rework_cases(log: EventLog) -> pl.DataFrame:
    """Rework per case: ``events``, ``repeats`` (events beyond the first of their activity),
    ``self_loops`` (an activity right after itself) and ``back_edges`` (a return to an activity
    seen earlier, through others). ``repeats == self_loops + back_edges``.

    Examples
    --------
    >>> import polars as pl
    >>> from serviceloop.analytics import from_polars
    >>> log = from_polars(pl.DataFrame({"case_id": [1, 1, 1, 2, 2],
    ...     "activity": ["a", "b", "a", "a", "c"], "timestamp": [0, 60, 120, 0, 30],
    ...     "resource": ["ann", "bob", "ann", "ann", "cy"], "team": ["x", "x", "x", "y", "y"]}))
    >>> rework_cases(log).rows()
    [('1', 3, 1, 0, 1), ('2', 2, 0, 0, 0)]
    """
    if isinstance(log.engine, PolarsEngine):
        # Both come in case order: each case's self-loops are a difference of running sums.
        out = _case_repeats(log).with_columns(_case_self_loops(log).alias("self_loops"))
    else:
        out = _case_repeats(log).join(_self_loops(log, C), on=C, how="left").sort(C)
    return out.select(
        log.decode_case(C).alias("case_id"),
        pl.col("events").cast(pl.Int64),
        pl.col("repeats").cast(pl.Int64),
        pl.col("self_loops").fill_null(0).cast(pl.Int64),
        (pl.col("repeats") - pl.col("self_loops").fill_null(0)).cast(pl.Int64).alias("back_edges"),
    )


def cases_with_rework(log: EventLog) -> int:
    """How many cases repeat an activity (``repeats > 0`` in :func:`rework_cases`), without
    the per-case frame: its self-loops and case names are a tenth of a second at ten million
    events, for a count. On Polars the events per case and activity come sorted by case, so
    it is the number of distinct cases among those counted more than once (0.01 s at ten
    million events, against 0.05-0.1 s for each case's repeats).

    Examples
    --------
    >>> import polars as pl
    >>> from serviceloop.analytics import from_polars
    >>> log = from_polars(pl.DataFrame({"case_id": [1, 1, 1, 2, 2],
    ...     "activity": ["a", "b", "a", "a", "c"], "timestamp": [0, 60, 120, 0, 30]}))
    >>> cases_with_rework(log)
    1
    """
    native = _activity_counts(log).to_native()
    if isinstance(native, pl.LazyFrame):
        repeated = native.filter(pl.col(COUNT) > 1).select(C).collect().to_series()
        return repeated.n_unique()
    return int((_case_repeats(log)["repeats"] > 0).sum())


def _case_self_loops(log: EventLog) -> pl.Series:
    """On Polars, per case in code order: steps from an activity to itself. The events are
    sorted by case, so each case's count is the running count at its last event minus the
    previous case's (no group-by and no join back to the cases)."""
    steps = log._with_next
    loops = (steps[A] == steps[A2]).fill_null(False).cast(pl.Int64).cum_sum()
    at_end = loops.filter(steps[A2].is_null())
    return at_end - at_end.shift(1, fill_value=0)


def _activity_counts(log: EventLog) -> nw.LazyFrame[Any]:
    """Events per case and activity (``C``, ``A``, ``COUNT``), computed once per log."""

    def compute() -> Any:
        keys = case_step_keys(log)
        if keys is None:
            return log.engine.activity_counts(log._events, len(log.activity_names))
        # The DFG's sorted key, divided: case * n + activity, still sorted; its runs count.
        n = max(1, len(log.activity_names))
        runs = (keys // (n + 1)).rle().struct.unnest()
        events = log._events
        return runs.select(
            (pl.col("value") // n).cast(events[C].dtype).set_sorted().alias(C),
            (pl.col("value") % n).cast(events[A].dtype).alias(A),
            pl.col("len").cast(pl.Int64).alias(COUNT),
        )

    return log.engine.lazy(log.memo("activity_counts", compute))


def _case_repeats(log: EventLog) -> pl.DataFrame:
    """Per case (``C``): ``events`` and ``repeats`` (events beyond the first of their activity)."""

    def compute() -> pl.DataFrame:
        counts = _activity_counts(log)
        native = counts.to_native()
        if isinstance(native, pl.LazyFrame):
            # Polars hands the counts sorted by case: each case is one run, so its distinct
            # activities are the run's length and its events a difference of running sums.
            frame = native.collect()
            runs = frame[C].rle().struct.unnest()
            ends = runs["len"].cum_sum() - 1
            total = frame[COUNT].cum_sum().gather(ends)
            events = total - total.shift(1, fill_value=0)
            return pl.DataFrame(
                {
                    C: runs["value"],
                    "events": events,
                    "repeats": events - runs["len"].cast(pl.Int64),
                }
            )
        out = log.engine.collect(
            counts.group_by(C).agg(
                nw.col(COUNT).sum().alias("events"), nw.len().alias("__distinct")
            )
        )
        return out.select(C, "events", (pl.col("events") - pl.col("__distinct")).alias("repeats"))

    return log.memo("case_repeats", compute)


def _self_loops(log: EventLog, by: str) -> pl.DataFrame:
    """Self-loops (an activity right after itself) per case or per activity (``by``). On Polars
    from the coded rows (in case order: a row whose next row is of the same case and activity),
    not the next-event table (a shift of every column, 0.4 GB at 32M events, which the rework
    page needs for nothing else)."""
    if isinstance(log.engine, PolarsEngine):
        loop = (pl.col(C).shift(-1) == pl.col(C)) & (pl.col(A).shift(-1) == pl.col(A))
        return (
            log._events.lazy()
            .select(by, loop.alias("__loop"))
            .filter(pl.col("__loop"))
            .group_by(by)
            .agg(pl.len().alias("self_loops"))
            .collect()
        )
    return log.engine.collect(
        log.lazy_steps()
        .filter(nw.col(A) == nw.col(A2))
        .group_by(by)
        .agg(nw.len().alias("self_loops"))
    )


def rework(log: EventLog) -> pl.DataFrame:
    """Rework per activity, most repeated first.

    Columns: ``activity``, ``cases`` (cases doing it), ``cases_repeated`` (doing it more than
    once), ``share_repeated``, ``repeats`` (extra executions), ``self_loops``.

    Examples
    --------
    >>> import polars as pl
    >>> from serviceloop.analytics import from_polars
    >>> log = from_polars(pl.DataFrame({"case_id": [1, 1, 1], "activity": ["a", "b", "a"],
    ...                                 "timestamp": [0, 1, 2]}))
    >>> rework(log).select("activity", "repeats").row(0)
    ('a', 1)
    """
    n = nw.col(COUNT)
    counts = log.engine.collect_counts(
        _activity_counts(log)
        .group_by(A)
        .agg(
            nw.len().alias("cases"),
            (n > 1).cast(nw.Int64()).sum().alias("cases_repeated"),
            (n - 1).sum().alias("repeats"),
        )
    )
    loops = _self_loops(log, A)
    out = counts.join(loops, on=A, how="left").with_columns(pl.col("self_loops").fill_null(0))
    return rework_table(out.with_columns(log.decode_activity(A).alias("activity")))


def rework_table(counts: pl.DataFrame) -> pl.DataFrame:
    """The :func:`rework` frame from per-activity counts (``activity``, ``cases``,
    ``cases_repeated``, ``repeats``, ``self_loops``): the share added, most repeated first."""
    return counts.select(
        "activity",
        pl.col("cases").cast(pl.Int64),
        pl.col("cases_repeated").cast(pl.Int64),
        (pl.col("cases_repeated") / pl.col("cases")).alias("share_repeated"),
        pl.col("repeats").cast(pl.Int64),
        pl.col("self_loops").cast(pl.Int64),
    ).sort(["repeats", "activity"], descending=[True, False])


def rework_by_attribute(log: EventLog, attribute: str) -> pl.DataFrame:
    """Rework per value of an attribute (team, channel, ...), taken at each case's first event.

    Columns: the attribute, ``cases``, ``cases_with_rework``, ``share_with_rework``,
    ``mean_repeats``; most rework first.

    Examples
    --------
    >>> import polars as pl
    >>> from serviceloop.analytics import from_polars
    >>> log = from_polars(pl.DataFrame({"case_id": [1, 1, 1, 2, 2],
    ...     "activity": ["a", "b", "a", "a", "c"], "timestamp": [0, 60, 120, 0, 30],
    ...     "resource": ["ann", "bob", "ann", "ann", "cy"], "team": ["x", "x", "x", "y", "y"]}))
    >>> rework_by_attribute(log, "team").select("team", "share_with_rework").rows()
    [('x', 1.0), ('y', 0.0)]
    """
    if attribute not in log.attributes:
        raise InvalidParameterError(
            f"unknown attribute {attribute!r}; the log has: {', '.join(log.attributes)}"
        )
    value = _first_events(log).select(C, pl.col(attribute).alias("__v"))
    # One row per case, collected from any engine: the rest is a small Polars group-by.
    repeats = _case_repeats(log).select(C, pl.col("repeats").alias("__rep"))
    if repeats[C].equals(value[C]):  # both in case order (Polars): side by side, not joined
        cases = repeats.hstack([value["__v"]])  # (a join of a million cases took 0.1 s)
    else:
        cases = repeats.join(value, on=C)
    out = cases.group_by("__v").agg(
        pl.len().alias("cases"),
        (pl.col("__rep") > 0).cast(pl.Int64).sum().alias("cases_with_rework"),
        pl.col("__rep").mean().alias("mean_repeats"),
    )
    return out.select(
        pl.col("__v").alias(attribute),
        pl.col("cases").cast(pl.Int64),
        pl.col("cases_with_rework").cast(pl.Int64),
        (pl.col("cases_with_rework") / pl.col("cases")).alias("share_with_rework"),
        pl.col("mean_repeats"),
    ).sort(["share_with_rework", attribute], descending=[True, False], nulls_last=True)


def _first_events(log: EventLog) -> pl.DataFrame:
    """Each case's first event (``C`` and the attributes), once per log: a page breaking rework
    down by four attributes filtered every event four times (0.45 s at 32M events). On Polars
    the rows where the case changes, not the next-event table's first-event flag."""
    if isinstance(log.engine, PolarsEngine):
        return log.memo(
            "first_events",
            lambda: log._events.select(C, *log.attributes).filter(case_first_row()),
        )
    return log.memo(
        "first_events",
        lambda: log.engine.collect(
            log.lazy_steps().filter(nw.col(FIRST)).select(C, *log.attributes)
        ),
    )


def throughput(
    log: EventLog,
    *,
    every: str = "day",
    closed_activities: Collection[str] | None = None,
    time_zone: str | None = None,
) -> pl.DataFrame:
    """Cases opened and closed per day or week, and the backlog at the end of each period.

    A case opens at its first event and closes at its last one; with ``closed_activities``, only
    cases whose last activity is one of them count as closed (the live log has open cases).
    Weeks start on Monday. Periods without events appear with zeros. Days are UTC days unless
    ``time_zone`` (an IANA name such as ``"Asia/Shanghai"``) says where they begin and end,
    daylight saving included.

    Examples
    --------
    >>> import polars as pl
    >>> from serviceloop.analytics import from_polars
    >>> log = from_polars(pl.DataFrame({"case_id": [1, 1], "activity": ["a", "b"],
    ...     "timestamp": ["2024-01-01 10:00", "2024-01-03 10:00"]}))
    >>> throughput(log)["backlog"].to_list()
    [1, 1, 0]
    """
    if every not in ("day", "week"):
        raise InvalidParameterError(f"every must be 'day' or 'week', not {every!r}")
    day = _local(nw.col(T), zone_of(time_zone), log) // _DAY
    period = day if every == "day" else day - ((day + 3) % 7)  # 1970-01-01 was a Thursday
    if isinstance(log.engine, PolarsEngine):
        # Each case's first and last event, once per log: not two filters of every event per
        # call (the overview asks for days and weeks).
        ends = _case_ends(log).lazy()
        first = nw.from_native(ends.select(pl.col("__start").alias(T)))
        last = nw.from_native(ends.select(pl.col("__end").alias(T), pl.col("__last").alias(A)))
    else:
        steps = log.lazy_steps()
        first, last = steps.filter(nw.col(FIRST)), steps.filter(nw.col(A2).is_null())
    opened = log.engine.collect(first.group_by(period.alias("__p")).agg(nw.len().alias("opened")))
    if closed_activities is not None:
        wanted = set(closed_activities)
        codes = [i for i, a in enumerate(log.activities) if a in wanted]
        last = last.filter(nw.col(A).is_in(codes))
    closed = log.engine.collect(last.group_by(period.alias("__p")).agg(nw.len().alias("closed")))
    if opened.height == 0:
        return pl.DataFrame(
            schema={"period": pl.Date, "opened": pl.Int64, "closed": pl.Int64, "backlog": pl.Int64}
        )
    bounds = pl.concat([opened["__p"], closed["__p"]])
    lo, hi = int(bounds.min()), int(bounds.max())  # type: ignore[arg-type]
    step = 1 if every == "day" else 7
    grid = pl.DataFrame({"__p": pl.int_range(lo, hi + 1, step, eager=True)})
    out = (
        grid.join(opened, on="__p", how="left")
        .join(closed, on="__p", how="left")
        .fill_null(0)
        .sort("__p")
    )
    return with_backlog(
        out.select(pl.col("__p").cast(pl.Int32).cast(pl.Date).alias("period"), "opened", "closed")
    )


def with_backlog(periods: pl.DataFrame) -> pl.DataFrame:
    """The :func:`throughput` frame from ``period``, ``opened``, ``closed`` (every period, in
    order): the backlog is what was opened minus what was closed so far."""
    return periods.select(
        "period",
        pl.col("opened").cast(pl.Int64),
        pl.col("closed").cast(pl.Int64),
        (pl.col("opened").cum_sum() - pl.col("closed").cum_sum()).cast(pl.Int64).alias("backlog"),
    )


def zone_of(name: str | None) -> ZoneInfo | None:
    """The IANA zone ``name`` (None: UTC), or InvalidParameterError naming it."""
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidParameterError(
            f"unknown time zone {name!r} (use e.g. 'Asia/Shanghai')"
        ) from None


def _local(utc_us: nw.Expr, zone: ZoneInfo | None, log: EventLog) -> nw.Expr:
    """Microseconds of local wall-clock time: UTC plus the zone's offset at each instant.

    The offset changes only at a zone's transitions, so it is one ``when`` per transition inside
    the log's time span (none for a zone without daylight saving): plain arithmetic that every
    engine runs, no time-zone database needed on the workers.
    """
    if zone is None or zone.key in _UTC:  # no offset ever: no pass over the log for its span
        return utc_us
    if isinstance(log.engine, PolarsEngine):  # a case's rows are in time order
        ends = _case_ends(log)
        lo, hi = ends.select(pl.col("__start").min(), pl.col("__end").max()).row(0)
    else:
        span = log.engine.collect(
            log.lazy_steps().select(nw.col(T).min().alias("lo"), nw.col(T).max().alias("hi"))
        )
        lo, hi = span.row(0)
    if lo is None:
        return utc_us
    pieces = _offsets(zone, int(lo) // US, int(hi) // US + 1)
    offset = nw.lit(pieces[0][1] * US)
    for since, seconds_east in pieces[1:]:
        offset = nw.when(utc_us >= since * US).then(nw.lit(seconds_east * US)).otherwise(offset)
    return utc_us + offset


def _offsets(zone: ZoneInfo, lo: int, hi: int) -> list[tuple[int, int]]:
    """``(since, offset)`` in seconds: the zone's UTC offset from each instant on, over [lo, hi]."""

    def at(t: int) -> int:
        delta = datetime.fromtimestamp(t, UTC).astimezone(zone).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    pieces = [(lo, at(lo))]
    day = 86_400
    for t in range(lo + day, hi + day, day):  # transitions are months apart: one per day at most
        if at(t) != pieces[-1][1]:
            a, b = t - day, t  # the change lies in (a, b]: find its exact second
            while b - a > 1:
                mid = (a + b) // 2
                a, b = (mid, b) if at(mid) == pieces[-1][1] else (a, mid)
            pieces.append((b, at(b)))
    return pieces


def resource_workload(log: EventLog) -> pl.DataFrame:
    """Work per resource: ``events``, ``cases``, ``activities`` (distinct), and with start times
    the processing time; busiest first. Empty when the log has no resource column.

    Examples
    --------
    >>> import polars as pl
    >>> from serviceloop.analytics import from_polars
    >>> log = from_polars(pl.DataFrame({"case_id": [1, 1, 1, 2, 2],
    ...     "activity": ["a", "b", "a", "a", "c"], "timestamp": [0, 60, 120, 0, 30],
    ...     "resource": ["ann", "bob", "ann", "ann", "cy"], "team": ["x", "x", "x", "y", "y"]}))
    >>> resource_workload(log).select("resource", "events", "cases").row(0)
    ('ann', 3, 2)
    """
    if not log.has_resource:
        return pl.DataFrame(
            schema={
                "resource": pl.String,
                "events": pl.Int64,
                "cases": pl.Int64,
                "activities": pl.Int64,
            }
        )
    aggs = [
        nw.len().alias("events"),
        nw.col(C).n_unique().alias("cases"),
        nw.col(A).n_unique().alias("activities"),
    ]
    lf = log.lazy().filter(~nw.col(R).is_null())
    if log.has_start:
        lf = lf.with_columns(seconds(nw.col(T) - nw.col(S)).alias("__proc"))
        aggs += duration_stats("__proc", "processing_")
    out = log.engine.collect(lf.group_by(R).agg(*aggs))
    return out.select(
        log.decode_resource(R).alias("resource"),
        pl.col("events").cast(pl.Int64),
        pl.col("cases").cast(pl.Int64),
        pl.col("activities").cast(pl.Int64),
        pl.exclude(R, "events", "cases", "activities"),
    ).sort(["events", "resource"], descending=[True, False])


def handovers(log: EventLog) -> pl.DataFrame:
    """Handover-of-work network: how often work passes from one resource to another.

    Columns ``source``, ``target`` (resources), ``count``, ``cases`` and mean / median seconds
    between the two events; most frequent first. Self-handovers are not counted.

    Examples
    --------
    >>> import polars as pl
    >>> from serviceloop.analytics import from_polars
    >>> log = from_polars(pl.DataFrame({"case_id": [1, 1, 1, 2, 2],
    ...     "activity": ["a", "b", "a", "a", "c"], "timestamp": [0, 60, 120, 0, 30],
    ...     "resource": ["ann", "bob", "ann", "ann", "cy"], "team": ["x", "x", "x", "y", "y"]}))
    >>> handovers(log).select("source", "target", "count").rows()
    [('ann', 'bob', 1), ('ann', 'cy', 1), ('bob', 'ann', 1)]
    """
    if not log.has_resource:
        return pl.DataFrame(
            schema={"source": pl.String, "target": pl.String, "count": pl.Int64, "cases": pl.Int64}
        )
    steps = log.lazy_steps().filter(
        ~nw.col(R2).is_null() & ~nw.col(R).is_null() & (nw.col(R) != nw.col(R2))
    )
    d = seconds(nw.col(T2) - nw.col(T))
    out = log.engine.collect(
        steps.with_columns(d.alias("__d"))
        .group_by(R, R2)
        .agg(
            nw.len().alias("count"),
            nw.col(C).n_unique().alias("cases"),
            nw.col("__d").mean().alias("mean_seconds"),
            nw.col("__d").median().alias("median_seconds"),
        )
    )
    return out.select(
        log.decode_resource(R).alias("source"),
        log.decode_resource(R2).alias("target"),
        pl.col("count").cast(pl.Int64),
        pl.col("cases").cast(pl.Int64),
        "mean_seconds",
        "median_seconds",
    ).sort(["count", "source", "target"], descending=[True, False, False])
