"""ECharts options built on the server (plain JSON: no functions), drawn by static/js/insights.js.

Labels arrive translated from the caller; numbers are rounded here so the pages stay small.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl
from django.utils.translation import gettext as _

__all__ = ["duration_histogram", "handover_graph", "stage_time_bars", "throughput_chart"]

_BLUE, _GREEN, _ORANGE, _RED, _GREY = "#2563eb", "#16a34a", "#d97706", "#dc2626", "#94a3b8"
_GRID = {"left": 48, "right": 24, "top": 40, "bottom": 40, "containLabel": True}


def duration_histogram(seconds: pl.Series, *, bins: int = 24) -> dict[str, Any]:
    """Case durations in equal-width bins up to the 98th percentile, the rest in a last bin."""
    values = seconds.drop_nulls()
    if values.len() == 0:
        return {}
    p98 = float(values.quantile(0.98, interpolation="linear") or 0.0)
    in_days = p98 >= 3 * 86400
    unit = 86400.0 if in_days else 3600.0
    top = max(p98 / unit, 1.0)
    width = _nice_width(top / bins)
    n = max(1, math.ceil(top / width))
    index = (values / unit / width).floor().clip(0, n).cast(pl.Int64)
    counts = index.value_counts().sort(index.name)
    per_bin = dict(zip(counts[index.name].to_list(), counts["count"].to_list(), strict=True))
    suffix = _("d") if in_days else _("h")
    labels = [f"{_fmt(i * width)}–{_fmt((i + 1) * width)} {suffix}" for i in range(n)]
    labels.append(f"≥ {_fmt(n * width)} {suffix}")
    data = [per_bin.get(i, 0) for i in range(n + 1)]
    if data[-1] == 0:
        labels, data = labels[:-1], data[:-1]
    return {
        "tooltip": {"trigger": "axis"},
        "grid": _GRID,
        "xAxis": {
            "type": "category",
            "data": labels,
            "name": _("Case duration"),
            "nameLocation": "middle",
            "nameGap": 28,
        },
        "yAxis": {"type": "value", "name": _("Cases")},
        "series": [{"type": "bar", "name": _("Cases"), "data": data, "color": _BLUE}],
    }


def _nice_width(raw: float) -> float:
    """Round a bin width up to 1, 2 or 5 times a power of ten."""
    if raw <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for step in (1, 2, 5, 10):
        if raw <= step * power:
            return float(step * power)
    return float(10 * power)


def _fmt(value: float) -> str:
    return f"{value:g}"


def throughput_chart(frame: pl.DataFrame) -> dict[str, Any]:
    """Opened and closed cases per period as bars, the backlog at each period's end as a line."""
    periods = [d.isoformat() for d in frame["period"].to_list()]
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": _GRID,
        "xAxis": {"type": "category", "data": periods},
        "yAxis": [{"type": "value", "name": _("Cases")}, {"type": "value", "name": _("Backlog")}],
        "dataZoom": [{"type": "inside"}, {"type": "slider", "height": 18, "bottom": 4}]
        if len(periods) > 40
        else [],
        "series": [
            {
                "type": "bar",
                "name": _("Opened"),
                "data": frame["opened"].to_list(),
                "color": _BLUE,
            },
            {
                "type": "bar",
                "name": _("Closed"),
                "data": frame["closed"].to_list(),
                "color": _GREEN,
            },
            {
                "type": "line",
                "name": _("Backlog"),
                "yAxisIndex": 1,
                "data": frame["backlog"].to_list(),
                "color": _ORANGE,
                "showSymbol": False,
            },
        ],
    }


def stage_time_bars(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Median and p90 time in each stage against its time standard, in hours.

    ``rows``: dicts with ``label``, ``median_seconds``, ``p90_seconds``, ``standard_seconds``.
    """

    def hours(value: float | None) -> float | None:
        return None if value is None else round(value / 3600, 2)

    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": _GRID,
        "xAxis": {"type": "category", "data": [r["label"] for r in rows]},
        "yAxis": {"type": "value", "name": _("Hours")},
        "series": [
            {
                "type": "bar",
                "name": _("Median"),
                "data": [hours(r["median_seconds"]) for r in rows],
                "color": _BLUE,
            },
            {
                "type": "bar",
                "name": _("90th percentile"),
                "data": [hours(r["p90_seconds"]) for r in rows],
                "color": _GREY,
            },
            {
                "type": "scatter",
                "name": _("Time standard"),
                "symbol": "rect",
                "symbolSize": [28, 3],
                "data": [hours(r["standard_seconds"]) for r in rows],
                "color": _RED,
            },
        ],
    }


def handover_graph(frame: pl.DataFrame, *, limit: int = 60) -> dict[str, Any]:
    """The most frequent handovers between people as a force-laid-out graph."""
    top = frame.head(limit)
    if top.height == 0:
        return {}
    weight: dict[str, int] = {}
    for source, target, count in top.select("source", "target", "count").rows():
        weight[source] = weight.get(source, 0) + count
        weight[target] = weight.get(target, 0) + count
    biggest = max(weight.values())
    most = int(top["count"].max() or 1)  # type: ignore[arg-type]
    return {
        "tooltip": {},
        "series": [
            {
                "type": "graph",
                "layout": "circular",
                "circular": {"rotateLabel": True},
                "roam": True,
                "label": {"show": True, "position": "right", "fontSize": 10},
                "emphasis": {"focus": "adjacency"},
                "edgeSymbol": ["none", "arrow"],
                "edgeSymbolSize": 6,
                "data": [
                    {"name": name, "value": w, "symbolSize": 8 + 22 * w / biggest}
                    for name, w in sorted(weight.items())
                ],
                "links": [
                    {
                        "source": s,
                        "target": t,
                        "value": c,
                        "lineStyle": {
                            "width": 0.5 + 4 * c / most,
                            "opacity": 0.5,
                            "curveness": 0.2,
                        },
                    }
                    for s, t, c in top.select("source", "target", "count").rows()
                ],
                "color": _BLUE,
            }
        ],
    }
