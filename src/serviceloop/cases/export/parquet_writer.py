"""Parquet event log written in row groups: at most one row group of rows is held in memory."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.parquet as pq

from serviceloop.cases.export.rows import EventRow

__all__ = ["PARQUET_SCHEMA", "write_parquet"]

PARQUET_SCHEMA = pa.schema(
    [
        pa.field("case_id", pa.string(), nullable=False),
        pa.field("activity", pa.string(), nullable=False),
        pa.field("timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("resource", pa.string()),
        pa.field("lifecycle", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("channel", pa.string()),
        pa.field("priority", pa.string()),
        pa.field("category", pa.string()),
        pa.field("team", pa.string()),
    ]
)
DEFAULT_ROW_GROUP_SIZE = 100_000


def _table(rows: list[EventRow]) -> pa.Table:
    columns = list(zip(*rows, strict=True))
    return pa.Table.from_arrays(
        [
            pa.array(column, type=field.type)
            for column, field in zip(columns, PARQUET_SCHEMA, strict=True)
        ],
        schema=PARQUET_SCHEMA,
    )


def write_parquet(
    batches: Iterable[list[EventRow]],
    sink: str | Path | IO[bytes],
    *,
    row_group_size: int = DEFAULT_ROW_GROUP_SIZE,
) -> int:
    """Write every row to ``sink`` (zstd-compressed); returns the number of rows written.

    Each database batch becomes a small Arrow table at once (columnar, far smaller than the Python
    rows); a row group is written whenever ``row_group_size`` rows have gathered.
    """
    written = 0
    pending: list[pa.Table] = []
    pending_rows = 0
    with pq.ParquetWriter(sink, PARQUET_SCHEMA, compression="zstd") as writer:

        def flush() -> None:
            nonlocal pending, pending_rows, written
            writer.write_table(pa.concat_tables(pending), row_group_size=row_group_size)
            written += pending_rows
            pending, pending_rows = [], 0

        for batch in batches:
            if not batch:
                continue
            pending.append(_table(batch))
            pending_rows += len(batch)
            if pending_rows >= row_group_size:
                flush()
        if pending:
            flush()
        elif written == 0:
            writer.write_table(PARQUET_SCHEMA.empty_table())
    return written
