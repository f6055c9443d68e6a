"""Read side of the live monitoring page: the state of the service now (selectors only).

Every panel is scoped to the teams the viewer may watch (managers: all; a team lead: their team)
and is bounded: sums over the trigger-kept counters (``sla.counters``), an indexed ``ORDER BY ...
LIMIT``, or counts over a few rows. Arrivals against capacity and compliance with the process are
``sla.capacity`` and ``sla.compliance``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Count, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from serviceloop.accounts.models import AgentProfile, Team, User
from serviceloop.accounts.permissions import is_agent, is_manager
from serviceloop.cases.choices import CaseStatus
from serviceloop.cases.models import Case
from serviceloop.cases.permissions import agent_leads_team, agent_team_id
from serviceloop.core.messages import Named
from serviceloop.processes.models import Stage
from serviceloop.sla.choices import Metric
from serviceloop.sla.counters import (
    case_counts_by_hour,
    case_counts_by_stage,
    clock_counts,
    floor_hour,
)
from serviceloop.sla.models import SlaClock

__all__ = ["LiveScope", "led_team_ids", "live_panels", "live_scope"]

ACTIVE = (CaseStatus.OPEN, CaseStatus.PENDING)
AT_RISK_WINDOW = timedelta(hours=2)
AGE_BUCKETS = ((1, _("< 1 day")), (3, _("1-3 days")), (7, _("3-7 days")))
PERCENTILE_SAMPLE = 5_000


def local_midnight(now: datetime, *, days_back: int = 0) -> datetime:
    """The start of the local day ``days_back`` days before ``now``'s (``settings.TIME_ZONE``),
    as the UTC hour it falls in (the counters count whole UTC hours; in a zone with a
    half-hour offset the day starts half an hour early)."""
    local = now.astimezone(ZoneInfo(settings.TIME_ZONE)).date() - timedelta(days=days_back)
    start = datetime.combine(local, time(0), tzinfo=ZoneInfo(settings.TIME_ZONE))
    return floor_hour(start)


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
    """The teams an active agent leads (``AgentProfile.is_lead``: the lead of their own team);
    read with the agent's team, once per request."""
    if not is_agent(user) or not agent_leads_team(user):
        return ()
    team_id = agent_team_id(user)
    return (team_id,) if team_id is not None else ()


def live_scope(user: User) -> LiveScope | None:
    """What ``user`` may watch: managers every team, a team lead the team they lead; None for
    everyone else (agents, customers, inactive users), who get no live page."""
    if is_manager(user):
        return LiveScope(team_ids=None)
    teams = led_team_ids(user)
    return LiveScope(team_ids=teams) if teams else None


def _wip(scope: LiveScope) -> list[dict[str, Any]]:
    """Open and pending cases by team and stage (names), from the counters."""
    counts = case_counts_by_stage(scope.team_ids, ACTIVE)
    # named in the reader's language (the Chinese name when set and the page is in Chinese)
    named = ("pk", "name", "name_zh")
    team_rows = Team.objects.filter(pk__in={row[0] for row in counts}).only(*named)
    stage_rows = Stage.objects.filter(pk__in={row[1] for row in counts}).only(*named)
    teams = {t.pk: t.display_name for t in team_rows}
    stages = {s.pk: s.display_name for s in stage_rows}
    rows: dict[tuple[str | None, str], dict[str, Any]] = {}
    for team_id, stage_id, status, n in counts:
        key = (teams.get(team_id) if team_id else None, stages.get(stage_id, "?"))
        row = rows.setdefault(
            key, {"team_name": key[0], "stage_name": key[1], "open": 0, "pending": 0}
        )
        row["open" if status == CaseStatus.OPEN else "pending"] += n
    return [rows[k] for k in sorted(rows, key=lambda k: (k[0] is not None, k[0] or "", k[1]))]


def _younger_than(scope: LiveScope, moment: datetime) -> int:
    """Open and pending cases opened after ``moment``: whole hours from the counters, the part
    of ``moment``'s hour after it counted on the cases (an indexed range of at most an hour)."""
    next_hour = floor_hour(moment) + timedelta(hours=1)
    whole = sum(case_counts_by_hour(scope.team_ids, since=next_hour, statuses=ACTIVE).values())
    part = (
        scope.cases()
        .filter(status__in=ACTIVE, created_at__gt=moment, created_at__lt=next_hour)
        .count()
    )
    return whole + part


def _ageing(scope: LiveScope, now: datetime) -> list[tuple[str | Promise, int]]:
    """Open and pending cases by age band."""
    total = sum(row[3] for row in case_counts_by_stage(scope.team_ids, ACTIVE))
    bands: list[tuple[str | Promise, int]] = []
    below = 0
    for days, label in AGE_BUCKETS:  # cumulative counts (younger than n days) into bands
        younger = _younger_than(scope, now - timedelta(days=days))
        bands.append((label, younger - below))
        below = younger
    bands.append((_("> 7 days"), total - below))
    return bands


def _at_risk(scope: LiveScope, now: datetime) -> list[SlaClock]:
    return list(
        scope.clocks()
        .filter(stopped_at=None, due_at__lte=now + AT_RISK_WINDOW)
        .select_related("case", "case__team", "case__assignee")
        .order_by("due_at")[:25]
    )


def _attainment(scope: LiveScope, since: datetime) -> dict[str, Any]:
    """Clocks stopped in time and clocks breached since ``since`` (a whole hour), counted."""
    found = clock_counts(scope.team_ids, since=since)
    total = found.met + found.breached
    return {
        "met": found.met,
        "breached": found.breached,
        "share": found.met / total if total else None,
    }


def _percentiles(scope: LiveScope, metric: str, since: datetime) -> tuple[float, float] | None:
    """p50 and p90 of the working minutes used by the latest :data:`PERCENTILE_SAMPLE` clocks of
    ``metric`` stopped since ``since`` (a bounded, index-ordered read)."""
    stopped = (
        scope.clocks()
        .filter(metric=metric, stopped_at__gte=since)
        .order_by("-stopped_at")[:PERCENTILE_SAMPLE]
    )
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
            "team": a.team.display_name,
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
    rows = (
        scope.cases()
        .filter(status__in=ACTIVE, due_at__lt=now)
        .values("team__name", "team__name_zh")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    return [
        {"team_name": str(Named("", row["team__name"], row["team__name_zh"] or "")), "n": row["n"]}
        if row["team__name"] is not None
        else {"team_name": None, "n": row["n"]}
        for row in rows
    ]


def live_panels(scope: LiveScope, *, now: datetime) -> dict[str, Any]:
    from serviceloop.sla.alerts import alerts_visible

    today = local_midnight(now)
    return {
        "now": now,
        "wip": _wip(scope),
        "ageing": _ageing(scope, now),
        "at_risk": _at_risk(scope, now),
        "attainment": [
            (_("today"), _attainment(scope, today)),
            (_("7 days"), _attainment(scope, local_midnight(now, days_back=6))),
            (_("30 days"), _attainment(scope, local_midnight(now, days_back=29))),
        ],
        "percentiles": [
            (label, _percentiles(scope, metric, local_midnight(now, days_back=29)))
            for metric, label in Metric.choices
            if metric != Metric.NEXT_RESPONSE
        ],
        "load": _load(scope),
        "overdue_stages": _overdue_stages(scope, now),
        "alerts": alerts_visible(scope),
    }
