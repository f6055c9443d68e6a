"""ECharts options (plain JSON) for the evaluation pages, drawn by static/evaluation/evaluation.js."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from serviceloop.evaluation.models import Evaluation, EvaluationResult, Indicator

__all__ = ["radar_chart", "trend_chart"]

_PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d"]


def radar_chart(top: list[Indicator], results: list[EvaluationResult]) -> dict[str, Any]:
    """Each unit's score per first-level indicator (0..1, higher is better)."""
    used = [t for t in top if any(r.dimensions.get(t.code) is not None for r in results)]
    if len(used) < 3 or not results:
        return {}
    return {
        "color": _PALETTE,
        "tooltip": {},
        "legend": {"type": "scroll", "bottom": 0},
        "radar": {"indicator": [{"name": t.label, "max": 1} for t in used], "radius": "62%"},
        "series": [
            {
                "type": "radar",
                "data": [
                    {
                        "name": r.unit_label,
                        "value": [round(r.dimensions.get(t.code) or 0.0, 4) for t in used],
                    }
                    for r in results
                ],
            }
        ],
    }


def trend_chart(evaluations: list[Evaluation]) -> dict[str, Any]:
    """Each unit's score over the comparable evaluations (one point per period)."""
    if len(evaluations) < 2:
        return {}
    periods = [f"{e.period_start:%Y-%m-%d}–{e.period_end:%m-%d}" for e in evaluations]
    series: dict[str, list[float | None]] = {}
    names: dict[str, str] = {}
    for i, evaluation in enumerate(evaluations):
        for r in evaluation.results.all():
            series.setdefault(r.unit_key, [None] * len(evaluations))[i] = round(r.score, 4)
            names[r.unit_key] = r.unit_label
    return {
        "color": _PALETTE,
        "tooltip": {"trigger": "axis"},
        "legend": {"type": "scroll", "bottom": 0},
        "grid": {"left": 48, "right": 24, "top": 32, "bottom": 48, "containLabel": True},
        "xAxis": {"type": "category", "data": periods},
        "yAxis": {"type": "value", "name": _("Score")},
        "series": [
            {"type": "line", "name": names[key], "data": values, "connectNulls": False}
            for key, values in series.items()
        ],
    }
