"""XES (IEEE 1849-2016) event log, streamed one trace (case) at a time.

The log declares the Concept, Time, Organizational and Lifecycle extensions, the global attributes
every trace and event carries, and two classifiers. A trace is a case: ``concept:name`` is the case
number, its channel / priority / category / team are trace attributes. An event has
``concept:name`` (activity), ``time:timestamp`` (xs:dateTime with offset), ``org:resource`` (when an
actor exists), ``lifecycle:transition`` and ``kind``. Every value is XML-escaped; characters XML 1.0
cannot carry are replaced by U+FFFD.

A stage log becomes the standard lifecycle pairs: a ``start`` event when the case entered the stage
and a ``complete`` event when it left (none yet for a visit under way).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

import polars as pl

from serviceloop.cases.eventlog import EVENT_COLUMNS
from serviceloop.cases.export.csv_writer import format_timestamp
from serviceloop.cases.export.rows import CASE_ATTRIBUTES

# One event in EVENT_COLUMNS order; ``timestamp`` is an aware UTC datetime, absent values None.
EventRow = tuple[Any, ...]

__all__ = ["xes_attr", "xes_chunks"]

_INVALID_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\n": "&#10;",
        "\r": "&#13;",
        "\t": "&#9;",
    }
)

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xes.features="nested-attributes" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
  <extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
  <extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
  <global scope="trace">
    <string key="concept:name" value="__INVALID__"/>
  </global>
  <global scope="event">
    <string key="concept:name" value="__INVALID__"/>
    <date key="time:timestamp" value="1970-01-01T00:00:00.000000+00:00"/>
    <string key="lifecycle:transition" value="complete"/>
    <string key="kind" value="__INVALID__"/>
  </global>
  <classifier name="Activity" keys="concept:name"/>
  <classifier name="Activity and lifecycle" keys="concept:name lifecycle:transition"/>
  <string key="concept:name" value="ServiceLoop case event log"/>
  <string key="lifecycle:model" value="standard"/>
"""
FOOTER = "</log>\n"


@lru_cache(maxsize=8192)  # activities, resources and codes repeat on almost every event
def xes_attr(value: str) -> str:
    """``value`` made safe inside a double-quoted XML attribute (whitespace kept as entities)."""
    return _INVALID_XML.sub("\ufffd", value).translate(_ESCAPES)


def _string(key: str, value: str, indent: str) -> str:
    return f'{indent}<string key="{key}" value="{xes_attr(value)}"/>\n'


def _trace_open(row: EventRow) -> str:
    parts = ["  <trace>\n", _string("concept:name", row[0], "    ")]
    for name, value in zip(CASE_ATTRIBUTES, row[6:], strict=True):
        if value is not None:
            parts.append(_string(name, str(value), "    "))
    return "".join(parts)


_EVENT = (
    '    <event>\n      <string key="concept:name" value="{activity}"/>\n'
    '      <date key="time:timestamp" value="{timestamp}"/>\n{resource}'
    '      <string key="lifecycle:transition" value="{lifecycle}"/>\n'
    '      <string key="kind" value="{kind}"/>\n    </event>\n'
)


def _event(row: EventRow) -> str:
    resource = row[3]
    return _EVENT.format(
        activity=xes_attr(row[1]),
        timestamp=format_timestamp(row[2]),
        resource=_string("org:resource", resource, "      ") if resource is not None else "",
        lifecycle=xes_attr(row[4]),
        kind=xes_attr(row[5]),
    )


def lifecycle_events(visits: pl.DataFrame) -> pl.DataFrame:
    """A stage log's visits as lifecycle events (EVENT_COLUMNS): each visit's ``start``, then
    its ``complete`` when it has ended, in the visits' order."""
    numbered = visits.with_row_index("__visit")
    starts = numbered.with_columns(
        pl.col("start_timestamp").alias("timestamp"), pl.lit("start").alias("lifecycle")
    )
    ends = numbered.filter(pl.col("lifecycle") == "complete")
    return (
        pl.concat(
            [
                starts.select("__visit", pl.lit(0).alias("__phase"), *EVENT_COLUMNS),
                ends.select("__visit", pl.lit(1).alias("__phase"), *EVENT_COLUMNS),
            ]
        )
        .sort("__visit", "__phase")
        .select(EVENT_COLUMNS)
    )


def xes_chunks(batches: Iterable[pl.DataFrame]) -> Iterator[str]:
    """The XES document in pieces of one batch each; rows must come grouped by case."""
    yield HEADER
    current: str | None = None
    for frame in batches:
        if "start_timestamp" in frame.columns:
            frame = lifecycle_events(frame)
        parts: list[str] = []
        for row in frame.select(EVENT_COLUMNS).iter_rows():
            if row[0] != current:
                if current is not None:
                    parts.append("  </trace>\n")
                parts.append(_trace_open(row))
                current = row[0]
            parts.append(_event(row))
        yield "".join(parts)
    if current is not None:
        yield "  </trace>\n"
    yield FOOTER
