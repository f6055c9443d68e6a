"""The demo's planted understaffing, checked: predict what more specialists do, then look.

Issue 17 item 5. The what-if model is discovered from the demo's live log as the Insights what-if
page discovers it (stage completions, each stage worked by its responsible team) and simulated
with more specialists; the demo loaded with the same seed and more specialists (the same cases,
more hands) says what really happens. ``benchmarks/demo_staffing.py`` runs it at full scale.

The demo's own measures follow the simulation's definitions: a case runs from its first
completion in the stage log (leaving Intake) to its last; the cases counted are those whose first
completion falls in the window; the wait before Solution design is what the replay recorded,
from entering the stage to a specialist taking the case.
"""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any

from serviceloop.core.messages import Problem
from serviceloop.demo.errors import DemoError
from serviceloop.demo.model import BOTTLENECK_STAGE

__all__ = ["MEASURES", "demo_compare", "demo_observed", "demo_predict_more_specialists"]

MEASURES = (
    "cycle_time_mean_seconds",
    "cycle_time_median_seconds",
    "cycle_time_p90_seconds",
    "design_wait_seconds",
)


def demo_observed(
    *, waits: list[tuple[datetime, float]], since: datetime, until: datetime
) -> dict[str, Any]:
    """The loaded demo's cycle times and Solution design wait over the cases of the window."""
    import polars as pl

    from serviceloop.cases.models import Case
    from serviceloop.insights.selectors import LogFilters, event_log
    from serviceloop.insights.whatif import completion_log

    log = event_log(LogFilters())
    if log is None:
        raise DemoError(Problem("demo_no_log"))
    spans = (
        completion_log(log)
        .to_polars()
        .group_by("case_id")
        .agg(pl.col("timestamp").min().alias("first"), pl.col("timestamp").max().alias("last"))
        .filter((pl.col("first") >= since) & (pl.col("first") < until))
    )
    closed = list(
        Case.objects.filter(number__in=spans["case_id"].to_list(), status="closed").values_list(
            "number", flat=True
        )
    )
    done = spans.filter(pl.col("case_id").is_in(closed))
    cycle = sorted((done["last"] - done["first"]).dt.total_seconds().cast(pl.Float64).to_list())
    design = [seconds for queued, seconds in waits if since <= queued < until]
    if len(cycle) < 10 or not design:
        raise DemoError(Problem("demo_too_few_closed"))
    return {
        "cases": spans.height,
        "closed": len(cycle),
        "cycle_time_mean_seconds": statistics.fmean(cycle),
        "cycle_time_median_seconds": statistics.median(cycle),
        "cycle_time_p90_seconds": statistics.quantiles(cycle, n=10, method="inclusive")[-1],
        "design_wait_seconds": statistics.fmean(design),
        "design_visits": len(design),
    }


def demo_predict_more_specialists(
    *,
    extra: int,
    replications: int,
    weeks: float,
    seed: int = 0,
    discover: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Simulate the live log's what-if model as it is and with ``extra`` more specialists.

    The model is the what-if page's; ``discover`` rediscovers it with those options of
    ``discover_model`` (e.g. ``{"arrival_weeks": None}``: arrivals at the whole log's mean rate).
    """
    from serviceloop.analytics.simulation import Scenario, parse_change, simulate
    from serviceloop.insights.whatif import whatif_as_is_model, whatif_model_discover

    model = whatif_as_is_model() if discover is None else whatif_model_discover(**discover)
    pool = next((a.pool for a in model.activities if a.name == BOTTLENECK_STAGE), None)
    if pool is None:
        raise DemoError(Problem("demo_no_stage", {"stage": BOTTLENECK_STAGE}))
    change = f"staff {pool}=+{extra}"
    result = simulate(
        model,
        [Scenario(f"+{extra} specialists", (parse_change(change),))],
        replications=replications,
        weeks=weeks,
        warmup_weeks=4,
        seed=seed,
    ).to_dict()
    result.pop("model")
    result["change"] = change
    result["staff"] = {p.name: p.staff for p in model.pools}
    design = next(a for a in model.activities if a.name == BOTTLENECK_STAGE)
    result["design_model"] = {
        "pool": pool,
        "multitasking": next(p.multitasking for p in model.pools if p.name == pool),
        "work_mean_seconds": design.mean_seconds,
        "delay_mean_seconds": float(design.delays.mean()),
    }
    result["arrivals"] = model.info.get("arrivals", {})
    return result


def _pick(result: dict[str, Any], key: str, *, difference: bool = False) -> dict[str, Any]:
    part = result["difference_to_as_is"] if difference else result
    if key == "design_wait_seconds":
        return part["waiting_seconds"][BOTTLENECK_STAGE]  # type: ignore[no-any-return]
    return part["measures"][key]  # type: ignore[no-any-return]


def demo_compare(
    *, prediction: dict[str, Any], base: dict[str, Any], more: dict[str, Any]
) -> dict[str, dict[str, dict[str, Any]]]:
    """Per measure: as-is, with more specialists and their difference, predicted and seen."""
    as_is, what_if = prediction["as_is"], prediction["scenarios"][0]
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for key in MEASURES:
        out[key] = {}
        for name, predicted, seen in (
            ("as_is", _pick(as_is, key), base[key]),
            ("more", _pick(what_if, key), more[key]),
            ("difference", _pick(what_if, key, difference=True), more[key] - base[key]),
        ):
            low, high = predicted["ci_low"], predicted["ci_high"]
            out[key][name] = {
                "predicted": predicted["mean"],
                "ci_low": low,
                "ci_high": high,
                "observed": seen,
                "within_ci": low is not None and high is not None and low <= seen <= high,
            }
    return out
