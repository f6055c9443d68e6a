"""The rework page's analyses on Polars (self-loops and first events from the coded rows, the
per-case repeats and first events side by side instead of joined) equal the same analyses
through the next-event table and a join, and a plain Python count of the rows."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import narwhals as nw
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from serviceloop.analytics import from_polars, performance, rework, rework_by_attribute
from serviceloop.analytics._engine import FIRST
from serviceloop.analytics._schema import A2, A, C

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: (case, activity, time, team) rows: a few cases, activities repeated, teams per case.
ROWS = st.lists(
    st.tuples(
        st.integers(0, 5),
        st.sampled_from(["a", "b", "c", "d"]),
        st.integers(0, 40),
        st.sampled_from(["x", "y", None]),
    ),
    min_size=1,
    max_size=40,
)


def _log(rows: list[tuple[int, str, int, str | None]]):  # type: ignore[no-untyped-def]
    frame = pl.DataFrame(
        {
            "case_id": [f"c{r[0]}" for r in rows],
            "activity": [r[1] for r in rows],
            "timestamp": [r[2] for r in rows],
            # The attribute at the case's first row is the one rework_by_attribute reads.
            "team": [r[3] for r in rows],
        }
    )
    return from_polars(frame, duplicates="keep")


def _through_next_events(log, by: str) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    """The self-loops as computed before: the next-event table's rows with ``A == A2``."""
    return log.engine.collect(
        log.lazy_steps()
        .filter(nw.col(A) == nw.col(A2))
        .group_by(by)
        .agg(nw.len().alias("self_loops"))
    )


@SETTINGS
@given(ROWS)
def test_self_loops_and_first_events_equal_the_next_event_tables(rows) -> None:  # type: ignore[no-untyped-def]
    log = _log(rows)
    for by in (A, C):
        fast = performance._self_loops(log, by).sort(by)
        assert_frame_equal(fast, _through_next_events(log, by).sort(by))
    first = log.engine.collect(log.lazy_steps().filter(nw.col(FIRST)).select(C, *log.attributes))
    assert_frame_equal(performance._first_events(log), first)


@SETTINGS
@given(ROWS)
def test_rework_pages_tables_equal_a_plain_count(rows) -> None:  # type: ignore[no-untyped-def]
    log = _log(rows)
    table = log.to_polars().select("case_id", "activity", "team")  # in case and time order
    by_case: dict[str, list[str]] = {}
    team: dict[str, str | None] = {}
    for case, activity, value in table.iter_rows():
        by_case.setdefault(case, []).append(activity)
        team.setdefault(case, value)
    loops: Counter[str] = Counter()
    counts: dict[str, Counter[str]] = {case: Counter(acts) for case, acts in by_case.items()}
    for acts in by_case.values():
        loops.update(a for a, b in pairwise(acts) if a == b)
    per_activity = {row["activity"]: row for row in rework(log).iter_rows(named=True)}
    for activity in {a for acts in by_case.values() for a in acts}:
        doing = [c[activity] for c in counts.values() if c[activity]]
        row = per_activity[activity]
        assert row["cases"] == len(doing)
        assert row["cases_repeated"] == sum(n > 1 for n in doing)
        assert row["repeats"] == sum(n - 1 for n in doing)
        assert row["self_loops"] == loops[activity]
    by_team = rework_by_attribute(log, "team")
    for value, cases, with_rework, _share, mean in by_team.rows():
        members = [c for c in by_case if team[c] == value]
        repeats = [len(by_case[c]) - len(counts[c]) for c in members]
        assert cases == len(members)
        assert with_rework == sum(r > 0 for r in repeats)
        assert mean == sum(repeats) / len(repeats)
    assert sorted(by_team["cases"]) == sorted(Counter(team[c] for c in by_case).values())
