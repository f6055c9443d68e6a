"""Arrivals against capacity by hour, for the live page (selectors).

- **arrivals**: the cases of the scope opened in each hour of today (local days of
  ``settings.TIME_ZONE``), and the **usual**: the mean of the same hour one, two, three and four
  weeks earlier (the same weekday);
- **capacity**: the cases the teams can finish in that hour. Per team: its handling rate, the
  cases it finished (resolution clocks stopped) in the last 28 days per working hour of its
  calendar in those days (the team's calendar, else the organisation's, else every hour), times
  the working share of the hour, times the share of its agents on duty (active agents available
  for routing now, of all its active agents). Summed over the teams in scope. The rate assumes
  the team's present headcount over the 28 days: staffing is not kept as history.

Counts come from :mod:`serviceloop.sla.counters` (a few hundred counter rows on PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q

from serviceloop.accounts.models import AgentProfile
from serviceloop.sla.calendars import clock_for
from serviceloop.sla.choices import Metric
from serviceloop.sla.counters import case_counts_by_hour, clock_counts, floor_hour, hours_between
from serviceloop.sla.live import LiveScope, local_midnight
from serviceloop.sla.selectors import calendar_for

__all__ = ["RATE_DAYS", "WEEKS", "HourLoad", "arrivals_capacity", "arrivals_option"]

WEEKS = 4
RATE_DAYS = 28


@dataclass(frozen=True)
class HourLoad:
    start: datetime  # UTC
    label: str  # local "HH:MM"
    arrived: int | None  # None: the hour has not begun
    usual: float
    capacity: float


def _team_agents(team_ids: tuple[int, ...] | None) -> dict[int, tuple[int, int]]:
    """Per team: (active agents, of them available for routing)."""
    agents = AgentProfile.objects.filter(user__is_active=True, user__role="agent")
    if team_ids is not None:
        agents = agents.filter(team_id__in=team_ids)
    rows = agents.values_list("team_id").annotate(
        active=Count("id"), on_duty=Count("id", filter=Q(is_available=True))
    )
    return {team: (active, on_duty) for team, active, on_duty in rows}


def _capacity(scope: LiveScope, hours: list[datetime], now: datetime) -> list[float]:
    since = floor_hour(now - timedelta(days=RATE_DAYS))
    totals = [0.0] * len(hours)
    for team_id, (active, on_duty) in _team_agents(scope.team_ids).items():
        finished = clock_counts((team_id,), since=since, metric=Metric.RESOLUTION).stopped
        clock = clock_for(calendar_for(policy=None, team_id=team_id))
        worked = clock.between(since, now)
        if not finished or not worked or not active:
            continue
        per_second = finished / worked * on_duty / active
        for i, hour in enumerate(hours):
            totals[i] += per_second * clock.between(hour, hour + timedelta(hours=1))
    return totals


def arrivals_capacity(scope: LiveScope, *, now: datetime) -> list[HourLoad]:
    """Each hour of today: arrivals so far, the usual arrivals, the capacity (see the module)."""
    start, end = local_midnight(now), local_midnight(now, days_back=-1)
    hours = hours_between(start, end)
    arrived = case_counts_by_hour(scope.team_ids, since=start, until=end)
    earlier = [0] * len(hours)
    for week in range(1, WEEKS + 1):
        back = timedelta(days=7 * week)
        counts = case_counts_by_hour(scope.team_ids, since=start - back, until=end - back)
        for i, hour in enumerate(hours):
            earlier[i] += counts.get(hour - back, 0)
    capacity = _capacity(scope, hours, now)
    tz = ZoneInfo(settings.TIME_ZONE)
    return [
        HourLoad(
            start=hour,
            label=hour.astimezone(tz).strftime("%H:%M"),
            arrived=arrived.get(hour, 0) if hour <= now else None,
            usual=earlier[i] / WEEKS,
            capacity=capacity[i],
        )
        for i, hour in enumerate(hours)
    ]


def arrivals_option(rows: list[HourLoad], labels: dict[str, str]) -> dict[str, object]:
    """An ECharts option: today's arrivals (bars), the usual (line), capacity (dashed line)."""
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0},
        "grid": {"left": 40, "right": 20, "top": 20, "bottom": 50},
        "xAxis": {"type": "category", "data": [r.label for r in rows]},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {
                "name": labels["arrived"],
                "type": "bar",
                "data": [r.arrived for r in rows],
                "itemStyle": {"color": "#2c7be5"},
            },
            {
                "name": labels["usual"],
                "type": "line",
                "data": [round(r.usual, 2) for r in rows],
                "symbol": "none",
                "lineStyle": {"color": "#888"},
            },
            {
                "name": labels["capacity"],
                "type": "line",
                "data": [round(r.capacity, 2) for r in rows],
                "symbol": "none",
                "lineStyle": {"type": "dashed", "color": "#27ae60"},
            },
        ],
    }
