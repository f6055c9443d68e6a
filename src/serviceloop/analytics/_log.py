"""The :class:`EventLog`: a coded, sorted event table plus the dictionaries back to names."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any, TypeVar

import polars as pl

from ._engine import Engine, PolarsEngine, get_engine
from ._schema import (
    ACTIVITY,
    CASE_ID,
    RESOURCE,
    START_TIMESTAMP,
    TIMESTAMP,
    A,
    C,
    I,
    R,
    S,
    T,
)

__all__ = ["EventLog"]

T_ = TypeVar("T_")
_MISSING = object()


class EventLog:
    """An event log, coded and sorted once, ready for every analysis.

    Build one with :func:`read_csv`, :func:`read_xes`, :func:`read_parquet`,
    :func:`from_arrow` or :func:`from_polars`; analyses take it as their first argument.

    Examples
    --------
    >>> import polars as pl
    >>> from serviceloop.analytics import from_polars
    >>> log = from_polars(pl.DataFrame({
    ...     "case_id": ["a", "a", "b"], "activity": ["Open", "Close", "Open"],
    ...     "timestamp": ["2024-01-01 09:00", "2024-01-01 10:00", "2024-01-02 09:00"]}))
    >>> log.n_events, log.n_cases, log.activities
    (3, 2, ['Close', 'Open'])
    """

    def __init__(
        self,
        events: Any,
        *,
        activity_names: pl.Series,
        case_names: pl.Series,
        resource_names: pl.Series | None,
        attributes: tuple[str, ...],
        engine: Engine,
        source: str | None = None,
    ) -> None:
        self._events = events
        self.activity_names = activity_names
        self.case_names = case_names
        self.resource_names = resource_names
        self.attributes = attributes
        self.engine = engine
        self.source = source
        self._memo: dict[Any, Any] = {}
        self._memo_locks: dict[Any, threading.RLock] = {}
        self._memo_guard = threading.Lock()

    # -- facts -------------------------------------------------------------------------------
    @property
    def activities(self) -> list[str]:
        """Activity names, sorted (the activity code is the position in this list)."""
        return self.activity_names.to_list()

    @property
    def has_start(self) -> bool:
        """Whether events carry a start timestamp (waiting vs processing time)."""
        return S in self.columns

    @property
    def has_resource(self) -> bool:
        """Whether events carry a resource (workload, handovers)."""
        return R in self.columns

    @property
    def columns(self) -> list[str]:
        return list(self.engine.lazy(self._events).collect_schema().names())

    @cached_property
    def _counts(self) -> tuple[int, int]:
        import narwhals as nw

        out = self.engine.collect(
            self.engine.lazy(self._events).select(n=nw.len(), c=nw.col(C).n_unique())
        )
        return int(out["n"][0] or 0), int(out["c"][0] or 0)

    @property
    def n_events(self) -> int:
        return self._counts[0]

    @property
    def n_cases(self) -> int:
        return self._counts[1]

    def __repr__(self) -> str:
        where = f" from {self.source}" if self.source else ""
        return (
            f"<EventLog{where}: {self.n_events} events, {self.n_cases} cases, "
            f"{len(self.activity_names)} activities, engine={self.engine.name}>"
        )

    # -- engine plumbing used by the analyses --------------------------------------------------
    def lazy(self) -> Any:
        """The coded table as a Narwhals LazyFrame (for analyses written once)."""
        return self.engine.lazy(self._events)

    @cached_property
    def _with_next(self) -> Any:
        return self.engine.with_next(self._events)

    def held_bytes(self) -> int:
        """Bytes of the coded table and of what analyses memoised over it (a buffer shared by two
        frames counted twice): what a cache of logs weighs against its budget."""
        return _bytes_of([self._events, self.__dict__.get("_with_next"), *self._memo.values()])

    def memo(self, key: Any, compute: Callable[[], T_]) -> T_:
        """``compute()`` once per log: analyses that need the same intermediate table (the DFG,
        the bottlenecks and the activity times all group the same steps) share it. Safe when
        analyses run in threads (:func:`analyze` does): each key is computed by one of them."""
        found = self._memo.get(key, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[no-any-return]
        with self._memo_guard:
            lock = self._memo_locks.setdefault(key, threading.RLock())
        with lock:
            # Held here, not read back: another thread may drop it meanwhile (drop_memos).
            found = self._memo.get(key, _MISSING)
            if found is _MISSING:
                found = compute()
                self._memo[key] = found
        return found  # type: ignore[no-any-return]

    def drop_memos(self, keep: Callable[[Any, int], bool]) -> None:
        """Let go of the memos ``keep(key, bytes)`` refuses (``bytes`` as :meth:`held_bytes`
        weighs the memo alone), and of the next-event table (a shift of each column: milliseconds
        to make again, a third of the log's bytes to hold): what a cache of logs holds between
        uses. An analysis running meanwhile keeps what it holds; asked again, a memo is computed
        again."""
        for key, value in list(self._memo.items()):
            if not keep(key, _bytes_of(value)):
                self._memo.pop(key, None)
        self.__dict__.pop("_with_next", None)

    def has_memo(self, key: Any) -> bool:
        """Whether :meth:`memo` holds ``key`` already (an analysis may then take what it holds
        instead of computing something narrower)."""
        return key in self._memo

    def give_memos(self, to: EventLog, keys: Iterable[Any]) -> None:
        """Give ``to`` (a log of the same rows, in the same order and codes: a copy) the memos of
        ``keys`` this log holds, so it need not compute them again."""
        for key in keys:
            if key in self._memo:
                to._memo.setdefault(key, self._memo[key])

    def lazy_steps(self) -> Any:
        """The coded table plus the next event of the same case (computed once per log)."""
        return self.engine.lazy(self._with_next)

    def _derive(self, events: Any) -> EventLog:
        """A log over a subset of these events (filters), sharing the dictionaries."""
        return EventLog(
            events,
            activity_names=self.activity_names,
            case_names=self.case_names,
            resource_names=self.resource_names,
            attributes=self.attributes,
            engine=self.engine,
            source=self.source,
        )

    def with_engine(self, engine: str | Engine) -> EventLog:
        """Return the same log on another engine (``"polars"`` or ``"spark"``)."""
        target = get_engine(engine)
        return EventLog(
            target.adopt(self.coded()),
            activity_names=self.activity_names,
            case_names=self.case_names,
            resource_names=self.resource_names,
            attributes=self.attributes,
            engine=target,
            source=self.source,
        )

    def coded(self) -> pl.DataFrame:
        """The coded, sorted event table as a Polars frame (collects from Spark if needed)."""
        if isinstance(self.engine, PolarsEngine):
            return self._events  # type: ignore[no-any-return]
        return self.engine.collect(self.lazy().sort(C, T, I))

    # -- decoding ------------------------------------------------------------------------------
    def decode_activity(self, codes: pl.Expr | str) -> pl.Expr:
        """Expression turning an activity-code column into names."""
        return _decode(codes, self.activity_names)

    def decode_case(self, codes: pl.Expr | str) -> pl.Expr:
        return _decode(codes, self.case_names)

    def decode_resource(self, codes: pl.Expr | str) -> pl.Expr:
        if self.resource_names is None:
            return pl.lit(None, pl.String)
        return _decode(codes, self.resource_names)

    def to_polars(self) -> pl.DataFrame:
        """The log with names and UTC datetimes again (canonical columns + attributes)."""
        ev = self.coded()
        cols = [
            self.decode_case(C).alias(CASE_ID),
            self.decode_activity(A).alias(ACTIVITY),
            pl.from_epoch(T, "us").dt.replace_time_zone("UTC").alias(TIMESTAMP),
        ]
        if S in ev.columns:
            cols.append(pl.from_epoch(S, "us").dt.replace_time_zone("UTC").alias(START_TIMESTAMP))
        if R in ev.columns:
            cols.append(self.decode_resource(R).alias(RESOURCE))
        return ev.select([*cols, *self.attributes])


def _decode(codes: pl.Expr | str, names: pl.Series) -> pl.Expr:
    col = pl.col(codes) if isinstance(codes, str) else codes
    return pl.lit(names).gather(col)


def _bytes_of(value: Any, seen: set[int] | None = None) -> int:
    """Bytes of the frames, series and arrays in ``value`` (through tuples, lists, dicts and
    dataclasses, each object once); other values count as nothing."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, pl.DataFrame | pl.Series):
        return int(value.estimated_size())
    if isinstance(getattr(value, "nbytes", None), int):
        return int(value.nbytes)  # NumPy arrays, Arrow arrays and tables
    if isinstance(value, dict):
        value = list(value.values())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = [getattr(value, field.name) for field in dataclasses.fields(value)]
    if isinstance(value, tuple | list):
        return sum(_bytes_of(item, seen) for item in value)
    return 0
