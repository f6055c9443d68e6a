"""Conformance aggregated from per-case parts equals the check of the log they make up, frame for
frame (types, order, nulls, floats) and summary: the parts of a subset of the cases (a filter
set), and the stored parts of the untouched cases with fresh parts of the touched and new ones
(a log spliced with new events)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from serviceloop.analytics import EmptyLogError, EventLog, conformance, from_polars
from serviceloop.analytics._schema import C
from serviceloop.analytics.conformance import (
    ConformanceParts,
    check_conformance,
    combine_parts,
    conformance_from_parts,
    conformance_parts,
)
from serviceloop.analytics.errors import InvalidParameterError
from tests.conformance_checks import assert_same_conformance

from ._logs import timed_frame, timed_rows, with_events
from .test_conformance import ROWS, SPEC, _log
from .test_conformance_reference import ACTIVITIES, T0, WIDE


def _combined(pieces: list[tuple[ConformanceParts, pl.Series]]) -> list[ConformanceParts]:
    """The pieces combined every way: by slices (few runs of cases), the first piece's sorted
    visits patched with those that go and come, or sorted again; and by masks."""
    by_slices = combine_parts(pieces)  # patched, unless a visit that comes does not fit
    unsorted = [(replace(pieces[0][0], runs=None), pieces[0][1]), *pieces[1:]]
    original = conformance.RUNS_LIMIT
    conformance.RUNS_LIMIT = 0
    try:
        by_masks = combine_parts(pieces)
    finally:
        conformance.RUNS_LIMIT = original
    return [by_slices, combine_parts(unsorted), by_masks]


def _codes_by_name(log: EventLog) -> dict[str, int]:
    """Each case's code in ``log`` by its name."""
    coded = log.coded().select(C).unique()
    return {log.case_names[code]: code for code in coded[C].to_list()}


def _codes_in(
    parts: ConformanceParts, source: EventLog, target: dict[str, int | None]
) -> pl.Series:
    """For each case of ``parts`` (of ``source``), its code in the target log, or null."""
    names = [source.case_names[code] for code in parts.cases["__code"].to_list()]
    return pl.Series([target.get(name) for name in names], dtype=pl.Int64)


def _rows(cases: int = 12) -> st.SearchStrategy[list[tuple[int, str, int, int]]]:
    """(case, activity, minutes after T0, minutes the step took): equal times, repeated and
    unmapped steps, cases of unmapped steps only."""
    return timed_rows(sizes=(1, 50), cases=cases, activities=ACTIVITIES, minutes=300)


def _frame(rows: list[tuple[int, str, int, int]], starts: bool) -> pl.DataFrame:
    return timed_frame([(f"c{c}", a, m, took) for c, a, m, took in rows], T0, starts=starts)


def _check_subset(frame: pl.DataFrame, keep: set[str]) -> None:
    whole = from_polars(frame, duplicates="keep")
    sub_frame = frame.filter(pl.col("case_id").is_in(sorted(keep)))
    if sub_frame.is_empty():
        return
    sub = from_polars(sub_frame, duplicates="keep")
    stored = conformance_parts(whole, SPEC, runs=True)
    want = check_conformance(sub, SPEC)
    for parts in _combined([(stored, _codes_in(stored, whole, _codes_by_name(sub)))]):
        assert_same_conformance(conformance_from_parts(sub, SPEC, parts), want)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_rows(), starts=st.booleans(), keep=st.sets(st.integers(0, 12)))
def test_the_parts_of_a_subset_of_the_cases_give_its_check(rows, starts, keep):
    _check_subset(_frame(rows, starts), {f"c{k}" for k in keep})


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=_rows(),
    new_rows=_rows(cases=16),
    starts=st.booleans(),
    touched=st.sets(st.integers(0, 16)),
)
def test_stored_parts_of_untouched_cases_and_fresh_parts_give_the_spliced_check(
    rows, new_rows, starts, touched
):
    """A log a few events on: the cases they touch (some new, some gone from the log, as a
    case that left a team's filter) are checked afresh, the others' parts taken as stored."""
    old_frame = _frame(rows, starts)
    touched_names = {f"c{k}" for k in touched}
    # The touched cases' events now: their old ones and the new ones (or none: it left).
    new = [r for r in new_rows if f"c{r[0]}" in touched_names]
    kept_old = [r for r in rows if f"c{r[0]}" not in touched_names or r[0] % 3 != 0]
    assume(kept_old + new)  # a log of no event is refused, spliced or not
    frame = _frame(kept_old + new, starts)
    old = from_polars(old_frame, duplicates="keep")
    log = from_polars(frame, duplicates="keep")
    target = _codes_by_name(log)
    stored = conformance_parts(old, SPEC, runs=True)
    untouched = {name: code for name, code in target.items() if name not in touched_names}
    fresh_codes = pl.Series(
        sorted(code for name, code in target.items() if name in touched_names), dtype=pl.Int64
    )
    fresh = conformance_parts(log, SPEC, cases=fresh_codes)
    want = check_conformance(log, SPEC)
    for parts in _combined(
        [
            (stored, _codes_in(stored, old, untouched)),
            (fresh, fresh.cases["__code"].cast(pl.Int64)),
        ]
    ):
        assert_same_conformance(conformance_from_parts(log, SPEC, parts), want)


def test_the_parts_of_the_hand_made_log_give_its_check_for_every_subset_of_three():
    frame = _log(ROWS)
    names = sorted(set(frame["case_id"]))
    for i, first in enumerate(names):
        for second in names[i:]:
            _check_subset(frame, {first, second, names[-1]})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    paths=st.lists(st.lists(st.integers(0, 69), min_size=0, max_size=40), min_size=2, max_size=8),
    keep=st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_the_parts_hold_a_process_wider_than_63_stages(paths, keep):
    rows = [
        (f"p{i}", f"Stage {stage}", T0 + dt.timedelta(minutes=7 * j))
        for i, path in enumerate(paths)
        for j, stage in enumerate(path or [0])
    ]
    frame = pl.DataFrame(rows, schema=["case_id", "activity", "timestamp"], orient="row")
    whole = from_polars(frame, duplicates="keep")
    kept = {f"p{i}" for i in range(len(paths)) if keep[i]}
    sub_frame = frame.filter(pl.col("case_id").is_in(sorted(kept)))
    if sub_frame.is_empty():
        return
    sub = from_polars(sub_frame, duplicates="keep")
    stored = conformance_parts(whole, WIDE, runs=True)
    want = check_conformance(sub, WIDE)
    for parts in _combined([(stored, _codes_in(stored, whole, _codes_by_name(sub)))]):
        assert_same_conformance(conformance_from_parts(sub, WIDE, parts), want)


def test_the_stage_times_of_visits_in_pieces_equal_those_of_them_in_one():
    """Polars' mean alone in a group-by sums floats chunk by chunk (at 100k values in pieces
    of 7 it differs in the last bits); the stage times' mean, taken beside the counts, does
    not: parts merged from pieces, or a spliced log, give the mean of the log written whole."""
    from serviceloop.analytics.conformance import _Design, _stage_times

    n = 100_000
    visits = pl.DataFrame(
        {
            "__stage": pl.Series([i * 7 % 4 for i in range(n)], dtype=pl.Int32),
            "__us": pl.Series([i * 982_451_653 % 10**11 for i in range(n)], dtype=pl.Int64),
        }
    )
    pieces = pl.concat([visits.slice(i, 7) for i in range(0, n, 7)], rechunk=False)
    over = pl.DataFrame(
        schema={C: pl.UInt32, "__stage": pl.Int32, "__at": pl.Int64, "__us": pl.Int64}
    )
    log = from_polars(_log(ROWS), duplicates="keep")
    design = _Design.of(SPEC)
    whole, _ = _stage_times(visits, over, log, design)
    in_pieces, _ = _stage_times(pieces, over, log, design)
    assert in_pieces.equals(whole)
    plain = pieces.with_columns((pl.col("__us") / 1_000_000).alias("s")).group_by("__stage")
    assert plain.agg(pl.col("s").mean()).sort("__stage")["s"].to_list() != (
        whole["mean_seconds"].to_list()
    ), "the pieces no longer change Polars' mean: this test shows nothing"


def test_parts_of_another_log_are_refused():
    log = from_polars(_log(ROWS), duplicates="keep")
    fewer = from_polars(_log([r for r in ROWS if r[0] != "6"]), duplicates="keep")
    with pytest.raises(InvalidParameterError, match="parts are of 6 cases"):
        conformance_from_parts(fewer, SPEC, conformance_parts(log, SPEC))


def test_codes_of_another_length_or_twice_one_code_are_refused():
    with pytest.raises(InvalidParameterError, match="no conformance parts"):
        combine_parts([])
    parts = conformance_parts(from_polars(_log(ROWS), duplicates="keep"), SPEC)
    with pytest.raises(InvalidParameterError, match="5 codes given for 6 cases"):
        combine_parts([(parts, pl.Series(range(5), dtype=pl.Int64))])
    with pytest.raises(InvalidParameterError, match="one code"):
        combine_parts([(parts, pl.Series([0, 1, 2, 3, 4, 4], dtype=pl.Int64))])


def test_frames_of_another_shape_are_refused():
    parts = conformance_parts(from_polars(_log(ROWS), duplicates="keep"), SPEC)
    frames = parts.frames()
    assert ConformanceParts.of_frames(frames).cases.equals(parts.cases)
    assert ConformanceParts.of_frames(frames).runs is None
    sorted_parts = conformance_parts(from_polars(_log(ROWS), duplicates="keep"), SPEC, runs=True)
    again = ConformanceParts.of_frames(sorted_parts.frames())
    runs = again.runs
    assert runs is not None and sorted_parts.runs is not None
    assert again.runs_cases is not None and sorted_parts.runs_cases is not None
    assert again.runs_cases.equals(sorted_parts.runs_cases)
    assert runs.packed.equals(sorted_parts.runs.packed)
    assert (runs.bits, runs.offset, runs.starts) == (
        sorted_parts.runs.bits,
        sorted_parts.runs.offset,
        sorted_parts.runs.starts,
    )
    damaged = dict(frames, visits=frames["visits"].drop("__us"))
    with pytest.raises(InvalidParameterError, match="visits"):
        ConformanceParts.of_frames(damaged)
    retyped = dict(frames, over=frames["over"].with_columns(pl.col("__at").cast(pl.Float64)))
    with pytest.raises(InvalidParameterError, match="over"):
        ConformanceParts.of_frames(retyped)


def test_the_parts_of_no_case_add_nothing():
    log = from_polars(_log(ROWS), duplicates="keep")
    none = conformance_parts(log, SPEC, cases=pl.Series([], dtype=pl.Int64))
    assert none.n_cases == 0 and none.visits.is_empty()
    everything = conformance_parts(log, SPEC)
    parts = combine_parts(
        [
            (everything, everything.cases["__code"].cast(pl.Int64)),
            (none, pl.Series([], dtype=pl.Int64)),
        ]
    )
    assert_same_conformance(conformance_from_parts(log, SPEC, parts), check_conformance(log, SPEC))
    with pytest.raises(EmptyLogError):
        conformance_from_parts(with_events(log, log.coded().clear()), SPEC, none)


def test_the_sorted_visits_of_a_splice_are_patched_and_give_its_check():
    """Cases touched and read again (one longer than any before, which the packing of the
    stored visits still holds, and two new ones): the stored sorted visits are patched with
    the visits that go and come, not sorted again."""
    old = from_polars(_log(ROWS), duplicates="keep")
    rows = [r for r in ROWS if r[0] not in ("3", "5")]
    rows += [("3", "Open", 0), ("3", "Work", 20), ("3", "Done", 30)]
    rows += [("5", "open", 0), ("5", "WORK ", 1), ("5", "Check", 50), ("7", "Open", 1)]
    rows += [("8", "Work", 2), ("8", "Done", 3)]
    log = from_polars(_log(rows), duplicates="keep")
    stored = conformance_parts(old, SPEC, runs=True)
    target = _codes_by_name(log)
    touched = {"3", "5", "7", "8"}
    untouched = {name: code for name, code in target.items() if name not in touched}
    fresh = conformance_parts(
        log, SPEC, cases=pl.Series(sorted(target[n] for n in touched), dtype=pl.Int64)
    )
    whole = conformance_parts(log, SPEC, runs=True)
    assert whole.runs is not None
    pieces = [
        (stored, _codes_in(stored, old, untouched)),
        (fresh, fresh.cases["__code"].cast(pl.Int64)),
    ]
    for parts in _combined(pieces)[::2]:  # by slices (patched) and by masks (masked)
        assert parts.runs is not None
        assert parts.runs.packed.equals(whole.runs.packed)
        assert parts.runs.starts == whole.runs.starts
        assert_same_conformance(
            conformance_from_parts(log, SPEC, parts), check_conformance(log, SPEC)
        )


def test_a_second_piece_keeps_only_the_cases_given_a_code():
    """Two pieces that each drop cases: their sorted visits are those of the cases kept, by
    slices (patched) and by masks."""
    log = from_polars(_log(ROWS), duplicates="keep")
    names = _codes_by_name(log)
    first_half = {"1", "2", "3"}
    sub = from_polars(_log([r for r in ROWS if r[0] in ("1", "3", "4")]), duplicates="keep")
    target = _codes_by_name(sub)
    one = conformance_parts(
        log, SPEC, runs=True, cases=pl.Series(sorted(names[n] for n in first_half))
    )
    two = conformance_parts(
        log, SPEC, runs=True, cases=pl.Series(sorted(names[n] for n in set(names) - first_half))
    )
    pieces = [
        (one, _codes_in(one, log, {n: c for n, c in target.items() if n in first_half})),
        (two, _codes_in(two, log, {n: c for n, c in target.items() if n not in first_half})),
    ]
    want = check_conformance(sub, SPEC)
    whole = conformance_parts(sub, SPEC, runs=True)
    assert whole.runs is not None
    for parts in _combined(pieces):
        if parts.runs is not None:
            assert parts.runs.packed.equals(whole.runs.packed)
        assert_same_conformance(conformance_from_parts(sub, SPEC, parts), want)
