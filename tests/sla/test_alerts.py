"""Alert rules: a stage backlog above its threshold raises one alert (told to managers and the
rule's team's leads), evaluating again raises nothing more, the alert resolves when the backlog falls;
the live page shows open alerts to those in scope only."""

from __future__ import annotations

import pytest
from django.utils import timezone

from serviceloop.cases.services import case_set_status
from serviceloop.sla.alerts import alerts_evaluate, alerts_visible
from serviceloop.sla.live import live_scope
from serviceloop.sla.models import Alert, AlertRule, Notification
from tests.factories import AgentFactory, CaseFactory

pytestmark = pytest.mark.django_db


def test_backlog_alert_raised_once_told_and_resolved(world, sla, leads):
    rule = AlertRule.objects.create(
        name="Intake backlog", kind="stage_backlog", stage_code="intake", threshold=2,
        team=world.front,
    )  # fmt: skip
    cases = [CaseFactory() for _ in range(3)]
    outsider = AgentFactory()  # another team
    assert alerts_evaluate(now=timezone.now()).raised == 1
    assert alerts_evaluate(now=timezone.now()).raised == 0  # still open: not raised again
    alert = Alert.objects.get(rule=rule)
    assert alert.value == 3 and "Intake backlog" in alert.message
    told = set(Notification.objects.filter(kind="alert").values_list("recipient_id", flat=True))
    assert told == {world.manager.pk, leads.front.pk}  # not the back team's lead, no agent
    assert outsider.pk not in told and world.front_agent.pk not in told

    assert [a.pk for a in alerts_visible(live_scope(leads.front))] == [alert.pk]
    assert alerts_visible(live_scope(leads.back)) == []
    assert alerts_visible(live_scope(world.manager)) == [alert]

    case_set_status(case=cases[0], actor=world.manager, status="resolved")
    case_set_status(case=cases[1], actor=world.manager, status="resolved")
    assert alerts_evaluate(now=timezone.now()).resolved == 1
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    assert alerts_visible(live_scope(world.manager)) == []


def test_service_wide_rules_are_for_managers_only(world, sla, leads):
    AlertRule.objects.create(
        name="All intake", kind="stage_backlog", stage_code="intake", threshold=0
    )
    CaseFactory()
    alerts_evaluate(now=timezone.now())
    assert len(alerts_visible(live_scope(world.manager))) == 1
    assert alerts_visible(live_scope(leads.front)) == []
    told = Notification.objects.filter(kind="alert").values_list("recipient_id", flat=True)
    assert list(told) == [world.manager.pk]


def test_handling_time_rule(world, sla):
    AlertRule.objects.create(name="Slow", kind="handling_time", threshold=1)
    case = CaseFactory(at=timezone.now() - timezone.timedelta(days=3))
    case_set_status(case=case, actor=world.manager, status="resolved")
    counts = alerts_evaluate(now=timezone.now())
    assert counts.raised == 1
    assert Alert.objects.get().value > 1
