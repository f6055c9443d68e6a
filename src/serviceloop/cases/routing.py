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

from serviceloop.accounts.models import AgentProfile, Skill, Team
from serviceloop.cases import queries
from serviceloop.cases.models import Category
from serviceloop.cases.queries import ACTIVE_STATUSES
from serviceloop.processes.models import Stage

__all__ = ["ACTIVE_STATUSES", "RouteDecision", "route_for_stage", "route_pick_agent"]


@dataclass(frozen=True)
class RouteDecision:
    team: Team | None
    agent: AgentProfile | None
    skill: Skill | None


def needed_skill(*, stage: Stage, category: Category | None) -> Skill | None:
    if category is not None and category.skill_id is not None:
        return category.skill
    return stage.required_skill


def _take(profile: AgentProfile, *, at: datetime, wait: bool) -> bool:
    """Lock and stamp one agent row, re-count their load under the lock; keep it on success.

    ``wait=False`` skips an agent another transaction is routing to right now (SKIP LOCKED). The
    savepoint releases the row again when the agent turned out to be full, so a transaction never
    holds a useless lock while it waits for another one (no deadlocks).
    """
    if not connection.features.has_select_for_update:
        # SQLite: the IMMEDIATE transaction has held the database's write lock since before the
        # candidates were read, so their availability and loads are still exact; nothing to lock.
        queries.agent_stamp(profile.pk, at)
        return True
    sid = transaction.savepoint()
    if queries.agent_claim(profile.pk, at, wait=wait) and (
        queries.agent_load(profile.user_id) < profile.capacity
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
    never = datetime.min.replace(tzinfo=at.tzinfo)
    candidates = queries.agent_candidates(
        team_id=team.pk, skill_id=skill.pk if skill is not None else None
    )
    ranked = sorted(
        (c for c in candidates if c.load < c.profile.capacity),
        key=lambda c: (c.load, c.profile.last_routed_at or never, c.profile.id),
    )
    # First the best agent nobody is being routed to at this instant; if all are busy, wait.
    for wait in (False, True):
        for candidate in ranked:
            if _take(candidate.profile, at=at, wait=wait):
                candidate.profile.last_routed_at = at
                candidate.profile.user = candidate.user()
                return candidate.profile
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
