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
from functools import cache
from typing import Any, cast

from django.db import connection, transaction

from serviceloop.accounts.models import AgentProfile, Skill, Team, User
from serviceloop.cases.choices import CaseStatus
from serviceloop.cases.models import Case, Category
from serviceloop.core.rows import columns, execute, fetch, load, width
from serviceloop.processes.models import Stage

__all__ = ["ACTIVE_STATUSES", "RouteDecision", "route_for_stage", "route_pick_agent"]

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


# Written-out SQL: routing runs on every creation and stage change, and the ORM spent more time
# building these statements than the database spent running them. Names come from the models'
# metadata only; values are always parameters.
_AGENTS = AgentProfile._meta.db_table
_ACTIVE = [status.value for status in ACTIVE_STATUSES]
_LOAD = (
    f"SELECT COUNT(*) FROM {Case._meta.db_table} c "  # noqa: S608
    "WHERE c.assignee_id = {user} AND c.status IN (%s, %s)"
)


@cache
def _candidates_sql(with_skill: bool) -> str:
    skills = AgentProfile.skills.through._meta.db_table
    skill = (
        f" AND EXISTS (SELECT 1 FROM {skills} s"  # noqa: S608
        " WHERE s.agentprofile_id = a.id AND s.skill_id = %s)"
        if with_skill
        else ""
    )
    return (
        f"SELECT {columns(AgentProfile, 'a')}, {columns(User, 'u')}, "  # noqa: S608
        f"({_LOAD.format(user='a.user_id')}) FROM {_AGENTS} a "
        f"JOIN {User._meta.db_table} u ON u.id = a.user_id "
        f"WHERE a.team_id = %s AND a.is_available AND u.is_active{skill}"
    )


def _candidates(team: Team, skill: Skill | None) -> list[tuple[AgentProfile, int, tuple[Any, ...]]]:
    """The team's available, active agents with ``skill``: profile, load and the row, whose user
    is built only for the agent who gets the case (one query)."""
    params: list[object] = [*_ACTIVE, team.pk]
    if skill is not None:
        params.append(skill.pk)
    found = []
    for row in fetch(_candidates_sql(skill is not None), params):
        profile = load(AgentProfile, row)
        assert profile is not None
        found.append((profile, row[-1], row))
    return found


def _take(profile: AgentProfile, *, at: datetime, wait: bool) -> bool:
    """Lock and stamp one agent row, re-count their load under the lock; keep it on success.

    ``wait=False`` skips an agent another transaction is routing to right now (SKIP LOCKED). The
    savepoint releases the row again when the agent turned out to be full, so a transaction never
    holds a useless lock while it waits for another one (no deadlocks).
    """
    stamp = connection.ops.adapt_datetimefield_value(at)
    if not connection.features.has_select_for_update:
        # SQLite: the IMMEDIATE transaction has held the database's write lock since before the
        # candidates were read, so their availability and loads are still exact; nothing to lock.
        execute(f"UPDATE {_AGENTS} SET last_routed_at = %s WHERE id = %s", [stamp, profile.pk])  # noqa: S608
        return True
    skip = " SKIP LOCKED" if not wait else ""
    sid = transaction.savepoint()
    locked = fetch(
        f"UPDATE {_AGENTS} SET last_routed_at = %s WHERE id = ("  # noqa: S608
        f"SELECT id FROM {_AGENTS} WHERE id = %s AND is_available FOR UPDATE{skip}"
        f") RETURNING id",
        [stamp, profile.pk],
    )
    if locked:
        ((load_now,),) = fetch(_LOAD.format(user="%s"), [profile.user_id, *_ACTIVE])
        if load_now < profile.capacity:
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
    ranked = sorted(
        (c for c in _candidates(team, skill) if c[1] < c[0].capacity),
        key=lambda c: (c[1], c[0].last_routed_at or never, c[0].id),
    )
    # First the best agent nobody is being routed to at this instant; if all are busy, wait.
    for wait in (False, True):
        for profile, _load, row in ranked:
            if _take(profile, at=at, wait=wait):
                profile.last_routed_at = at
                profile.user = cast(User, load(User, row, width(AgentProfile)))
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
