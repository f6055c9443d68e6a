"""Logs for the tests that hold a log made another way (from stored parts, spliced, copied)
against one made plainly: drawn rows with step times, their frame, and a log of other events
under the same names."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl
from hypothesis import strategies as st

from serviceloop.analytics import EventLog

#: The frame's columns; a start timestamp and string attributes come after them.
SCHEMA = {"case_id": pl.String, "activity": pl.String, "timestamp": pl.Datetime("us", "UTC")}


@st.composite
def timed_rows(
    draw: st.DrawFn,
    *,
    sizes: tuple[int, int],
    cases: int,
    activities: Sequence[str],
    minutes: int,
) -> list[tuple[int, str, int, int]]:
    """(case, activity, minutes after the start, minutes the step took), between ``sizes`` of
    them: equal times, repeats, one-event cases."""
    n = draw(st.integers(*sizes))
    return draw(
        st.lists(
            st.tuples(
                st.integers(0, cases),
                st.sampled_from(activities),
                st.integers(0, minutes),
                st.integers(0, 90),
            ),
            min_size=n,
            max_size=n,
        )
    )


def timed_frame(
    rows: Sequence[tuple[str, str, int, int]],
    t0: dt.datetime,
    *,
    starts: bool,
    **attributes: list[str],
) -> pl.DataFrame:
    """The events of ``rows`` (case name, activity, minutes after ``t0``, minutes the step
    took), with ``attributes``, and (``starts``) each step's start ``took`` minutes earlier."""
    frame = pl.DataFrame(
        {
            "case_id": [r[0] for r in rows],
            "activity": [r[1] for r in rows],
            "timestamp": [t0 + dt.timedelta(minutes=r[2]) for r in rows],
            **attributes,
        },
        schema=SCHEMA | dict.fromkeys(attributes, pl.String),
    )
    if starts:
        frame = frame.with_columns(
            pl.Series(
                "start_timestamp",
                [t0 + dt.timedelta(minutes=r[2] - r[3]) for r in rows],
                dtype=pl.Datetime("us", "UTC"),
            )
        )
    return frame


def with_events(log: EventLog, events: pl.DataFrame) -> EventLog:
    """A log of ``events`` under ``log``'s names, attributes and engine: none of its memos, no
    lineage (it sorts its own steps, checks its own conformance)."""
    return EventLog(
        events,
        activity_names=log.activity_names,
        case_names=log.case_names,
        resource_names=log.resource_names,
        attributes=log.attributes,
        engine=log.engine,
    )


def copy_of(log: EventLog) -> EventLog:
    """A log of the same rows, copied (see :func:`with_events`)."""
    return with_events(log, log.coded().clone())
