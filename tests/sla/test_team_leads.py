"""Team leads: a lead of one team is told of that team's escalations and alerts and watches it
live, and never sees another team's case, alert or notification through any of those paths (page,
polled panels, control-chart API, notifications page and API, emails)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from serviceloop.cases.models import Case, CaseEvent
from serviceloop.sla.models import EscalationRule, Notification, OutboxMessage
from serviceloop.sla.selectors import setup_forget
from serviceloop.sla.sweep import sla_sweep
from tests.cases.api_client import Api
from tests.factories import CaseFactory
from tests.sla.conftest import at

pytestmark = pytest.mark.django_db


def team_case(team, title: str) -> Case:
    case = CaseFactory(at=at(0, 9), title=title)
    Case.objects.filter(pk=case.pk).update(team=team, assignee=None)
    case.refresh_from_db()
    return case


@pytest.fixture
def two_breaches(world, sla, leads):
    """A breached case of each team, with a notify rule on breaches."""
    EscalationRule.objects.create(policy=sla.standard, trigger="breach", action="notify")
    setup_forget()
    front = team_case(world.front, "Front desk printer")
    back = team_case(world.back, "Back office ledger")
    sla_sweep(now=at(0, 11))
    return front, back


def told(case: Case) -> set[str]:
    return set(Notification.objects.filter(case=case).values_list("recipient__username", flat=True))


def test_escalation_notify_reaches_the_leads_of_the_case_team_only(world, leads, two_breaches):
    front, back = two_breaches
    assert leads.front.username in told(front) and leads.back.username not in told(front)
    assert leads.back.username in told(back) and leads.front.username not in told(back)
    assert world.manager.username in told(front) & told(back)
    event = CaseEvent.objects.filter(case=back, kind="escalated").get()
    assert leads.back.username in event.attributes["notified"]
    assert leads.front.username not in event.attributes["notified"]
    mails = OutboxMessage.objects.filter(channel="email")
    assert not mails.filter(recipient=leads.front.email, subject__contains=back.number).exists()
    assert mails.filter(recipient=leads.back.email, subject__contains=back.number).exists()


def test_a_lead_never_reads_another_team_notification(client, world, leads, two_breaches):
    front, back = two_breaches
    client.force_login(leads.front)
    html = client.get(reverse("sla:notifications")).content.decode()
    assert front.number in html and back.number not in html
    api = Api(leads.front)
    numbers = {n["case"] for n in api.get("/api/sla/notifications").json()}
    assert numbers == {front.number}
    assert api.get(f"/api/sla/cases/{back.number}/clocks").status_code == 404
    assert api.get(f"/api/sla/cases/{front.number}/clocks").status_code == 200
    theirs = Notification.objects.get(case=back, recipient=leads.back)
    assert api.post(f"/api/sla/notifications/{theirs.pk}/read").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_a_lead_watches_their_team_live_and_never_the_other(client, world, leads, two_breaches):
    front, back = two_breaches
    for lead, mine, other in ((leads.front, front, back), (leads.back, back, front)):
        client.force_login(lead)
        for page in ("sla:live", "sla:live-panels"):
            html = client.get(reverse(page)).content.decode()
            assert mine.number in html and other.number not in html
            assert other.title not in html


def test_control_chart_api_counts_only_the_lead_team(world, sla, leads):
    from serviceloop.cases.services import case_set_status

    back = team_case(world.back, "Back office ledger")
    sla_sweep(now=at(0, 11))  # first response breached
    case_set_status(case=back, actor=world.manager, status="resolved", at=at(0, 12))
    manager = Api(world.manager).get("/api/sla/control-charts", {"days": 366}).json()
    assert manager["breach_rate"], "the manager's chart has the back team's day"
    front = Api(leads.front).get("/api/sla/control-charts", {"days": 366}).json()
    assert front["breach_rate"] == [] and front["resolution_minutes"] == []
    back_lead = Api(leads.back).get("/api/sla/control-charts", {"days": 366}).json()
    assert back_lead["breach_rate"] == manager["breach_rate"]
    response = Api(world.back_agent).get("/api/sla/control-charts")
    assert response.status_code == 403  # an agent who leads nothing


def test_an_administrator_makes_an_agent_a_lead_in_the_admin(client, world, sla):
    from serviceloop.accounts.models import AgentProfile
    from serviceloop.sla.live import live_scope
    from tests.factories import AdminFactory

    profile = AgentProfile.objects.get(user=world.back_agent)
    client.force_login(AdminFactory())
    url = reverse("admin:accounts_agentprofile_change", args=[profile.pk])
    assert 'name="is_lead"' in client.get(url).content.decode()
    assert live_scope(world.back_agent) is None
    response = client.post(
        url,
        {
            "user": world.back_agent.pk,
            "team": world.back.pk,
            "capacity": 10,
            "is_available": "on",
            "is_lead": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    fresh = type(world.back_agent).objects.get(pk=world.back_agent.pk)  # a new request's user
    assert live_scope(fresh).team_ids == (world.back.pk,)
