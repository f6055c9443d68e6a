"""JSON written from columns says exactly what ``to_dict`` says, on real and awkward data."""

from __future__ import annotations

import datetime as dt
import io
import json
import math

import polars as pl
import pytest

from serviceloop.analytics import analyze, from_polars
from serviceloop.analytics._json import to_python, write_json


def _written(doc) -> object:
    buf = io.BytesIO()
    write_json(doc, buf)
    return json.loads(buf.getvalue().decode("utf-8"))


def test_written_json_equals_to_dict_on_the_helpdesk_log(helpdesk):
    result = analyze(helpdesk, rework_attributes=("seriousness", "service_type"))
    buf = io.BytesIO()
    result.write_json(buf, extra={"conformance": {"summary": {"cases": 3}}})
    got = json.loads(buf.getvalue())
    want = result.to_dict()
    assert list(got) == [*want, "conformance"]
    assert got == {**want, "conformance": {"summary": {"cases": 3}}}
    assert len(got["variants"]) == result.variants.height


def test_top_variants_limits_both_paths_alike(helpdesk):
    result = analyze(helpdesk)
    buf = io.BytesIO()
    result.write_json(buf, top_variants=3)
    assert json.loads(buf.getvalue()) == result.to_dict(top_variants=3)
    assert len(result.to_dict(top_variants=3)["variants"]) == 3


def test_awkward_values_are_written_as_python_would():
    frame = pl.DataFrame(
        {
            "name": ['quote " and \\ back', "</script><b>", "line\u2028sep", "中文", "\x01"],
            "x": [math.nan, math.inf, -0.0, 1e-7, 1 / 3],
            "big": [2**53 + 1, None, 0, -1, 7],
            "names": [["a"], [], ["b", "c"], None, ["中"]],
            "utc": [
                dt.datetime(2024, 1, 1, 1, 2, 3, 120000, tzinfo=dt.UTC),
                dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
                None,
                dt.datetime(1999, 12, 31, 23, 59, 59, 1, tzinfo=dt.UTC),
                dt.datetime(2024, 6, 1, 12, tzinfo=dt.UTC),
            ],
            "day": [dt.date(2024, 1, 1), None, dt.date(1970, 1, 1), dt.date(2024, 2, 29), None],
            "flag": [True, False, None, True, False],
        }
    ).with_columns(
        local=pl.col("utc").dt.convert_time_zone("Asia/Shanghai"),
        naive=pl.col("utc").dt.replace_time_zone(None),
    )
    doc = {"rows": frame, "empty": frame.head(0), "nested": {"n": 1, "f": [frame.head(1)]}}
    assert _written(doc) == to_python(doc)


def test_a_non_finite_scalar_is_null_not_nan():
    assert _written({"mean": math.nan, "d": dt.date(2024, 1, 2)}) == {
        "mean": None,
        "d": "2024-01-02",
    }


@pytest.mark.parametrize("n_cases", [1, 3000])
def test_every_variant_is_written(n_cases):
    frame = pl.DataFrame(
        {
            "case_id": [f"c{i}" for i in range(n_cases) for _ in range(3)],
            "activity": [f"a{(i * j) % 97}" for i in range(n_cases) for j in range(3)],
            "timestamp": [j for _ in range(n_cases) for j in range(3)],
        }
    )
    result = analyze(from_polars(frame))
    buf = io.BytesIO()
    result.write_json(buf)
    variants = json.loads(buf.getvalue())["variants"]
    assert sum(v["count"] for v in variants) == n_cases
    assert variants == result.to_dict()["variants"]


@pytest.mark.parametrize("rows", [2, 3, 5, 6])
def test_a_big_frame_written_in_two_halves_reads_back_the_same(monkeypatch, rows):
    """Frames from ``_HALVES_FROM`` rows on are rendered as two halves at once and joined."""
    from serviceloop.analytics import _json

    frame = pl.DataFrame(
        {
            "activities": [[f"a{i}", "中"] for i in range(rows)],
            "count": list(range(rows)),
            "share": [i / 7 for i in range(rows)],
        }
    )
    whole = io.BytesIO()
    write_json({"variants": frame}, whole)
    monkeypatch.setattr(_json, "_HALVES_FROM", 2)
    halves = io.BytesIO()
    write_json({"variants": frame}, halves)
    assert halves.getvalue() == whole.getvalue()
    assert json.loads(halves.getvalue()) == to_python({"variants": frame})


@pytest.mark.parametrize("kernel_copy", [True, False], ids=["copy_file_range", "read-write"])
@pytest.mark.parametrize("rows", [2, 5])
def test_a_big_frame_into_a_file_is_copied_in_by_halves(monkeypatch, tmp_path, kernel_copy, rows):
    """Into a regular file the first half is written straight in and the second to a file of
    its own, copied in: the bytes are the same as in memory, around what was written before
    and after, and the scratch file is gone."""
    import os

    from serviceloop.analytics import _json

    frame = pl.DataFrame(
        {
            "activities": [[f"a{i}", "中", 'q"b'] for i in range(rows)],
            "count": list(range(rows)),
            "share": [i / 7 for i in range(rows)],
        }
    )
    doc = {"before": 1, "variants": frame, "after": [frame.head(1)]}
    whole = io.BytesIO()
    write_json(doc, whole)
    monkeypatch.setattr(_json, "_HALVES_FROM", 2)
    if not kernel_copy:

        def refused(*args, **kwargs):
            raise OSError(18, "Invalid cross-device link")

        monkeypatch.setattr(os, "copy_file_range", refused, raising=False)
    path = tmp_path / "out.json"
    with path.open("wb") as fh:
        fh.write(b"[")
        write_json(doc, fh)
        fh.write(b"]")
    assert path.read_bytes() == b"[" + whole.getvalue() + b"]"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]
