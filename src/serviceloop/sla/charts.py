"""The daily series behind the SLA control charts, read from the stored clocks (selectors).

- breach rate per day: of the clocks that finished that day (stopped in time, or breached), the
  share breached: a p chart;
- resolution time per day: the mean working minutes used by the resolution clocks stopped that
  day: an XmR chart.

Days are local dates in ``settings.TIME_ZONE``; days without any finished clock are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Avg, Count
from django.db.models.functions import TruncDate

from serviceloop.sla.choices import Metric
from serviceloop.sla.live import LiveScope
from serviceloop.sla.spc import ChartPoint, p_chart, xmr_chart

__all__ = ["ControlCharts", "control_charts", "echarts_option"]


@dataclass(frozen=True)
class ControlCharts:
    breach_days: list[date]
    breach_rate: list[ChartPoint]
    resolution_days: list[date]
    resolution_minutes: list[ChartPoint]
    moving_ranges: list[ChartPoint]


def _daily(
    scope: LiveScope, field: str, since: datetime, until: datetime, **filters: object
) -> dict[date, int]:
    tz = ZoneInfo(settings.TIME_ZONE)
    rows = (
        scope.clocks()
        .filter(**{f"{field}__gte": since, f"{field}__lt": until}, **filters)
        .annotate(day=TruncDate(field, tzinfo=tz))
        .values("day")
        .annotate(n=Count("id"))
    )
    return {row["day"]: row["n"] for row in rows}


def control_charts(
    scope: LiveScope, *, since: datetime, until: datetime, baseline: int
) -> ControlCharts:
    """Both charts over [since, until), limits from the first ``baseline`` days with data."""
    met = _daily(scope, "stopped_at", since, until, breached_at=None)
    breached = _daily(scope, "breached_at", since, until)
    days = sorted(set(met) | set(breached))
    rate: list[ChartPoint] = []
    if days:
        rate = p_chart(
            [breached.get(d, 0) for d in days],
            [met.get(d, 0) + breached.get(d, 0) for d in days],
            baseline=min(baseline, len(days)),
        )
    tz = ZoneInfo(settings.TIME_ZONE)
    rows = (
        scope.clocks()
        .filter(metric=Metric.RESOLUTION, stopped_at__gte=since, stopped_at__lt=until)
        .annotate(day=TruncDate("stopped_at", tzinfo=tz))
        .values("day")
        .annotate(mean=Avg("used_seconds"))
        .order_by("day")
    )
    resolution_days = [row["day"] for row in rows]
    minutes = [row["mean"] / 60 for row in rows]
    individuals: list[ChartPoint] = []
    ranges: list[ChartPoint] = []
    if len(minutes) >= 2:
        individuals, ranges = xmr_chart(minutes, baseline=max(2, min(baseline, len(minutes))))
    return ControlCharts(days, rate, resolution_days, individuals, ranges)


def echarts_option(
    title: str, days: list[date], points: list[ChartPoint], *, percent: bool
) -> dict[str, object]:
    """An ECharts option for one control chart: the values (out-of-control points in red), the
    centre line and the limits (dashed). Drawn by ``static/js/insights.js``."""
    scale = 100 if percent else 1

    def line(name: str, values: list[float], style: str) -> dict[str, object]:
        return {
            "name": name,
            "type": "line",
            "data": [round(v * scale, 2) for v in values],
            "symbol": "none",
            "lineStyle": {"type": style, "width": 1},
        }

    return {
        "title": {"text": title, "textStyle": {"fontSize": 13}},
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0},
        "grid": {"left": 50, "right": 20, "top": 40, "bottom": 50},
        "xAxis": {"type": "category", "data": [d.isoformat() for d in days]},
        "yAxis": {"type": "value", "name": "%" if percent else "min"},
        "series": [
            {
                "name": title,
                "type": "line",
                "data": [
                    {
                        "value": round(p.value * scale, 2),
                        "itemStyle": {"color": "#c0392b" if p.rules else "#2c7be5"},
                        "symbolSize": 9 if p.rules else 5,
                    }
                    for p in points
                ],
            },
            line("UCL", [p.ucl for p in points], "dashed"),
            line("CL", [p.center for p in points], "solid"),
            line("LCL", [p.lcl for p in points], "dashed"),
        ],
    }
