"""The overview's rework share counts the cases the library's per-case rework marks, from each
case's activities as bits or block by block of whole cases, on the log as read and on a spliced
(many-chunk) log."""

from __future__ import annotations

import polars as pl
import pytest

from serviceloop import analytics
from serviceloop.analytics._schema import C
from serviceloop.insights.pages import cases_with_repeats, repeats_by_blocks, repeats_by_masks


def _expected(log: analytics.EventLog) -> int:
    return int((analytics.rework_cases(log)["repeats"] > 0).sum())


@pytest.mark.parametrize("block", [1, 2, 7, 1000, 1 << 21])
def test_cases_with_repeats_is_the_librarys_count(helpdesk: analytics.EventLog, block: int) -> None:
    expected = _expected(helpdesk)
    assert 0 < expected < helpdesk.n_cases  # the real log has both kinds of case
    assert cases_with_repeats(helpdesk, block=block) == expected
    assert repeats_by_blocks(helpdesk, block=block) == expected
    assert repeats_by_masks(helpdesk, block=block) == expected


def test_cases_with_repeats_on_a_log_in_pieces(helpdesk: analytics.EventLog) -> None:
    coded = helpdesk.coded()
    pieces = [coded.slice(start, 997) for start in range(0, coded.height, 997)]
    chunked = helpdesk._derive(pl.concat(pieces, rechunk=False))
    assert max(chunked.coded().n_chunks("all")) > 1
    # Without the cases of even code: another count, still the library's.
    narrowed = helpdesk._derive(coded.filter(pl.col(C) % 2 == 1))
    for log in (chunked, narrowed):
        assert cases_with_repeats(log, block=500) == _expected(log)
        assert (
            repeats_by_blocks(log, block=500) == repeats_by_masks(log, block=500) == _expected(log)
        )
    assert _expected(narrowed) != _expected(helpdesk)


def test_a_log_of_one_case_repeating_an_activity() -> None:
    log = analytics.from_polars(
        pl.DataFrame(
            {
                "case_id": ["a", "a", "a", "b", "b"],
                "activity": ["x", "y", "x", "x", "y"],
                "timestamp": [0, 60, 120, 0, 30],
            }
        )
    )
    assert [cases_with_repeats(log, block=b) for b in (1, 2, 3, 100)] == [1, 1, 1, 1]
    assert [repeats_by_blocks(log, block=b) for b in (1, 2, 3, 100)] == [1, 1, 1, 1]
    assert [repeats_by_masks(log, block=b) for b in (1, 2, 3, 100)] == [1, 1, 1, 1]


@pytest.mark.parametrize("width", [63, 64, 65, 90])
def test_wide_and_narrow_logs_count_alike(width: int) -> None:
    """Each (case, activity) is packed into one integer by the log's number of activities:
    whatever that number, the count is the library's."""
    import random

    rng = random.Random(width)
    rows = [
        (f"c{case}", f"a{rng.randrange(width)}", step * 60)
        for case in range(300)
        for step in range(rng.randrange(1, 12))
    ]
    rows += [("all", f"a{k}", k) for k in range(width)]  # every activity used
    log = analytics.from_polars(
        pl.DataFrame(rows, schema=["case_id", "activity", "timestamp"], orient="row")
    )
    assert len(log.activity_names) == width
    expected = _expected(log)
    assert 0 < expected < log.n_cases
    assert [cases_with_repeats(log, block=b) for b in (5, 1 << 21)] == [expected, expected]
    assert [repeats_by_blocks(log, block=b) for b in (5, 1 << 21)] == [expected, expected]
    if width <= 64:  # one bit per activity
        assert [repeats_by_masks(log, block=b) for b in (5, 1 << 21)] == [expected, expected]
