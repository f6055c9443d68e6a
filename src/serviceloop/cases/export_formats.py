"""The event-log export's formats and their media types, apart from the writers.

The API declares these in its OpenAPI description when the URL configuration loads; the writers
(:mod:`serviceloop.cases.export`) need Polars and pyarrow, which only an export should pay for.
"""

from __future__ import annotations

__all__ = ["CONTENT_TYPES", "FORMATS"]

FORMATS = ("csv", "parquet", "xes")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "xes": "application/xml; charset=utf-8",
}
