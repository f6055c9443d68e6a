"""The live page's arrivals-against-capacity and process-compliance panels: what they count, for
whom (a team lead never sees another team's arrivals, agents or cases), and that the page shows
them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse

from serviceloop.accounts.models import AgentProfile
from serviceloop.cases.choices import EventKind
from serviceloop.cases.models import Case
from serviceloop.cases.services import case_set_status
from serviceloop.cases.services._common import append_event
from serviceloop.sla.capacity import arrivals_capacity
from serviceloop.sla.compliance import compliance
from serviceloop.sla.live import live_scope
from tests.factories import CaseFactory
from tests.sla.conftest import at

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sla")]

NOW = at(1, 10, 30)  # Tuesday 10:30 UTC, 18:30 in Shanghai


def move(case: Case, stage: str, when) -> None:
    """A stage event as the log records it, whether or not the design allows the move."""
    name = case.process_version.stages.get(code=stage).name
    kind = EventKind.CLOSED if stage == "closed" else EventKind.STAGE_ENTERED
    append_event(case=case, kind=kind, actor=None, at=when, activity=name,
                 attributes={"to_stage": stage})  # fmt: skip


def held_by(case: Case, team, assignee) -> Case:
    Case.objects.filter(pk=case.pk).update(team=team, assignee=assignee)
    case.refresh_from_db()
    return case


@override_settings(TIME_ZONE="Asia/Shanghai")
def test_arrivals_usual_and_capacity_by_hour(world, leads):
    for minute in (0, 10, 20):
        held_by(CaseFactory(at=at(1, 9, minute)), world.front, None)
    held_by(CaseFactory(at=at(1, 9, 30)), world.back, None)
    for minute in (0, 30):
        held_by(CaseFactory(at=at(1, 9, minute) - timedelta(days=7)), world.front, None)
    done = held_by(CaseFactory(at=at(0, 9)), world.front, None)
    case_set_status(case=done, actor=world.manager, status="resolved", at=at(0, 10))

    front = {r.label: r for r in arrivals_capacity(live_scope(leads.front), now=NOW)}
    everyone = {r.label: r for r in arrivals_capacity(live_scope(world.manager), now=NOW)}
    back = {r.label: r for r in arrivals_capacity(live_scope(leads.back), now=NOW)}
    assert len(front) == 24 and next(iter(front)) == "00:00"  # the local day
    assert front["17:00"].arrived == 3 and everyone["17:00"].arrived == 4
    assert back["17:00"].arrived == 1
    assert front["17:00"].usual == 2 / 4 and back["17:00"].usual == 0
    assert front["19:00"].arrived is None  # not yet begun
    assert sum(r.arrived or 0 for r in front.values()) == 3

    # capacity: the office's working hours (09-17 UTC) of the local day, one finished case
    working = {"00:00"} | {f"{h:02d}:00" for h in range(17, 24)}
    assert {label for label, r in front.items() if r.capacity > 0} == working
    rates = {round(front[label].capacity, 12) for label in working}
    assert len(rates) == 1  # every whole working hour alike
    assert all(r.capacity == 0 for r in back.values())  # the back team finished nothing
    assert everyone["18:00"].capacity == pytest.approx(front["18:00"].capacity)
    AgentProfile.objects.filter(user=leads.front).update(is_available=False)
    halved = {r.label: r for r in arrivals_capacity(live_scope(leads.front), now=NOW)}
    assert halved["18:00"].capacity == pytest.approx(front["18:00"].capacity / 2)


def test_compliance_per_team_and_agent_from_the_conformance_checker(world, leads):
    good = held_by(CaseFactory(at=at(0, 9)), world.front, world.front_agent)
    move(good, "analysis", at(0, 9, 30))
    move(good, "delivery", at(0, 15))  # analysis took 5.5 h: over its 4 h standard
    move(good, "analysis", at(0, 16))  # rework along the designed rework transition
    rushed = held_by(CaseFactory(at=at(0, 9)), world.front, leads.front)
    move(rushed, "closed", at(0, 12))  # not a designed move; delivery skipped; intake 3 h > 1 h
    other = held_by(CaseFactory(at=at(0, 9)), world.back, world.back_agent)
    move(other, "closed", at(0, 10))

    found = compliance(live_scope(leads.front), now=at(0, 17))
    assert found.cases == 2
    (team,) = found.teams
    assert (team.name, team.cases, team.conforming) == (world.front.name, 2, 1)
    assert (team.forced, team.skipped, team.rework, team.over_standard) == (1, 1, 1, 2)
    agents = {r.name: r for r in found.agents}
    assert set(agents) == {world.front_agent.username, leads.front.username}
    assert (agents[leads.front.username].forced, agents[leads.front.username].skipped) == (1, 1)
    assert agents[world.front_agent.username].rework == 1

    everyone = compliance(live_scope(world.manager), now=at(0, 17))
    assert everyone.cases == 3
    move(other, "analysis", at(0, 17))  # a minute later the panel shows it, not before
    assert compliance(live_scope(world.manager), now=at(0, 17) + timedelta(seconds=30)) is everyone
    later = compliance(live_scope(world.manager), now=at(0, 18, 1))
    assert later is not everyone and later.cases == 3
    assert {r.name: r.forced for r in later.teams}[world.back.name] == 2
    assert {r.name for r in everyone.teams} == {world.front.name, world.back.name}
    assert compliance(live_scope(world.manager), now=at(0, 17) + timedelta(days=31)).cases == 0


def test_the_page_draws_both_panels_for_the_lead_scope_only(client, world, leads):
    mine = held_by(CaseFactory(), world.front, world.front_agent)
    move(mine, "closed", mine.created_at + timedelta(minutes=5))
    theirs = held_by(CaseFactory(), world.back, world.back_agent)
    move(theirs, "closed", theirs.created_at + timedelta(minutes=5))
    client.force_login(leads.front)
    for page in ("sla:live", "sla:live-panels"):
        html = client.get(reverse(page)).content.decode()
        assert 'id="arrivals"' in html and 'data-echarts="sla-arrivals-chart"' in html
        assert 'data-echarts="sla-compliance-chart"' in html
        assert f'data-compliance-agent="{world.front_agent.username}"' in html
        assert world.back_agent.username not in html
        assert f'data-compliance-team="{world.back.name}"' not in html


def test_the_live_page_and_the_lead_flag_speak_chinese(client, world, leads):
    from django.utils import translation

    from serviceloop.accounts.models import AgentProfile

    client.force_login(leads.front)
    html = client.get(reverse("sla:live"), headers={"accept-language": "zh-hans"}).content
    text = html.decode()
    for phrase in ("实时监控", "每小时来单量与处理能力", "流程遵从度", "您的团队。", "今日来单"):
        assert phrase in text
    with translation.override("zh-hans"):
        assert str(AgentProfile._meta.get_field("is_lead").verbose_name) == "组长"
