"""Queue sorting, the unread marker and bulk actions (each case through its own service)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from serviceloop.cases.choices import Channel, MessageKind, Priority
from serviceloop.cases.models import Case
from serviceloop.cases.services import case_transition, case_update, message_add
from serviceloop.cases.views.bulk import bulk_apply
from tests.factories import CaseFactory, stage_of

pytestmark = pytest.mark.django_db
QUEUE = "/work/"


def _numbers(response) -> list[str]:
    return [c.number for c in response.context["cases"]]


def test_sort_by_priority_and_by_due(client, world) -> None:
    low = CaseFactory(priority=Priority.LOW)
    urgent = CaseFactory(priority=Priority.URGENT)
    normal = CaseFactory(priority=Priority.NORMAL)
    Case.objects.filter(pk=low.pk).update(due_at=timezone.now() - timedelta(hours=3))
    Case.objects.filter(pk=normal.pk).update(due_at=timezone.now() - timedelta(hours=1))
    Case.objects.filter(pk=urgent.pk).update(due_at=None)
    client.force_login(world.manager)
    by_priority = client.get(QUEUE, {"queue": "all", "sort": "priority"})
    assert _numbers(by_priority) == [urgent.number, normal.number, low.number]
    assert _numbers(client.get(QUEUE, {"queue": "all", "sort": "due"})) == [
        low.number,
        normal.number,
        urgent.number,
    ]
    # the overdue queue shows the most overdue first without being asked
    assert _numbers(client.get(QUEUE, {"queue": "overdue"})) == [low.number, normal.number]


def test_unread_marker_when_the_customer_wrote_last(client, world) -> None:
    answered, waiting = CaseFactory(), CaseFactory()
    for case in (answered, waiting):
        message_add(
            case=case, author=None, body="Any news?", kind=MessageKind.PUBLIC, channel=Channel.EMAIL
        )
    message_add(
        case=answered,
        author=world.manager,
        body="Tomorrow.",
        kind=MessageKind.PUBLIC,
        channel=Channel.AGENT,
    )
    client.force_login(world.manager)
    response = client.get(QUEUE, {"queue": "all"})
    unread = {c.number: c.unread for c in response.context["cases"]}
    assert unread == {answered.number: False, waiting.number: True}
    assert response.content.decode().count('data-testid="unread"') == 1


def test_bulk_priority_changes_every_selected_case(client, world) -> None:
    cases = [CaseFactory(), CaseFactory()]
    client.force_login(world.front_agent)
    response = client.post(
        "/work/bulk/",
        {
            "case": [c.number for c in cases],
            "action": "priority",
            "priority_value": Priority.HIGH,
            "next": "/work/?queue=team",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/work/?queue=team"
    assert set(Case.objects.values_list("priority", flat=True)) == {Priority.HIGH}


def test_bulk_move_refuses_per_case_where_the_process_does_not_allow(world) -> None:
    at_intake = CaseFactory()
    at_delivery = case_transition(
        case=CaseFactory(), to_stage=stage_of(world.version, "delivery"), actor=world.manager
    )
    outcome = bulk_apply(
        user=world.manager,
        numbers=[at_intake.number, at_delivery.number],
        action="move",
        value="closed",
    )
    assert outcome.done == [at_delivery.number]
    assert [n for n, _reason in outcome.refused] == [at_intake.number]
    at_intake.refresh_from_db()
    assert at_intake.stage.code == "intake"


def test_bulk_refusals_name_the_case_and_reason(world) -> None:
    at_analysis = case_transition(
        case=CaseFactory(), to_stage=stage_of(world.version, "analysis"), actor=world.manager
    )
    at_intake = CaseFactory()
    outcome = bulk_apply(
        user=world.manager,
        numbers=[at_analysis.number, at_intake.number],
        action="move",
        value="closed",
    )
    assert outcome.done == []
    reasons = dict(outcome.refused)
    assert "allows no move" in reasons[at_intake.number]
    assert "allows no move" in reasons[at_analysis.number]
    assert set(Case.objects.values_list("stage__code", flat=True)) == {"analysis", "intake"}


def test_bulk_never_reaches_cases_the_user_may_not_see(client, world) -> None:
    theirs = case_transition(
        case=CaseFactory(), to_stage=stage_of(world.version, "delivery"), actor=world.manager
    )
    mine = CaseFactory()
    client.force_login(world.front_agent)
    client.post(
        "/work/bulk/",
        {"case": [theirs.number, mine.number], "action": "priority", "priority_value": "urgent"},
    )
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert theirs.priority == Priority.NORMAL
    assert mine.priority == Priority.URGENT
    outcome = bulk_apply(user=world.front_agent, numbers=[theirs.number], action="close", value="")
    assert outcome.refused == [(theirs.number, "Not found.")]


def test_agent_cannot_bulk_assign_to_someone_else(world) -> None:
    case = CaseFactory()
    before = case.assignee_id
    outcome = bulk_apply(
        user=world.front_agent,
        numbers=[case.number],
        action="assign",
        value=str(world.back_agent.pk),
    )
    assert outcome.done == [] and "Only managers" in outcome.refused[0][1]
    case.refresh_from_db()
    assert case.assignee_id == before


def test_bulk_close_moves_to_an_end_stage_where_one_follows(world) -> None:
    at_delivery = case_transition(
        case=CaseFactory(), to_stage=stage_of(world.version, "delivery"), actor=world.manager
    )
    at_intake = CaseFactory()
    case_update(case=at_intake, actor=world.manager, changes={"priority": Priority.LOW})
    outcome = bulk_apply(
        user=world.manager, numbers=[at_delivery.number, at_intake.number], action="close", value=""
    )
    assert outcome.done == [at_delivery.number]
    assert "no transition to an end stage" in dict(outcome.refused)[at_intake.number]
    at_delivery.refresh_from_db()
    assert at_delivery.status == "closed"


def test_reassign_picker_offers_the_responsible_team_first_with_its_load(client, world) -> None:
    from tests.factories import AgentFactory

    busy = world.front_agent
    idle = AgentFactory(team=world.front)
    case = CaseFactory()  # at intake: the front team's stage, routed to one of them
    CaseFactory()
    client.force_login(world.manager)
    response = client.get(f"/work/cases/{case.number}/")
    field = response.context["assign_form"].fields["assignee"]
    people = list(field.queryset)
    front = [
        u
        for u in people
        if getattr(u, "agent_profile", None) and u.agent_profile.team == world.front
    ]
    assert people[: len(front)] == front  # the responsible team first
    assert [u.load for u in front] == sorted(u.load for u in front)  # least loaded first
    assert {busy, idle} <= set(front)
    body = response.content.decode()
    assert f"{world.front.name} · {front[0].load} of {front[0].agent_profile.capacity} open" in body
