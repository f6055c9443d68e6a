"""Escalation rules: on a warning or breach the policy notifies, raises the priority, hands the
case to another team or moves it to an escalation stage, each as its own case event."""

from __future__ import annotations

import pytest

from serviceloop.cases.models import Case, CaseEvent
from serviceloop.sla.models import EscalationRule, SlaClock
from serviceloop.sla.selectors import setup_forget
from serviceloop.sla.sweep import sla_sweep
from tests.factories import CaseFactory, stage_of
from tests.sla.conftest import at

pytestmark = pytest.mark.django_db


def rules(policy, *specs: dict) -> None:
    for order, spec in enumerate(specs):
        EscalationRule.objects.create(policy=policy, order=order, **spec)
    setup_forget()


def log(case) -> list[tuple[str, dict]]:
    return [
        (e.kind, e.attributes)
        for e in CaseEvent.objects.filter(case=case).order_by("id")
        if e.kind not in {"created", "assigned"} or e.attributes.get("by") == "sla"
    ]


def test_warning_notifies_and_breach_raises_reassigns_and_moves(world, sla):
    rules(
        sla.standard,
        {"trigger": "warning", "action": "notify"},
        {"trigger": "breach", "metric": "first_response", "action": "raise_priority"},
        {
            "trigger": "breach",
            "metric": "first_response",
            "action": "reassign_team",
            "team": world.back,
        },
        {
            "trigger": "breach",
            "metric": "first_response",
            "action": "move_stage",
            "stage_code": "delivery",
        },
        {"trigger": "breach", "metric": "resolution", "action": "notify"},
    )
    case = CaseFactory(at=at(0, 9))
    counts = sla_sweep(now=at(0, 11, 5))
    assert (counts.warnings, counts.breaches, counts.escalated_cases) == (1, 1, 1)
    kinds = [kind for kind, _ in log(case)][1:]  # after the start stage
    assert kinds == [
        "sla_warning",
        "sla_breached",
        "escalated",  # notify, on the warning
        "priority_changed",
        "assigned",
        "stage_entered",
    ]
    events = dict(log(case)[1:])
    assert events["escalated"]["action"] == "notify"
    assert events["escalated"]["notify"]["team"] == world.front.code
    assert (events["priority_changed"]["from"], events["priority_changed"]["to"]) == (
        "normal",
        "high",
    )
    assert events["assigned"]["team"] == world.back.code and events["assigned"]["assignee"] is None
    assert events["stage_entered"]["transition_kind"] == "escalation"
    assert all(attrs["by"] == "sla" for _, attrs in log(case)[3:])
    assert all(e.actor is None for e in CaseEvent.objects.filter(case=case, kind="escalated"))

    case = Case.objects.get(pk=case.pk)
    assert (case.priority, case.team, case.stage.code, case.assignee) == (
        "high",
        world.back,
        "delivery",
        None,
    )
    # The higher priority selected the urgent policy: the clocks follow it, and the breach of the
    # first response is not recorded a second time against the shorter target.
    clocks = {c.metric: c for c in SlaClock.objects.filter(case=case)}
    assert clocks["resolution"].policy == sla.urgent
    assert clocks["first_response"].target_seconds == 30 * 60
    sla_sweep(now=at(0, 12))
    assert CaseEvent.objects.filter(case=case, kind="sla_breached").count() == 1


def test_priority_stops_rising_at_urgent_and_a_missing_edge_is_reported(world, sla):
    rules(
        sla.urgent,
        {"trigger": "breach", "action": "raise_priority"},
        {"trigger": "breach", "action": "move_stage", "stage_code": "closed"},
    )
    case = CaseFactory(at=at(0, 9), priority="urgent")
    sla_sweep(now=at(0, 9, 31))
    kinds = [kind for kind, _ in log(case)][1:]
    assert kinds == ["sla_warning", "sla_breached", "escalated"]
    refused = CaseEvent.objects.get(case=case, kind="escalated").attributes
    assert (refused["action"], refused["moved"], refused["reason"]) == (
        "move_stage",
        False,
        "no transition",
    )
    assert Case.objects.get(pk=case.pk).stage == stage_of(world.version, "intake")


def test_a_change_that_notices_the_breach_escalates_too(world, sla):
    rules(sla.standard, {"trigger": "breach", "metric": "first_response", "action": "notify"})
    case = CaseFactory(at=at(0, 9))
    from serviceloop.cases.services import message_add

    message_add(
        case=case,
        author=world.front_agent,
        body="Sorry for the wait.",
        kind="public",
        channel="portal",
        at=at(0, 12),
    )
    kinds = [kind for kind, _ in log(case)][1:]
    # The reply is appended first; settling the clock it stops records the late breach.
    assert kinds == ["replied", "sla_warning", "sla_breached", "escalated"]
    assert sla_sweep(now=at(0, 13)).breaches == 0
