"""Frame rows as JSON-ready dicts, shared by ``AnalysisResult.to_dict`` and the HTML report."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import polars as pl


def clean(v: Any) -> Any:
    """NaN / infinity become ``None`` (JSON has neither), dates ISO strings; lists recursively."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    if isinstance(v, list):
        return [clean(x) for x in v]
    return v


def records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [{k: clean(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]
