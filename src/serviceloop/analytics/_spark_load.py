"""Loading a Parquet log straight into Spark, for logs that do not fit one machine.

The same coded table as the Polars loader, built by Spark: activity and resource codes from the
sorted distinct names (small, broadcast), case codes in order of first appearance, timestamps as
UTC epoch microseconds, file order from ``monotonically_increasing_id`` (increasing along the
files). Row numbers in errors are counted only when there is an error to report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from ._engine import SparkEngine
from ._mapping import ColumnMapping
from ._schema import A, C, I, R, S, T
from .errors import (
    DuplicateEventError,
    EmptyLogError,
    InvalidParameterError,
    MissingColumnError,
    MissingValueError,
    TimestampParseError,
)

if TYPE_CHECKING:
    from ._log import EventLog

__all__ = ["spark_read_parquet"]


def _row(df: Any, row_id: int) -> int:
    """1-based position of the row whose file-order id is ``row_id``."""
    from pyspark.sql import functions as F

    return int(df.filter(F.col(I) < row_id).count()) + 1


def _epoch_us(df: Any, column: str, path: str) -> Any:
    from pyspark.sql import functions as F
    from pyspark.sql import types as st

    dtype = df.schema[column].dataType
    col = F.col(column)
    if isinstance(dtype, st.TimestampType | st.TimestampNTZType):
        return F.unix_micros(col.cast(st.TimestampType()))
    if isinstance(dtype, st.DateType):
        return F.unix_micros(col.cast(st.TimestampType()))
    if isinstance(dtype, st.StringType):
        return F.unix_micros(F.try_to_timestamp(col))
    if isinstance(dtype, st.IntegralType):
        return col.cast("long") * 1_000_000
    raise InvalidParameterError(f"{path}: column {column!r} has type {dtype}, not a timestamp")


def _codes(df: Any, column: str) -> tuple[pl.Series, Any]:
    """Sorted distinct names and a small (name, code) frame to join on."""
    names = sorted(r[0] for r in df.select(column).distinct().collect() if r[0] is not None)
    session = df.sparkSession
    mapping = session.createDataFrame(
        list(zip(names, range(len(names)), strict=True)), ["__k", "__v"]
    )
    return pl.Series(names, dtype=pl.String), mapping


def spark_read_parquet(path: str, mapping: ColumnMapping, *, engine: SparkEngine) -> EventLog:
    """Build an :class:`EventLog` on Spark from Parquet files (a file or a directory)."""
    from pyspark.sql import functions as F

    from ._log import EventLog

    case, activity, timestamp = mapping.case, mapping.activity, mapping.timestamp
    start_timestamp, resource = mapping.start_timestamp, mapping.resource
    attributes, duplicates = mapping.attributes, mapping.duplicates

    raw = engine.session.read.parquet(str(path))
    names = raw.columns
    mapped = [c for c in (case, activity, timestamp, start_timestamp, resource) if c is not None]
    for col in mapped + list(attributes or []):
        if col not in names:
            raise MissingColumnError(col, names, path=str(path))
    attrs = [c for c in names if c not in mapped] if attributes is None else list(attributes)
    df = raw.select(*dict.fromkeys(mapped + attrs)).withColumn(I, F.monotonically_increasing_id())
    df = df.cache()
    if df.limit(1).count() == 0:
        raise EmptyLogError(f"{path} has no events")
    for col in (case, activity, timestamp):
        bad = df.filter(F.col(col).isNull()).agg(F.min(I), F.count(F.lit(1))).first()
        if bad is not None and bad[1]:
            raise MissingValueError(column=col, row=_row(df, bad[0]), count=bad[1], path=str(path))
    df = df.withColumn(T, _epoch_us(df, timestamp, str(path)))
    if start_timestamp is not None:
        df = df.withColumn(S, _epoch_us(df, start_timestamp, str(path)))
    for ts_col, src in ((T, timestamp), (S, start_timestamp)):
        if src is None:
            continue
        bad = df.filter(F.col(ts_col).isNull() & F.col(src).isNotNull()).orderBy(I).first()
        if bad is not None:
            raise TimestampParseError(
                column=src, row=_row(df, bad[I]), value=str(bad[src]), format=None, path=str(path)
            )

    activity_names, act_map = _codes(df, activity)
    df = (
        df.join(F.broadcast(act_map), df[activity] == act_map["__k"])
        .withColumnRenamed("__v", A)
        .drop("__k")
    )
    resource_names = None
    if resource is not None:
        resource_names, res_map = _codes(df, resource)
        df = df.join(F.broadcast(res_map), df[resource] == res_map["__k"], "left")
        df = df.withColumnRenamed("__v", R).drop("__k")

    firsts = df.groupBy(case).agg(F.min(I).alias("__f")).orderBy("__f")
    ranked = firsts.rdd.zipWithIndex().map(lambda p: (p[0][0], p[1])).toDF([case, C])
    ordered_names = firsts.select(case).collect()
    case_names = pl.Series([str(r[0]) for r in ordered_names], dtype=pl.String)
    df = df.join(ranked, on=case)

    key = [c for c in (C, A, T, S, R) if c in df.columns]
    if duplicates != "keep":
        first_of = df.groupBy(*key).agg(F.min(I).alias("__first"), F.count(F.lit(1)).alias("__n"))
        dup = df.join(first_of.filter("__n > 1"), on=key).filter(F.col(I) != F.col("__first"))
        if duplicates == "drop":
            df = df.join(dup.select(I), on=I, how="left_anti")
        else:
            hit = dup.orderBy(I).first()
            if hit is not None:
                raise DuplicateEventError(
                    row=_row(df, hit[I]),
                    duplicate_of=_row(df, hit["__first"]),
                    count=dup.count(),
                    path=str(path),
                )
    keep = [c for c in (C, A, T, S, R, I) if c in df.columns]
    events = df.select(*keep, *attrs).cache()
    events.count()
    df.unpersist()
    return EventLog(
        events,
        activity_names=activity_names,
        case_names=case_names,
        resource_names=resource_names,
        attributes=tuple(attrs),
        engine=engine,
        source=str(path),
    )
