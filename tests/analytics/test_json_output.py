"""JSON written from columns says exactly what ``to_dict`` says, on real and awkward data."""

from __future__ import annotations

import datetime as dt
import io
import json
import math

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


_TEXT = st.text(alphabet=st.sampled_from(["a", "Z", "中", '"', "\\", "\n", "\x01", "\u2028", " "]))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(st.lists(_TEXT, min_size=1, max_size=4), st.integers(0, 10**6), st.floats()),
        min_size=2,
        max_size=40,
    ),
    piece_rows=st.integers(1, 12),
    pipe_bytes=st.integers(1, 300),
    into_file=st.booleans(),
)
def test_a_big_frame_written_in_pieces_is_polars_own_json(
    monkeypatch, tmp_path, rows, piece_rows, pipe_bytes, into_file
):
    """Frames from ``_PIECES_FROM`` rows on are rendered a piece at a time, each through a pipe
    of ``_PIPE_BYTES``, and joined: byte for byte what Polars writes in one go, in memory or
    into a file between what was written before and after."""
    from serviceloop.analytics import _json

    frame = pl.DataFrame(
        {
            "activities": [r[0] for r in rows],
            "count": [r[1] for r in rows],
            "share": [r[2] for r in rows],
        },
        schema={"activities": pl.List(pl.String), "count": pl.Int64, "share": pl.Float64},
    )
    whole = io.BytesIO()
    frame.write_json(whole)
    monkeypatch.setattr(_json, "_PIECES_FROM", 2)
    monkeypatch.setattr(_json, "_PIECE_ROWS", piece_rows)
    monkeypatch.setattr(_json, "_PIPE_BYTES", pipe_bytes)
    if into_file:
        path = tmp_path / "out.json"
        with path.open("wb") as fh:
            fh.write(b"[")
            write_json(frame, fh)
            fh.write(b"]")
        assert path.read_bytes() == b"[" + whole.getvalue() + b"]"
    else:
        pieces = io.BytesIO()
        write_json(frame, pieces)
        assert pieces.getvalue() == whole.getvalue()


def test_a_piece_that_fails_is_raised_and_leaves_nothing_running(monkeypatch):
    """A writer's error reaches the caller; the other pieces' writers are stopped (their pipes
    closed) and waited for: no thread and no descriptor is left behind."""
    import os
    import threading

    from serviceloop.analytics import _json

    frame = pl.DataFrame({"a": [[str(i)] * 50 for i in range(200)]})
    monkeypatch.setattr(_json, "_PIECES_FROM", 2)
    monkeypatch.setattr(_json, "_PIECE_ROWS", 10)
    monkeypatch.setattr(_json, "_PIPE_BYTES", 64)
    render = _json._render_into

    def failing(piece: pl.DataFrame, write_end: int) -> None:
        if piece["a"][0][0] == "30":
            os.close(write_end)
            raise RuntimeError("disk on fire")
        render(piece, write_end)

    monkeypatch.setattr(_json, "_render_into", failing)
    threads, fds = threading.active_count(), len(os.listdir("/proc/self/fd"))
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_json(frame, io.BytesIO())
    assert threading.active_count() == threads
    assert len(os.listdir("/proc/self/fd")) == fds


def test_an_output_that_fails_stops_every_piece(monkeypatch):
    """When the output refuses a write, the writers blocked on their pipes are stopped too."""
    import os
    import threading

    from serviceloop.analytics import _json

    frame = pl.DataFrame({"a": [[str(i)] * 50 for i in range(200)]})
    monkeypatch.setattr(_json, "_PIECES_FROM", 2)
    monkeypatch.setattr(_json, "_PIECE_ROWS", 10)
    monkeypatch.setattr(_json, "_PIPE_BYTES", 64)

    class Full(io.BytesIO):
        def write(self, data):  # type: ignore[override]
            if self.tell() > 500:
                raise OSError(28, "No space left on device")
            return super().write(data)

    threads, fds = threading.active_count(), len(os.listdir("/proc/self/fd"))
    with pytest.raises(OSError, match="No space left"):
        write_json(frame, Full())
    assert threading.active_count() == threads
    assert len(os.listdir("/proc/self/fd")) == fds
