"""The live monitoring page: managers watch every team, a team lead only the team they lead;
agents and customers are refused; the panels endpoint (polled every 15 s) shows a change at once."""

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


def test_manager_sees_all_teams_and_a_lead_only_theirs(client, world, sla, leads):
    mine = overdue_case(world)
    other = overdue_case(world, team=world.back)
    sla_sweep()
    client.force_login(world.manager)
    html = client.get(reverse("sla:live")).content.decode()
    assert mine.number in html and other.number in html
    assert 'hx-trigger="every 15s"' in html
    for lead, seen, unseen in ((leads.front, mine, other), (leads.back, other, mine)):
        client.force_login(lead)
        for page in ("sla:live", "sla:live-panels"):
            html = client.get(reverse(page)).content.decode()
            assert seen.number in html and unseen.number not in html
            assert seen.title in html and unseen.title not in html
        # load per agent and the per-agent compliance: the lead's own team only
        other_team_agent = world.back_agent if lead == leads.front else world.front_agent
        assert other_team_agent.username not in html
        assert lead.username in html


def test_agents_get_no_live_page_not_even_of_their_team(client, world, sla, leads):
    overdue_case(world)
    sla_sweep()
    for agent in (world.front_agent, world.back_agent):
        assert live_scope(agent) is None
        client.force_login(agent)
        assert client.get(reverse("sla:live")).status_code == 403
        assert client.get(reverse("sla:live-panels")).status_code == 403
        assert 'href="/sla/live/"' not in client.get(reverse("sla:notifications")).content.decode()
    client.force_login(leads.front)
    assert 'href="/sla/live/"' in client.get(reverse("sla:notifications")).content.decode()


def test_a_deactivated_lead_or_one_made_manager_elsewhere_sees_what_the_role_says(world, leads):
    assert live_scope(leads.front).team_ids == (world.front.pk,)
    leads.front.is_active = False
    leads.front.save(update_fields=["is_active"])
    assert live_scope(leads.front) is None
    leads.back.role = "customer"
    leads.back.save(update_fields=["role"])
    assert live_scope(leads.back) is None  # a profile flag alone gives no sight


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
