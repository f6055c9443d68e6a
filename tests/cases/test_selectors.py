"""case_list queues and filters, joins (fixed query count), ordering; allowed transitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from serviceloop.cases.choices import CaseStatus
from serviceloop.cases.exceptions import InvalidInputError, PermissionDeniedError
from serviceloop.cases.selectors import (
    case_get_for_user,
    case_list,
    case_timeline,
    event_list_for_user,
)
from serviceloop.cases.services import case_assign, case_set_status, case_transition, message_add
from tests.factories import AgentFactory, CaseFactory, CustomerFactory, stage_of

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)


def _numbers(cases):
    return [c.number for c in cases]


def test_list_orders_newest_first_with_id_tiebreak(world):
    same = [CaseFactory(at=T0) for _ in range(2)]
    newer = CaseFactory(at=T0 + timedelta(hours=1))
    listed = list(case_list(user=world.manager))
    assert _numbers(listed) == [newer.number, same[1].number, same[0].number]


def test_list_makes_a_fixed_number_of_queries(world, django_assert_num_queries):
    for _ in range(5):
        CaseFactory()

    def render(user):
        rows = list(case_list(user=user, queue="team"))
        return [
            (
                c.number,
                c.customer.name,
                c.stage.name,
                c.team.name if c.team else "",
                c.assignee.username if c.assignee else "",
                c.category,
                c.process_version.process.code,
            )
            for c in rows
        ]

    for user in (world.manager, world.front_agent):
        fresh = type(user).objects.get(pk=user.pk)
        with django_assert_num_queries(2):  # the user's team (cached on the user), the page
            assert len(render(fresh)) == 5
        with django_assert_num_queries(1):
            assert len(render(fresh)) == 5
    for _ in range(5):
        CaseFactory()
    with django_assert_num_queries(1):
        assert len(render(fresh)) == 10


def test_queues(world):
    now = datetime.now(tz=UTC)
    mine = CaseFactory()  # routed to front_agent
    unassigned = case_assign(case=CaseFactory(), assignee=None, actor=world.manager)
    overdue = CaseFactory(at=now - timedelta(hours=3))  # intake standard is 60 min
    other_team = case_transition(
        case=CaseFactory(), to_stage=stage_of(world.version, "delivery"), actor=world.manager
    )
    agent = world.front_agent
    assert set(_numbers(case_list(user=agent, queue="mine"))) == {mine.number, overdue.number}
    assert set(_numbers(case_list(user=agent, queue="unassigned"))) == {unassigned.number}
    assert set(_numbers(case_list(user=agent, queue="team"))) == {
        mine.number,
        unassigned.number,
        overdue.number,
    }
    assert _numbers(case_list(user=agent, queue="overdue")) == [overdue.number]
    assert other_team.number not in _numbers(case_list(user=agent))
    assert other_team.number in _numbers(case_list(user=world.back_agent, queue="team"))
    assert len(case_list(user=world.manager, queue="team")) == 4


def test_queues_hide_closed_cases_unless_asked(world):
    case = case_transition(
        case=CaseFactory(), to_stage=stage_of(world.version, "delivery"), actor=world.manager
    )
    case = case_transition(
        case=case, to_stage=stage_of(world.version, "closed"), actor=world.manager
    )
    assert case.number not in _numbers(case_list(user=world.manager, queue="team"))
    assert _numbers(case_list(user=world.manager, queue="team", status="closed")) == [case.number]
    assert case.number in _numbers(case_list(user=world.manager))


def test_filters_status_priority_team_stage_and_search(world):
    customer = CustomerFactory(name="Zhang Wei", email="zhang@example.com")
    a = CaseFactory(customer=customer, title="Router reboots", priority="high")
    b = case_set_status(
        case=CaseFactory(title="Slow laptop"), actor=world.manager, status=CaseStatus.PENDING
    )
    m = world.manager
    assert _numbers(case_list(user=m, status="pending")) == [b.number]
    assert _numbers(case_list(user=m, priority="high")) == [a.number]
    assert set(_numbers(case_list(user=m, team=world.front.code))) == {a.number, b.number}
    assert _numbers(case_list(user=m, team=world.back)) == []
    assert len(case_list(user=m, stage="intake")) == 2
    assert _numbers(case_list(user=m, search="router")) == [a.number]
    assert _numbers(case_list(user=m, search="zhang wei")) == [a.number]
    assert _numbers(case_list(user=m, search="zhang@example.com")) == [a.number]
    assert _numbers(case_list(user=m, search=a.number.lower())) == [a.number]
    assert _numbers(case_list(user=m, search=str(b.pk))) == [b.number]


def test_customer_lists_only_own_cases(world):
    me = CustomerFactory()
    mine = CaseFactory(customer=me)
    CaseFactory()
    assert _numbers(case_list(user=me.user)) == [mine.number]
    assert _numbers(case_list(user=me.user, queue="mine")) == []


def test_agent_without_profile_sees_assigned_cases_only(world):
    case = CaseFactory()
    loose = AgentFactory()
    case = case_assign(case=case, assignee=loose, actor=world.manager)
    assert _numbers(case_list(user=loose)) == [case.number]


def test_bad_filters_are_refused_with_field_messages(world):
    with pytest.raises(InvalidInputError) as info:
        case_list(user=world.manager, queue="later", status="done", priority="p0")
    assert set(info.value.fields) == {"queue", "status", "priority"}


def test_timeline_makes_a_fixed_number_of_queries(world, django_assert_num_queries):
    case = CaseFactory()
    for i in range(3):
        message_add(case=case, author=world.manager, body=f"m{i}", kind="public", channel="agent")
    manager = type(world.manager).objects.get(pk=world.manager.pk)
    loaded = case_get_for_user(user=manager, pk=case.pk)
    with django_assert_num_queries(3):  # events, messages, attachments (with their joins)
        entries = case_timeline(case=loaded, user=manager)
        rendered = [
            (e.kind, getattr(e.item, "actor", None) or getattr(e.item, "author", None))
            for e in entries
        ]
    assert len(rendered) == 3 + 3 + 3  # created, stage_entered, assigned + 3 replies + 3 messages


def test_event_list_shows_customers_their_own_milestones_only(world):
    alice, bob = CustomerFactory(), CustomerFactory()
    case = CaseFactory(customer=alice, actor=alice.user)
    case = case_assign(case=case, assignee=world.front_agent, actor=world.manager)
    staff_kinds = [e.kind for e in event_list_for_user(case=case, user=world.manager)]
    customer_kinds = [e.kind for e in event_list_for_user(case=case, user=alice.user)]
    assert "assigned" in staff_kinds
    assert customer_kinds == [k for k in staff_kinds if k in {"created", "stage_entered"}]
    with pytest.raises(PermissionDeniedError):
        event_list_for_user(case=case, user=bob.user)
