"""The demo opens on a timed service: clocks, warnings, breaches and escalations in the log, the
specialists team missing its targets most, a control chart with points."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Count

from serviceloop.accounts.models import AgentProfile
from serviceloop.cases.models import CaseEvent
from serviceloop.demo import demo_load
from serviceloop.sla.charts import control_charts
from serviceloop.sla.live import LiveScope
from serviceloop.sla.models import AlertRule, Notification, SlaClock

pytestmark = pytest.mark.django_db

END = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)


def _case_hours_per_stage() -> dict[str, float]:
    """Hours cases spent in each stage, from the stage events (open cases up to the end)."""
    hours: dict[str, float] = defaultdict(float)
    events = CaseEvent.objects.filter(kind__in=["stage_entered", "closed", "reopened"])
    last: dict[int, CaseEvent] = {}
    for event in events.order_by("case_id", "timestamp", "id"):
        before = last.get(event.case_id)
        if before is not None and before.kind != "closed":
            hours[before.activity] += (event.timestamp - before.timestamp).total_seconds() / 3600
        last[event.case_id] = event
    for event in last.values():
        if event.kind != "closed":
            hours[event.activity] += (END - event.timestamp).total_seconds() / 3600
    return hours


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
    # The understaffed specialists: over the history their stage holds the most cases on
    # average (case-hours in stage; a snapshot at one instant depends on the hour), and their
    # backlog alert rule watches it (up at the end of a full demo, whose backlog is far above it).
    hours = _case_hours_per_stage()
    assert max(hours, key=hours.__getitem__) == "Solution design"
    assert AlertRule.objects.filter(
        kind="stage_backlog", team__code="specialists", stage_code="design"
    ).exists()
    charts = control_charts(LiveScope(None), since=END - timedelta(days=30), until=END, baseline=10)
    assert len(charts.breach_rate) >= 10
