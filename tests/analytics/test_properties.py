"""Property tests on random logs with many timestamp ties: our answers equal pm4py's and a
plain-Python reference, and the analyses agree with each other."""

from __future__ import annotations

from collections import Counter

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serviceloop.analytics import (
    case_durations,
    dfg,
    end_activities,
    filter_variants,
    from_polars,
    rework_cases,
    start_activities,
    variants,
)

from ._pm4py_ref import pm4py_reference

BASE = 1_700_000_000

events = st.lists(
    st.tuples(
        st.integers(0, 5),  # case
        st.sampled_from("abcd"),  # activity
        st.integers(0, 6),  # minutes: few values, so plenty of ties
    ),
    min_size=1,
    max_size=40,
)


def _frame(rows: list[tuple[int, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "case_id": [f"k{c}" for c, _, _ in rows],
            "activity": [a for _, a, _ in rows],
            "timestamp": [BASE + 60 * m for _, _, m in rows],
        }
    )


def _traces(rows: list[tuple[int, str, int]]) -> dict[str, list[tuple[int, str]]]:
    """Plain Python: cases in first-appearance order, events by time, ties in file order."""
    out: dict[str, list[tuple[int, str]]] = {}
    for c, a, m in rows:
        out.setdefault(f"k{c}", []).append((m, a))
    return {k: sorted(v, key=lambda e: e[0]) for k, v in out.items()}  # sorted() is stable


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(events)
def test_random_logs_match_a_plain_python_reference(rows):
    log = from_polars(_frame(rows), duplicates="keep")
    traces = _traces(rows)
    pairs = Counter((t[i][1], t[i + 1][1]) for t in traces.values() for i in range(len(t) - 1))
    assert {(s, t): n for s, t, n in dfg(log).select("source", "target", "count").rows()} == pairs
    assert dict(start_activities(log).rows()) == Counter(t[0][1] for t in traces.values())
    assert dict(end_activities(log).rows()) == Counter(t[-1][1] for t in traces.values())
    seqs = Counter(tuple(a for _, a in t) for t in traces.values())
    v = variants(log)
    assert {tuple(r[0]): r[1] for r in v.select("activities", "count").rows()} == seqs
    assert v["count"].to_list() == sorted(v["count"].to_list(), reverse=True)
    d = case_durations(log)
    assert d["case_id"].to_list() == list(traces)  # first-appearance order
    assert d["duration_seconds"].to_list() == [60.0 * (t[-1][0] - t[0][0]) for t in traces.values()]
    r = rework_cases(log)
    assert (r["repeats"] == r["self_loops"] + r["back_edges"]).all()
    assert (r["back_edges"] >= 0).all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events)
def test_random_logs_match_pm4py(rows):
    frame = _frame(rows).with_columns(pl.from_epoch("timestamp").dt.replace_time_zone("UTC"))
    ref = pm4py_reference(frame, case="case_id", activity="activity", timestamp="timestamp")
    log = from_polars(frame, duplicates="keep")
    got = dfg(log)
    assert {(s, t): n for s, t, n in got.select("source", "target", "count").rows()} == ref["dfg"]
    for s, t, mean, median in got.select(
        "source", "target", "mean_seconds", "median_seconds"
    ).rows():
        assert mean == pytest.approx(ref["perf"][(s, t)]["mean"])
        assert median == pytest.approx(ref["perf"][(s, t)]["median"])
    assert dict(start_activities(log).rows()) == ref["start"]
    assert dict(end_activities(log).rows()) == ref["end"]
    assert {tuple(a): n for a, n in variants(log).select("activities", "count").rows()} == ref[
        "variants"
    ]
    assert sorted(case_durations(log)["duration_seconds"].to_list()) == pytest.approx(
        ref["durations"]
    )


@SETTINGS
@given(events, st.integers(0, 4))
def test_variant_filters_partition_the_cases(rows, top):
    log = from_polars(_frame(rows), duplicates="keep")
    kept = set(case_durations(filter_variants(log, top=top))["case_id"])
    dropped = set(case_durations(filter_variants(log, top=top, keep=False))["case_id"])
    assert kept.isdisjoint(dropped)
    assert kept | dropped == set(case_durations(log)["case_id"])
    assert len({tuple(v) for v in variants(filter_variants(log, top=top))["activities"]}) == min(
        top, variants(log).height
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(
        st.one_of(
            st.text(alphabet="ab\u00e9\u53d7 ", min_size=0, max_size=3),
            st.integers(0, 700).map(lambda i: f"n{i}"),
        ),
        min_size=1,
        max_size=900,
    ),
    sample=st.integers(1, 8),
    chunks=st.integers(1, 3),
)
def test_activity_codes_from_a_sample_of_the_names_equal_those_from_all(names, sample, chunks):
    """The activity names are read from a sample of the rows first; rows whose name the sample
    missed (rare names, a few hundred distinct ones: wider codes) are coded again. Reference:
    every row's name, sorted, and each row's position among them."""
    from serviceloop.analytics._build import _code_names

    size = -(-len(names) // chunks)
    parts = [pl.Series("activity", names[i : i + size]) for i in range(0, len(names), size)]
    column = pl.concat(parts, rechunk=False)
    got_names, got_codes = _code_names(column, sample=sample)
    reference = sorted(set(names))
    assert got_names.to_list() == reference
    assert got_names.name == "activity" and got_names.dtype == pl.String
    assert got_codes.to_list() == [reference.index(name) for name in names]
    assert got_codes.dtype == pl.Series(dtype=pl.Enum(reference)).to_physical().dtype
