"""XES (IEEE 1849-2016) event log, streamed a slice of events at a time.

The log declares the Concept, Time, Organizational and Lifecycle extensions, the global attributes
every trace and event carries, and two classifiers. A trace is a case: ``concept:name`` is the case
number, its channel / priority / category / team are trace attributes. An event has
``concept:name`` (activity), ``time:timestamp`` (xs:dateTime with offset), ``org:resource`` (the
username, when an actor exists) and ``resource_name`` (their name as people write it),
``lifecycle:transition`` and ``kind``. Every value is XML-escaped; characters XML 1.0 cannot carry
are replaced by U+FFFD.

A stage log becomes the standard lifecycle pairs: a ``start`` event when the case entered the stage
and a ``complete`` event when it left (none yet for a visit under way).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache

import numpy as np
import polars as pl
import pyarrow as pa

from serviceloop.cases.export.csv_writer import TIMESTAMP_FORMAT
from serviceloop.cases.export.rows import CASE_ATTRIBUTES, COLUMNS

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


def _escaped(column: str) -> pl.Expr:
    """``column`` through :func:`xes_attr`, computed once per distinct value (activities,
    people and codes repeat on almost every event) and mapped back in columns."""
    return _per_value(column, xes_attr)


def _per_value(column: str, make: Callable[[str], str]) -> pl.Expr:
    """``make(value)`` for each value of ``column``, called once per distinct value."""

    def apply(values: pl.Series) -> pl.Series:
        distinct = values.drop_nulls().unique()
        made = [make(value) for value in distinct]
        return values.replace_strict(distinct, made, default=None, return_dtype=pl.String)

    return pl.col(column).map_batches(apply, return_dtype=pl.String)


def _string(key: str, column: str, indent: str) -> pl.Expr:
    """A ``<string>`` element for a value, the empty string when it is null."""
    line = pl.concat_str(
        pl.lit(f'{indent}<string key="{key}" value="'), _escaped(column), pl.lit('"/>\n')
    )
    return line.fill_null("")


def _element(key: str, value: str | None, indent: str) -> str:
    return "" if value is None else f'{indent}<string key="{key}" value="{xes_attr(value)}"/>\n'


_EVENT_START = '    <event>\n      <string key="concept:name" value="'
_EVENT_TIME = '"/>\n      <date key="time:timestamp" value="'
_EVENT_LIFECYCLE = '      <string key="lifecycle:transition" value="'
_EVENT_KIND = '"/>\n      <string key="kind" value="'
_EVENT_END = '"/>\n    </event>\n'
_SLICE = 50_000  # events turned into one piece of text at a time: bounds the text held
#: What an event says after its time depends on these alone, and they repeat.
_AFTER_TIME = ("resource", "resource_name", "lifecycle", "kind")


def _after_time(resource: str | None, name: str | None, lifecycle: str, kind: str) -> str:
    return (
        '"/>\n'
        + _element("org:resource", resource, "      ")
        + _element("resource_name", name, "      ")
        + _EVENT_LIFECYCLE
        + xes_attr(lifecycle)
        + _EVENT_KIND
        + xes_attr(kind)
        + _EVENT_END
    )


def _events_text(frame: pl.DataFrame, previous: str | None) -> bytes:
    """The frame's events as UTF-8 XML, preceded where a new case starts by the previous
    trace's end and the new trace's start; ``previous`` is the case of the row before the frame.

    Each event is three pieces: its activity's opening (made once per activity), its time, and
    the rest (made once per distinct resource, name, lifecycle and kind). Measured against
    building every element per event, a third of the time; the rows' text is then taken whole
    from Arrow's buffer rather than joined and encoded through a Python string."""
    case = pl.col("case_id")
    before = case.shift(1, fill_value=previous) if previous is not None else case.shift(1)
    numbered = frame.with_row_index("__row").with_columns(
        (before.is_null() | (case != before)).alias("__starts"), before.alias("__before")
    )
    # A trace's start is made for the first row of each case only, then joined back by row.
    heads = numbered.filter("__starts").select(
        "__row",
        pl.concat_str(
            pl.when(pl.col("__before").is_not_null())
            .then(pl.lit("  </trace>\n"))
            .otherwise(pl.lit("")),
            pl.lit("  <trace>\n"),
            _string("concept:name", "case_id", "    "),
            *(_string(name, name, "    ") for name in CASE_ATTRIBUTES),
        ).alias("__head"),
    )
    endings = numbered.select(_AFTER_TIME).unique()
    endings = endings.with_columns(
        pl.Series("__end", [_after_time(*row) for row in endings.iter_rows()], pl.String)
    )
    events = numbered.join(
        endings, on=list(_AFTER_TIME), how="left", maintain_order="left", nulls_equal=True
    ).join(heads, on="__row", how="left", maintain_order="left")
    text = events.select(
        pl.concat_str(
            pl.col("__head").fill_null(""),
            _per_value("activity", lambda value: _EVENT_START + xes_attr(value) + _EVENT_TIME),
            pl.col("timestamp").dt.strftime(TIMESTAMP_FORMAT),
            "__end",
        )
    ).to_series()
    return _joined(text)


def _joined(text: pl.Series) -> bytes:
    """Every value of ``text`` (no nulls) one after another, as UTF-8: the data buffer of its
    Arrow form, which holds them so."""
    array = text.to_arrow(compat_level=pl.CompatLevel.oldest())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)
    data = array.buffers()[2]
    if data is None:  # every value empty
        return b""
    return bytes(memoryview(data)[offsets[array.offset] : offsets[array.offset + len(array)]])


def lifecycle_events(visits: pl.DataFrame) -> pl.DataFrame:
    """A stage log's visits as lifecycle events (COLUMNS): each visit's ``start``, then
    its ``complete`` when it has ended, in the visits' order."""
    numbered = visits.with_row_index("__visit")
    starts = numbered.with_columns(
        pl.col("start_timestamp").alias("timestamp"), pl.lit("start").alias("lifecycle")
    )
    ends = numbered.filter(pl.col("lifecycle") == "complete")
    return (
        pl.concat(
            [
                starts.select("__visit", pl.lit(0).alias("__phase"), *COLUMNS),
                ends.select("__visit", pl.lit(1).alias("__phase"), *COLUMNS),
            ]
        )
        .sort("__visit", "__phase")
        .select(COLUMNS)
    )


def xes_chunks(batches: Iterable[pl.DataFrame]) -> Iterator[bytes]:
    """The XES document in pieces of at most :data:`_SLICE` events; rows must come grouped by
    case. Each piece is made in columns by Polars, not event by event in Python."""
    yield HEADER.encode()
    current: str | None = None
    for frame in batches:
        if "start_timestamp" in frame.columns:
            frame = lifecycle_events(frame)
        for offset in range(0, frame.height, _SLICE):
            piece = frame.slice(offset, _SLICE).select(COLUMNS)
            text = _events_text(piece, current)
            current = piece["case_id"][-1]
            yield text
    if current is not None:
        yield b"  </trace>\n"
    yield FOOTER.encode()
