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
_FORMULA_FIRST = frozenset(FORMULA_PREFIXES)


def neutralise_formula(value: str) -> str:
    return "'" + value if value[:1] in _FORMULA_FIRST else value


def format_timestamp(value: datetime) -> str:
    """UTC ISO-8601 with a fixed microsecond width, so every row parses with one format."""
    return value.isoformat(timespec="microseconds")


def _text(value: str | None) -> str | None:
    return neutralise_formula(value) if value else value


def _csv_row(row: EventRow) -> tuple[object, ...]:
    """Free-text columns neutralised; kind, channel and priority are fixed codes; None -> ""."""
    case_id, activity, timestamp, resource, lifecycle, kind, channel, priority, category, team = row
    return (
        _text(case_id),
        _text(activity),
        format_timestamp(timestamp),
        _text(resource),
        _text(lifecycle),
        kind,
        channel,
        priority,
        _text(category),
        _text(team),
    )


def csv_chunks(batches: Iterable[list[EventRow]]) -> Iterator[str]:
    """The CSV text in pieces of one batch each (UTF-8 safe, RFC 4180 quoting, ``\\r\\n`` lines)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield buffer.getvalue()
    for batch in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(map(_csv_row, batch))
        yield buffer.getvalue()
