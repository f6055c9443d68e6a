"""Intake picks the process: an explicit request type, else the first matching rule (category,
channel, customer segment), else the default process; in the service, the API and the portal.
Open cases keep their version; the shipped processes install once; rules are cached."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from serviceloop.cases.choices import Channel
from serviceloop.cases.exceptions import InvalidInputError, PermissionDeniedError
from serviceloop.cases.intake import intake_cache_clear, request_types_for
from serviceloop.cases.models import Case, CaseEvent, IntakeRule, RequestType
from serviceloop.cases.services import case_create
from serviceloop.cases.services.intake import intake_defaults_install
from serviceloop.processes.choices import VersionStatus
from serviceloop.processes.models import ProcessVersion, ServiceProcess
from serviceloop.processes.services import process_version_new_draft, process_version_publish
from serviceloop.processes.services.shipped import process_shipped_install
from tests.cases.api_client import Api
from tests.factories import AgentFactory, CategoryFactory, CustomerFactory

pytestmark = pytest.mark.django_db

NEW_CASE = {"title": "Printer jams", "description": "Every second page jams since Monday."}


@pytest.fixture
def shipped():
    """The three shipped processes, the demo's complaint and fault categories, the shipped
    request types and rules."""
    versions = process_shipped_install(actor=None)
    CategoryFactory(code="complaint", name="Complaint", name_zh="投诉建议")
    CategoryFactory(code="fault", name="Fault report", name_zh="故障报修")
    intake_defaults_install(actor=None)
    return versions


def _open(customer=None, **kwargs):
    kwargs.setdefault("channel", Channel.PORTAL)
    return case_create(actor=None, customer=customer or CustomerFactory(), **NEW_CASE, **kwargs)


def _process_of(case: Case) -> str:
    return (
        Case.objects.select_related("process_version__process")
        .get(pk=case.pk)
        .process_version.process.code
    )


# --- the shipped processes ----------------------------------------------------------------------


def test_three_processes_ship_published_with_chinese_stage_names_once(shipped):
    assert set(shipped) == {"standard-service", "complaint", "technical-support"}
    assert ServiceProcess.objects.get(is_default=True).code == "standard-service"
    stages = {
        code: list(v.stages.order_by("order").values_list("code", "name_zh"))
        for code, v in shipped.items()
    }
    assert [c for c, _ in stages["complaint"]] == [
        "receive",
        "investigate",
        "resolve",
        "respond",
        "verify",
        "closed",
    ]
    assert [c for c, _ in stages["technical-support"]] == [
        "receive",
        "classify",
        "diagnose",
        "resolve",
        "feedback",
        "closed",
    ]
    assert all(zh for versions in stages.values() for _, zh in versions)
    assert all(v.status == VersionStatus.PUBLISHED for v in shipped.values())
    names_zh = dict(ServiceProcess.objects.values_list("code", "name_zh"))
    assert names_zh == {
        "standard-service": "标准服务流程",
        "complaint": "投诉处理流程",
        "technical-support": "技术支持流程",
    }

    again = process_shipped_install(actor=None)
    intake_defaults_install(actor=None)
    assert {c: v.pk for c, v in again.items()} == {c: v.pk for c, v in shipped.items()}
    assert ProcessVersion.objects.count() == 3
    assert set(RequestType.objects.values_list("code", flat=True)) == {
        "service",
        "complaint",
        "technical-support",
    }
    assert IntakeRule.objects.count() == 2


def test_only_admins_install_the_intake_configuration(shipped):
    with pytest.raises(PermissionDeniedError):
        intake_defaults_install(actor=AgentFactory())


# --- precedence -----------------------------------------------------------------------------------


def test_no_type_and_no_matching_rule_starts_on_the_default_process(shipped):
    CategoryFactory(code="billing", name="Billing")
    case = _open(category="billing")
    assert _process_of(case) == "standard-service"


def test_rules_pick_by_category(shipped):
    assert _process_of(_open(category="complaint")) == "complaint"
    assert _process_of(_open(category="fault")) == "technical-support"


def test_first_matching_rule_by_position_wins_and_every_set_condition_must_match(shipped):
    processes = {p.code: p for p in ServiceProcess.objects.all()}
    # enterprise customers on the phone: technical support, before the category rule (10)
    IntakeRule.objects.create(
        position=5,
        channel=Channel.PHONE,
        customer_segment="enterprise",
        process=processes["technical-support"],
    )
    enterprise = CustomerFactory(segment="Enterprise")
    assert _process_of(_open(enterprise, channel=Channel.PHONE, category="complaint")) == (
        "technical-support"
    )
    # the same customer by email: the phone rule does not match, the category rule does
    assert _process_of(_open(enterprise, channel=Channel.EMAIL, category="complaint")) == (
        "complaint"
    )
    # another segment on the phone, no category: no rule matches
    assert _process_of(_open(CustomerFactory(segment="sme"), channel=Channel.PHONE)) == (
        "standard-service"
    )


def test_inactive_rules_are_skipped(shipped):
    IntakeRule.objects.filter(category__code="complaint").update(is_active=False)
    intake_cache_clear()  # a queryset update sends no signal
    assert _process_of(_open(category="complaint")) == "standard-service"


def test_an_explicit_request_type_beats_the_rules(shipped):
    case = _open(category="complaint", request_type="technical-support")
    assert _process_of(case) == "technical-support"
    created = CaseEvent.objects.get(case=case, kind="created")
    assert created.attributes["process"] == "technical-support"
    assert case.stage.code == "receive"


def test_an_unknown_or_inactive_request_type_is_a_field_error_and_writes_nothing(shipped):
    RequestType.objects.filter(code="service").update(is_active=False)
    intake_cache_clear()
    for code in ("no-such-type", "service"):
        with pytest.raises(InvalidInputError) as raised:
            _open(request_type=code)
        assert raised.value.field_codes() == {"request_type": ["request_type_unknown"]}
    assert not Case.objects.exists()


def test_a_rule_whose_process_has_no_published_version_is_a_clear_error(shipped):
    draft_only = ServiceProcess.objects.create(code="draft-only", name="Draft only")
    IntakeRule.objects.create(position=1, channel=Channel.EMAIL, process=draft_only)
    with pytest.raises(InvalidInputError) as raised:
        _open(channel=Channel.EMAIL)
    assert raised.value.field_codes() == {"process_version": ["version_not_published"]}
    assert not Case.objects.exists()


def test_rule_changes_take_effect_at_once_and_cached_rules_cost_no_query(shipped):
    _open()  # loads the rules into the cache
    with CaptureQueriesContext(connection) as queries:
        _open(category="complaint")
    tables = (RequestType._meta.db_table, IntakeRule._meta.db_table)
    assert not [q for q in queries.captured_queries if any(t in q["sql"] for t in tables)]
    rule = IntakeRule.objects.get(category__code="complaint")
    rule.process = ServiceProcess.objects.get(code="technical-support")
    rule.save()
    assert _process_of(_open(category="complaint")) == "technical-support"


# --- staff-only types -----------------------------------------------------------------------------


def test_a_customer_cannot_name_a_staff_only_type_but_staff_can(shipped):
    RequestType.objects.filter(code="technical-support").update(staff_only=True)
    customer = CustomerFactory()
    assert "technical-support" not in {t.code for t in request_types_for(customer.user)}
    with pytest.raises(PermissionDeniedError):
        case_create(
            actor=customer.user,
            customer=customer,
            channel=Channel.PORTAL,
            request_type="technical-support",
            **NEW_CASE,
        )
    assert not Case.objects.exists()
    agent = AgentFactory()
    assert "technical-support" in {t.code for t in request_types_for(agent)}
    case = case_create(
        actor=agent,
        customer=customer,
        channel=Channel.PHONE,
        request_type="technical-support",
        **NEW_CASE,
    )
    assert _process_of(case) == "technical-support"


# --- open cases keep their version ----------------------------------------------------------------


def test_open_cases_stay_on_their_version_when_a_new_one_is_published(shipped):
    v1 = shipped["complaint"]
    old = _open(request_type="complaint")
    v2 = process_version_publish(
        version=process_version_new_draft(from_version=v1, actor=None), actor=None
    )
    new = _open(request_type="complaint")
    old.refresh_from_db()
    assert (old.process_version_id, old.stage.version_id) == (v1.pk, v1.pk)
    assert (new.process_version_id, new.stage.version_id) == (v2.pk, v2.pk)
    v1.refresh_from_db()
    assert v1.status == VersionStatus.RETIRED


# --- API ------------------------------------------------------------------------------------------


def test_api_opens_a_case_of_the_named_request_type(shipped):
    customer = CustomerFactory()
    response = Api(customer.user).post("/api/cases/", NEW_CASE | {"request_type": "complaint"})
    assert response.status_code == 201, response.json()
    assert response.json()["stage"]["code"] == "receive"
    assert _process_of(Case.objects.get(number=response.json()["number"])) == "complaint"


def test_api_refuses_an_unknown_request_type_with_422_naming_the_field(shipped):
    customer = CustomerFactory()
    response = Api(customer.user).post("/api/cases/", NEW_CASE | {"request_type": "nope"})
    assert response.status_code == 422
    assert response.json()["fields"] == {"request_type": ["Unknown request type “nope”."]}
    assert not Case.objects.exists()


def test_api_refuses_a_staff_only_request_type_to_a_customer_with_403(shipped):
    RequestType.objects.filter(code="complaint").update(staff_only=True)
    customer = CustomerFactory()
    response = Api(customer.user).post("/api/cases/", NEW_CASE | {"request_type": "complaint"})
    assert response.status_code == 403
    assert "request_type" in response.json()["fields"]
    assert not Case.objects.exists()
    staff = Api(AgentFactory()).post(
        "/api/cases/", NEW_CASE | {"request_type": "complaint", "customer_id": customer.pk}
    )
    assert staff.status_code == 201, staff.json()
    assert staff.json()["process"] == f"complaint@{shipped['complaint'].number}"


# --- portal ---------------------------------------------------------------------------------------


def test_portal_offers_the_customer_types_and_opens_the_case_on_its_process(client, shipped):
    RequestType.objects.filter(code="service").update(staff_only=True)
    customer = CustomerFactory()
    client.force_login(customer.user)
    page = client.get(reverse("portal:case-new"))
    choices = [code for code, _ in page.context["form"].fields["request_type"].choices if code]
    assert [str(c) for c in choices] == ["complaint", "technical-support"]
    response = client.post(
        reverse("portal:case-new"),
        NEW_CASE | {"priority": "normal", "request_type": "technical-support"},
    )
    assert response.status_code == 302
    assert _process_of(Case.objects.get(title=NEW_CASE["title"])) == "technical-support"


def test_portal_refuses_a_staff_only_type_and_writes_nothing(client, shipped):
    RequestType.objects.filter(code="service").update(staff_only=True)
    customer = CustomerFactory()
    client.force_login(customer.user)
    response = client.post(
        reverse("portal:case-new"), NEW_CASE | {"priority": "normal", "request_type": "service"}
    )
    assert response.status_code == 200
    assert "request_type" in response.context["form"].errors
    assert not Case.objects.exists()


# --- admin ----------------------------------------------------------------------------------------


def test_the_admin_refuses_a_type_or_rule_for_a_process_without_a_published_version(
    client, shipped
):
    from django.core.exceptions import ValidationError

    from tests.factories import AdminFactory

    draft_only = ServiceProcess.objects.create(code="draft-only", name="Draft only")
    with pytest.raises(ValidationError) as raised:
        RequestType(code="new", name="New", process=draft_only).full_clean()
    assert "process" in raised.value.message_dict
    with pytest.raises(ValidationError):
        IntakeRule(channel=Channel.EMAIL, process=draft_only).full_clean()
    IntakeRule(channel=Channel.EMAIL, process=shipped["complaint"].process).full_clean()

    client.force_login(AdminFactory())
    page = client.post(
        reverse("admin:cases_intakerule_add"),
        {
            "position": 1,
            "channel": "email",
            "customer_segment": "",
            "process": draft_only.pk,
            "is_active": "on",
            "note": "",
        },
    )
    assert page.status_code == 200 and "no published version" in page.content.decode()
    added = client.post(
        reverse("admin:cases_intakerule_add"),
        {
            "position": 1,
            "channel": "email",
            "customer_segment": "",
            "process": shipped["technical-support"].process_id,
            "is_active": "on",
            "note": "",
        },
    )
    assert added.status_code == 302
    assert _process_of(_open(channel=Channel.EMAIL)) == "technical-support"
