"""Our DFG, start/end activities, variants and case durations equal pm4py's, on every engine."""

from __future__ import annotations

import math

import polars as pl
import pytest

from serviceloop.analytics import (
    case_durations,
    dfg,
    end_activities,
    start_activities,
    variants,
)

from ._pm4py_ref import pm4py_reference
from .conftest import HELPDESK, TAX2017


def _raw(name: str) -> tuple[pl.DataFrame, dict[str, str]]:
    if name == "helpdesk":
        frame = pl.read_csv(HELPDESK).with_columns(
            pl.col("Complete Timestamp").str.to_datetime("%Y/%m/%d %H:%M:%S%.f", time_zone="UTC")
        )
        return frame, {"case": "Case ID", "activity": "Activity", "timestamp": "Complete Timestamp"}
    if name == "tax2017":
        frame = pl.read_csv(TAX2017).with_columns(
            pl.col("CompleteTimestamp").str.to_datetime("%Y-%m-%d %H:%M:%S", time_zone="UTC")
        )
        return frame, {"case": "CaseID", "activity": "ActivityID", "timestamp": "CompleteTimestamp"}
    from _gen_log import generate

    return generate(20_000, seed=3), {
        "case": "case_id",
        "activity": "activity",
        "timestamp": "timestamp",
    }


_REFS: dict[str, dict] = {}


def reference(name: str) -> dict:
    if name not in _REFS:
        frame, cols = _raw(name)
        _REFS[name] = pm4py_reference(frame, **cols)
    return _REFS[name]


@pytest.mark.parametrize("name", ["helpdesk", "tax2017", "generated"])
def test_discovery_and_durations_equal_pm4py(name, request, engine):
    log = engine(request.getfixturevalue(name))
    ref = reference(name)

    edges = dfg(log)
    assert {(r["source"], r["target"]): r["count"] for r in edges.iter_rows(named=True)} == ref[
        "dfg"
    ]
    for row in edges.iter_rows(named=True):
        theirs = ref["perf"][(row["source"], row["target"])]
        assert math.isclose(row["mean_seconds"], theirs["mean"], rel_tol=1e-9, abs_tol=1e-6)
        assert math.isclose(row["median_seconds"], theirs["median"], rel_tol=1e-9, abs_tol=1e-6)
        assert math.isclose(row["total_seconds"], theirs["sum"], rel_tol=1e-9, abs_tol=1e-6)

    assert dict(start_activities(log).iter_rows()) == ref["start"]
    assert dict(end_activities(log).iter_rows()) == ref["end"]

    ours = {tuple(r["activities"]): r["count"] for r in variants(log).iter_rows(named=True)}
    assert ours == ref["variants"]

    durations = sorted(case_durations(log)["duration_seconds"].to_list())
    assert durations == pytest.approx(ref["durations"], abs=1e-6)


def test_variants_are_sorted_by_count_then_first_appearance(helpdesk, engine):
    v = variants(engine(helpdesk))
    counts = v["count"].to_list()
    assert counts == sorted(counts, reverse=True)
    assert v["share"].sum() == pytest.approx(1.0)
    assert v["count"].sum() == helpdesk.n_cases
