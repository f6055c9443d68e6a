"""The Polars fast paths equal the plain group-by they replace, to the last bit.

Medians and percentiles read from one sort (``_order``) are checked against Polars' own
group-by quantiles; the whole step statistics (DFG, activity times, bottlenecks, with and
without start times) against the same functions with the fast path switched off.
"""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from serviceloop.analytics import _steps, activity_times, bottlenecks, dfg, from_polars
from serviceloop.analytics._order import sorted_runs, sorted_runs_of
from serviceloop.analytics.discovery import decode_lists

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(-(10**13), 10**13)), max_size=60),
    st.lists(st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True), max_size=4),
)
def test_sorted_runs_quantiles_equal_polars_group_by(pairs, pools):
    keys = pl.Series([k for k, _ in pairs], dtype=pl.UInt32)
    values = pl.Series([v for _, v in pairs], dtype=pl.Int64)
    runs = sorted_runs(keys, values, 7)
    assert runs is not None
    groups = [[k] for k in range(7)] + pools
    median, p90 = runs.quantiles(groups, (0.5, 0.9))
    seconds = pl.DataFrame({"k": keys, "d": values.cast(pl.Float64) / 1_000_000})
    for i, group in enumerate(groups):
        ref = seconds.filter(pl.col("k").is_in(group)).select(
            pl.col("d").median(), pl.col("d").quantile(0.9, interpolation="linear").alias("q")
        )
        assert (median[i], p90[i]) == ref.row(0), group


@SETTINGS
@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.one_of(st.none(), st.integers(-(10**13), 10**13))),
        max_size=60,
    )
)
def test_sorted_runs_of_a_frame_equal_sorted_runs_of_its_columns(pairs):
    """Packed in one pass over a frame's rows, nulls left out: the same runs."""
    frame = pl.DataFrame(
        {"k": [k for k, _ in pairs], "v": [v for _, v in pairs]},
        schema={"k": pl.UInt32, "v": pl.Int64},
    )
    got = sorted_runs_of(frame.lazy(), pl.col("k"), pl.col("v"), 7)
    kept = frame.filter(pl.col("v").is_not_null())
    want = sorted_runs(kept["k"], kept["v"], 7)
    assert got is not None and want is not None
    assert got.packed.to_list() == want.packed.to_list()
    assert (got.bits, got.offset, got.starts) == (want.bits, want.offset, want.starts)
    wide = pl.DataFrame(
        {"k": [0, 1], "v": [-(2**62), 2**62]}, schema={"k": pl.UInt32, "v": pl.Int64}
    )
    assert sorted_runs_of(wide.lazy(), pl.col("k"), pl.col("v"), 4) is None


def test_sorted_runs_refuse_what_does_not_fit_in_64_bits():
    keys = pl.Series([0, 1], dtype=pl.UInt32)
    wide = pl.Series([-(2**62), 2**62], dtype=pl.Int64)  # a 63-bit spread and a key bit
    assert sorted_runs(keys, wide, 4) is None
    assert sorted_runs(keys, pl.Series([0, 2**40]), 4) is not None


def _log(seed: int, *, start: bool) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n = 3000
    cases = rng.integers(0, 300, n)
    ts = rng.integers(0, 10**6, n) * 60  # plenty of ties and repeated durations
    frame = pl.DataFrame(
        {
            "case_id": cases,
            "activity": rng.choice(list("abcdefg"), n),
            "timestamp": ts,
        }
    )
    if start:
        frame = frame.with_columns(
            start_timestamp=pl.col("timestamp") - pl.Series(rng.integers(0, 5000, n) * 60)
        )
    return frame


@pytest.mark.parametrize("start", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_step_statistics_equal_the_group_by_path(monkeypatch, seed, start):
    frame = _log(seed, start=start)
    fast = from_polars(frame)
    got = (dfg(fast), activity_times(fast), bottlenecks(fast))
    monkeypatch.setattr(_steps, "_runs", lambda log, later: None)
    slow = from_polars(frame)
    want = (dfg(slow), activity_times(slow), bottlenecks(slow))
    for g, w in zip(got, want, strict=True):
        assert_frame_equal(g, w, check_exact=True)


@pytest.mark.parametrize("start", [False, True])
def test_bottlenecks_alone_spare_the_cases_sort_and_equal_them_after_the_dfg(start):
    """The bottlenecks do not show cases per pair: alone they skip the sort those are counted
    from, and rank the same as over a log whose DFG (with cases) was computed first."""
    frame = _log(4, start=start)
    alone = from_polars(frame)
    got = bottlenecks(alone)
    assert "case_step_keys" not in alone._memo
    after = from_polars(frame)
    dfg(after)
    assert_frame_equal(got, bottlenecks(after), check_exact=True)
    assert_frame_equal(dfg(alone), dfg(after), check_exact=True)


def test_pooled_medians_fall_back_to_their_own_sort(monkeypatch):
    """Past the pooling limit, activities get a sort of their own: same answers."""
    frame = _log(3, start=True)
    want = activity_times(from_polars(frame))
    monkeypatch.setattr(_steps, "_MAX_POOLED", 0)
    assert_frame_equal(activity_times(from_polars(frame)), want, check_exact=True)


def _assert_decoded_as_a_plain_lookup(lists: list[list[int]]) -> None:
    names = pl.Series(["a", "b", "c", "d", "e"])
    codes = pl.Series("v", lists, dtype=pl.List(pl.UInt8))
    want = [[names[c] for c in lst] for lst in lists]
    got = decode_lists(codes, names)
    assert got.name == "v"
    assert got.dtype == pl.List(pl.String)
    assert got.to_list() == want
    as_enum = decode_lists(codes, names, enum=True)
    assert as_enum.name == "v"
    assert as_enum.dtype == pl.List(pl.Enum(names))
    assert as_enum.to_list() == want


@SETTINGS
@given(st.lists(st.lists(st.integers(0, 4), max_size=6), max_size=30))
def test_decode_lists_equals_a_plain_lookup(lists):
    _assert_decoded_as_a_plain_lookup(lists)


@SETTINGS
@given(st.lists(st.lists(st.integers(0, 4), min_size=1, max_size=6), max_size=30))
def test_decode_lists_of_variants_regrouped_equal_a_plain_lookup(lists):
    """Lists that are never empty nor null (variants) are flattened, looked up and regrouped."""
    _assert_decoded_as_a_plain_lookup(lists)


def test_decode_lists_keeps_null_lists():
    names = pl.Series(["a", "b"])
    codes = pl.Series("v", [[1, 0], None, []], dtype=pl.List(pl.UInt8))
    assert decode_lists(codes, names).to_list() == [["b", "a"], None, []]
    assert decode_lists(codes, names, enum=True).to_list() == [["b", "a"], None, []]


@SETTINGS
@given(
    st.lists(
        st.tuples(st.integers(0, 9), st.sampled_from("abcd"), st.integers(0, 5)),
        min_size=1,
        max_size=80,
    )
)
def test_cases_per_pair_and_rework_counts_equal_a_plain_count(rows):
    """The DFG's cases per pair and rework's events per case and activity come from one sorted
    key (``case_step_keys``); a plain count over each case's trace says the same."""
    from serviceloop.analytics import rework, rework_cases
    from serviceloop.analytics.performance import cases_with_rework

    frame = pl.DataFrame(
        {
            "case_id": [c for c, _, _ in rows],
            "activity": [a for _, a, _ in rows],
            "timestamp": [t for _, _, t in rows],
        }
    )
    log = from_polars(frame, duplicates="keep")
    traces: dict[int, list[str]] = {}
    for c, a, _t in sorted(rows, key=lambda r: r[2]):  # stable: ties keep file order
        traces.setdefault(c, []).append(a)
    pair_cases: dict[tuple[str, str], int] = {}
    for trace in traces.values():
        for pair in set(itertools.pairwise(trace)):
            pair_cases[pair] = pair_cases.get(pair, 0) + 1
    got = {(s, t): n for s, t, n in dfg(log).select("source", "target", "cases").iter_rows()}
    assert got == pair_cases
    counts = [{a: trace.count(a) for a in set(trace)} for trace in traces.values()]
    want = {
        a: (
            sum(a in c for c in counts),
            sum(c.get(a, 0) > 1 for c in counts),
            sum(c.get(a, 1) - 1 for c in counts),
        )
        for a in {a for _, a, _ in rows}
    }
    per_activity = rework(log).select("activity", "cases", "cases_repeated", "repeats")
    assert {a: (n, r, x) for a, n, r, x in per_activity.iter_rows()} == want
    repeats = {
        str(c): sum(n - 1 for n in cnt.values()) for c, cnt in zip(traces, counts, strict=True)
    }
    assert dict(rework_cases(log).select("case_id", "repeats").iter_rows()) == repeats
    assert cases_with_rework(log) == sum(n > 0 for n in repeats.values())


def test_an_error_in_either_half_of_analyze_is_raised(monkeypatch):
    """``analyze`` runs the step times in a thread: an error there reaches the caller, and an
    error in the other half waits for the thread before it is raised."""
    from serviceloop.analytics import analyze, discovery, performance

    log = from_polars(_log(4, start=False))

    def broken(_log):
        raise RuntimeError("boom")

    with monkeypatch.context() as m:
        m.setattr(discovery, "dfg", broken)
        with pytest.raises(RuntimeError, match="boom"):
            analyze(log)
    with monkeypatch.context() as m:
        m.setattr(performance, "rework", broken)
        with pytest.raises(RuntimeError, match="boom"):
            analyze(log)
    assert analyze(log).dfg.equals(dfg(from_polars(_log(4, start=False))))


@SETTINGS
@given(
    st.lists(
        st.tuples(st.integers(0, 12), st.sampled_from("abc"), st.integers(0, 3)),
        min_size=1,
        max_size=60,
    )
)
def test_variants_in_order_equal_a_plain_count(rows):
    """Variants most frequent first, ties to the one whose first case appears first in the log:
    as a plain count over the traces says (the Polars path sorts by count alone, stably)."""
    from serviceloop.analytics import variants

    frame = pl.DataFrame(
        {
            "case_id": [c for c, _, _ in rows],
            "activity": [a for _, a, _ in rows],
            "timestamp": [t for _, _, t in rows],
        }
    )
    traces: dict[int, list[str]] = {}
    for c, _a, _t in rows:  # cases in order of first appearance
        traces.setdefault(c, [])
    for c, a, _t in sorted(rows, key=lambda r: r[2]):
        traces[c].append(a)
    first_seen: dict[tuple[str, ...], int] = {}
    counts: dict[tuple[str, ...], int] = {}
    for i, trace in enumerate(traces.values()):
        first_seen.setdefault(tuple(trace), i)
        counts[tuple(trace)] = counts.get(tuple(trace), 0) + 1
    want = sorted(counts, key=lambda v: (-counts[v], first_seen[v]))
    got = variants(from_polars(frame, duplicates="keep"))
    assert [tuple(v) for v in got["activities"]] == want
    assert got["count"].to_list() == [counts[v] for v in want]


@SETTINGS
@given(
    st.lists(
        st.tuples(st.integers(0, 9), st.sampled_from("abc"), st.integers(0, 5)),
        min_size=1,
        max_size=80,
    ),
    st.booleans(),
)
def test_case_ends_and_self_loops_equal_a_plain_count(rows, filtered):
    """Case durations and rework per case read each case's first and last events and its
    self-loops off the sorted events (no group-by): a plain walk over each trace says the same,
    on a whole log and on a filtered one (some cases gone)."""
    from serviceloop.analytics import case_durations, filter_attribute, rework_cases

    frame = pl.DataFrame(
        {
            "case_id": [c for c, _, _ in rows],
            "activity": [a for _, a, _ in rows],
            "timestamp": [t for _, _, t in rows],
        }
    )
    log = from_polars(frame, duplicates="keep")
    traces: dict[int, list[tuple[int, str]]] = {}
    for c, _a, _t in rows:  # cases in order of first appearance
        traces.setdefault(c, [])
    for c, a, t in sorted(rows, key=lambda r: r[2]):  # stable: ties keep file order
        traces[c].append((t, a))
    if filtered:
        log = filter_attribute(log, "activity", ["a"], keep=False)
        traces = {c: tr for c, tr in traces.items() if all(a != "a" for _, a in tr)}
    durations = case_durations(log)
    assert durations.select("case_id", "duration_seconds", "events").rows() == [
        (str(c), float(tr[-1][0] - tr[0][0]), len(tr)) for c, tr in traces.items()
    ]
    assert durations["start"].dt.epoch("s").to_list() == [tr[0][0] for tr in traces.values()]
    assert durations["end"].dt.epoch("s").to_list() == [tr[-1][0] for tr in traces.values()]
    loops = [sum(x[1] == y[1] for x, y in itertools.pairwise(tr)) for tr in traces.values()]
    per_case = rework_cases(log).select("case_id", "events", "self_loops").rows()
    assert per_case == [
        (str(c), len(tr), n) for (c, tr), n in zip(traces.items(), loops, strict=True)
    ]
