"""Export the case event log as CSV, Parquet or XES, streaming with flat memory.

Used by ``serviceloop export-log`` and ``GET /api/events/export``; both read the same column
batches (``rows.event_batches``: every event, or the stage log of :mod:`serviceloop.cases.eventlog`)
and hand them to one writer per format.
"""

from __future__ import annotations

from serviceloop.cases.export.csv_writer import csv_chunks, neutralise_formula
from serviceloop.cases.export.parquet_writer import (
    PARQUET_SCHEMA,
    STAGE_PARQUET_SCHEMA,
    write_parquet,
)
from serviceloop.cases.export.rows import (
    COLUMNS,
    STAGE_EXPORT_COLUMNS,
    EventBatches,
    EventLogQuery,
    can_export_event_log,
    event_batches,
    event_count,
)
from serviceloop.cases.export.xes_writer import xes_chunks
from serviceloop.cases.export_formats import CONTENT_TYPES, FORMATS

__all__ = [
    "COLUMNS",
    "CONTENT_TYPES",
    "FORMATS",
    "PARQUET_SCHEMA",
    "STAGE_EXPORT_COLUMNS",
    "STAGE_PARQUET_SCHEMA",
    "EventBatches",
    "EventLogQuery",
    "can_export_event_log",
    "csv_chunks",
    "event_batches",
    "event_count",
    "neutralise_formula",
    "write_parquet",
    "xes_chunks",
]
