"""Standard replies: placeholders, per-team visibility, applying through the case services."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from serviceloop.cases.choices import CaseStatus
from serviceloop.cases.models import Case, CaseEvent, Message
from serviceloop.cases.services import case_transition
from serviceloop.core.exceptions import InvalidInputError, PermissionDeniedError
from serviceloop.replies.models import ReplyTemplate
from serviceloop.replies.services import (
    ReplyTemplateFields,
    reply_template_apply,
    reply_template_render,
    reply_template_save,
)
from tests.factories import (
    CHECKLIST_ITEM,
    AgentFactory,
    CaseFactory,
    CustomerFactory,
    ManagerFactory,
    TeamFactory,
    build_process_version,
    stage_of,
)

pytestmark = pytest.mark.django_db

BODY = "Dear {customer_name}, your case {case_number} is now in {stage}."
BODY_ZH = "{customer_name}您好,您的工单 {case_number} 已进入{stage}。"


@pytest.fixture
def version():
    return build_process_version(is_default=True)


@pytest.fixture
def manager():
    return ManagerFactory()


@pytest.fixture
def agent(version):
    return AgentFactory(team=stage_of(version, "intake").responsible_team)


@pytest.fixture
def case(version, agent) -> Case:
    opened = CaseFactory(customer=CustomerFactory(name="Wang Fang"), process_version=version)
    return case_transition(case=opened, to_stage=stage_of(version, "analysis"), actor=agent)


def _template(manager, **kw) -> ReplyTemplate:
    fields = {"name": "Need details", "body": BODY, "body_zh": BODY_ZH} | kw
    return reply_template_save(actor=manager, fields=ReplyTemplateFields(**fields))


def test_render_fills_placeholders_in_the_users_language(manager, case) -> None:
    template = _template(manager)
    assert reply_template_render(template=template, case=case, language="en") == (
        f"Dear Wang Fang, your case {case.number} is now in Needs analysis."
    )
    with translation.override("zh-hans"):
        text = reply_template_render(template=template, case=case, language="zh-hans")
    assert text == f"Wang Fang您好,您的工单 {case.number} 已进入需求分析。"


def test_unknown_placeholder_is_refused_and_nothing_saved(manager) -> None:
    with pytest.raises(InvalidInputError) as caught:
        _template(manager, body="Hello {customer}")
    assert "body" in caught.value.fields
    assert not ReplyTemplate.objects.exists()


def test_agents_cannot_write_templates(agent) -> None:
    with pytest.raises(PermissionDeniedError):
        reply_template_save(actor=agent, fields=ReplyTemplateFields(name="x", body="y"))
    assert not ReplyTemplate.objects.exists()


def test_apply_replies_ticks_and_sets_status_in_one_go(manager, agent, case) -> None:
    template = _template(
        manager, set_status=CaseStatus.PENDING, tick_items=(CHECKLIST_ITEM, "Gone")
    )
    result = reply_template_apply(template=template, case=case, actor=agent, body="Hello")
    case.refresh_from_db()
    assert case.status == CaseStatus.PENDING
    assert case.checklist_done == [CHECKLIST_ITEM]
    assert result.ticked == [CHECKLIST_ITEM] and result.not_on_checklist == ["Gone"]
    kinds = list(CaseEvent.objects.filter(case=case).order_by("pk").values_list("kind", flat=True))
    assert kinds[-3:] == ["replied", "checklist_checked", "status_changed"]
    assert Message.objects.get(case=case).body == "Hello"


def test_other_teams_template_is_not_offered_nor_applied(manager, agent, case) -> None:
    theirs = _template(manager, team=TeamFactory())
    shared = _template(manager, name="Shared")
    mine = _template(manager, name="Mine", team=agent.agent_profile.team)
    client = Client()
    client.force_login(agent)
    body = client.get(f"/replies/case/{case.number}/").content.decode()
    assert f'value="{shared.pk}"' in body and f'value="{mine.pk}"' in body
    assert f'value="{theirs.pk}"' not in body
    response = client.post(
        f"/replies/case/{case.number}/apply/", {"template": theirs.pk, "body": "x"}
    )
    assert response.status_code == 302
    assert not Message.objects.filter(case=case).exists()
    with pytest.raises(PermissionDeniedError):
        reply_template_apply(template=theirs, case=case, actor=agent, body="x")


def test_apply_to_a_case_the_agent_may_not_see_is_404(manager, version, case) -> None:
    template = _template(manager)
    stranger = AgentFactory(team=TeamFactory())
    client = Client()
    client.force_login(stranger)
    response = client.post(
        f"/replies/case/{case.number}/apply/", {"template": template.pk, "body": "x"}
    )
    assert response.status_code == 404
    assert client.get(f"/replies/case/{case.number}/").status_code == 404
    assert not Message.objects.filter(case=case).exists()


def test_preview_and_apply_through_the_pages(manager, agent, case) -> None:
    template = _template(manager, set_status=CaseStatus.PENDING)
    client = Client()
    client.force_login(agent)
    preview = client.get(
        f"/replies/case/{case.number}/preview/?template={template.pk}", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert f"your case {case.number} is now in Needs analysis" in preview
    response = client.post(
        f"/replies/case/{case.number}/apply/", {"template": template.pk, "body": "Edited text"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.PENDING
    assert Message.objects.get(case=case).body == "Edited text"


@pytest.mark.parametrize("who", ["agent", "customer"])
def test_only_managers_reach_the_editor(who, agent) -> None:
    client = Client()
    user = agent if who == "agent" else CustomerFactory().user
    client.force_login(user)
    response = client.post("/replies/new/", {"name": "n", "body": "b"})
    assert response.status_code == 403
    assert not ReplyTemplate.objects.exists()


def test_manager_creates_through_the_page_and_sees_field_errors(manager) -> None:
    client = Client()
    client.force_login(manager)
    bad = client.post("/replies/new/", {"name": "n", "body": "Hi {nme}"})
    assert bad.status_code == 422
    assert "Unknown placeholder {nme}" in bad.content.decode()
    good = client.post(
        "/replies/new/", {"name": "n", "body": "Hi {customer_name}", "is_active": "on"}
    )
    assert good.status_code == 302
    assert ReplyTemplate.objects.get().body == "Hi {customer_name}"
