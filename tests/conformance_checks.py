"""One comparison of two conformance results, for the tests that hold a faster or stored path to
the plain check: every frame equal with its types, row order and nulls, and the summary equal."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from serviceloop.analytics.conformance import ConformanceResult

FRAMES = tuple(f.name for f in fields(ConformanceResult) if f.name not in ("process", "summary"))


def assert_same_conformance(got: ConformanceResult, want: Any) -> None:
    """``want``: a :class:`ConformanceResult` or a result of the same shape (the reference)."""
    assert got.process == want.process
    assert got.summary == want.summary
    for name in FRAMES:
        frame, expected = getattr(got, name), getattr(want, name)
        assert frame.schema == expected.schema, name
        assert frame.equals(expected, null_equal=True), f"{name}:\n{frame}\n{expected}"
