"""One column mapping for every reader; the old keyword arguments still work."""

from __future__ import annotations

import polars as pl
import pytest

from serviceloop.analytics import (
    ColumnMapping,
    InvalidParameterError,
    from_arrow,
    from_polars,
    read_csv,
    read_parquet,
)

FRAME = pl.DataFrame(
    {
        "Case": ["a", "a", "b"],
        "Step": ["x", "y", "x"],
        "When": ["2024-01-01 09:00", "2024-01-01 10:00", "2024-01-02 09:00"],
        "Who": ["ann", "bob", "ann"],
        "team": ["t1", "t1", "t2"],
    }
)
MAPPING = ColumnMapping(case="Case", activity="Step", timestamp="When", resource="Who")


def _facts(log):
    return log.n_events, log.n_cases, log.activities, log.attributes, log.has_resource


def test_every_reader_takes_the_same_mapping_object(tmp_path):
    csv, parquet = tmp_path / "log.csv", tmp_path / "log.parquet"
    FRAME.write_csv(csv)
    FRAME.write_parquet(parquet)
    want = (3, 2, ["x", "y"], ("team",), True)
    assert _facts(read_csv(csv, MAPPING)) == want
    assert _facts(read_parquet(parquet, MAPPING)) == want
    assert _facts(from_polars(FRAME, MAPPING)) == want
    assert _facts(from_arrow(FRAME.to_arrow(), MAPPING)) == want


def test_keywords_still_work_and_override_the_mapping(tmp_path):
    csv = tmp_path / "log.csv"
    FRAME.write_csv(csv)
    by_keywords = read_csv(csv, case="Case", activity="Step", timestamp="When", resource="Who")
    assert _facts(by_keywords) == _facts(read_csv(csv, MAPPING))
    no_attributes = read_csv(csv, MAPPING, attributes=[])
    assert no_attributes.attributes == ()


def test_unknown_or_bad_options_are_refused_with_the_valid_names():
    with pytest.raises(InvalidParameterError, match=r"unknown option.*'cases'.*activity"):
        from_polars(FRAME, MAPPING, cases="Case")
    with pytest.raises(InvalidParameterError, match="duplicates must be"):
        ColumnMapping(duplicates="ignore")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="not the string"):
        ColumnMapping(attributes="team")  # type: ignore[arg-type]


def test_the_mapping_is_a_value():
    assert ColumnMapping(attributes=["a", "b"]) == ColumnMapping(attributes=("a", "b"))
    assert hash(MAPPING) == hash(MAPPING.with_options())
    assert MAPPING.with_options(resource=None).mapped == ("Case", "Step", "When")
    assert ColumnMapping.xes().mapped[:3] == (
        "case:concept:name",
        "concept:name",
        "time:timestamp",
    )
