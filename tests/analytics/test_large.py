"""Logs bigger than memory: mining part by part gives exactly the in-memory answers."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from serviceloop.analytics import (
    DuplicateEventError,
    EmptyLogError,
    EventLog,
    InvalidParameterError,
    LogFormatError,
    MissingColumnError,
    MissingValueError,
    case_durations,
    dfg,
    end_activities,
    mine_large_parquet,
    read_parquet,
    rework,
    start_activities,
    throughput,
    variants,
)

from .conftest import HELPDESK


def _assert_same_as_in_memory(path: Path, **kwargs) -> None:
    mapping = {k: kwargs[k] for k in ("case", "activity", "timestamp") if k in kwargs}
    log = read_parquet(path, attributes=[], duplicates="keep", **mapping)
    found = mine_large_parquet(path, duplicates="keep", **kwargs)
    assert (found.events, found.cases) == (log.n_events, log.n_cases)
    assert_frame_equal(found.dfg, dfg(log), rel_tol=1e-9)
    assert_frame_equal(found.start_activities, start_activities(log))
    assert_frame_equal(found.end_activities, end_activities(log))
    assert_frame_equal(found.variants, variants(log))
    assert_frame_equal(found.case_durations, case_durations(log))
    assert_frame_equal(found.rework, rework(log))
    assert_frame_equal(found.throughput_day, throughput(log, every="day"))
    assert_frame_equal(found.throughput_week, throughput(log, every="week"))


def _write(frame: pl.DataFrame, tmp_path: Path, name: str = "log.parquet") -> Path:
    path = tmp_path / name
    frame.write_parquet(path)
    return path


@pytest.mark.parametrize("order", ["by-time", "shuffled"])
def test_generated_log_in_parts_equals_the_whole(tmp_path, generated: EventLog, order):
    frame = generated.to_polars()
    if order == "shuffled":
        frame = frame.sample(fraction=1.0, shuffle=True, seed=11)
    path = _write(frame, tmp_path)
    _assert_same_as_in_memory(path, part_events=3_000, slice_events=2_500)
    found = mine_large_parquet(path, part_events=3_000, slice_events=2_500, duplicates="keep")
    assert found.parts == math.ceil(frame.height / 3_000)


def test_helpdesk_ties_and_duplicates_in_parts_equal_the_whole(tmp_path):
    frame = pl.read_csv(HELPDESK).select(
        pl.col("Case ID").alias("case"),
        pl.col("Activity").alias("act"),
        pl.col("Complete Timestamp").str.to_datetime("%Y/%m/%d %H:%M:%S%.f").alias("ts"),
    )
    path = _write(frame, tmp_path)
    _assert_same_as_in_memory(
        path, case="case", activity="act", timestamp="ts", part_events=4_000, slice_events=3_333
    )


def test_duplicates_are_reported_with_their_file_rows(tmp_path):
    frame = pl.DataFrame(
        {
            "case_id": ["a", "b", "a", "c", "a", "b"],
            "activity": ["x", "x", "y", "x", "y", "y"],
            "timestamp": [0, 5, 10, 11, 10, 20],
        }
    ).with_columns(pl.from_epoch("timestamp"))
    path = _write(frame, tmp_path)
    with pytest.raises(DuplicateEventError) as whole:
        read_parquet(path)
    with pytest.raises(DuplicateEventError) as parts:
        mine_large_parquet(path, part_events=2, slice_events=2)
    assert (parts.value.row, parts.value.duplicate_of) == (
        whole.value.row,
        whole.value.duplicate_of,
    )
    assert (parts.value.row, parts.value.duplicate_of) == (5, 3)


def test_a_missing_case_id_is_reported_with_its_file_row(tmp_path):
    frame = pl.DataFrame(
        {"case_id": ["a", "b", None, "a"], "activity": list("xyzx"), "timestamp": [1, 2, 3, 4]}
    ).with_columns(pl.from_epoch("timestamp"))
    with pytest.raises(MissingValueError) as err:
        mine_large_parquet(_write(frame, tmp_path), part_events=1, slice_events=1)
    assert err.value.row == 3


def test_bad_input_is_refused(tmp_path):
    frame = pl.DataFrame({"case_id": ["a"], "activity": ["x"], "when": [1]})
    path = _write(frame, tmp_path)
    with pytest.raises(MissingColumnError):
        mine_large_parquet(path)
    with pytest.raises(EmptyLogError):
        mine_large_parquet(_write(frame.head(0), tmp_path, "empty.parquet"), timestamp="when")
    with pytest.raises(InvalidParameterError):
        mine_large_parquet(path, timestamp="when", part_events=0)
    with pytest.raises(LogFormatError):
        mine_large_parquet(tmp_path / "nowhere.parquet")
    not_parquet = tmp_path / "log.parquet.txt"
    not_parquet.write_text("case_id,activity\n")
    with pytest.raises(LogFormatError):
        mine_large_parquet(not_parquet)


def test_scratch_parts_are_removed(tmp_path, generated: EventLog):
    path = _write(generated.to_polars(), tmp_path)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    mine_large_parquet(path, part_events=5_000, duplicates="keep", workdir=scratch)
    assert list(scratch.iterdir()) == []


def test_text_timestamps_are_read_with_one_format_for_every_part(tmp_path):
    # Only case a shows that days come first; alone, the other cases' parts would read 01/02
    # as January 2nd.
    frame = pl.DataFrame(
        {
            "case_id": ["a", "b", "c", "a", "b", "c", "d", "d"],
            "activity": ["x", "x", "x", "y", "y", "y", "x", "y"],
            "timestamp": [
                "13/01/2024 08:00",
                "01/02/2024 08:00",
                "02/02/2024 08:00",
                "14/01/2024 09:00",
                "03/02/2024 09:00",
                "04/02/2024 09:00",
                "05/02/2024 09:00",
                "06/02/2024 09:00",
            ],
        }
    )
    path = _write(frame, tmp_path)
    _assert_same_as_in_memory(path, part_events=2, slice_events=3)
    found = mine_large_parquet(path, part_events=2, slice_events=3)
    starts = dict(found.case_durations.select("case_id", pl.col("start").dt.day()).iter_rows())
    assert starts == {"a": 13, "b": 1, "c": 2, "d": 5}


def test_throughput_in_parts_follows_the_time_zone(tmp_path, generated: EventLog):
    path = _write(generated.to_polars(), tmp_path)
    log = read_parquet(path, attributes=[], duplicates="keep")
    zone = "America/New_York"
    found = mine_large_parquet(path, part_events=3_000, duplicates="keep", time_zone=zone)
    assert_frame_equal(found.throughput_day, throughput(log, every="day", time_zone=zone))
    assert_frame_equal(found.throughput_week, throughput(log, every="week", time_zone=zone))
    assert not found.throughput_day.equals(throughput(log, every="day"))  # the zone mattered


def test_an_unknown_time_zone_is_refused_before_any_work(tmp_path, generated: EventLog):
    path = _write(generated.to_polars(), tmp_path)
    with pytest.raises(InvalidParameterError, match="unknown time zone 'Nowhere/Town'"):
        mine_large_parquet(path, time_zone="Nowhere/Town", workdir=tmp_path / "missing")
