"""Every app refuses with a code from the one table (core/messages.py): the API answers the code
and its parameters, pages and services say the table's sentence in the reader's language, and no
module raises a finished sentence or passes a library's English on."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation

from serviceloop.core.exceptions import InvalidInputError, PermissionDeniedError, Problem
from serviceloop.evaluation.measures import Period
from serviceloop.evaluation.models import ComparisonMatrix
from serviceloop.evaluation.qa import qa_sample
from serviceloop.evaluation.services import (
    comparison_matrix_save,
    indicator_system_create_default,
    indicator_weights_set,
)
from serviceloop.feedback.services import complaint_record
from serviceloop.replies.models import ReplyTemplate
from serviceloop.replies.services import ReplyTemplateFields, reply_template_save
from serviceloop.savedviews.models import SavedView
from serviceloop.savedviews.services import saved_view_save
from serviceloop.sla.models import BusinessCalendar
from tests.cases.api_client import Api
from tests.factories import (
    AdminFactory,
    AgentFactory,
    CaseFactory,
    CustomerFactory,
    ManagerFactory,
)

SRC = Path(__file__).resolve().parents[2] / "src" / "serviceloop"

_BASE_ERRORS = {"ApplicationError", "ConflictError", "InvalidInputError", "PermissionDeniedError"}
_GETTEXT = {"_", "gettext", "gettext_lazy", "ngettext", "pgettext", "str"}


def _modules() -> list[tuple[Path, ast.Module]]:
    skip = {"analytics", "migrations"}
    return [
        (path, ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(SRC.rglob("*.py"))
        if not skip & set(path.relative_to(SRC).parts)
    ]


def _domain_errors(modules: list[tuple[Path, ast.Module]]) -> set[str]:
    """The shared domain errors and every class in the project derived from them."""
    names = set(_BASE_ERRORS)
    grew = True
    while grew:
        grew = False
        for _, tree in modules:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names:
                    bases = {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases}
                    if bases & names:
                        names.add(node.name)
                        grew = True
    return names


def _sentence(node: ast.AST) -> bool:
    """A message that is already text: a literal sentence, an f-string, %-formatting, a gettext
    call, ``str(...)`` of something (a library's exception, say) or a ``MSG_`` constant."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and " " in node.value
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Name):  # the old ``MSG_...`` constants held finished sentences
        return node.id.startswith("MSG_")
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return True
    if isinstance(node, ast.Call):
        return getattr(node.func, "id", "") in _GETTEXT
    if isinstance(node, ast.Dict):
        return any(v is not None and _sentence(v) for v in node.values)
    return False


def _finished_sentences() -> list[str]:
    modules = _modules()
    errors = _domain_errors(modules)
    found = []
    for path, tree in modules:
        # Django's form errors stay Django's: forms show them in the reader's language.
        forms_module = path.name == "forms.py" or path.name == "admin.py"
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = getattr(func, "id", getattr(func, "attr", ""))
            args = list(node.args)
            if name == "for_field" and isinstance(func, ast.Attribute):
                name, args = getattr(func.value, "id", ""), args[1:]  # (field, problem)
            is_domain = name in errors
            is_validation = name == "ValidationError" and not forms_module
            if (is_domain or is_validation) and any(_sentence(a) for a in args):
                found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    return found


def test_no_module_raises_a_finished_sentence():
    assert _finished_sentences() == []


def test_the_check_finds_the_sentences_it_forbids():
    code = (
        "raise InvalidInputError(_('No.'))\n"
        "raise ConflictError(f'Key {key} taken.')\n"
        "raise InvalidInputError.for_field('x', str(exc))\n"
        "raise ValidationError({'team': _('Say which.')})\n"
        "raise InvalidInputError(Problem('weights_invalid'))\n"
        "raise PermissionDeniedError(MSG_MANAGERS_ONLY)\n"
        "raise SurveyLinkError('forged', Problem('survey_link_invalid'))\n"
    )
    calls = [n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Raise)]
    flagged = []
    for raised in calls:
        call = raised.exc
        assert isinstance(call, ast.Call)
        args = list(call.args)
        if isinstance(call.func, ast.Attribute) and call.func.attr == "for_field":
            args = args[1:]
        flagged.append(any(_sentence(a) for a in args))
    assert flagged == [True, True, True, True, False, True, False]


# --- the API answers codes ----------------------------------------------------------------------


@pytest.mark.django_db
def test_api_refusals_carry_their_code_and_speak_the_requests_language():
    agent = AgentFactory()
    api = Api(agent)
    refused = api.get("/api/evaluations/", Accept_Language="zh-hans")
    assert refused.status_code == 403
    body = refused.json()
    assert (body["code"], body["params"]) == ("evaluation_view_forbidden", {})
    assert body["detail"] == "只有服务经理和管理员可以查看评价。"
    english = api.get("/api/evaluations/").json()
    assert english["detail"] == (
        "Evaluations are visible to service managers and administrators only."
    )


@pytest.mark.django_db
def test_api_list_and_export_refusals_are_coded():
    manager = ManagerFactory()
    api = Api(manager)
    cursor = api.get("/api/cases/", {"cursor": "not-a-cursor"})
    assert cursor.status_code == 422
    assert cursor.json()["code"] == "cursor_invalid"
    export = api.get(
        "/api/events/export",
        {"since": "2026-02-01", "until": "2026-01-01"},
        Accept_Language="zh-hans",
    )
    assert export.status_code == 422
    assert export.json()["code"] == "period_reversed"
    assert export.json()["fields"] == {"since": ["周期的结束早于开始。"]}


@pytest.mark.django_db
def test_the_frameworks_own_refusals_are_coded_too(client):
    anonymous = client.get("/api/cases/", headers={"Accept-Language": "zh-hans"})
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "unauthenticated"
    assert anonymous.json()["detail"].startswith("需要身份验证")
    api = Api(ManagerFactory())
    missing = api.get("/api/cases/NOPE-1")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    unreadable = api.client.post(
        "/api/cases/", "{not json", content_type="application/json", headers=api.headers
    )
    assert (unreadable.status_code, unreadable.json()["code"]) == (422, "body_unparsable")
    invalid = api.post("/api/cases/", {"title": 5})
    assert (invalid.status_code, invalid.json()["code"]) == (422, "invalid_input")


# --- evaluation: indicators named in the reader's language ---------------------------------------


JUDGEMENTS = {
    ("customer_satisfaction", "service_quality"): 2,
    ("customer_satisfaction", "process_efficiency"): 3,
    ("customer_satisfaction", "team_collaboration"): 4,
    ("customer_satisfaction", "resource_allocation"): 1 / 9,
    ("service_quality", "process_efficiency"): 2,
    ("service_quality", "team_collaboration"): 3,
    ("service_quality", "resource_allocation"): 4,
    ("process_efficiency", "team_collaboration"): 2,
    ("process_efficiency", "resource_allocation"): 3,
    ("team_collaboration", "resource_allocation"): 2,
}


@pytest.mark.django_db
def test_evaluation_refusals_name_indicators_in_the_readers_language():
    manager = ManagerFactory()
    system = indicator_system_create_default(actor=manager)
    with pytest.raises(InvalidInputError) as inconsistent:
        comparison_matrix_save(system=system, parent=None, judgements=JUDGEMENTS, actor=manager)
    error = inconsistent.value
    assert error.code == "judgements_inconsistent"
    [off] = error.fields["customer_satisfaction__resource_allocation"]
    assert off.as_json()["params"]["row"] == "customer_satisfaction"  # clients get codes
    with translation.override("zh-hans"):
        assert str(off).startswith("客户满意度 对 资源配置：判断为 1/9.00")
        assert error.message.startswith("判断不一致（一致性比率")
    assert str(off).startswith("Customer satisfaction vs Resource allocation: judged 1/9.00")

    with pytest.raises(InvalidInputError) as incomplete:
        indicator_weights_set(
            system=system, parent=None, weights={"service_quality": 1}, actor=manager
        )
    assert incomplete.value.code == "weights_incomplete"
    with translation.override("zh-hans"):
        assert "客户满意度, 流程效率" in incomplete.value.message


@pytest.mark.django_db
def test_library_refusals_of_judgements_are_said_in_the_managers_terms():
    manager = ManagerFactory()
    system = indicator_system_create_default(actor=manager)
    cases = [
        ({**JUDGEMENTS, ("customer_satisfaction", "nowhere"): 2}, "judgement_unknown"),
        ({**JUDGEMENTS, ("service_quality", "service_quality"): 2}, "judgement_self"),
        ({**JUDGEMENTS, ("service_quality", "customer_satisfaction"): 2}, "judgement_twice"),
        ({**JUDGEMENTS, ("service_quality", "process_efficiency"): 0}, "judgement_value"),
        (
            {k: v for k, v in JUDGEMENTS.items() if k != ("service_quality", "process_efficiency")},
            "judgement_missing",
        ),
    ]
    for judgements, code in cases:
        with pytest.raises(InvalidInputError) as caught:
            comparison_matrix_save(system=system, parent=None, judgements=judgements, actor=manager)
        assert caught.value.code == code
    assert not ComparisonMatrix.objects.exists()


@pytest.mark.django_db
def test_quality_reviews_refuse_with_codes():
    manager = ManagerFactory()
    period = Period(dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    with pytest.raises(PermissionDeniedError) as not_manager:
        qa_sample(period=period, per_agent=2, reviewers=[manager], actor=AgentFactory())
    assert not_manager.value.code == "qa_managers_only"
    with pytest.raises(InvalidInputError) as too_many:
        qa_sample(period=period, per_agent=51, reviewers=[manager], actor=manager)
    assert too_many.value.field_codes() == {"per_agent": ["qa_sample_size"]}
    with translation.override("zh-hans"):
        assert too_many.value.message == "每名坐席抽取 1 到 50 个工单。"


# --- feedback, sign-up, replies, saved views: pages in Chinese ----------------------------------


@pytest.mark.django_db
def test_feedback_refusals_are_coded_and_the_link_page_speaks_chinese(client):
    customer = CustomerFactory()
    case = CaseFactory(customer=customer)
    with pytest.raises(PermissionDeniedError) as caught:
        complaint_record(case=case, actor=customer.user)
    assert caught.value.code == "complaint_staff_only"
    with pytest.raises(InvalidInputError) as itself:
        complaint_record(case=case, about_case=case, actor=AgentFactory())
    assert itself.value.field_codes() == {"about_case": ["complaint_about_itself"]}

    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("feedback:answer", args=["forged-token"]))
    assert page.status_code == 403
    assert "该调查链接无效。" in page.content.decode()


@pytest.mark.django_db
def test_a_bad_signup_link_is_refused_in_chinese(client):
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("portal:signup-confirm", args=["forged-token"]))
    assert page.status_code == 404
    assert "此注册链接无效或已过期，请重新注册。" in page.content.decode()


@pytest.mark.django_db
def test_standard_reply_refusals_are_coded_and_shown_in_chinese(client):
    with pytest.raises(PermissionDeniedError) as caught:
        reply_template_save(
            actor=AgentFactory(), fields=ReplyTemplateFields(name="n", body="Hello")
        )
    assert caught.value.code == "reply_managers_only"
    client.force_login(ManagerFactory())
    client.cookies["django_language"] = "zh-hans"
    page = client.post("/replies/new/", {"name": "n", "body": "Hi {nme}"})
    assert page.status_code == 422
    assert "未知占位符 {nme}" in page.content.decode()
    assert not ReplyTemplate.objects.exists()


@pytest.mark.django_db
def test_saved_view_names_are_refused_with_codes():
    user = AgentFactory()
    with pytest.raises(InvalidInputError) as caught:
        saved_view_save(user=user, name="x" * 61, query="status=open")
    assert caught.value.field_codes() == {"name": ["view_name_too_long"]}
    assert caught.value.params == {"max": 60}
    with translation.override("zh-hans"):
        assert caught.value.message == "最多使用 60 个字符。"
    assert not SavedView.objects.exists()


@pytest.mark.django_db
def test_sla_api_refusals_are_coded_and_translated():
    quality = Api(AgentFactory()).get("/api/sla/quality", Accept_Language="zh-hans")
    assert quality.status_code == 403
    assert quality.json()["code"] == "quality_managers_only"
    assert quality.json()["detail"] == "只有服务经理可以查看质量标准。"
    charts = Api(CustomerFactory().user).get("/api/sla/control-charts")
    assert (charts.status_code, charts.json()["code"]) == (403, "charts_forbidden")
    unknown = Api(ManagerFactory()).get("/api/sla/quality", {"process": "nope"})
    assert (unknown.status_code, unknown.json()["code"]) == (422, "bad_choice")
    assert unknown.json()["fields"]["process"][0].startswith("“nope” is not one of")


# --- sla: model validation says the table's sentence ---------------------------------------------


@pytest.mark.django_db
def test_calendar_validation_speaks_chinese_in_the_admin(client):
    client.force_login(AdminFactory())
    client.cookies["django_language"] = "zh-hans"
    form = {
        "name": "上海",
        "team": "",
        "time_zone": "Asia/Nowhere",
        "country": "",
        "subdivision": "",
        "monday": "9-17",
        **{d: "09:00-17:00" for d in ("tuesday", "wednesday", "thursday", "friday")},
        "saturday": "",
        "sunday": "10:00-12:00, 11:00-13:00",
        "makeup_hours": "",
        "dates-TOTAL_FORMS": "0",
        "dates-INITIAL_FORMS": "0",
    }
    page = client.post("/admin/sla/businesscalendar/add/", form)
    assert page.status_code == 200
    text = page.content.decode()
    assert "“9”不是形如 09:00 的时间。" in text
    assert "未知的时区“Asia/Nowhere”。" in text
    assert "“10:00-12:00, 11:00-13:00”中的时段重叠或相接；请合并。" in text
    assert not BusinessCalendar.objects.exists()


def test_list_page_limits_render_in_the_language_active_where_shown():
    error = InvalidInputError.for_field("limit", Problem("limit_range", {"max": 200}))
    assert error.message == "Use a limit between 1 and 200."
    with translation.override("zh-hans"):
        assert error.message == "每页条数应在 1 到 200 之间。"
