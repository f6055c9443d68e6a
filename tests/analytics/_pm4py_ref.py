"""pm4py's answers for a log, computed independently of our loader (test-only: pm4py is AGPL)."""

from __future__ import annotations

import warnings
from typing import Any

import polars as pl


def pm4py_reference(
    frame: pl.DataFrame, *, case: str, activity: str, timestamp: str
) -> dict[str, Any]:
    """DFG counts, performance DFG, start/end activities, variants and case durations."""
    warnings.filterwarnings("ignore")
    import pm4py

    df = frame.select(
        pl.col(case).cast(pl.String).alias("case:concept:name"),
        pl.col(activity).cast(pl.String).alias("concept:name"),
        pl.col(timestamp).alias("time:timestamp"),
    ).to_pandas()
    df = pm4py.format_dataframe(df)
    dfg, start, end = pm4py.discover_dfg(df)
    perf, _, _ = pm4py.discover_performance_dfg(df)
    return {
        "dfg": {k: int(v) for k, v in dfg.items()},
        "perf": {k: {m: float(x) for m, x in v.items()} for k, v in perf.items()},
        "start": {k: int(v) for k, v in start.items()},
        "end": {k: int(v) for k, v in end.items()},
        "variants": {tuple(k): int(v) for k, v in pm4py.get_variants(df).items()},
        "durations": sorted(float(d) for d in pm4py.get_all_case_durations(df)),
    }
