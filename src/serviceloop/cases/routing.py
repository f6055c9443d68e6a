"""Routing: which team and which agent get a case.

A case goes to the responsible team of its stage and to the least-loaded available agent of that team
who has the needed skill (the category's skill, else the stage's required skill). Load counts the
agent's open and pending cases; an agent at capacity gets no more. Among equals the agent routed to
longest ago wins (``AgentProfile.last_routed_at``, never-routed first): round-robin. The chosen
agent's row is locked (``SELECT ... FOR UPDATE``, skipping agents another creation holds) and the
load re-counted under the lock, so concurrent creations neither pick the same agent nor overfill
one; on SQLite the IMMEDIATE transaction already serialises writers. If nobody qualifies, the case
waits unassigned in the team queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
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


def _take(profile: AgentProfile, *, wait: bool) -> bool:
    """Lock one agent row and re-count their load under the lock; keep the lock only on success.

    ``wait=False`` skips an agent another transaction is routing to right now (SKIP LOCKED). The
    savepoint releases the row again when the agent turned out to be full, so a transaction never
    holds a useless lock while it waits for another one (no deadlocks).
    """
    if not connection.features.has_select_for_update:
        # SQLite: the IMMEDIATE transaction has held the database's write lock since before the
        # candidates were read, so their availability and loads are still exact; nothing to lock.
        return True
    sid = transaction.savepoint()
    locked = (
        AgentProfile.objects.select_for_update(skip_locked=not wait)
        .filter(pk=profile.pk, is_available=True)
        .values_list("pk", flat=True)
        .first()
    )
    if (
        locked is not None
        and agent_loads([profile.user_id]).get(profile.user_id, 0) < profile.capacity
    ):
        transaction.savepoint_commit(sid)
        return True
    transaction.savepoint_rollback(sid)
    return False


def route_pick_agent(*, team: Team, skill: Skill | None, at: datetime) -> AgentProfile | None:
    """Pick, lock and stamp the agent of ``team`` who gets the next case; None if nobody fits.

    Candidates are ranked from an unlocked read (load, then longest since last routed, then id).
    Only the chosen agent's row is locked, and their load is re-counted under that lock, so
    concurrent creations spread over the team in parallel and nobody exceeds their capacity. Must
    run inside the transaction that assigns the case.
    """
    candidates = AgentProfile.objects.filter(team=team, is_available=True, user__is_active=True)
    if skill is not None:
        candidates = candidates.filter(skills=skill)
    profiles = list(candidates.select_related("user").order_by("id"))
    # Two plain queries cost less to build than one with a correlated count per candidate.
    loads = agent_loads([p.user_id for p in profiles])
    never = datetime.min.replace(tzinfo=at.tzinfo)
    ranked = sorted(
        (p for p in profiles if loads.get(p.user_id, 0) < p.capacity),
        key=lambda p: (loads.get(p.user_id, 0), p.last_routed_at or never, p.id),
    )
    # First the best agent nobody is being routed to at this instant; if all are busy, wait.
    for wait in (False, True):
        for profile in ranked:
            if _take(profile, wait=wait):
                AgentProfile.objects.filter(pk=profile.pk).update(last_routed_at=at)
                profile.last_routed_at = at
                return profile
    return None


def route_for_stage(*, stage: Stage, category: Category | None, at: datetime) -> RouteDecision:
    """The team responsible for ``stage`` and the agent there who should work the case."""
    team = stage.responsible_team
    skill = needed_skill(stage=stage, category=category)
    if team is None:
        return RouteDecision(team=None, agent=None, skill=skill)
    return RouteDecision(
        team=team, agent=route_pick_agent(team=team, skill=skill, at=at), skill=skill
    )
