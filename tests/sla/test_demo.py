"""The demo opens on a timed service: clocks, warnings, breaches and escalations in the log, the
specialists team missing its targets most, a control chart with points."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Count

from serviceloop.accounts.models import AgentProfile
from serviceloop.cases.models import Case, CaseEvent
from serviceloop.demo import demo_load
from serviceloop.sla.charts import control_charts
from serviceloop.sla.live import LiveScope
from serviceloop.sla.models import Alert, Notification, SlaClock

pytestmark = pytest.mark.django_db

END = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)


def test_demo_history_runs_under_calendars_and_policies():
    demo_load(days=21, per_weekday=14, customers=30, seed=5, end=END)
    assert SlaClock.objects.count() > 100
    kinds = dict(
        CaseEvent.objects.filter(kind__in=["sla_warning", "sla_breached"])
        .values_list("kind")
        .annotate(n=Count("id"))
    )
    assert kinds.get("sla_warning", 0) > 0 and kinds.get("sla_breached", 0) > 0
    assert CaseEvent.objects.filter(kind="priority_changed", attributes__by="sla").exists()
    assert Notification.objects.exists()
    teams = AgentProfile.objects.values("team_id").distinct().count()
    assert AgentProfile.objects.filter(is_lead=True).values("team_id").distinct().count() == teams
    assert AgentProfile.objects.filter(is_lead=True).count() == teams  # one lead per team
    assert not CaseEvent.objects.filter(timestamp__gt=END).exists()
    # The understaffed specialists: the largest queue, and the backlog alert is up.
    wip = (
        Case.objects.filter(status__in=["open", "pending"])
        .values_list("team__code")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    assert wip[0][0] == "specialists"
    assert Alert.objects.filter(rule__team__code="specialists", resolved_at=None).exists()
    charts = control_charts(LiveScope(None), since=END - timedelta(days=30), until=END, baseline=10)
    assert len(charts.breach_rate) >= 10
