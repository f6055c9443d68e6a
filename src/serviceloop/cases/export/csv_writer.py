"""CSV event log: one header line, then the rows of each batch, written by Polars."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from datetime import datetime

import polars as pl

__all__ = [
    "FORMULA_PREFIXES",
    "TIMESTAMP_FORMAT",
    "csv_chunks",
    "format_timestamp",
    "neutralise_formula",
]

# A spreadsheet opening the file would evaluate a cell starting with these as a formula
# (CSV injection); a leading apostrophe makes it plain text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_PREFIXES)
_FORMULA_PATTERN = "^[" + "".join(FORMULA_PREFIXES).replace("-", r"\-") + "]"
#: UTC ISO-8601 with a fixed microsecond width, so every row parses with one format.
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S%.6f+00:00"
# Fixed codes (kind, channel, priority) are never free text; every other text column may be.
_CODES = frozenset({"kind", "channel", "priority"})


def neutralise_formula(value: str) -> str:
    return "'" + value if value[:1] in _FORMULA_FIRST else value


def format_timestamp(value: datetime) -> str:
    """UTC ISO-8601 with a fixed microsecond width, so every row parses with one format."""
    return value.isoformat(timespec="microseconds")


def _cells(frame: pl.DataFrame) -> pl.DataFrame:
    """Free-text columns neutralised, timestamps formatted; nulls are written as ""."""
    out = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            out.append(column.dt.strftime(TIMESTAMP_FORMAT))
        elif dtype == pl.String and name not in _CODES:
            out.append(
                pl.when(column.str.contains(_FORMULA_PATTERN))
                .then(pl.lit("'") + column)
                .otherwise(column)
                .alias(name)
            )
        else:
            out.append(column)
    return frame.select(out)


def csv_chunks(batches: Iterable[pl.DataFrame]) -> Iterator[bytes]:
    """The CSV file in pieces of one batch each (UTF-8, RFC 4180 quoting, ``\\r\\n`` lines),
    written by Polars straight to bytes (no Python string per batch)."""
    columns = getattr(batches, "columns", None)
    header_written = False
    for batch in batches:
        out = io.BytesIO()
        _cells(batch).write_csv(
            out,
            include_header=not header_written,
            line_terminator="\r\n",
            quote_style="necessary",
        )
        header_written = True
        yield out.getvalue()
    if not header_written:
        yield (",".join(columns or ()) + "\r\n").encode()
