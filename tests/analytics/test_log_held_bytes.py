"""What a log weighs in a cache: its coded table and what analyses memoised over it."""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl

from serviceloop.analytics import EventLog, dfg, from_polars


def _log() -> EventLog:
    return from_polars(
        pl.DataFrame(
            {
                "case_id": ["a", "a", "b", "b"],
                "activity": ["Open", "Close", "Open", "Close"],
                "timestamp": [
                    "2024-01-01 09:00",
                    "2024-01-01 10:00",
                    "2024-01-02 09:00",
                    "2024-01-02 11:00",
                ],
            }
        )
    )


def test_the_coded_table_and_each_memo_count() -> None:
    log = _log()
    table = log.held_bytes()
    assert table == log.coded().estimated_size()
    log.memo("series and array", lambda: (pl.Series(range(1000)), {"a": np.zeros(500)}))
    assert log.held_bytes() == table + 8 * 1000 + 8 * 500


def test_an_analysis_over_the_log_weighs_on_it() -> None:
    log = _log()
    before = log.held_bytes()
    dfg(log)
    assert log.held_bytes() > before


def test_a_memo_that_refers_back_to_its_log_counts_once() -> None:
    @dataclasses.dataclass
    class Scope:
        log: EventLog
        table: pl.Series

    log = _log()
    table = log.held_bytes()
    log.memo("scope", lambda: Scope(log, pl.Series(range(10))))
    log.memo("again", lambda: [log.memo("scope", lambda: None)])
    assert log.held_bytes() == table + 8 * 10
