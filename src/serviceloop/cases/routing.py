"""Routing: which team and which agent get a case.

A case goes to the responsible team of its stage and to the least-loaded available agent of that team
who has the needed skill (the category's skill, else the stage's required skill). Load counts the
agent's open and pending cases; an agent at capacity gets no more. Among equals the agent routed to
longest ago wins (``AgentProfile.last_routed_at``, never-routed first): round-robin. The candidate
profile rows are locked (``SELECT ... FOR UPDATE``) so concurrent creations queue instead of all
picking the same agent; on SQLite the IMMEDIATE transaction already serialises writers. If nobody
qualifies, the case waits unassigned in the team queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count

from serviceloop.accounts.models import AgentProfile, Skill, Team
from serviceloop.cases.choices import CaseStatus
from serviceloop.cases.models import Case, Category
from serviceloop.processes.models import Stage

__all__ = ["ACTIVE_STATUSES", "RouteDecision", "agent_loads", "route_for_stage", "route_pick_agent"]

ACTIVE_STATUSES = (CaseStatus.OPEN, CaseStatus.PENDING)


@dataclass(frozen=True)
class RouteDecision:
    team: Team | None
    agent: AgentProfile | None
    skill: Skill | None


def needed_skill(*, stage: Stage, category: Category | None) -> Skill | None:
    if category is not None and category.skill_id is not None:
        return category.skill
    return stage.required_skill


def agent_loads(user_ids: list[int]) -> dict[int, int]:
    """Open + pending cases held by each user (one grouped query)."""
    rows = (
        Case.objects.filter(assignee_id__in=user_ids, status__in=ACTIVE_STATUSES)
        .values("assignee_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["assignee_id"]: row["n"] for row in rows}


def route_pick_agent(*, team: Team, skill: Skill | None, at: datetime) -> AgentProfile | None:
    """Pick, lock and stamp the agent of ``team`` who gets the next case; None if nobody fits.

    Must run inside the transaction that assigns the case.
    """
    candidates = AgentProfile.objects.filter(team=team, is_available=True, user__is_active=True)
    if skill is not None:
        candidates = candidates.filter(skills=skill)
    ids = list(candidates.values_list("id", flat=True))
    # Lock in id order with a join-free query (no deadlocks between routers; on PostgreSQL a
    # waiting FOR UPDATE re-checks only this row), then re-read availability under the lock.
    profiles = list(
        AgentProfile.objects.select_for_update()
        .filter(pk__in=ids, is_available=True)
        .order_by("id")
    )
    if not profiles:
        return None
    loads = agent_loads([p.user_id for p in profiles])
    free = [p for p in profiles if loads.get(p.user_id, 0) < p.capacity]
    if not free:
        return None
    never = datetime.min.replace(tzinfo=at.tzinfo)
    chosen = min(free, key=lambda p: (loads.get(p.user_id, 0), p.last_routed_at or never, p.id))
    AgentProfile.objects.filter(pk=chosen.pk).update(last_routed_at=at)
    chosen.last_routed_at = at
    return chosen


def route_for_stage(*, stage: Stage, category: Category | None, at: datetime) -> RouteDecision:
    """The team responsible for ``stage`` and the agent there who should work the case."""
    team = stage.responsible_team
    skill = needed_skill(stage=stage, category=category)
    if team is None:
        return RouteDecision(team=None, agent=None, skill=skill)
    return RouteDecision(
        team=team, agent=route_pick_agent(team=team, skill=skill, at=at), skill=skill
    )
