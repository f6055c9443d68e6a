"""The step statistics' two sorts made from another log's parts (:mod:`serviceloop.analytics.
_stepparts`) equal the sorts of the log itself, and so does everything computed over them, frame
for frame (types, order, nulls, floats): a subset of the cases (a filter set), the cases of a log
with some of them read again and new ones (a splice), each by slices and by a mask."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serviceloop.analytics import (
    EventLog,
    activity_frequencies,
    activity_times,
    bottlenecks,
    dfg,
    from_polars,
    process_map,
    rework,
    rework_by_attribute,
)
from serviceloop.analytics import _stepparts as stepparts
from serviceloop.analytics._schema import A2, T2, A, C
from serviceloop.analytics._stepparts import install_parts, step_parts
from serviceloop.analytics._steps import (
    PAIR_CASES,
    arrival_times,
    case_step_keys,
    edge_times,
    own_times,
)
from serviceloop.analytics.discovery import ACTIVITY_COUNTS

from ._logs import timed_frame, timed_rows

T0 = dt.datetime(2024, 3, 1, 8, tzinfo=dt.UTC)
ACTIVITIES = ("a", "b", "c", "d")
#: A case that is never touched or dropped and holds every activity, so the logs compared have
#: the same activity names, and steps of no time and of the longest time the rows can have, so
#: every step fits the packing (other names and steps outside it are refused: tested apart).
EVERY = [("keep", "a", 0, 0), ("keep", "b", 0, 0), ("keep", "c", 600, 0), ("keep", "d", 600, 0)]


def _rows(cases: int = 10, tag: str = "c") -> st.SearchStrategy[list[tuple[str, str, int, int]]]:
    """(case, activity, minutes after T0, minutes the step took): equal times, repeats, one-event
    cases."""
    return timed_rows(sizes=(0, 40), cases=cases, activities=ACTIVITIES, minutes=600).map(
        lambda rows: [
            (f"{tag}{case}", activity, minute, took) for case, activity, minute, took in rows
        ]
    )


def _log(rows: list[tuple[str, str, int, int]], starts: bool) -> EventLog:
    team = [f"t{len(r[0]) % 2}" for r in rows]
    return from_polars(timed_frame(rows, T0, starts=starts, team=team), duplicates="keep")


def _codes(log: EventLog, source: EventLog, untouched: set[str]) -> pl.Series:
    """For each case code of ``log``: the code in ``source`` of the case, if it is untouched."""
    in_source = {name: code for code, name in enumerate(source.case_names.to_list())}
    return pl.Series(
        [
            in_source[name] if name in untouched else None
            for name in (log.case_names[code] for code in range(log.n_cases))
        ],
        dtype=pl.Int64,
    )


def _analyses(log: EventLog) -> list[pl.DataFrame]:
    """What the pages read over the two sorts."""
    # The step tables come in the group-by's order, which the engine does not fix: sorted here.
    return [
        edge_times(log).sort(A, A2),
        arrival_times(log).sort(A2),
        own_times(log).sort(A),
        dfg(log),
        activity_times(log),
        bottlenecks(log),
        rework(log),
        rework_by_attribute(log, "team"),
        activity_frequencies(log),
        process_map(log, activities=0.8, paths=0.7).edges,
        process_map(log, activities=0.8, paths=0.7).nodes,
    ]


def _assert_same(made: EventLog, fresh: EventLog) -> None:
    got, want = made.memo(("runs", T2), _absent), fresh.memo(("runs", T2), _absent)
    assert _entries(got) == _entries(want)
    assert got.counts() == want.counts()
    assert case_step_keys(made).equals(case_step_keys(fresh), check_dtypes=True)
    for got, expected in zip(_analyses(made), _analyses(fresh), strict=True):
        assert got.equals(expected), (got.to_dicts(), expected.to_dicts())
        assert got.schema == expected.schema


def _absent() -> stepparts.SortedRuns:
    raise AssertionError("the sorts are not memoised")


def _entries(runs: stepparts.SortedRuns) -> list[tuple[int, int]]:
    """Each sorted entry as (key, microseconds), whatever the packing."""
    mask = (1 << runs.bits) - 1
    return [(int(v) >> runs.bits, (int(v) & mask) + runs.offset) for v in runs.packed.to_list()]


def _check(whole: list, rows: list, untouched: set[str], starts: bool, sliced: bool) -> None:
    source, log, fresh = _log(whole, starts), _log(rows, starts), _log(rows, starts)
    parts = step_parts(source)
    assert parts is not None
    edge_times(fresh)  # the fresh log sorts its own steps
    original = stepparts.MAX_STRETCHES
    stepparts.MAX_STRETCHES = original if sliced else 0
    try:
        installed = install_parts(log, parts, _codes(log, source, untouched))
    finally:
        stepparts.MAX_STRETCHES = original
    assert installed
    # By slices the counts per pair and per activity are patched too; by a mask (and for a log
    # of fewer activity names), counted.
    patched = sliced and log.activities == source.activities
    assert log.has_memo(PAIR_CASES) is patched and log.has_memo(ACTIVITY_COUNTS) is patched
    _assert_same(log, fresh)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=_rows(),
    keep=st.sets(st.integers(0, 10)),
    every=st.booleans(),
    starts=st.booleans(),
    sliced=st.booleans(),
)
def test_the_sorts_of_a_subset_of_the_cases_are_its_own(rows, keep, every, starts, sliced):
    """Without the case of every activity, the subset may lack some: its codes move."""
    whole = EVERY + rows
    kept = ({"keep"} if every else set()) | {f"c{k}" for k in keep}
    subset = [r for r in whole if r[0] in kept]
    if subset:  # no log of no events
        _check(whole, subset, kept, starts, sliced)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=_rows(),
    new_rows=_rows(cases=14, tag="c"),
    touched=st.sets(st.integers(0, 14)),
    starts=st.booleans(),
    sliced=st.booleans(),
)
def test_the_sorts_of_a_log_with_cases_read_again_are_its_own(
    rows, new_rows, touched, starts, sliced
):
    """Touched cases lose their rows and get those of ``new_rows`` (new cases among them), each
    at its place in the case order."""
    whole = EVERY + rows
    names = {f"c{k}" for k in touched}
    again = [r for r in whole if r[0] not in names] + [r for r in new_rows if r[0] in names]
    untouched = {r[0] for r in whole} - names
    _check(whole, again, untouched, starts, sliced)


def test_the_log_itself_takes_the_parts_as_they_are():
    rows = [*EVERY, ("x", "b", 5, 0), ("x", "a", 9, 0), ("y", "c", 1, 0), ("y", "c", 30, 0)]
    source, log, fresh = _log(rows, False), _log(rows, False), _log(rows, False)
    parts = step_parts(source)
    assert parts is not None
    edge_times(fresh)
    assert install_parts(log, parts, None)
    assert log.memo(("runs", T2), _absent) is parts.runs
    assert log.memo(PAIR_CASES, _absent) is parts.pairs
    _assert_same(log, fresh)


@pytest.mark.parametrize(
    ("rows", "why"),
    [
        ([("x", "e", 5, 0), ("x", "a", 9, 0)], "an activity the parts' log does not have"),
        ([("x", "a", 0, 0), ("x", "b", 10**6, 0)], "a step longer than the packing holds"),
    ],
)
def test_parts_that_do_not_fit_are_not_used(rows, why):
    source = _log([*EVERY, ("x", "a", 0, 0), ("x", "b", 3, 0)], False)
    log, fresh = _log([*EVERY, *rows], False), _log([*EVERY, *rows], False)
    parts = step_parts(source)
    assert parts is not None
    assert not install_parts(log, parts, _codes(log, source, {"keep"})), why
    assert not log.has_memo(("runs", T2)) and not log.has_memo("case_step_keys")
    _assert_same_fresh(log, fresh)


def _assert_same_fresh(log: EventLog, fresh: EventLog) -> None:
    for got, expected in zip(_analyses(log), _analyses(fresh), strict=True):
        assert got.equals(expected)


def test_codes_out_of_order_or_of_another_log_are_refused():
    rows = [*EVERY, ("x", "a", 0, 0), ("x", "b", 3, 0), ("y", "c", 1, 0), ("y", "a", 2, 0)]
    source, log = _log(rows, False), _log(rows, False)
    parts = step_parts(source)
    assert parts is not None
    n = log.n_cases
    backwards = pl.Series(list(range(n))[::-1], dtype=pl.Int64)
    beyond = pl.Series([*range(n - 1), n + 5], dtype=pl.Int64)
    short = pl.Series(range(n - 1), dtype=pl.Int64)
    for codes in (backwards, beyond, short):
        assert not install_parts(log, parts, codes)
    assert not install_parts(_log(rows[:-2], False), parts, None)  # fewer cases than the parts
    assert not log.has_memo(("runs", T2))


def test_sorts_memoised_already_are_kept():
    rows = [*EVERY, ("x", "a", 0, 0), ("x", "b", 3, 0)]
    source, log = _log(rows, False), _log(rows, False)
    parts = step_parts(source)
    assert parts is not None
    own = edge_times(log) is not None and log.memo(("runs", T2), _absent)
    assert not install_parts(log, parts, None)
    assert log.memo(("runs", T2), _absent) is own
    assert log.coded()[C].len() == len(rows)


@pytest.mark.parametrize("sliced", [False, True])
def test_a_subset_without_some_activities_takes_the_entries_under_its_codes(sliced):
    rows = [*EVERY, ("x", "a", 0, 0), ("x", "c", 7, 0), ("x", "a", 9, 0), ("y", "b", 1, 0)]
    kept = [r for r in rows if r[0] in ("x", "y")]  # no "d": the codes of the others move
    _check(rows, kept, {"x", "y"}, False, sliced)
    assert _log(kept, False).activities == ["a", "b", "c"]


@pytest.mark.parametrize("sliced", [False, True])
def test_each_sort_is_made_only_when_asked_for(sliced):
    """The bottlenecks read the runs alone, the rework the keys alone: a log takes the one
    asked for, and the other later, each equal to its own."""
    rows = [*EVERY, ("x", "a", 0, 0), ("x", "c", 7, 0), ("y", "b", 1, 0), ("y", "b", 9, 0)]
    again = [r for r in rows if r[0] != "y"] + [("y", "c", 2, 0)]
    source, log, fresh = _log(rows, False), _log(again, False), _log(again, False)
    parts = step_parts(source)
    assert parts is not None
    codes = _codes(log, source, {"keep", "x"})
    original = stepparts.MAX_STRETCHES
    stepparts.MAX_STRETCHES = original if sliced else 0
    try:
        assert install_parts(log, parts, codes, ("runs",))
        assert log.has_memo(("runs", T2)) and not log.has_memo("case_step_keys")
        assert not log.has_memo(PAIR_CASES)
        assert install_parts(log, parts, codes, ("keys",))
        assert log.has_memo("case_step_keys") and log.has_memo(PAIR_CASES) is sliced
        assert not install_parts(log, parts, codes)  # both there: nothing to give
    finally:
        stepparts.MAX_STRETCHES = original
    edge_times(fresh)
    _assert_same(log, fresh)
