"""Routing of new and moved cases: team of the stage, skill, least load, capacity, round-robin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from serviceloop.accounts.models import AgentProfile
from serviceloop.cases.choices import CaseStatus, EventKind
from serviceloop.cases.exceptions import (
    AGENT_SELF_ONLY,
    InvalidInputError,
    PermissionDeniedError,
)
from serviceloop.cases.routing import route_pick_agent
from serviceloop.cases.services import case_assign, case_set_status
from tests.cases.helpers import agent_loads, events_of, snapshot
from tests.factories import (
    AgentFactory,
    CaseFactory,
    CategoryFactory,
    CustomerFactory,
    ManagerFactory,
    SkillFactory,
    TeamFactory,
    build_process_version,
)

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


@pytest.fixture
def team_version(db):
    """A process whose intake belongs to an empty team the test staffs itself."""
    front = TeamFactory()
    return build_process_version(is_default=True, front_team=front), front


def _cases(n, **kwargs):
    return [CaseFactory(**kwargs) for _ in range(n)]


def test_new_case_goes_to_least_loaded_agent(team_version):
    _, team = team_version
    busy, idle = AgentFactory(team=team), AgentFactory(team=team)
    for case in _cases(2):
        case_assign(case=case, assignee=busy, actor=ManagerFactory())
    assert agent_loads([busy.pk, idle.pk]) == {busy.pk: 2}
    assert CaseFactory().assignee == idle


def test_round_robin_between_equally_loaded_agents(team_version):
    _, team = team_version
    a, b, c = AgentFactory(team=team), AgentFactory(team=team), AgentFactory(team=team)
    picked = [CaseFactory(at=T0 + timedelta(minutes=i)).assignee for i in range(6)]
    assert picked == [a, b, c, a, b, c]


def test_round_robin_prefers_the_agent_routed_longest_ago(team_version):
    _, team = team_version
    recent, long_ago = AgentFactory(team=team), AgentFactory(team=team)
    AgentProfile.objects.filter(user=recent).update(last_routed_at=T0)
    AgentProfile.objects.filter(user=long_ago).update(last_routed_at=T0 - timedelta(days=1))
    case = CaseFactory(at=T0 + timedelta(hours=1))
    assert case.assignee == long_ago
    assert AgentProfile.objects.get(user=long_ago).last_routed_at == T0 + timedelta(hours=1)


def test_closed_and_resolved_cases_do_not_count_as_load(team_version):
    _, team = team_version
    a = AgentFactory(team=team)
    b = AgentFactory(team=team)
    first = CaseFactory(at=T0)
    assert first.assignee == a
    case_set_status(case=first, actor=a, status=CaseStatus.RESOLVED)
    assert agent_loads([a.pk, b.pk]) == {}
    pending = CaseFactory(at=T0 + timedelta(minutes=1))
    assert pending.assignee == b
    case_set_status(case=pending, actor=b, status=CaseStatus.PENDING)
    assert agent_loads([a.pk, b.pk]) == {b.pk: 1}
    assert CaseFactory(at=T0 + timedelta(minutes=2)).assignee == a


def test_category_skill_is_required(team_version):
    _, team = team_version
    skill = SkillFactory()
    AgentFactory(team=team)  # no skill, idle
    expert = AgentFactory(team=team, skills=[skill])
    category = CategoryFactory(skill=skill)
    for _ in range(3):
        assert CaseFactory(category=category).assignee == expert


def test_stage_skill_applies_when_category_has_none(db):
    team, skill = TeamFactory(), SkillFactory()
    version = build_process_version(is_default=True, front_team=team)
    # Stage skill is part of the definition: build a draft, set it, then publish.
    draft = build_process_version(process=version.process, status="draft", front_team=team)
    intake = draft.stages.get(code="intake")
    intake.required_skill = skill
    intake.save()
    draft.status = "published"
    draft.save()
    AgentFactory(team=team)
    expert = AgentFactory(team=team, skills=[skill])
    assert CaseFactory(process_version=draft).assignee == expert


def test_agents_at_capacity_get_no_more_cases(team_version):
    _, team = team_version
    small = AgentFactory(team=team, capacity=1)
    first = CaseFactory(at=T0)
    assert first.assignee == small
    overflow = CaseFactory(at=T0 + timedelta(minutes=1))
    assert overflow.assignee is None and overflow.team == team
    assert [e.kind for e in events_of(overflow)] == [EventKind.CREATED, EventKind.STAGE_ENTERED]


def test_unavailable_and_inactive_agents_are_skipped(team_version):
    _, team = team_version
    AgentFactory(team=team, is_available=False)
    AgentFactory(team=team, is_active=False)
    available = AgentFactory(team=team)
    assert {CaseFactory().assignee for _ in range(3)} == {available}


def test_agents_of_other_teams_are_never_picked(team_version):
    AgentFactory()  # another team
    assert CaseFactory().assignee is None


def test_route_pick_agent_returns_none_for_empty_team(db):
    assert route_pick_agent(team=TeamFactory(), skill=None, at=T0) is None


# --- manual assignment --------------------------------------------------------------------------


def test_manager_reassigns_to_an_agent_of_another_team_and_case_follows(world):
    case = CaseFactory()
    before = len(events_of(case))
    moved = case_assign(case=case, assignee=world.back_agent, actor=world.manager)
    assert moved.assignee == world.back_agent and moved.team == world.back
    events = events_of(case)
    assert len(events) == before + 1
    assert events[-1].kind == EventKind.ASSIGNED
    assert events[-1].attributes == {
        "assignee": world.back_agent.username,
        "from_assignee": world.front_agent.username,
        "team": world.back.code,
        "by": "manual",
    }


def test_manager_can_unassign_and_reassigning_the_same_agent_is_a_no_op(world):
    case = CaseFactory()
    same = case_assign(case=case, assignee=world.front_agent, actor=world.manager)
    assert same.version == case.version and len(events_of(case)) == 3
    cleared = case_assign(case=case, assignee=None, actor=world.manager)
    assert cleared.assignee is None and cleared.team == world.front


def test_agent_takes_an_unassigned_case_of_their_team(world):
    case = CaseFactory()
    case = case_assign(case=case, assignee=None, actor=world.manager)
    colleague = AgentFactory(team=world.front)
    taken = case_assign(case=case, assignee=colleague, actor=colleague)
    assert taken.assignee == colleague


@pytest.mark.parametrize("attempt", ["assigned_case", "for_someone_else", "other_team"])
def test_agent_cannot_assign_beyond_taking_own_team_unassigned_cases(world, attempt):
    case = CaseFactory()
    colleague = AgentFactory(team=world.front)
    if attempt == "assigned_case":  # already assigned to front_agent by routing
        actor, assignee = colleague, colleague
    elif attempt == "for_someone_else":
        case = case_assign(case=case, assignee=None, actor=world.manager)
        actor, assignee = colleague, world.front_agent
    else:
        case = case_assign(case=case, assignee=None, actor=world.manager)
        actor = assignee = world.back_agent
    before = snapshot(case)
    with pytest.raises(PermissionDeniedError) as info:
        case_assign(case=case, assignee=assignee, actor=actor)
    assert info.value.code == AGENT_SELF_ONLY
    assert snapshot(case) == before


def test_cases_cannot_be_assigned_to_customers(world):
    case = CaseFactory()
    before = snapshot(case)
    with pytest.raises(InvalidInputError):
        case_assign(case=case, assignee=CustomerFactory().user, actor=world.manager)
    assert snapshot(case) == before


def test_customer_cannot_assign(world):
    customer = CustomerFactory()
    case = CaseFactory(customer=customer)
    with pytest.raises(PermissionDeniedError):
        case_assign(case=case, assignee=world.front_agent, actor=customer.user)
