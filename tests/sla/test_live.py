"""The live monitoring page: managers watch every team, an agent only their own; the panels
endpoint (polled every 15 s) shows a change at once; customers are refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from serviceloop.cases.services import case_set_status
from serviceloop.sla.live import live_panels, live_scope
from serviceloop.sla.models import SlaClock
from serviceloop.sla.sweep import sla_sweep
from tests.factories import AgentFactory, CaseFactory, stage_of

pytestmark = pytest.mark.django_db


def overdue_case(world, team=None):
    """A case opened two days ago (its clocks due long since), optionally moved to ``team``."""
    case = CaseFactory(at=timezone.now() - timedelta(days=2))
    if team is not None:
        case.team = team
        case.save(update_fields=["team"])
    return case


def test_manager_sees_all_teams_and_an_agent_only_theirs(client, world, sla):
    mine = overdue_case(world)
    other = overdue_case(world, team=world.back)
    sla_sweep()
    client.force_login(world.manager)
    html = client.get(reverse("sla:live")).content.decode()
    assert mine.number in html and other.number in html
    assert 'hx-trigger="every 15s"' in html
    client.force_login(world.front_agent)
    html = client.get(reverse("sla:live")).content.decode()
    assert mine.number in html and other.number not in html
    assert world.back_agent.username not in html  # load per agent: own team only


def test_panels_follow_a_change_without_reload(client, world, sla):
    case = overdue_case(world)
    client.force_login(world.manager)
    before = client.get(reverse("sla:live-panels")).content.decode()
    assert case.number in before
    case_set_status(case=case, actor=world.manager, status="resolved")
    after = client.get(reverse("sla:live-panels")).content.decode()
    assert case.number not in after  # stopped clocks are not at risk
    assert after.startswith('<div id="live-panels"')


def test_attainment_counts_met_and_breached_clocks(world, sla):
    fast = CaseFactory(at=timezone.now() - timedelta(minutes=5))
    case_set_status(case=fast, actor=world.manager, status="resolved")  # met both targets
    overdue_case(world)
    sla_sweep()
    panels = live_panels(live_scope(world.manager), now=timezone.now())
    _, month = panels["attainment"][2]
    assert month["met"] == 2  # the fast case's first response and resolution
    assert month["breached"] >= 1 and 0 < month["share"] < 1
    labels = dict(panels["percentiles"])
    assert labels["Resolution"] is not None


def test_agents_without_a_team_and_customers_are_refused(client, world, sla):
    case = CaseFactory()
    client.force_login(case.customer.user)
    assert client.get(reverse("sla:live")).status_code == 403
    loner = AgentFactory()
    loner.agent_profile.delete()
    client.force_login(loner)
    assert client.get(reverse("sla:live-panels")).status_code == 403


def test_stage_time_standard_overdue_shows_per_team(world, sla):
    case = overdue_case(world)
    assert case.stage == stage_of(world.version, "intake") and case.due_at < timezone.now()
    panels = live_panels(live_scope(world.manager), now=timezone.now())
    assert [row["n"] for row in panels["overdue_stages"]] == [1]
    assert SlaClock.objects.filter(case=case).exists()
