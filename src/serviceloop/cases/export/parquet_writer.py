"""Parquet event log written in row groups: at most one batch of rows is held in memory."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from serviceloop.cases.export.rows import COLUMNS, STAGE_EXPORT_COLUMNS

__all__ = ["PARQUET_SCHEMA", "STAGE_PARQUET_SCHEMA", "write_parquet"]

_TIME = pa.timestamp("us", tz="UTC")
_FIELDS = {
    "case_id": pa.field("case_id", pa.string(), nullable=False),
    "activity": pa.field("activity", pa.string(), nullable=False),
    "start_timestamp": pa.field("start_timestamp", _TIME, nullable=False),
    "timestamp": pa.field("timestamp", _TIME, nullable=False),
    "resource": pa.field("resource", pa.string()),
    "resource_name": pa.field("resource_name", pa.string()),
    "lifecycle": pa.field("lifecycle", pa.string(), nullable=False),
    "kind": pa.field("kind", pa.string(), nullable=False),
    "channel": pa.field("channel", pa.string()),
    "priority": pa.field("priority", pa.string()),
    "category": pa.field("category", pa.string()),
    "team": pa.field("team", pa.string()),
}
PARQUET_SCHEMA = pa.schema([_FIELDS[name] for name in COLUMNS])
STAGE_PARQUET_SCHEMA = pa.schema([_FIELDS[name] for name in STAGE_EXPORT_COLUMNS])


def _writer(sink: str | Path | IO[bytes], schema: pa.Schema) -> pq.ParquetWriter:
    # Min/max statistics only where a reader skips row groups by them (the case, the time):
    # measured, those of the other text columns cost a quarter of the writing. Dictionaries
    # only for text (names and codes repeat): a timestamp is nearly always new, and trying to
    # dictionary-encode them cost 40 % of the writing for a larger file.
    indexed = [n for n in ("case_id", "start_timestamp", "timestamp") if n in schema.names]
    text = [f.name for f in schema if f.type == pa.string()]
    return pq.ParquetWriter(
        sink, schema, compression="zstd", write_statistics=indexed, use_dictionary=text
    )


def _arrow(batch: pl.DataFrame, schema: pa.Schema) -> pa.Table:
    """The batch as ``schema``: Polars hands text over as ``large_string`` at its oldest
    compatibility level, cast to ``string`` by offsets alone (its newer string views are
    copied value by value: measured, twice the time)."""
    return batch.to_arrow(compat_level=pl.CompatLevel.oldest()).cast(schema)


def write_parquet(batches: Iterable[pl.DataFrame], sink: str | Path | IO[bytes]) -> int:
    """Write every row to ``sink`` (zstd-compressed), one row group per batch; returns the number
    of rows written. The stage log (a ``start_timestamp`` column) gets its own schema; an empty
    export takes it from ``batches.columns`` when the batches say it."""
    written = 0
    writer: pq.ParquetWriter | None = None
    schema = PARQUET_SCHEMA
    try:
        for batch in batches:
            if writer is None:
                staged = "start_timestamp" in batch.columns
                schema = STAGE_PARQUET_SCHEMA if staged else PARQUET_SCHEMA
                writer = _writer(sink, schema)
            if batch.height:
                writer.write_table(_arrow(batch, schema))
                written += batch.height
        if writer is None:
            columns = getattr(batches, "columns", None)
            schema = STAGE_PARQUET_SCHEMA if columns == STAGE_EXPORT_COLUMNS else PARQUET_SCHEMA
            writer = _writer(sink, schema)
            writer.write_table(schema.empty_table())
    finally:
        if writer is not None:
            writer.close()
    return written
