"""Feedback that reaches the user: error pages in the site's layout and language with a way back,
a language switch after a refused POST that lands on a page, checklist ticks in the timeline."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import path

from serviceloop.cases.services import case_transition
from tests.factories import (
    CHECKLIST_ITEM,
    AgentFactory,
    CaseFactory,
    CustomerFactory,
    build_process_version,
    stage_of,
)

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("boom")


urlpatterns = [path("boom/", _boom)]


def test_404_in_layout_with_a_way_back(client: Client) -> None:
    client.force_login(AgentFactory())
    response = client.get("/work/cases/SL-999999/", HTTP_REFERER="http://testserver/work/")
    body = response.content.decode()
    assert response.status_code == 404
    assert 'class="topbar"' in body and 'data-testid="error-page"' in body
    assert 'href="http://testserver/work/"' in body and 'href="/"' in body


def test_403_in_the_users_language(client: Client) -> None:
    client.force_login(CustomerFactory().user)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    response = client.get("/processes/")
    body = response.content.decode()
    assert response.status_code == 403
    assert '<html lang="zh-hans">' in body and 'class="topbar"' in body
    assert "无权访问" in body and "返回首页" in body


@override_settings(ROOT_URLCONF=__name__)
def test_500_page_is_the_sites(client: Client) -> None:
    client.raise_request_exception = False
    response = client.get("/boom/")
    body = response.content.decode()
    assert response.status_code == 500
    assert 'data-testid="error-page"' in body and "/static/css/serviceloop.css" in body


def test_language_form_after_refused_post_points_to_the_form_page(client: Client) -> None:
    version = build_process_version(is_default=True)
    agent = AgentFactory(team=stage_of(version, "intake").responsible_team)
    case = CaseFactory(process_version=version)
    client.force_login(agent)
    page = f"http://testserver/work/cases/{case.number}/"
    refused = client.post(
        f"/work/cases/{case.number}/reply/", {"reply-body": "  "}, HTTP_REFERER=page
    )
    assert refused.status_code == 422
    assert f'name="next" type="hidden" value="{page}"' in refused.content.decode()
    switched = client.post("/i18n/setlang/", {"language": "zh-hans", "next": page})
    assert switched["Location"] == page
    assert client.get(switched["Location"]).status_code == 200
    # a second refusal (the referer is now the POST address itself) falls back to the start page
    again = client.post(
        f"/work/cases/{case.number}/reply/",
        {"reply-body": ""},
        HTTP_REFERER=f"http://testserver/work/cases/{case.number}/reply/",
    )
    assert 'name="next" type="hidden" value="/"' in again.content.decode()


def test_checklist_tick_answers_the_timeline_too(client: Client) -> None:
    version = build_process_version(is_default=True)
    agent = AgentFactory(team=stage_of(version, "intake").responsible_team)
    case = case_transition(
        case=CaseFactory(process_version=version),
        to_stage=stage_of(version, "analysis"),
        actor=agent,
    )
    client.force_login(agent)
    response = client.post(
        f"/work/cases/{case.number}/checklist/",
        {"item": CHECKLIST_ITEM, "done": "on"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert '<section class="card" id="timeline" hx-swap-oob="true">' in body
    assert "Checklist item checked" in body


def test_timeline_names_the_assignee_not_the_username(client: Client) -> None:
    version = build_process_version(is_default=True)
    agent = AgentFactory(
        team=stage_of(version, "intake").responsible_team, first_name="娜", last_name="李"
    )
    case = CaseFactory(process_version=version)  # routed to the only agent of the team
    client.force_login(agent)
    body = client.get(f"/work/cases/{case.number}/").content.decode()
    assert "to 李娜 (routed automatically)" in body
    assert f"to {agent.username}" not in body
