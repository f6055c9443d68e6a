"""Every hand-written SQL statement of the cases app, each behind a name.

Services, routing and selectors say *what* they read or write (``case_lock``, ``agent_candidates``)
and this module says *how*. The statements are those a profile showed on a hot path: every API
creation, case read and case change runs them, and the ORM spent more time building them than the
database spent running them (``benchmarks/api_load.py``). They are built on
:mod:`serviceloop.core.rows`, so columns come from the models' metadata, values always travel as
parameters and rows come back as model instances, on SQLite and PostgreSQL alike. Each statement
is built once (``functools.cache``). Everything else of the app reads and writes through the ORM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, cast

from django.db import connection

from serviceloop.accounts.models import AgentProfile, Skill, Team, User
from serviceloop.cases.choices import CaseStatus
from serviceloop.cases.models import Case, CaseEvent, Category
from serviceloop.core import rows
from serviceloop.customers.models import Customer
from serviceloop.processes.choices import VersionStatus
from serviceloop.processes.models import ProcessVersion, ServiceProcess, Stage

__all__ = [
    "ACTIVE_STATUSES",
    "AgentCandidate",
    "agent_candidates",
    "agent_claim",
    "agent_load",
    "agent_stamp",
    "case_by_key",
    "case_insert",
    "case_lock",
    "case_save",
    "category_by_code",
    "category_by_id",
    "customer_get",
    "events_insert",
    "start_stage_of_default_process",
    "start_stage_of_process",
    "start_stage_of_version",
]

# The statuses that count towards an agent's load.
ACTIVE_STATUSES = (CaseStatus.OPEN, CaseStatus.PENDING)
_ACTIVE = [status.value for status in ACTIVE_STATUSES]


# --- the case row and its events -----------------------------------------------------------------


def case_lock(pk: int) -> Case | None:
    """The case row, re-read and locked until the transaction ends (``SELECT ... FOR UPDATE`` where
    the database has it; SQLite's IMMEDIATE transaction already holds the write lock). Join-free:
    on PostgreSQL a FOR UPDATE that waited returns the row's newest version."""
    return rows.get(Case, pk, for_update=connection.features.has_select_for_update)


def case_insert(case: Case) -> None:
    """INSERT a new case; the database numbers it (``Case.number``, read back by RETURNING)."""
    rows.insert([case])


def case_save(case: Case, fields: Sequence[str]) -> None:
    """UPDATE these fields of the case (``save(update_fields=...)``)."""
    rows.update(case, fields)


def events_insert(events: Sequence[CaseEvent]) -> None:
    """INSERT the events of one change, in one statement."""
    rows.insert(events)


# The case's LIST_RELATED objects, in the order of the join: (field, model, alias).
_CASE_JOINS: tuple[tuple[Any, Any, str], ...] = (
    (Case.customer.field, Customer, "cu"),
    (Case.category.field, Category, "ca"),
    (Case.stage.field, Stage, "st"),
    (Case.team.field, Team, "te"),
    (Case.assignee.field, User, "us"),
    (Case.process_version.field, ProcessVersion, "pv"),
)


@cache
def _case_sql(key: str) -> str:
    joins = " ".join(
        f"{'JOIN' if not field.null else 'LEFT JOIN'} {model._meta.db_table} {alias} "
        f"ON {alias}.id = c.{field.column}"
        for field, model, alias in _CASE_JOINS
    )
    selected = ", ".join(
        [rows.columns(Case, "c")]
        + [rows.columns(model, alias) for _, model, alias in _CASE_JOINS]
        + [rows.columns(ServiceProcess, "sp")]
    )
    return (
        f"SELECT {selected} FROM {Case._meta.db_table} c {joins} "  # noqa: S608
        f"JOIN {ServiceProcess._meta.db_table} sp ON sp.id = pv.process_id WHERE c.{key} = %s"
    )


def case_by_key(*, pk: int | None = None, number: str | None = None) -> Case | None:
    """One case by id or number with its customer, category, stage, team, assignee and process
    version (with its process) joined in, or None (one query)."""
    found = rows.fetch(
        _case_sql("id" if pk is not None else "number"), [pk if pk is not None else number]
    )
    if not found:
        return None
    models = [Case, *(model for _, model, _ in _CASE_JOINS), ServiceProcess]
    case, *related, process = rows.load_all(found[0], models)
    for (field, _, _), obj in zip(_CASE_JOINS, related, strict=True):
        field.set_cached_value(case, obj)
    case.process_version.process = process
    return cast(Case, case)


# --- what a new case starts with -----------------------------------------------------------------


def customer_get(pk: int) -> Customer | None:
    """The customer a case is opened for, by id (every API creation names one)."""
    return rows.get(Customer, pk)


@cache
def _category_sql(key: str) -> str:
    return (
        f"SELECT {rows.columns(Category, 'c')}, {rows.columns(Skill, 'k')} "  # noqa: S608
        f"FROM {Category._meta.db_table} c "
        f"LEFT JOIN {Skill._meta.db_table} k ON k.id = c.skill_id WHERE c.{key} = %s"
    )


def _category_where(key: str, value: object) -> Category | None:
    found = rows.fetch(_category_sql(key), [value])
    if not found:
        return None
    category, skill = rows.load_all(found[0], (Category, Skill))
    category.skill = skill
    return cast(Category, category)


def category_by_id(pk: int) -> Category | None:
    """The category with this id and its skill (one query), or None."""
    return _category_where("id", pk)


def category_by_code(code: str) -> Category | None:
    """The category with this code and its skill (one query), or None."""
    return _category_where("code", code)


_START_PARTS = (Stage, ProcessVersion, ServiceProcess, Team, Skill)


@cache
def _start_stage_sql(where: str) -> str:
    selected = ", ".join(rows.columns(m, a) for m, a in zip(_START_PARTS, "svptk", strict=True))
    return (
        f"SELECT {selected} FROM {Stage._meta.db_table} s "  # noqa: S608
        f"JOIN {ProcessVersion._meta.db_table} v ON v.id = s.version_id "
        f"JOIN {ServiceProcess._meta.db_table} p ON p.id = v.process_id "
        f"LEFT JOIN {Team._meta.db_table} t ON t.id = s.responsible_team_id "
        f"LEFT JOIN {Skill._meta.db_table} k ON k.id = s.required_skill_id "
        f'WHERE s.is_start AND {where} ORDER BY v.number DESC, s."order" LIMIT 1'
    )


def _start_stage(found: list[tuple[Any, ...]]) -> Stage | None:
    if not found:
        return None
    stage, version, process, team, skill = rows.load_all(found[0], _START_PARTS)
    version.process = process
    stage.version, stage.responsible_team, stage.required_skill = version, team, skill
    return cast(Stage, stage)


def start_stage_of_version(version_id: int) -> Stage | None:
    """The version's start stage with its version, process, team and skill (one query)."""
    return _start_stage(rows.fetch(_start_stage_sql("v.id = %s"), [version_id]))


def start_stage_of_process(process_id: int) -> Stage | None:
    """The start stage of this process's latest published version, with its version, process,
    team and skill (one query), or None."""
    sql = _start_stage_sql("p.id = %s AND v.status = %s")
    return _start_stage(rows.fetch(sql, [process_id, VersionStatus.PUBLISHED.value]))


def start_stage_of_default_process() -> Stage | None:
    """The start stage of the default process's latest published version, with its version,
    process, team and skill (one query), or None."""
    sql = _start_stage_sql("p.is_default AND v.status = %s")
    return _start_stage(rows.fetch(sql, [VersionStatus.PUBLISHED.value]))


# --- routing: agents, their load, claiming one -----------------------------------------------------

_AGENTS = AgentProfile._meta.db_table
_LOAD = (
    f"SELECT COUNT(*) FROM {Case._meta.db_table} c "  # noqa: S608
    "WHERE c.assignee_id = {user} AND c.status IN (%s, %s)"
)


@dataclass(frozen=True)
class AgentCandidate:
    """An agent who may get a case: the profile, their load (open and pending cases) and the row,
    from which the user is built only for the agent who is chosen."""

    profile: AgentProfile
    load: int
    row: tuple[Any, ...]

    def user(self) -> User:
        return cast(User, rows.load(User, self.row, rows.width(AgentProfile)))


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
        f"SELECT {rows.columns(AgentProfile, 'a')}, {rows.columns(User, 'u')}, "  # noqa: S608
        f"({_LOAD.format(user='a.user_id')}) FROM {_AGENTS} a "
        f"JOIN {User._meta.db_table} u ON u.id = a.user_id "
        f"WHERE a.team_id = %s AND a.is_available AND u.is_active{skill}"
    )


def agent_candidates(*, team_id: int, skill_id: int | None) -> list[AgentCandidate]:
    """The team's available, active agents (with the skill, if one is given) and their loads,
    unlocked (one query)."""
    params: list[object] = [*_ACTIVE, team_id]
    if skill_id is not None:
        params.append(skill_id)
    found = []
    for row in rows.fetch(_candidates_sql(skill_id is not None), params):
        profile = rows.load(AgentProfile, row)
        assert profile is not None
        found.append(AgentCandidate(profile=profile, load=row[-1], row=row))
    return found


def agent_load(user_id: int) -> int:
    """How many open and pending cases the user holds now."""
    ((count,),) = rows.fetch(_LOAD.format(user="%s"), [user_id, *_ACTIVE])
    return int(count)


def agent_stamp(profile_id: int, at: datetime) -> None:
    """Record that the agent was routed to at ``at``, without a row lock."""
    stamp = connection.ops.adapt_datetimefield_value(at)
    rows.execute(f"UPDATE {_AGENTS} SET last_routed_at = %s WHERE id = %s", [stamp, profile_id])  # noqa: S608


def agent_claim(profile_id: int, at: datetime, *, wait: bool) -> bool:
    """Lock the agent's row if they are still available and record that they were routed to at
    ``at``; False when they are not. ``wait=False`` gives up at once on a row another transaction
    holds (SKIP LOCKED). Needs ``SELECT ... FOR UPDATE`` (not SQLite)."""
    stamp = connection.ops.adapt_datetimefield_value(at)
    skip = " SKIP LOCKED" if not wait else ""
    locked = rows.fetch(
        f"UPDATE {_AGENTS} SET last_routed_at = %s WHERE id = ("  # noqa: S608
        f"SELECT id FROM {_AGENTS} WHERE id = %s AND is_available FOR UPDATE{skip}"
        f") RETURNING id",
        [stamp, profile_id],
    )
    return bool(locked)
