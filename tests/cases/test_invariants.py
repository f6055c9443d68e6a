"""Property test: any sequence of service calls, allowed or refused, keeps a case consistent and
its log complete (one event per accepted mutation, none per refusal or no-op)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serviceloop.cases.choices import CaseStatus, EventKind
from serviceloop.cases.models import Case, CaseEvent
from serviceloop.cases.services import (
    case_assign,
    case_check_item,
    case_escalate,
    case_reopen,
    case_set_status,
    case_transition,
    case_update,
    message_add,
)
from serviceloop.core.exceptions import ApplicationError
from tests.factories import CHECKLIST_ITEM, CaseFactory, CategoryFactory, stage_of

pytestmark = pytest.mark.django_db

STAGES = ["intake", "analysis", "delivery", "closed"]
OPS = st.one_of(
    st.tuples(st.just("transition"), st.sampled_from(STAGES)),
    st.tuples(st.just("check"), st.booleans()),
    st.tuples(st.just("status"), st.sampled_from(["open", "pending", "resolved", "closed"])),
    st.tuples(st.just("priority"), st.sampled_from(["low", "normal", "high", "urgent", "bad"])),
    st.tuples(st.just("category"), st.booleans()),
    st.tuples(st.just("reopen"), st.just(None)),
    st.tuples(st.just("escalate"), st.just(None)),
    st.tuples(st.just("assign"), st.sampled_from(["front", "back", "none"])),
    st.tuples(st.just("reply"), st.sampled_from(["public", "internal", "customer"])),
)
STAGE_EVENTS = {EventKind.STAGE_ENTERED, EventKind.CLOSED, EventKind.REOPENED}


def _apply(world, case, category, op, arg, at):
    m = world.manager
    if op == "transition":
        case_transition(case=case, to_stage=stage_of(world.version, arg), actor=m, at=at)
    elif op == "check":
        case_check_item(case=case, actor=m, item=CHECKLIST_ITEM, checked=arg, at=at)
    elif op == "status":
        case_set_status(case=case, actor=m, status=arg, at=at)
    elif op == "priority":
        case_update(case=case, actor=m, changes={"priority": arg}, at=at)
    elif op == "category":
        case_update(case=case, actor=m, changes={"category": category if arg else None}, at=at)
    elif op == "reopen":
        case_reopen(case=case, actor=m, at=at)
    elif op == "escalate":
        case_escalate(case=case, actor=m, reason="slow", at=at)
    elif op == "assign":
        users = {"front": world.front_agent, "back": world.back_agent, "none": None}
        case_assign(case=case, assignee=users[arg], actor=m, at=at)
    else:
        message_add(
            case=case,
            author=case.customer.user if arg == "customer" else m,
            body="hi",
            kind="internal" if arg == "internal" else "public",
            channel="portal",
            at=at,
        )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(OPS, min_size=1, max_size=14))
def test_random_service_sequences_keep_case_and_log_consistent(world, ops):
    case = CaseFactory()
    category = CategoryFactory(code="inv")
    clock = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    for i, (op, arg) in enumerate(ops):
        before_events = CaseEvent.objects.filter(case=case).count()
        before_version = Case.objects.get(pk=case.pk).version
        with contextlib.suppress(ApplicationError):
            _apply(world, case, category, op, arg, clock + timedelta(minutes=i + 1))
        fresh = Case.objects.select_related("stage").get(pk=case.pk)
        new_events = CaseEvent.objects.filter(case=case).count() - before_events
        assert new_events == fresh.version - before_version, (op, arg)
        assert new_events in (0, 1), (op, arg)
        # Consistency of the row.
        assert (fresh.status == CaseStatus.CLOSED) == fresh.stage.is_end
        assert (fresh.closed_at is not None) == (fresh.status == CaseStatus.CLOSED)
        assert set(fresh.checklist_done) <= set(fresh.stage.checklist)
        last_stage_event = (
            CaseEvent.objects.filter(case=case, kind__in=STAGE_EVENTS).order_by("-id").first()
        )
        assert last_stage_event.attributes["to_stage"] == fresh.stage.code
