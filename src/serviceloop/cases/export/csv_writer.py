"""CSV event log: one header line, then one line per event, produced batch by batch."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime

from serviceloop.cases.export.rows import COLUMNS, EventRow

__all__ = ["FORMULA_PREFIXES", "csv_chunks", "format_timestamp", "neutralise_formula"]

# A spreadsheet opening the file would evaluate a cell starting with these as a formula
# (CSV injection); a leading apostrophe makes it plain text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def format_timestamp(value: datetime) -> str:
    """UTC ISO-8601 with a fixed microsecond width, so every row parses with one format."""
    return value.isoformat(timespec="microseconds")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_timestamp(value)
    return neutralise_formula(str(value))


def csv_chunks(batches: Iterable[list[EventRow]]) -> Iterator[str]:
    """The CSV text in pieces of one batch each (UTF-8 safe, RFC 4180 quoting, ``\\r\\n`` lines)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield buffer.getvalue()
    for batch in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([_cell(value) for value in row] for row in batch)
        yield buffer.getvalue()
