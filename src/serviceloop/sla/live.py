"""Read side of the live monitoring page: the state of the service now (selectors only).

Every panel is scoped to the teams the viewer may watch (managers: all; a team lead: their team) and
is one bounded query: counts grouped by a few columns, or an indexed ``ORDER BY ... LIMIT``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, F, Q, QuerySet

from serviceloop.accounts.models import AgentProfile, User
from serviceloop.accounts.permissions import is_agent, is_manager
from serviceloop.cases.choices import CaseStatus
from serviceloop.cases.models import Case
from serviceloop.sla.choices import Metric
from serviceloop.sla.models import SlaClock

__all__ = ["LiveScope", "led_team_ids", "live_panels", "live_scope"]

ACTIVE = (CaseStatus.OPEN, CaseStatus.PENDING)
AT_RISK_WINDOW = timedelta(hours=2)
AGE_BUCKETS = ((1, "< 1 day"), (3, "1-3 days"), (7, "3-7 days"))


@dataclass(frozen=True)
class LiveScope:
    """``team_ids`` None: every team (managers)."""

    team_ids: tuple[int, ...] | None

    def cases(self) -> QuerySet[Case]:
        found = Case.objects.all()
        return found if self.team_ids is None else found.filter(team_id__in=self.team_ids)

    def clocks(self) -> QuerySet[SlaClock]:
        found = SlaClock.objects.all()
        return found if self.team_ids is None else found.filter(case__team_id__in=self.team_ids)


def led_team_ids(user: User) -> tuple[int, ...]:
    """The teams an active agent leads (``AgentProfile.is_lead``: the lead of their own team)."""
    if not is_agent(user):
        return ()
    return tuple(
        AgentProfile.objects.filter(user_id=user.pk, is_lead=True).values_list("team_id", flat=True)
    )


def live_scope(user: User) -> LiveScope | None:
    """What ``user`` may watch: managers every team, a team lead the team they lead; None for
    everyone else (agents, customers, inactive users), who get no live page."""
    if is_manager(user):
        return LiveScope(team_ids=None)
    teams = led_team_ids(user)
    return LiveScope(team_ids=teams) if teams else None


def _wip(scope: LiveScope) -> list[Any]:
    return list(
        scope.cases()
        .filter(status__in=ACTIVE)
        .values(stage_name=F("stage__name"), team_name=F("team__name"))
        .annotate(
            open=Count("id", filter=Q(status=CaseStatus.OPEN)),
            pending=Count("id", filter=Q(status=CaseStatus.PENDING)),
        )
        .order_by("team_name", "stage_name")
    )


def _ageing(scope: LiveScope, now: datetime) -> list[tuple[str, int]]:
    """Open and pending cases by age band, in one query."""
    counts = {
        f"under_{days}": Count("id", filter=Q(created_at__gt=now - timedelta(days=days)))
        for days, _ in AGE_BUCKETS
    }
    found = scope.cases().filter(status__in=ACTIVE).aggregate(all=Count("id"), **counts)
    bands, below = [], 0
    for days, label in AGE_BUCKETS:  # cumulative counts (younger than n days) into bands
        bands.append((label, found[f"under_{days}"] - below))
        below = found[f"under_{days}"]
    bands.append(("> 7 days", found["all"] - below))
    return bands


def _at_risk(scope: LiveScope, now: datetime) -> list[SlaClock]:
    return list(
        scope.clocks()
        .filter(stopped_at=None, due_at__lte=now + AT_RISK_WINDOW)
        .select_related("case", "case__team", "case__assignee")
        .order_by("due_at")[:25]
    )


def _attainment(scope: LiveScope, since: datetime) -> dict[str, Any]:
    found = scope.clocks().aggregate(
        met=Count("id", filter=Q(stopped_at__gte=since, breached_at=None)),
        breached=Count("id", filter=Q(breached_at__gte=since)),
    )
    total = found["met"] + found["breached"]
    return found | {"share": found["met"] / total if total else None}


def _percentiles(scope: LiveScope, metric: str, since: datetime) -> tuple[float, float] | None:
    """p50 and p90 of the working minutes used by the clocks of ``metric`` stopped since."""
    stopped = scope.clocks().filter(metric=metric, stopped_at__gte=since)
    if connection.vendor == "postgresql":
        sql, params = stopped.values("used_seconds").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY used_seconds), "  # noqa: S608
                f"percentile_cont(0.9) WITHIN GROUP (ORDER BY used_seconds) FROM ({sql}) s",
                params,
            )
            p50, p90 = cursor.fetchone()
        return None if p50 is None else (p50 / 60, p90 / 60)
    values = sorted(stopped.values_list("used_seconds", flat=True))
    if not values:
        return None
    if len(values) == 1:
        return values[0] / 60, values[0] / 60
    deciles = statistics.quantiles(values, n=10, method="inclusive")
    return statistics.median(values) / 60, deciles[8] / 60


def _load(scope: LiveScope) -> list[dict[str, Any]]:
    agents = AgentProfile.objects.select_related("user", "team").filter(user__is_active=True)
    if scope.team_ids is not None:
        agents = agents.filter(team_id__in=scope.team_ids)
    open_by_user = dict(
        Case.objects.filter(status__in=ACTIVE, assignee_id__in=agents.values("user_id"))
        .values_list("assignee_id")
        .annotate(n=Count("id"))
    )
    rows = [
        {
            "agent": a.user.get_username(),
            "team": a.team.name,
            "open": open_by_user.get(a.user_id, 0),
            "capacity": a.capacity,
        }
        for a in agents.order_by("team__name", "user__username")
    ]
    for row in rows:
        row["share"] = (
            min(100, round(100 * row["open"] / row["capacity"])) if row["capacity"] else 0
        )
    return rows


def _overdue_stages(scope: LiveScope, now: datetime) -> list[Any]:
    """Open cases past their stage's time standard, per team: compliance with the process."""
    return list(
        scope.cases()
        .filter(status__in=ACTIVE, due_at__lt=now)
        .values(team_name=F("team__name"))
        .annotate(n=Count("id"))
        .order_by("-n")
    )


def live_panels(scope: LiveScope, *, now: datetime) -> dict[str, Any]:
    from serviceloop.sla.alerts import alerts_visible

    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "now": now,
        "wip": _wip(scope),
        "ageing": _ageing(scope, now),
        "at_risk": _at_risk(scope, now),
        "attainment": [
            ("today", _attainment(scope, today)),
            ("7 days", _attainment(scope, now - timedelta(days=7))),
            ("30 days", _attainment(scope, now - timedelta(days=30))),
        ],
        "percentiles": [
            (label, _percentiles(scope, metric, now - timedelta(days=30)))
            for metric, label in Metric.choices
            if metric != Metric.NEXT_RESPONSE
        ],
        "load": _load(scope),
        "overdue_stages": _overdue_stages(scope, now),
        "alerts": alerts_visible(scope),
    }
