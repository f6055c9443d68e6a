"""case_transition: only along the version's transitions, guards, closing, re-routing, versions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from serviceloop.cases.choices import CaseStatus, EventKind
from serviceloop.cases.exceptions import (
    CHECKLIST_OPEN,
    FIELD_REQUIRED,
    ConflictError,
    GuardFailedError,
    PermissionDeniedError,
    Problem,
    StaleVersionError,
    TransitionNotAllowedError,
)
from serviceloop.cases.selectors import case_allowed_transitions, case_guard_problems
from serviceloop.cases.services import case_check_item, case_transition, case_update
from tests.cases.helpers import events_of, snapshot
from tests.factories import (
    CHECKLIST_ITEM,
    AgentFactory,
    CaseFactory,
    CategoryFactory,
    CustomerFactory,
    build_process_version,
    stage_of,
)

pytestmark = pytest.mark.django_db


def _to_analysis(case, actor):
    return case_transition(
        case=case, to_stage=stage_of(case.process_version, "analysis"), actor=actor
    )


def _ready_to_leave_analysis(case, actor):
    case = _to_analysis(case, actor)
    case = case_check_item(case=case, actor=actor, item=CHECKLIST_ITEM)
    return case_update(case=case, actor=actor, changes={"category": CategoryFactory()})


def test_transition_moves_case_and_appends_one_stage_entered_event(world):
    case = CaseFactory()
    before = len(events_of(case))
    at = case.created_at + timedelta(hours=1)
    moved = case_transition(
        case=case, to_stage=stage_of(world.version, "analysis"), actor=world.front_agent, at=at
    )
    assert moved.stage.code == "analysis"
    assert moved.stage_entered_at == at
    assert moved.version == case.version + 1
    assert moved.due_at == at + timedelta(minutes=240)
    events = events_of(case)
    assert len(events) == before + 1
    event = events[-1]
    assert (event.kind, event.activity, event.actor, event.timestamp) == (
        EventKind.STAGE_ENTERED,
        "Needs analysis",
        world.front_agent,
        at,
    )
    assert event.attributes == {
        "from_stage": "intake",
        "to_stage": "analysis",
        "transition_kind": "forward",
    }


def test_transition_rejects_undeclared_edge_and_changes_nothing(world):
    case = CaseFactory()
    before = snapshot(case)
    with pytest.raises(TransitionNotAllowedError) as info:
        case_transition(case=case, to_stage=stage_of(world.version, "closed"), actor=world.manager)
    assert info.value.status_code == 409
    assert snapshot(case) == before


def test_transition_rejects_stage_of_another_process_version(world):
    other = build_process_version()
    case = CaseFactory()
    before = snapshot(case)
    with pytest.raises(TransitionNotAllowedError):
        case_transition(case=case, to_stage=stage_of(other, "analysis"), actor=world.manager)
    assert snapshot(case) == before


def test_transition_guards_list_every_unmet_checklist_item_and_required_field(world):
    case = _to_analysis(CaseFactory(), world.front_agent)
    before = snapshot(case)
    with pytest.raises(GuardFailedError) as info:
        case_transition(
            case=case, to_stage=stage_of(world.version, "delivery"), actor=world.manager
        )
    assert info.value.status_code == 422
    assert info.value.fields == {
        "checklist": [Problem(CHECKLIST_OPEN, {"item": CHECKLIST_ITEM})],
        "category": [Problem(FIELD_REQUIRED)],
    }
    assert snapshot(case) == before


def test_required_field_can_be_a_custom_attribute(world):
    version = build_process_version(analysis_checklist=(), analysis_required=("contract_no",))
    case = _to_analysis(CaseFactory(process_version=version), world.manager)
    assert case_guard_problems(case) == {"contract_no": [Problem(FIELD_REQUIRED)]}
    case = case_update(
        case=case, actor=world.manager, changes={"attributes": {"contract_no": "C-9"}}
    )
    assert case_guard_problems(case) == {}
    case = case_transition(case=case, to_stage=stage_of(version, "delivery"), actor=world.manager)
    assert case.stage.code == "delivery"


def test_transition_with_guards_met_reroutes_to_the_next_team(world):
    case = _ready_to_leave_analysis(CaseFactory(), world.front_agent)
    assert case.assignee == world.front_agent
    moved = case_transition(
        case=case, to_stage=stage_of(world.version, "delivery"), actor=world.front_agent
    )
    assert moved.team == world.back and moved.assignee == world.back_agent
    assert moved.checklist_done == []
    event = events_of(case)[-1]
    assert event.attributes["team"] == {"from": world.front.code, "to": world.back.code}
    assert event.attributes["assignee"] == {
        "from": world.front_agent.username,
        "to": world.back_agent.username,
    }


def test_rework_edge_is_marked_and_clears_the_checklist_again(world):
    case = _ready_to_leave_analysis(CaseFactory(), world.front_agent)
    case = case_transition(
        case=case, to_stage=stage_of(world.version, "delivery"), actor=world.manager
    )
    case = case_transition(
        case=case, to_stage=stage_of(world.version, "analysis"), actor=world.manager
    )
    assert case.stage.code == "analysis" and case.checklist_done == []
    assert case.team == world.front
    event = events_of(case)[-1]
    assert event.kind == EventKind.STAGE_ENTERED
    assert event.attributes["transition_kind"] == "rework"


def test_escalation_edge_appends_one_stage_entered_event_marked_escalation(world):
    case = CaseFactory()
    before = len(events_of(case))
    case = case_transition(
        case=case, to_stage=stage_of(world.version, "delivery"), actor=world.manager
    )
    events = events_of(case)
    assert len(events) == before + 1
    assert events[-1].kind == EventKind.STAGE_ENTERED
    assert events[-1].attributes["transition_kind"] == "escalation"
    assert not case.events.filter(kind=EventKind.ESCALATED).exists()


def test_entering_end_stage_closes_case_with_one_closed_event(world):
    case = _ready_to_leave_analysis(CaseFactory(), world.front_agent)
    case = case_transition(
        case=case, to_stage=stage_of(world.version, "delivery"), actor=world.manager
    )
    before = len(events_of(case))
    at = datetime(2030, 1, 1, tzinfo=UTC)
    case = case_transition(
        case=case, to_stage=stage_of(world.version, "closed"), actor=world.manager, at=at
    )
    assert case.status == CaseStatus.CLOSED and case.closed_at == at
    events = events_of(case)
    assert len(events) == before + 1
    assert (events[-1].kind, events[-1].activity) == (EventKind.CLOSED, "Closed")
    assert events[-1].attributes["to_stage"] == "closed"
    assert case_allowed_transitions(case) == []
    with pytest.raises(ConflictError):
        case_transition(
            case=case, to_stage=stage_of(world.version, "delivery"), actor=world.manager
        )


def test_stale_expected_version_is_a_conflict_and_changes_nothing(world):
    case = CaseFactory()
    case_update(case=case, actor=world.manager, changes={"priority": "high"})
    before = snapshot(case)
    with pytest.raises(StaleVersionError) as info:
        case_transition(
            case=case,
            to_stage=stage_of(world.version, "analysis"),
            actor=world.manager,
            expected_version=case.version,  # the version read before the update
        )
    assert info.value.status_code == 409
    assert info.value.extra == {"version": case.version + 1}
    assert snapshot(case) == before


def test_matching_expected_version_succeeds(world):
    case = CaseFactory()
    moved = case_transition(
        case=case,
        to_stage=stage_of(world.version, "analysis"),
        actor=world.manager,
        expected_version=case.version,
    )
    assert moved.version == case.version + 1


def test_case_stays_on_its_version_when_a_new_default_version_is_published(world):
    case = CaseFactory()
    newer = build_process_version(process=world.version.process)
    assert newer.number == world.version.number + 1
    with pytest.raises(TransitionNotAllowedError):
        case_transition(case=case, to_stage=stage_of(newer, "analysis"), actor=world.manager)
    moved = case_transition(
        case=case, to_stage=stage_of(world.version, "analysis"), actor=world.manager
    )
    assert moved.process_version == world.version


@pytest.mark.parametrize("who", ["customer", "other_team_agent"])
def test_transition_refused_to_users_without_change_rights(world, who):
    customer = CustomerFactory()
    case = CaseFactory(customer=customer)
    actor = customer.user if who == "customer" else AgentFactory()
    before = snapshot(case)
    with pytest.raises(PermissionDeniedError):
        case_transition(case=case, to_stage=stage_of(world.version, "analysis"), actor=actor)
    assert snapshot(case) == before


def test_allowed_transitions_lists_outgoing_edges_in_stage_order(world):
    case = CaseFactory()
    targets = [t.target.code for t in case_allowed_transitions(case)]
    assert targets == ["analysis", "delivery"]
