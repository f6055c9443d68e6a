"""SLA clocks through the case services: started on creation, paused while pending, resumed on the
customer's reply, stopped by responses and resolution, recomputed on a priority change; warnings
and breaches recorded once, whether a change or the worker notices them first."""

from __future__ import annotations

from datetime import timedelta

import pytest

from serviceloop.cases.choices import EventKind
from serviceloop.cases.models import CaseEvent
from serviceloop.cases.services import (
    case_reopen,
    case_set_status,
    case_transition,
    case_update,
    message_add,
)
from serviceloop.sla.models import SlaClock
from serviceloop.sla.sweep import sla_sweep
from tests.factories import CaseFactory, stage_of
from tests.sla.conftest import at

pytestmark = pytest.mark.django_db


def clocks(case) -> dict[str, SlaClock]:
    return {c.metric: c for c in SlaClock.objects.filter(case=case)}


def sla_events(case) -> list[tuple[str, str, str]]:
    return [
        (e.kind, e.attributes["metric"], e.timestamp.isoformat())
        for e in CaseEvent.objects.filter(
            case=case, kind__in=[EventKind.SLA_WARNING, EventKind.SLA_BREACHED]
        ).order_by("id")
    ]


def reply(case, who, when, *, public=True):
    return message_add(
        case=case,
        author=who,
        body="Thanks, looking into it.",
        kind="public" if public else "internal",
        channel="portal",
        at=when,
    )


def test_case_opened_friday_afternoon_is_due_in_working_time(world, sla):
    case = CaseFactory(at=at(4, 16))  # Friday 16:00
    found = clocks(case)
    assert set(found) == {"first_response", "resolution"}
    assert found["first_response"].due_at == at(7, 10)  # Monday 10:00 (2 h)
    assert found["first_response"].warn_at == at(7, 9, 30)  # 75 % of 2 h
    assert found["resolution"].due_at == at(8, 16)  # 16 h: Friday 1 h, Monday 8 h, Tuesday 7 h
    assert found["first_response"].policy == sla.standard


def test_no_policy_no_clocks(world, db):
    case = CaseFactory(at=at(0, 10))
    assert not SlaClock.objects.filter(case=case).exists()


def test_pending_pauses_and_the_customer_reply_resumes(world, sla):
    case = CaseFactory(at=at(0, 9))  # Monday 09:00, resolution due Tuesday 17:00
    reply(case, world.front_agent, at(0, 10))
    case_set_status(case=case, actor=world.front_agent, status="pending", at=at(0, 11))
    paused = clocks(case)["resolution"]
    assert not paused.running and paused.due_at is None and paused.used_seconds == 2 * 3600
    reply(case, case.customer.user, at(2, 11))  # Wednesday 11:00: pending -> open
    resumed = clocks(case)["resolution"]
    assert resumed.running
    assert resumed.due_at == at(3, 17)  # 14 h left: Wednesday 6 h, Thursday 8 h


def test_staff_reply_stops_first_response_and_customer_reply_starts_next(world, sla):
    case = CaseFactory(at=at(0, 9))
    reply(case, world.front_agent, at(0, 9, 30), public=False)  # a note is no response
    assert clocks(case)["first_response"].stopped_at is None
    reply(case, world.front_agent, at(0, 10))
    first = clocks(case)["first_response"]
    assert first.stopped_at == at(0, 10) and first.due_at is None and first.breached_at is None
    reply(case, case.customer.user, at(0, 16))
    nxt = clocks(case)["next_response"]
    assert (nxt.cycle, nxt.due_at) == (1, at(1, 12))  # 4 h: Monday 1 h, Tuesday 3 h
    reply(case, world.front_agent, at(1, 9))
    reply(case, case.customer.user, at(1, 10))
    nxt = clocks(case)["next_response"]
    assert (nxt.cycle, nxt.due_at, nxt.stopped_at) == (2, at(1, 14), None)


def test_priority_raised_mid_flight_recomputes_against_the_time_used(world, sla):
    case = CaseFactory(at=at(0, 9))
    case_update(case=case, actor=world.manager, changes={"priority": "urgent"}, at=at(0, 9, 10))
    first = clocks(case)["first_response"]
    assert first.policy == sla.urgent
    assert first.target_seconds == 30 * 60 and first.used_seconds == 10 * 60
    assert first.due_at == at(0, 9, 30)
    # Lowered after 40 minutes: the urgent target was breached at 09:30 and is recorded once.
    case_update(case=case, actor=world.manager, changes={"priority": "normal"}, at=at(0, 9, 40))
    assert sla_events(case) == [
        ("sla_warning", "first_response", at(0, 9, 23).isoformat()),
        ("sla_breached", "first_response", at(0, 9, 30).isoformat()),
    ]
    first = clocks(case)["first_response"]
    assert first.due_at == at(0, 11)  # back on the 2 h target, 40 min used


def test_raising_priority_after_the_new_target_is_spent_breaches_at_the_change(world, sla):
    case = CaseFactory(at=at(0, 9))
    case_update(case=case, actor=world.manager, changes={"priority": "high"}, at=at(0, 10))
    assert sla_events(case) == [
        ("sla_warning", "first_response", at(0, 10).isoformat()),
        ("sla_breached", "first_response", at(0, 10).isoformat()),
    ]


def test_resolution_stops_on_resolved_and_counts_on_after_reopen(world, sla):
    case = CaseFactory(at=at(0, 9))
    case_set_status(case=case, actor=world.front_agent, status="resolved", at=at(0, 13))
    stopped = clocks(case)["resolution"]
    assert stopped.stopped_at == at(0, 13) and stopped.used_seconds == 4 * 3600
    case_reopen(case=case, actor=world.manager, reason="Not fixed", at=at(1, 9))
    again = clocks(case)["resolution"]
    assert again.stopped_at is None and again.running
    assert again.due_at == at(2, 13)  # 12 h left: Tuesday 8 h, Wednesday 4 h


def test_breach_noticed_by_a_change_is_not_recorded_again_by_the_worker(world, sla):
    case = CaseFactory(at=at(0, 9))
    reply(case, world.front_agent, at(0, 12))  # first response 1 h late
    assert sla_events(case) == [
        ("sla_warning", "first_response", at(0, 10, 30).isoformat()),
        ("sla_breached", "first_response", at(0, 11).isoformat()),
    ]
    sla_sweep(now=at(0, 12, 1))
    assert len(sla_events(case)) == 2


def test_worker_records_warning_then_breach_once(world, sla):
    case = CaseFactory(at=at(0, 9))
    assert sla_sweep(now=at(0, 10, 29)).warnings == 0
    counts = sla_sweep(now=at(0, 10, 31))
    assert (counts.warnings, counts.breaches) == (1, 0)
    assert sla_sweep(now=at(0, 10, 45)).warnings == 0
    counts = sla_sweep(now=at(0, 11, 0))
    assert (counts.warnings, counts.breaches) == (0, 1)
    assert sla_sweep(now=at(0, 11, 1)) == sla_sweep(now=at(0, 11, 2))
    assert sla_events(case) == [
        ("sla_warning", "first_response", at(0, 10, 30).isoformat()),
        ("sla_breached", "first_response", at(0, 11).isoformat()),
    ]
    breach = CaseEvent.objects.get(case=case, kind=EventKind.SLA_BREACHED)
    assert breach.actor is None
    assert breach.attributes["detected_at"] == at(0, 11).isoformat()


def test_stage_time_standard_counts_working_time(world, sla):
    case = CaseFactory(at=at(4, 16))  # Friday 16:00
    intake = stage_of(world.version, "intake")
    assert intake.time_standard_minutes
    expected_minutes = intake.time_standard_minutes
    # Friday has one working hour left; the rest runs from Monday 09:00.
    first_day = min(expected_minutes, 60)
    expected = at(4, 16) + timedelta(minutes=first_day)
    if expected_minutes > 60:
        expected = at(7, 9) + timedelta(minutes=expected_minutes - 60)
    assert case.due_at == expected
    delivery = stage_of(world.version, "delivery")
    moved = case_transition(case=case, to_stage=delivery, actor=world.manager, at=at(7, 9))
    assert moved.stage == delivery


def test_a_changed_target_reaches_open_cases_when_the_policy_is_applied(world, sla):
    from serviceloop.sla.models import SlaTarget
    from serviceloop.sla.services import sla_policy_recompute

    case = CaseFactory(at=at(0, 9))
    closed = CaseFactory(at=at(0, 9))
    case_set_status(case=closed, actor=world.manager, status="resolved", at=at(0, 9, 30))
    SlaTarget.objects.filter(policy=sla.standard, metric="resolution").update(minutes=60)
    assert sla_policy_recompute(policy=sla.standard, at=at(0, 9, 45)) == 1
    resolution = clocks(case)["resolution"]
    assert (resolution.target_seconds, resolution.due_at) == (3600, at(0, 10))
    assert clocks(closed)["resolution"].target_seconds == 960 * 60
