"""Event-log completeness: every mutating service appends exactly its event(s), in the same
transaction, with the case, activity, UTC timestamp, actor and attributes; refusals append none."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from serviceloop.cases.choices import CaseStatus, EventKind
from serviceloop.cases.models import AppendOnlyError, Case, CaseEvent
from serviceloop.cases.services import (
    attachment_add,
    case_assign,
    case_check_item,
    case_create,
    case_escalate,
    case_reopen,
    case_set_status,
    case_transition,
    case_update,
    message_add,
)
from serviceloop.core.exceptions import ApplicationError
from tests.factories import CHECKLIST_ITEM, AgentFactory, CategoryFactory, CustomerFactory, stage_of

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_every_mutation_appends_exactly_one_event_of_its_kind(world):
    """Walk one case through every service; after each call exactly one new event exists."""
    customer = CustomerFactory()
    manager, agent = world.manager, world.front_agent
    clock = iter(T0 + timedelta(minutes=i) for i in range(1, 100))
    state: dict[str, Any] = {}

    def create() -> Case:
        return case_create(
            actor=customer.user,
            customer=customer,
            title="Cannot log in",
            description="Password reset mail never arrives.",
            channel="portal",
            at=T0,
        )

    state["case"] = create()
    assert [e.kind for e in CaseEvent.objects.filter(case=state["case"]).order_by("id")] == [
        EventKind.CREATED,
        EventKind.STAGE_ENTERED,
        EventKind.ASSIGNED,
    ]

    steps: list[tuple[EventKind, Any, Callable[[Case, datetime], Any]]] = [
        (
            EventKind.ASSIGNED,
            manager,
            lambda c, at: case_assign(case=c, assignee=world.manager, actor=manager, at=at),
        ),
        (
            EventKind.PRIORITY_CHANGED,
            agent,
            lambda c, at: case_update(case=c, actor=agent, changes={"priority": "high"}, at=at),
        ),
        (
            EventKind.FIELD_CHANGED,
            agent,
            lambda c, at: case_update(
                case=c, actor=agent, changes={"category": CategoryFactory()}, at=at
            ),
        ),
        (
            EventKind.STAGE_ENTERED,
            agent,
            lambda c, at: case_transition(
                case=c, to_stage=stage_of(world.version, "analysis"), actor=agent, at=at
            ),
        ),
        (
            EventKind.CHECKLIST_CHECKED,
            agent,
            lambda c, at: case_check_item(case=c, actor=agent, item=CHECKLIST_ITEM, at=at),
        ),
        (
            EventKind.REPLIED,
            agent,
            lambda c, at: message_add(
                case=c, author=agent, body="Which browser?", kind="public", channel="agent", at=at
            ),
        ),
        (
            EventKind.STATUS_CHANGED,
            agent,
            lambda c, at: case_set_status(case=c, actor=agent, status=CaseStatus.PENDING, at=at),
        ),
        (
            EventKind.CUSTOMER_REPLIED,
            customer.user,
            lambda c, at: message_add(
                case=c, author=customer.user, body="Firefox", kind="public", channel="portal", at=at
            ),
        ),
        (
            EventKind.NOTE_ADDED,
            agent,
            lambda c, at: message_add(
                case=c, author=agent, body="Mail filter?", kind="internal", channel="agent", at=at
            ),
        ),
        (
            EventKind.ATTACHMENT_ADDED,
            customer.user,
            lambda c, at: attachment_add(
                case=c,
                uploaded_by=customer.user,
                file=SimpleUploadedFile("log.txt", b"bounce\n"),
                at=at,
            ),
        ),
        (
            EventKind.ESCALATED,
            None,
            lambda c, at: case_escalate(
                case=c, actor=None, reason="Response standard breached", at=at
            ),
        ),
        (
            EventKind.STAGE_ENTERED,
            agent,
            lambda c, at: case_transition(
                case=c, to_stage=stage_of(world.version, "delivery"), actor=agent, at=at
            ),
        ),
        (
            EventKind.CLOSED,
            manager,
            lambda c, at: case_transition(
                case=c, to_stage=stage_of(world.version, "closed"), actor=manager, at=at
            ),
        ),
        (
            EventKind.REOPENED,
            manager,
            lambda c, at: case_reopen(case=c, actor=manager, reason="Fails again", at=at),
        ),
    ]
    case = state["case"]
    for kind, actor, call in steps:
        before = CaseEvent.objects.filter(case=case).count()
        version = Case.objects.get(pk=case.pk).version
        at = next(clock)
        call(case, at)
        new = list(CaseEvent.objects.filter(case=case).order_by("id"))[before:]
        assert len(new) == 1, kind
        event = new[0]
        assert (event.kind, event.actor, event.timestamp) == (kind, actor, at), kind
        assert event.timestamp.utcoffset() == timedelta(0)
        assert Case.objects.get(pk=case.pk).version == version + 1, kind
        assert event.activity, kind

    kinds_seen = set(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
    not_from_case_services = {
        EventKind.SLA_WARNING,
        EventKind.SLA_BREACHED,
        EventKind.SURVEY_ANSWERED,
    }
    assert kinds_seen == set(EventKind.values) - not_from_case_services


def test_activity_is_stage_name_for_stage_events_and_english_label_otherwise(world):
    from django.utils import translation

    customer = CustomerFactory()
    with translation.override("zh-hans"):
        case = case_create(
            actor=customer.user, customer=customer, title="t", description="d", channel="portal"
        )
    activities = list(
        CaseEvent.objects.filter(case=case).order_by("id").values_list("activity", flat=True)
    )
    assert activities == ["Case created", "Intake", "Assigned"]


def test_events_roll_back_with_a_failed_outer_transaction(world):
    customer = CustomerFactory()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        case_create(
            actor=customer.user, customer=customer, title="t", description="d", channel="portal"
        )
        raise Boom
    assert Case.objects.count() == 0 and CaseEvent.objects.count() == 0


def test_refused_mutations_append_no_event(world):
    customer = CustomerFactory()
    case = case_create(
        actor=customer.user, customer=customer, title="t", description="d", channel="portal"
    )
    outsider = AgentFactory()
    count = CaseEvent.objects.count()
    attempts = [
        lambda: case_transition(
            case=case, to_stage=stage_of(world.version, "closed"), actor=world.manager
        ),
        lambda: case_transition(
            case=case, to_stage=stage_of(world.version, "analysis"), actor=outsider
        ),
        lambda: case_update(case=case, actor=customer.user, changes={"title": "x"}),
        lambda: case_set_status(case=case, actor=outsider, status="pending"),
        lambda: case_check_item(case=case, actor=world.manager, item="nope"),
        lambda: case_reopen(case=case, actor=world.manager),
        lambda: case_assign(case=case, assignee=outsider, actor=outsider),
        lambda: message_add(case=case, author=outsider, body="x", kind="public", channel="agent"),
        lambda: case_escalate(case=case, actor=outsider, reason="r"),
    ]
    for attempt in attempts:
        with pytest.raises(ApplicationError):
            attempt()
    assert CaseEvent.objects.count() == count


def test_events_are_immutable(world):
    customer = CustomerFactory()
    case = case_create(
        actor=customer.user, customer=customer, title="t", description="d", channel="portal"
    )
    event = CaseEvent.objects.filter(case=case).first()
    event.activity = "tampered"
    with pytest.raises(AppendOnlyError, match="append-only"):
        event.save()
