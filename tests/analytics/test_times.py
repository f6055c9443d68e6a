"""Waiting, processing and elapsed time, named, and the one bottleneck ranking."""

from __future__ import annotations

import polars as pl
import pytest

from serviceloop.analytics import (
    InvalidParameterError,
    activity_times,
    analyze,
    bottlenecks,
    from_polars,
    rank_bottlenecks,
)
from serviceloop.analytics.times import time_basis

# Two cases through intake -> design -> delivery, with start times: design waits long (the
# planted bottleneck), delivery works long.
WITH_START = pl.DataFrame(
    {
        "case_id": ["x", "x", "x", "y", "y", "y"],
        "activity": ["intake", "design", "delivery"] * 2,
        "start_timestamp": [0, 1000, 1100, 0, 2000, 2100],
        "timestamp": [10, 1050, 1400, 20, 2040, 2500],
    }
)


@pytest.fixture
def timed(engine):
    return engine(from_polars(WITH_START))


def test_with_start_times_waiting_and_processing_are_named_apart(timed):
    b = bottlenecks(timed)
    assert set(b["time"]) == {"waiting", "processing"}
    rows = {(k, s, t, time): total for k, s, t, time, total in b.select(
        "kind", "source", "target", "time", "total_seconds").rows()}  # fmt: skip
    assert rows[("activity", None, "design", "waiting")] == 990 + 1980
    assert rows[("activity", None, "design", "processing")] == 50 + 40
    assert rows[("activity", None, "delivery", "processing")] == 300 + 400
    assert rows[("edge", "intake", "design", "waiting")] == 990 + 1980
    assert b.row(0, named=True)["target"] == "design"
    # Each moment of a case counted once: waiting plus processing is all the time measured.
    assert b.filter(kind="activity")["share"].sum() == pytest.approx(1.0)


def test_without_start_times_the_gap_is_charged_to_the_completing_activity(engine):
    log = engine(from_polars(WITH_START.drop("start_timestamp")))
    b = bottlenecks(log)
    assert set(b["time"]) == {"elapsed"}
    assert set(activity_times(log)["wait_time"]) == {"elapsed"}
    design = b.filter(kind="activity", target="design").row(0, named=True)
    assert design["total_seconds"] == (1050 - 10) + (2040 - 20)
    assert "charged to the activity that completes" in time_basis(log)
    assert "measured apart" in time_basis(engine(from_polars(WITH_START)))


def test_activity_times_match_the_ranking(timed):
    t = {r["activity"]: r for r in activity_times(timed).iter_rows(named=True)}
    assert t["design"]["wait_time"] == "waiting"
    assert t["design"]["wait_total_seconds"] == 990 + 1980
    assert t["delivery"]["processing_total_seconds"] == 700


def test_analyze_reuses_the_same_ranking(timed):
    result = analyze(timed)
    assert result.bottlenecks.equals(bottlenecks(timed))


def test_rank_bottlenecks_ranks_any_time_rows_and_checks_them():
    rows = pl.DataFrame(
        {
            "kind": ["edge", "activity", "activity"],
            "source": ["a", None, None],
            "target": ["b", "b", "c"],
            "time": ["waiting", "waiting", "processing"],
            "count": [2, 2, 1],
            "mean_seconds": [5.0, 5.0, 30.0],
            "median_seconds": [5.0, 5.0, 30.0],
            "p90_seconds": [5.0, 5.0, 30.0],
            "total_seconds": [10.0, 10.0, 30.0],
        }
    )
    ranked = rank_bottlenecks(rows)
    assert ranked.select("kind", "target", "share").rows() == [
        ("activity", "c", 0.75),
        ("activity", "b", 0.25),
        ("edge", "b", 0.25),
    ]
    assert rank_bottlenecks(rows, top=1).height == 1
    with pytest.raises(InvalidParameterError, match="missing: time"):
        rank_bottlenecks(rows.drop("time"))
    with pytest.raises(InvalidParameterError, match="not sitting"):
        rank_bottlenecks(rows.with_columns(time=pl.lit("sitting")))


def test_lifecycle_rows_give_waiting_and_processing(engine):
    frame = pl.DataFrame(
        {
            "case_id": ["x"] * 4,
            "activity": ["a", "a", "b", "b"],
            "lifecycle": ["start", "complete", "start", "complete"],
            "timestamp": [0, 10, 100, 130],
        }
    )
    log = engine(from_polars(frame, lifecycle="lifecycle"))
    b = bottlenecks(log).filter(kind="activity", target="b")
    assert dict(b.select("time", "total_seconds").rows()) == {"waiting": 90.0, "processing": 30.0}
