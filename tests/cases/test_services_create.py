"""case_create: number, start stage, routing, its three events, and input validation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from serviceloop.cases.choices import CaseStatus, Channel, EventKind
from serviceloop.cases.exceptions import (
    ATTRIBUTE_VALUE,
    DESCRIPTION_REQUIRED,
    NO_DEFAULT_PROCESS,
    TITLE_REQUIRED,
    TITLE_TOO_LONG,
    VERSION_NOT_PUBLISHED,
    InvalidInputError,
    PermissionDeniedError,
)
from serviceloop.cases.models import Case, CaseEvent
from serviceloop.cases.services import case_create
from serviceloop.processes.choices import VersionStatus
from tests.factories import CategoryFactory, CustomerFactory, SkillFactory, build_process_version

pytestmark = pytest.mark.django_db


def _create(customer, **overrides):
    kwargs = {
        "actor": customer.user,
        "customer": customer,
        "title": "VPN drops every hour",
        "description": "Since Monday the VPN disconnects.",
        "channel": Channel.PORTAL,
    }
    return case_create(**(kwargs | overrides))


def test_case_create_starts_on_start_stage_of_default_version_and_routes(world):
    customer = CustomerFactory()
    at = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    case = _create(customer, at=at)
    case.refresh_from_db()
    assert case.number == f"SL-{case.pk:06d}"
    assert case.process_version == world.version
    assert case.stage.code == "intake"
    assert case.status == CaseStatus.OPEN
    assert case.team == world.front
    assert case.assignee == world.front_agent
    assert case.created_at == at and case.stage_entered_at == at
    assert case.due_at == datetime(2026, 3, 2, 10, 30, tzinfo=UTC)  # intake standard: 60 min
    events = list(case.events.order_by("id"))
    assert [e.kind for e in events] == [
        EventKind.CREATED,
        EventKind.STAGE_ENTERED,
        EventKind.ASSIGNED,
    ]
    assert [e.activity for e in events] == ["Case created", "Intake", "Assigned"]
    assert all(e.timestamp == at and e.actor == customer.user for e in events)
    assert events[1].attributes == {
        "from_stage": None,
        "to_stage": "intake",
        "transition_kind": "start",
    }
    assert events[2].attributes["assignee"] == world.front_agent.username
    assert events[0].attributes["number"] == case.number


def test_case_create_numbers_are_unique_and_sequential_by_pk(world):
    customer = CustomerFactory()
    cases = [_create(customer) for _ in range(3)]
    assert len({c.number for c in cases}) == 3
    assert all(c.number == f"SL-{c.pk:06d}" for c in cases)


def test_case_create_without_qualified_agent_waits_in_team_queue(world):
    skill = SkillFactory()
    category = CategoryFactory(skill=skill)  # nobody in the front team has it
    case = _create(CustomerFactory(), category=category)
    assert case.team == world.front and case.assignee is None
    kinds = list(case.events.values_list("kind", flat=True))
    assert kinds == [EventKind.CREATED, EventKind.STAGE_ENTERED]


def test_case_create_by_system_intake_has_no_actor(world):
    customer = CustomerFactory(user=None)
    case = _create(customer, actor=None, channel=Channel.EMAIL)
    assert set(case.events.values_list("actor", flat=True)) == {None}


def test_case_create_accepts_category_code_and_attributes(world):
    CategoryFactory(code="network")
    case = _create(CustomerFactory(), category="network", attributes={"asset": "LT-42"})
    assert case.category.code == "network"
    assert case.attributes == {"asset": "LT-42"}


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"title": "  "}, "title", TITLE_REQUIRED),
        ({"description": ""}, "description", DESCRIPTION_REQUIRED),
        ({"title": "x" * 201}, "title", TITLE_TOO_LONG),
        ({"priority": "asap"}, "priority", None),
        ({"channel": "fax"}, "channel", None),
        ({"attributes": ["a"]}, "attributes", None),
        ({"attributes": {"when": object()}}, "attributes", ATTRIBUTE_VALUE),
        ({"attributes": {"": 1}}, "attributes", None),
        ({"category": "no-such"}, "category", None),
    ],
)
def test_case_create_rejects_bad_input_and_writes_nothing(world, overrides, field, code):
    customer = CustomerFactory()
    with pytest.raises(InvalidInputError) as info:
        _create(customer, **overrides)
    fields = info.value.field_codes()
    assert field in fields
    if code is not None:
        assert fields[field] == [code]
    assert Case.objects.count() == 0 and CaseEvent.objects.count() == 0


def test_case_create_reports_every_bad_field_at_once(world):
    with pytest.raises(InvalidInputError) as info:
        _create(CustomerFactory(), title="", description="", priority="x", channel="y")
    assert set(info.value.fields) == {"title", "description", "priority", "channel"}


def test_case_create_refuses_draft_version(world):
    draft = build_process_version(status=VersionStatus.DRAFT)
    with pytest.raises(InvalidInputError) as info:
        _create(CustomerFactory(), process_version=draft)
    assert info.value.field_codes()["process_version"] == [VERSION_NOT_PUBLISHED]
    assert Case.objects.count() == 0


def test_case_create_without_default_process_is_a_clear_error(db):
    with pytest.raises(InvalidInputError) as info:
        _create(CustomerFactory())
    assert info.value.field_codes()["process_version"] == [NO_DEFAULT_PROCESS]


def test_customer_cannot_open_a_case_for_another_customer(world):
    me, other = CustomerFactory(), CustomerFactory()
    with pytest.raises(PermissionDeniedError):
        _create(other, actor=me.user)
    assert Case.objects.count() == 0


def test_case_create_refuses_naive_timestamps(world):
    with pytest.raises(ValueError, match="timezone-aware"):
        _create(CustomerFactory(), at=datetime(2026, 1, 1, 9, 0))
