"""case_update, case_check_item, case_set_status, case_reopen, case_escalate."""

from __future__ import annotations

import pytest

from serviceloop.cases.choices import CaseStatus, EventKind
from serviceloop.cases.exceptions import (
    CASE_CLOSED,
    CASE_NOT_REOPENABLE,
    FIELD_NOT_UPDATABLE,
    STATUS_NOT_SETTABLE,
    ConflictError,
    InvalidInputError,
    PermissionDeniedError,
)
from serviceloop.cases.services import (
    case_check_item,
    case_escalate,
    case_reopen,
    case_set_status,
    case_transition,
    case_update,
)
from tests.cases.helpers import events_of, snapshot
from tests.factories import CHECKLIST_ITEM, CaseFactory, CategoryFactory, CustomerFactory, stage_of

pytestmark = pytest.mark.django_db


def _closed_case(world):
    case = CaseFactory()
    actor = world.manager
    case = case_transition(case=case, to_stage=stage_of(world.version, "analysis"), actor=actor)
    case = case_check_item(case=case, actor=actor, item=CHECKLIST_ITEM)
    case = case_update(case=case, actor=actor, changes={"category": CategoryFactory()})
    case = case_transition(case=case, to_stage=stage_of(world.version, "delivery"), actor=actor)
    return case_transition(case=case, to_stage=stage_of(world.version, "closed"), actor=actor)


# --- case_update --------------------------------------------------------------------------------


def test_update_appends_one_event_per_changed_field(world):
    case = CaseFactory(attributes={"asset": "A1", "site": "SH"})
    category = CategoryFactory(code="hardware")
    before = len(events_of(case))
    updated = case_update(
        case=case,
        actor=world.front_agent,
        changes={
            "title": "Printer jams on tray 2",
            "priority": "urgent",
            "category": category,
            "attributes": {"asset": "A2", "site": None, "floor": 3},
        },
    )
    assert updated.version == case.version + 1  # one mutation of the row
    assert updated.attributes == {"asset": "A2", "floor": 3}
    new = events_of(case)[before:]
    assert [(e.kind, e.activity) for e in new] == [
        (EventKind.FIELD_CHANGED, "Field changed"),
        (EventKind.PRIORITY_CHANGED, "Priority changed"),
        (EventKind.FIELD_CHANGED, "Field changed"),
        (EventKind.FIELD_CHANGED, "Field changed"),
    ]
    assert new[0].attributes == {
        "field": "title",
        "old": case.title,
        "new": "Printer jams on tray 2",
    }
    assert new[1].attributes == {"from": "normal", "to": "urgent"}
    assert new[2].attributes == {"field": "category", "old": None, "new": "hardware"}
    assert new[3].attributes == {
        "field": "attributes",
        "old": {"asset": "A1", "site": "SH", "floor": None},
        "new": {"asset": "A2", "site": None, "floor": 3},
    }


def test_update_with_unchanged_values_appends_nothing(world):
    case = CaseFactory()
    before = snapshot(case)
    same = case_update(
        case=case,
        actor=world.manager,
        changes={"title": case.title, "priority": case.priority, "attributes": {"gone": None}},
    )
    assert same.version == case.version
    assert snapshot(case) == before


def test_update_validates_every_field_before_writing(world):
    case = CaseFactory()
    before = snapshot(case)
    with pytest.raises(InvalidInputError) as info:
        case_update(
            case=case,
            actor=world.manager,
            changes={"title": "fine title", "priority": "whenever", "status": "closed"},
        )
    assert set(info.value.fields) == {"priority", "status"}
    assert info.value.field_codes()["status"] == [FIELD_NOT_UPDATABLE]
    assert snapshot(case) == before


def test_update_refused_to_customer_and_on_closed_case(world):
    customer = CustomerFactory()
    case = CaseFactory(customer=customer)
    with pytest.raises(PermissionDeniedError):
        case_update(case=case, actor=customer.user, changes={"priority": "urgent"})
    closed = _closed_case(world)
    before = snapshot(closed)
    with pytest.raises(ConflictError):
        case_update(case=closed, actor=world.manager, changes={"priority": "urgent"})
    assert snapshot(closed) == before


# --- checklist ----------------------------------------------------------------------------------


def test_check_item_ticks_once_and_can_untick(world):
    case = case_transition(
        case=CaseFactory(), to_stage=stage_of(world.version, "analysis"), actor=world.manager
    )
    n = len(events_of(case))
    case = case_check_item(case=case, actor=world.front_agent, item=CHECKLIST_ITEM)
    assert case.checklist_done == [CHECKLIST_ITEM]
    again = case_check_item(case=case, actor=world.front_agent, item=CHECKLIST_ITEM)
    assert again.version == case.version and len(events_of(case)) == n + 1
    case = case_check_item(case=case, actor=world.front_agent, item=CHECKLIST_ITEM, checked=False)
    assert case.checklist_done == []
    events = events_of(case)[n:]
    assert [e.kind for e in events] == [EventKind.CHECKLIST_CHECKED] * 2
    assert events[0].attributes == {"item": CHECKLIST_ITEM, "checked": True, "stage": "analysis"}
    assert events[1].attributes["checked"] is False


def test_check_item_rejects_items_of_other_stages(world):
    case = CaseFactory()  # intake has no checklist
    before = snapshot(case)
    with pytest.raises(InvalidInputError) as info:
        case_check_item(case=case, actor=world.manager, item=CHECKLIST_ITEM)
    assert "item" in info.value.fields
    assert snapshot(case) == before


# --- status -------------------------------------------------------------------------------------


def test_set_status_appends_status_changed(world):
    case = CaseFactory()
    case = case_set_status(case=case, actor=world.front_agent, status=CaseStatus.PENDING)
    assert case.status == CaseStatus.PENDING
    event = events_of(case)[-1]
    assert (event.kind, event.attributes) == (
        EventKind.STATUS_CHANGED,
        {"from": "open", "to": "pending"},
    )


def test_set_status_refuses_closed_and_unknown_values(world):
    case = CaseFactory()
    before = snapshot(case)
    for status in ("closed", "done"):
        with pytest.raises(InvalidInputError) as info:
            case_set_status(case=case, actor=world.manager, status=status)
        assert info.value.field_codes()["status"] == [STATUS_NOT_SETTABLE]
    assert snapshot(case) == before


def test_set_status_on_closed_case_is_a_conflict(world):
    closed = _closed_case(world)
    with pytest.raises(ConflictError) as info:
        case_set_status(case=closed, actor=world.manager, status=CaseStatus.OPEN)
    assert info.value.code == CASE_CLOSED


# --- reopen -------------------------------------------------------------------------------------


def test_reopen_closed_case_returns_to_the_stage_it_closed_from(world):
    closed = _closed_case(world)
    n = len(events_of(closed))
    reopened = case_reopen(case=closed, actor=world.manager, reason="Customer says it fails again")
    assert reopened.status == CaseStatus.OPEN
    assert reopened.stage.code == "delivery" and reopened.closed_at is None
    events = events_of(closed)
    assert len(events) == n + 1
    assert events[-1].kind == EventKind.REOPENED
    assert events[-1].attributes == {
        "from_status": "closed",
        "from_stage": "closed",
        "to_stage": "delivery",
        "reason": "Customer says it fails again",
    }
    # It can be worked and closed again.
    again = case_transition(
        case=reopened, to_stage=stage_of(world.version, "closed"), actor=world.manager
    )
    assert again.status == CaseStatus.CLOSED


def test_reopen_resolved_case_keeps_its_stage(world):
    case = case_set_status(case=CaseFactory(), actor=world.manager, status=CaseStatus.RESOLVED)
    reopened = case_reopen(case=case, actor=world.manager)
    assert (reopened.status, reopened.stage.code) == (CaseStatus.OPEN, "intake")


def test_reopen_refuses_open_cases(world):
    case = CaseFactory()
    before = snapshot(case)
    with pytest.raises(ConflictError) as info:
        case_reopen(case=case, actor=world.manager)
    assert info.value.code == CASE_NOT_REOPENABLE
    assert snapshot(case) == before


# --- escalate -----------------------------------------------------------------------------------


def test_escalate_appends_escalated_with_increasing_level(world):
    case = CaseFactory()
    case = case_escalate(case=case, actor=None, reason="Response time standard breached")
    case = case_escalate(case=case, actor=world.manager, reason="Customer called twice")
    escalations = [e for e in events_of(case) if e.kind == EventKind.ESCALATED]
    assert [e.attributes["level"] for e in escalations] == [1, 2]
    assert escalations[0].actor is None and escalations[1].actor == world.manager
    assert case.stage.code == "intake"


def test_escalate_needs_a_reason(world):
    case = CaseFactory()
    before = snapshot(case)
    with pytest.raises(InvalidInputError):
        case_escalate(case=case, actor=world.manager, reason="  ")
    assert snapshot(case) == before
