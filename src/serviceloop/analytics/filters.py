"""Filters: each returns a new :class:`EventLog` over a subset of the events, still sorted.

Case-level filters keep or drop whole cases; event-level ones drop single events. The result
shares the original log's dictionaries and runs on the same engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any, Literal

import narwhals as nw
import polars as pl

from ._engine import VARIANT
from ._schema import ACTIVITY, RESOURCE, US, A, C, R, T
from .discovery import case_variants
from .errors import InvalidParameterError
from .eventlog import EventLog

__all__ = [
    "filter_activities",
    "filter_attribute",
    "filter_case_duration",
    "filter_time",
    "filter_variants",
]

TimeMode = Literal["contained", "intersecting", "started", "completed", "events"]
Moment = dt.datetime | dt.date | str


def _epoch_us(value: Moment, name: str) -> int:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise InvalidParameterError(f"{name}: {value!r} is not an ISO date or time") from exc
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp() * US)


def _case_bounds(log: EventLog) -> pl.DataFrame:
    return log.engine.collect(
        log.lazy().group_by(C).agg(nw.col(T).min().alias("lo"), nw.col(T).max().alias("hi"))
    )


def filter_time(
    log: EventLog,
    *,
    start: Moment | None = None,
    end: Moment | None = None,
    mode: TimeMode = "intersecting",
) -> EventLog:
    """Keep what falls in the window ``[start, end)`` (UTC when no zone is given).

    ``mode``: ``"contained"`` cases wholly inside, ``"intersecting"`` cases overlapping it,
    ``"started"`` / ``"completed"`` cases whose first / last event is inside, ``"events"`` only
    the events inside (cases are trimmed).

    Examples
    --------
    >>> import polars as pl
    >>> from serviceloop.analytics import from_polars
    >>> log = from_polars(pl.DataFrame({"case_id": [1, 1, 2], "activity": ["a", "b", "a"],
    ...     "timestamp": ["2024-01-01", "2024-02-01", "2024-03-01"]}))
    >>> filter_time(log, start="2024-01-15", mode="started").n_cases
    1
    """
    lo = _epoch_us(start, "start") if start is not None else None
    hi = _epoch_us(end, "end") if end is not None else None
    if lo is not None and hi is not None and hi <= lo:
        raise InvalidParameterError("end must be after start")
    if mode == "events":
        cond = nw.lit(value=True)
        if lo is not None:
            cond = cond & (nw.col(T) >= lo)
        if hi is not None:
            cond = cond & (nw.col(T) < hi)
        return log._derive(log.engine.materialize(log.lazy().filter(cond)))
    if mode not in ("contained", "intersecting", "started", "completed"):
        raise InvalidParameterError(f"unknown mode {mode!r}")
    b = _case_bounds(log)
    first, last = pl.col("lo"), pl.col("hi")
    inside = pl.lit(True)
    if mode == "contained":
        inside = (first >= lo if lo is not None else inside) & (
            last < hi if hi is not None else True
        )
    elif mode == "intersecting":
        inside = (last >= lo if lo is not None else inside) & (
            first < hi if hi is not None else True
        )
    else:
        at = first if mode == "started" else last
        inside = (at >= lo if lo is not None else inside) & (at < hi if hi is not None else True)
    return log._derive(log.engine.keep_cases(log._events, b.filter(inside)[C], keep=True))


def _value_filter(log: EventLog, attribute: str, values: Collection[Any]) -> nw.Expr:
    if attribute == ACTIVITY:
        wanted = set(values)
        return nw.col(A).is_in([i for i, a in enumerate(log.activities) if a in wanted])
    if attribute == RESOURCE and log.resource_names is not None:
        wanted = set(values)
        codes = [i for i, r in enumerate(log.resource_names.to_list()) if r in wanted]
        return nw.col(R).is_in(codes)
    if attribute not in log.attributes:
        known = ", ".join([ACTIVITY, RESOURCE, *log.attributes])
        raise InvalidParameterError(f"unknown attribute {attribute!r}; choose one of: {known}")
    return nw.col(attribute).is_in(list(values))


def filter_attribute(
    log: EventLog,
    attribute: str,
    values: Collection[Any],
    *,
    keep: bool = True,
    level: Literal["case", "event"] = "case",
) -> EventLog:
    """Keep (``keep=True``) or drop cases with an event whose ``attribute`` is in ``values``.

    ``attribute`` is an attribute column, ``"activity"`` or ``"resource"``. With
    ``level="event"`` single events are kept or dropped instead of whole cases.

    Examples
    --------
    >>> import polars as pl
    >>> from serviceloop.analytics import from_polars
    >>> log = from_polars(pl.DataFrame({"case_id": [1, 2], "activity": ["a", "a"],
    ...     "timestamp": [0, 0], "channel": ["email", "phone"]}))
    >>> filter_attribute(log, "channel", ["phone"]).n_cases
    1
    """
    cond = _value_filter(log, attribute, values)
    if level == "event":
        return log._derive(log.engine.materialize(log.lazy().filter(cond if keep else ~cond)))
    if level != "case":
        raise InvalidParameterError(f"level must be 'case' or 'event', not {level!r}")
    hits = log.engine.collect(log.lazy().filter(cond).select(C).unique())
    return log._derive(log.engine.keep_cases(log._events, hits[C], keep=keep))


def filter_activities(log: EventLog, activities: Collection[str], *, keep: bool = True) -> EventLog:
    """Keep (or drop) the events of the given activities; cases stay, shortened.

    Examples
    --------
    >>> import polars as pl
    >>> from serviceloop.analytics import from_polars
    >>> log = from_polars(pl.DataFrame({"case_id": [1, 1], "activity": ["a", "b"],
    ...     "timestamp": [0, 1]}))
    >>> filter_activities(log, ["b"], keep=False).n_events
    1
    """
    return filter_attribute(log, ACTIVITY, activities, keep=keep, level="event")


def filter_case_duration(
    log: EventLog, *, min_seconds: float | None = None, max_seconds: float | None = None
) -> EventLog:
    """Keep cases whose duration (first to last event) lies in ``[min_seconds, max_seconds]``.

    Examples
    --------
    >>> import polars as pl
    >>> from serviceloop.analytics import from_polars
    >>> log = from_polars(pl.DataFrame({"case_id": [1, 1, 2, 2], "activity": list("abab"),
    ...     "timestamp": [0, 10, 0, 500]}))
    >>> filter_case_duration(log, max_seconds=60).n_cases
    1
    """
    b = _case_bounds(log).with_columns(((pl.col("hi") - pl.col("lo")) / US).alias("d"))
    cond = pl.lit(True)
    if min_seconds is not None:
        cond = cond & (pl.col("d") >= min_seconds)
    if max_seconds is not None:
        cond = cond & (pl.col("d") <= max_seconds)
    return log._derive(log.engine.keep_cases(log._events, b.filter(cond)[C], keep=True))


def filter_variants(
    log: EventLog,
    variants: Sequence[Sequence[str]] | None = None,
    *,
    top: int | None = None,
    keep: bool = True,
) -> EventLog:
    """Keep (or drop) the cases following the given variants, or the ``top`` most frequent.

    Examples
    --------
    >>> import polars as pl
    >>> from serviceloop.analytics import from_polars
    >>> log = from_polars(pl.DataFrame({"case_id": [1, 1, 2], "activity": ["a", "b", "a"],
    ...     "timestamp": [0, 1, 0]}))
    >>> filter_variants(log, [["a", "b"]]).n_cases
    1
    """
    if (variants is None) == (top is None):
        raise InvalidParameterError("give either variants or top")
    seqs = log.engine.collect(log.engine.lazy(case_variants(log)))
    seqs = seqs.with_columns(pl.col(VARIANT).list.eval(pl.element().cast(pl.Int64)))
    if top is not None:
        if top < 0:
            raise InvalidParameterError("top must be >= 0")
        ranked = (
            seqs.group_by(VARIANT)
            .agg(pl.len().alias("n"), pl.col(C).min().alias("f"))
            .sort(["n", "f"], descending=[True, False])
            .head(top)
        )
        wanted = ranked.select(VARIANT)
    else:
        index = {a: i for i, a in enumerate(log.activities)}
        unknown = sorted({a for v in variants or [] for a in v if a not in index})
        if unknown:
            raise InvalidParameterError(f"unknown activities in variants: {', '.join(unknown)}")
        wanted = pl.DataFrame(
            {VARIANT: [[index[a] for a in v] for v in variants or []]},
            schema={VARIANT: pl.List(pl.Int64)},
        )
    codes = seqs.join(wanted, on=VARIANT, how="semi")[C]
    return log._derive(log.engine.keep_cases(log._events, codes, keep=keep))
