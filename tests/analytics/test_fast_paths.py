"""The Polars fast paths equal the plain group-by they replace, to the last bit.

Medians and percentiles read from one sort (``_order``) are checked against Polars' own
group-by quantiles; the whole step statistics (DFG, activity times, bottlenecks, with and
without start times) against the same functions with the fast path switched off.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from serviceloop.analytics import _steps, activity_times, bottlenecks, dfg, from_polars
from serviceloop.analytics._order import sorted_runs
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


def test_pooled_medians_fall_back_to_their_own_sort(monkeypatch):
    """Past the pooling limit, activities get a sort of their own: same answers."""
    frame = _log(3, start=True)
    want = activity_times(from_polars(frame))
    monkeypatch.setattr(_steps, "_MAX_POOLED", 0)
    assert_frame_equal(activity_times(from_polars(frame)), want, check_exact=True)


@SETTINGS
@given(st.lists(st.lists(st.integers(0, 4), max_size=6), max_size=30))
def test_decode_lists_equals_a_plain_lookup(lists):
    names = pl.Series(["a", "b", "c", "d", "e"])
    codes = pl.Series("v", lists, dtype=pl.List(pl.UInt8))
    got = decode_lists(codes, names)
    assert got.name == "v"
    assert got.dtype == pl.List(pl.String)
    assert got.to_list() == [[names[c] for c in lst] for lst in lists]


def test_decode_lists_keeps_null_lists():
    names = pl.Series(["a", "b"])
    codes = pl.Series("v", [[1, 0], None, []], dtype=pl.List(pl.UInt8))
    assert decode_lists(codes, names).to_list() == [["b", "a"], None, []]
