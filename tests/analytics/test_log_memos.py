"""What a log's memos tell and hand on: whether one is held, and to a copy of the same rows."""

from __future__ import annotations

import polars as pl

from serviceloop.analytics import EventLog, from_polars
from serviceloop.analytics._steps import edge_times

from ._logs import copy_of


def _log() -> EventLog:
    return from_polars(
        pl.DataFrame(
            {
                "case_id": ["a", "a", "b"],
                "activity": ["Open", "Close", "Open"],
                "timestamp": ["2024-01-01 09:00", "2024-01-01 10:00", "2024-01-02 09:00"],
            }
        )
    )


def test_has_memo_tells_a_computed_memo_from_one_not_asked_for() -> None:
    log = _log()
    assert not log.has_memo("cases")
    log.memo("cases", lambda: pl.Series([1, 2]))
    assert log.has_memo("cases")
    assert not log.has_memo("other")


def test_a_copy_is_given_the_memos_asked_for_that_the_log_holds() -> None:
    log = _log()
    held = pl.Series([1, 2])
    log.memo("cases", lambda: held)
    log.memo("names", lambda: pl.Series(["x"]))
    copy = copy_of(log)
    log.give_memos(copy, ["cases", "absent"])
    assert copy.has_memo("cases") and copy.memo("cases", lambda: None) is held
    assert not copy.has_memo("names")  # not asked for
    assert not copy.has_memo("absent")  # asked for, but the log holds none


def test_a_memo_the_copy_holds_already_is_kept() -> None:
    log, mine = _log(), pl.Series([9])
    log.memo("cases", lambda: pl.Series([1, 2]))
    copy = copy_of(log)
    copy.memo("cases", lambda: mine)
    log.give_memos(copy, ["cases"])
    assert copy.memo("cases", lambda: None) is mine


def test_edge_times_without_cases_take_the_table_with_cases_when_it_is_held() -> None:
    log = _log()
    assert "cases" not in edge_times(log, cases=False).columns  # computed narrower
    log = _log()
    full = edge_times(log)
    assert log.has_memo(("edges", False))
    assert edge_times(log, cases=False) is full


def test_drop_memos_lets_go_of_what_keep_refuses_and_of_the_next_event_table() -> None:
    log = _log()
    big, small = pl.Series(range(1000)), pl.Series([1])
    log.memo("big", lambda: big)
    log.memo("small", lambda: small)
    log.lazy_steps()  # the next-event table, made once
    assert "_with_next" in log.__dict__
    weighed: dict[str, int] = {}

    def keep(key: str, size: int) -> bool:
        weighed[key] = size
        return size < 100

    log.drop_memos(keep)
    assert weighed == {"big": 8000, "small": 8}
    assert not log.has_memo("big") and log.memo("small", lambda: None) is small
    assert "_with_next" not in log.__dict__
    again = pl.Series([2])
    assert log.memo("big", lambda: again) is again  # asked again: computed again
    assert len(log.lazy_steps().collect()) == log.n_events


def test_a_memo_dropped_while_it_is_computed_is_still_given_to_its_caller() -> None:
    log = _log()
    made = pl.Series([7])

    def compute() -> pl.Series:
        log.drop_memos(lambda key, size: False)  # another thread, meanwhile
        return made

    assert log.memo("racing", compute) is made
