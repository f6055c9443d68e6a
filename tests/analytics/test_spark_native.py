"""Spark reads and codes Parquet itself; the analyses then agree with the Polars loader."""

from __future__ import annotations

import math

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from serviceloop.analytics import (
    DuplicateEventError,
    MissingValueError,
    analyze,
    case_durations,
    dfg,
    from_polars,
    handovers,
    read_parquet,
    start_activities,
    variants,
)


def _close(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
    return a == b


@pytest.fixture
def spark_engine(spark_session):
    from serviceloop.analytics._engine import SparkEngine

    return SparkEngine(spark_session)


@pytest.mark.spark
def test_native_spark_load_gives_the_polars_answers(tmp_path, generated, spark_engine):
    path = tmp_path / "log.parquet"
    generated.to_polars().write_parquet(path)
    ours = read_parquet(path, resource="resource", duplicates="keep", engine=spark_engine)
    assert ours.engine.name == "spark"
    reference = read_parquet(path, resource="resource", duplicates="keep")
    assert (ours.n_events, ours.n_cases) == (reference.n_events, reference.n_cases)
    for analysis in (dfg, variants, case_durations, start_activities, handovers):
        assert_frame_equal(analysis(ours), analysis(reference), rel_tol=1e-9)


@pytest.mark.spark
def test_native_spark_load_reports_rows(tmp_path, spark_engine):
    path = tmp_path / "bad.parquet"
    pl.DataFrame(
        {"case_id": ["a", "a", None], "activity": ["x", "y", "z"], "timestamp": [1, 2, 3]}
    ).write_parquet(path)
    with pytest.raises(MissingValueError) as err:
        read_parquet(path, engine=spark_engine)
    assert (err.value.column, err.value.row) == ("case_id", 3)
    dup = tmp_path / "dup.parquet"
    pl.DataFrame(
        {"case_id": ["a", "a", "a"], "activity": ["x", "y", "y"], "timestamp": [1, 2, 2]}
    ).write_parquet(dup)
    with pytest.raises(DuplicateEventError) as derr:
        read_parquet(dup, engine=spark_engine)
    assert (derr.value.row, derr.value.duplicate_of) == (3, 2)
    dropped = read_parquet(dup, duplicates="drop", engine=spark_engine)
    assert dropped.n_events == 2
    assert from_polars(pl.read_parquet(dup), duplicates="drop").n_events == 2


def test_whole_analysis_of_the_helpdesk_log_is_the_same_on_spark(helpdesk, engine):
    """Every analysis (times, bottlenecks, rework, throughput, resources) on the real log."""
    got = analyze(engine(helpdesk), rework_attributes=["workgroup"]).to_dict()
    want = analyze(helpdesk, rework_attributes=["workgroup"]).to_dict()
    assert _close(got, want)
