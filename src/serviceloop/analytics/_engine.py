"""The two engines and the few steps that must be written per engine.

Every analysis is written once as Narwhals expressions over the coded event table. Only five
steps differ: handing the table to the engine, the successor columns (Polars reads them off the
one shared sort with a shift; Spark needs a window per case), the per-case activity sequence
(Narwhals has no list aggregation), the events per case and activity (Polars: run lengths of
one sorted integer key) and picking one flagged row's value per group (Narwhals on
Spark has no filter inside an aggregation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import polars as pl
import polars.selectors as cs

from ._schema import A2, R2, S2, T2, A, C, I, R, S, T
from .errors import EngineError

if TYPE_CHECKING:
    import narwhals as nw
    from pyspark.sql import SparkSession

# Narwhals is imported by the steps that use it: reading a log does not need it, so
# :func:`~serviceloop.analytics.eventlog.read_parquet` imports it while the file is read.

__all__ = [
    "COUNT",
    "ENGINES",
    "FIRST",
    "VARIANT",
    "Engine",
    "PolarsEngine",
    "SparkEngine",
    "case_first_row",
    "case_last_row",
    "get_engine",
]

VARIANT = "__variant"
COUNT = "__count"  # events of one activity in one case (activity_counts)
FIRST = "__first"  # True on the first event of each case
_NEXT = {A: A2, T: T2, S: S2, R: R2}


class Engine(Protocol):
    """What an engine must provide beyond Narwhals."""

    name: str

    def adopt(self, events: pl.DataFrame) -> Any:
        """Return the sorted, coded event table as this engine's native frame."""

    def lazy(self, native: Any) -> nw.LazyFrame[Any]:
        """Wrap a native frame for the shared Narwhals code."""

    def with_next(self, native: Any) -> Any:
        """Add the next event's activity, time, start and resource in the same case (or null)."""

    def case_sequences(self, native: Any) -> Any:
        """Return one row per case: ``C`` and ``VARIANT``, its activity codes in order."""

    def activity_counts(self, native: Any, n_activities: int) -> Any:
        """Return one row per case and activity it has: ``C``, ``A`` and ``COUNT`` (events)."""

    def pick(self, column: str, where: nw.Expr) -> nw.Expr:
        """Aggregation: the value of ``column`` on the one row of each group where ``where``."""

    def collect(self, frame: nw.LazyFrame[Any]) -> pl.DataFrame:
        """Run a Narwhals query and return its (small) result as a Polars frame."""

    def collect_counts(self, frame: nw.LazyFrame[Any]) -> pl.DataFrame:
        """Like :meth:`collect`, for queries whose aggregations are integer counts and sums:
        those add up exactly in any order, so an engine may compute them in pieces."""

    def materialize(self, frame: nw.LazyFrame[Any]) -> Any:
        """Run a Narwhals query over events and keep the result as a native event table."""

    def keep_cases(self, native: Any, codes: pl.Series, *, keep: bool) -> Any:
        """Keep (or drop) the events of the cases whose codes are given, order unchanged."""


def case_first_row() -> pl.Expr:
    """Whether a row is its case's first, in rows sorted by case (the coded log's order)."""
    return (pl.col(C).shift(1) != pl.col(C)).fill_null(True)


def case_last_row() -> pl.Expr:
    """Whether a row is its case's last, in rows sorted by case."""
    return (pl.col(C).shift(-1) != pl.col(C)).fill_null(True)


class PolarsEngine:
    """The embedded default: the table is an eager Polars frame sorted by (case, time, row)."""

    name = "polars"

    def adopt(self, events: pl.DataFrame) -> pl.DataFrame:
        return events

    def lazy(self, native: pl.DataFrame) -> nw.LazyFrame[Any]:
        import narwhals as nw

        return nw.from_native(native.lazy())

    def with_next(self, native: pl.DataFrame) -> pl.DataFrame:
        same = pl.col(C).shift(-1) == pl.col(C)
        cols = [c for c in (A, T, S, R) if c in native.columns]
        return native.with_columns(
            *[pl.when(same).then(pl.col(c).shift(-1)).alias(_NEXT[c]) for c in cols],
            case_first_row().alias(FIRST),
        )

    def case_sequences(self, native: pl.DataFrame) -> pl.DataFrame:
        return native.group_by(C, maintain_order=True).agg(pl.col(A).alias(VARIANT))

    def activity_counts(self, native: pl.DataFrame, n_activities: int) -> pl.DataFrame:
        # One integer per (case, activity), sorted, then run lengths: 5x cheaper than grouping
        # by the two columns, and the result comes out sorted by case.
        # 32-bit keys when they fit (case codes are below the row count): a third less CPU.
        n = max(1, n_activities)
        width = pl.UInt32 if native.height * n < 2**32 else pl.UInt64
        key = (native[C].cast(width) * n + native[A].cast(width)).sort()
        runs = key.rle().struct.unnest()
        return runs.select(
            (pl.col("value") // n).cast(native[C].dtype).set_sorted().alias(C),
            (pl.col("value") % n).cast(native[A].dtype).alias(A),
            pl.col("len").cast(pl.Int64).alias(COUNT),
        )

    def pick(self, column: str, where: nw.Expr) -> nw.Expr:
        import narwhals as nw

        # Filtering first leaves one value per group: 5x cheaper than when/then over every row.
        return nw.col(column).filter(where).min()

    def collect(self, frame: nw.LazyFrame[Any]) -> pl.DataFrame:
        # The in-memory engine: the tables are in memory already, and Polars' default (its
        # streaming engine) takes twice the CPU for a group-by counting distinct cases.
        out = frame.to_native().collect(engine="in-memory")
        assert isinstance(out, pl.DataFrame)
        return out

    def collect_counts(self, frame: nw.LazyFrame[Any]) -> pl.DataFrame:
        # The streaming engine counts in pieces without gathering each group's rows first:
        # half the CPU of the in-memory group-by on millions of rows, and integers add up
        # exactly in any order (floats would not: their sums stay in memory, in row order).
        out = frame.to_native().collect(engine="streaming")
        assert isinstance(out, pl.DataFrame)
        return out

    def materialize(self, frame: nw.LazyFrame[Any]) -> pl.DataFrame:
        return self.collect(frame)  # Polars filters keep row order, so the sort survives

    def keep_cases(self, native: pl.DataFrame, codes: pl.Series, *, keep: bool) -> pl.DataFrame:
        hit = pl.col(C).is_in(codes.implode())
        return native.filter(hit if keep else ~hit)


class SparkEngine:
    """PySpark (local or cluster): the table is a cached Spark DataFrame, order comes from windows."""

    name = "spark"

    def __init__(self, session: SparkSession | None = None) -> None:
        self._session = session

    @property
    def session(self) -> SparkSession:
        if self._session is None:
            try:
                from pyspark.sql import SparkSession
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise EngineError("engine 'spark' needs pyspark: pip install pyspark") from exc
            self._session = SparkSession.builder.getOrCreate()
        return self._session

    def adopt(self, events: pl.DataFrame) -> Any:
        # Spark has no unsigned integers; codes fit in Int64.
        signed = events.with_columns(cs.unsigned_integer().cast(pl.Int64))
        return self.session.createDataFrame(signed.to_arrow()).cache()

    def lazy(self, native: Any) -> nw.LazyFrame[Any]:
        import narwhals as nw

        return nw.from_native(native)

    def with_next(self, native: Any) -> Any:
        import narwhals as nw

        frame = nw.from_native(native)
        cols = [c for c in (A, T, S, R) if c in frame.columns]
        out = frame.with_columns(
            *[nw.col(c).shift(-1).over(C, order_by=[T, I]).alias(_NEXT[c]) for c in cols],
            nw.col(I).shift(1).over(C, order_by=[T, I]).is_null().alias(FIRST),
        )
        return out.to_native().cache()

    def case_sequences(self, native: Any) -> Any:
        from pyspark.sql import functions as F

        ordered = F.sort_array(F.collect_list(F.struct(T, I, A)))
        return native.groupBy(C).agg(F.transform(ordered, lambda e: e[A]).alias(VARIANT))

    def activity_counts(self, native: Any, n_activities: int) -> Any:
        from pyspark.sql import functions as F

        return native.groupBy(C, A).agg(F.count(F.lit(1)).alias(COUNT)).cache()

    def pick(self, column: str, where: nw.Expr) -> nw.Expr:
        import narwhals as nw

        # Narwhals on Spark has no filter inside an aggregation.
        return nw.when(where).then(nw.col(column)).min()

    def collect(self, frame: nw.LazyFrame[Any]) -> pl.DataFrame:
        table = frame.to_native().toArrow()
        out = pl.from_arrow(table)
        assert isinstance(out, pl.DataFrame)
        return out

    def collect_counts(self, frame: nw.LazyFrame[Any]) -> pl.DataFrame:
        return self.collect(frame)

    def materialize(self, frame: nw.LazyFrame[Any]) -> Any:
        return frame.to_native().cache()

    def keep_cases(self, native: Any, codes: pl.Series, *, keep: bool) -> Any:
        from pyspark.sql import functions as F

        wanted = self.session.createDataFrame(codes.cast(pl.Int64).alias(C).to_frame().to_arrow())
        how = "left_semi" if keep else "left_anti"
        return native.join(F.broadcast(wanted), on=C, how=how).cache()


ENGINES = ("polars", "spark")


def get_engine(engine: str | Engine) -> Engine:
    """Return an engine instance for ``"polars"``, ``"spark"`` or an engine object."""
    if not isinstance(engine, str):
        return engine
    if engine == "polars":
        return PolarsEngine()
    if engine == "spark":
        return SparkEngine()
    raise EngineError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
