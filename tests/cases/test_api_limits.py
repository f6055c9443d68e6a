"""Bounded input: every text and structure a client sends has a limit an administrator can change;
going over it answers 422 (or 413) naming the field and the limit, before anything is written."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.datastructures import MultiValueDict

from serviceloop.cases.forms import CaseSubmitForm, MessageForm
from serviceloop.cases.models import Attachment, Case, CaseEvent, Message
from serviceloop.core.environment import DEFAULT_LIMITS, limits_from_env
from serviceloop.core.models import IdempotencyRecord
from tests.cases.api_client import Api
from tests.factories import CaseFactory, CustomerFactory

pytestmark = pytest.mark.django_db

NEW_CASE = {"title": "VPN drops", "description": "Since Monday."}


def nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.fixture
def limits(settings):
    """Change limits as an administrator would (the settings the environment fills)."""
    settings.INPUT_LIMITS = dict(DEFAULT_LIMITS)
    return settings.INPUT_LIMITS


@pytest.fixture
def staff(world):
    return Api(world.front_agent)


@pytest.fixture
def customer(world):
    return CustomerFactory()


def nothing_written() -> bool:
    return not (
        Case.objects.exists() or CaseEvent.objects.exists() or IdempotencyRecord.objects.exists()
    )


def refused(response, field: str, variable: str, status: int = 422) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    messages = " ".join(body["fields"][field])
    assert variable in messages, messages


@pytest.mark.parametrize("depth", [6, 65, 256])
def test_attributes_nested_deeper_than_the_limit_are_422_and_nothing_is_written(
    staff, customer, depth
):
    """256 deep used to be saved and then answered 500, so a retrying client made duplicates."""
    body = NEW_CASE | {"customer_id": customer.pk, "attributes": {"x": nested(depth)}}
    for _ in range(2):  # the retry sees the same refusal and writes nothing either
        response = staff.post("/api/cases/", body, Idempotency_Key="retry-me")
        refused(response, "attributes", "SERVICELOOP_LIMIT_ATTRIBUTES_DEPTH")
    assert nothing_written()


def test_a_body_nested_100000_deep_is_refused_with_4xx(staff, customer):
    depth = 100_000
    deep = '{"a":' * depth + "1" + "}" * depth
    raw = f'{{"title":"t","description":"d","customer_id":{customer.pk},"attributes":{deep}}}'
    response = staff.client.post(
        "/api/cases/", raw, content_type="application/json", headers=staff.headers
    )
    assert 400 <= response.status_code < 500
    assert nothing_written()


@pytest.mark.parametrize(
    ("attributes", "variable"),
    [
        ({f"k{i}": i for i in range(101)}, "SERVICELOOP_LIMIT_ATTRIBUTES_KEYS"),
        ({"list": list(range(101))}, "SERVICELOOP_LIMIT_ATTRIBUTES_ARRAY_ITEMS"),
        ({"blob": "x" * 17_000}, "SERVICELOOP_LIMIT_ATTRIBUTES_BYTES"),
        ({"k" * 51: 1}, "SERVICELOOP_LIMIT_ATTRIBUTE_KEY_CHARS"),
        ({"a": [{"b": {f"k{i}": i for i in range(60)}}, {f"c{i}": i for i in range(60)}]}, "KEYS"),
    ],
    ids=["keys", "array", "bytes", "key-length", "keys-at-all-levels"],
)
def test_attributes_over_a_limit_are_422(staff, customer, attributes, variable):
    response = staff.post(
        "/api/cases/", NEW_CASE | {"customer_id": customer.pk, "attributes": attributes}
    )
    refused(response, "attributes", variable)
    assert nothing_written()


def test_an_administrator_can_change_the_limits(staff, customer, limits):
    body = NEW_CASE | {"customer_id": customer.pk, "attributes": {"x": nested(3)}}
    limits["ATTRIBUTES_DEPTH"] = 3
    refused(staff.post("/api/cases/", body), "attributes", "ATTRIBUTES_DEPTH")
    limits["ATTRIBUTES_DEPTH"] = 4
    assert staff.post("/api/cases/", body).status_code == 201
    limits["CASE_DESCRIPTION_CHARS"] = 5
    response = staff.post("/api/cases/", body | {"description": "123456"})
    refused(response, "description", "SERVICELOOP_LIMIT_CASE_DESCRIPTION_CHARS")
    assert "at most 5" in response.json()["fields"]["description"][0]


def test_limits_come_from_the_environment_and_bad_values_stop_the_start(monkeypatch):
    monkeypatch.setenv("SERVICELOOP_LIMIT_MESSAGE_BODY_CHARS", "500")
    assert limits_from_env()["MESSAGE_BODY_CHARS"] == 500
    monkeypatch.setenv("SERVICELOOP_LIMIT_MESSAGE_BODY_CHARS", "many")
    with pytest.raises(ValueError, match="SERVICELOOP_LIMIT_MESSAGE_BODY_CHARS"):
        limits_from_env()
    monkeypatch.setenv("SERVICELOOP_LIMIT_MESSAGE_BODY_CHARS", "10")
    monkeypatch.setenv("SERVICELOOP_LIMIT_ATTRIBUTES_DEPTH", "1000")
    with pytest.raises(ValueError, match="at most 64"):
        limits_from_env()


@pytest.mark.parametrize(
    ("change", "field", "variable"),
    [
        ({"title": "t" * 201}, "title", "200"),
        ({"description": "d" * 20_001}, "description", "SERVICELOOP_LIMIT_CASE_DESCRIPTION_CHARS"),
    ],
)
def test_long_texts_are_422(staff, customer, change, field, variable):
    response = staff.post("/api/cases/", NEW_CASE | {"customer_id": customer.pk} | change)
    refused(response, field, variable)
    assert nothing_written()


def test_patch_over_a_limit_changes_nothing(world):
    case = CaseFactory()
    api = Api(world.front_agent)
    before = (case.version, CaseEvent.objects.count())
    response = api.patch(f"/api/cases/{case.number}", {"attributes": {"x": nested(300)}})
    refused(response, "attributes", "ATTRIBUTES_DEPTH")
    case.refresh_from_db()
    assert (case.version, CaseEvent.objects.count()) == before


def test_message_body_over_the_limit_is_422(world, limits):
    customer = CustomerFactory()
    case = CaseFactory(customer=customer, actor=customer.user)
    limits["MESSAGE_BODY_CHARS"] = 10
    response = Api(customer.user).post(f"/api/cases/{case.number}/messages", {"body": "x" * 11})
    refused(response, "body", "SERVICELOOP_LIMIT_MESSAGE_BODY_CHARS")
    assert not Message.objects.exists()


def test_a_body_over_the_request_limit_is_413_before_it_is_read(staff, customer, limits):
    limits["BODY_BYTES"] = 1000
    response = staff.post(
        "/api/cases/", NEW_CASE | {"customer_id": customer.pk, "description": "d" * 2000}
    )
    assert response.status_code == 413
    assert "SERVICELOOP_LIMIT_BODY_BYTES" in response.json()["detail"]
    assert nothing_written()


def test_an_upload_over_the_whole_request_limit_is_413(world, limits, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    customer = CustomerFactory()
    case = CaseFactory(customer=customer, actor=customer.user)
    limits["REQUEST_BYTES"] = 4096
    big = SimpleUploadedFile("a.txt", b"x" * 8192, content_type="text/plain")
    response = Api(customer.user).upload(f"/api/cases/{case.number}/attachments", {"file": big})
    assert response.status_code == 413
    assert "SERVICELOOP_LIMIT_REQUEST_BYTES" in response.json()["detail"]
    assert not Attachment.objects.exists()
    assert not any(tmp_path.rglob("*.*"))


def test_too_many_files_in_one_request_are_413(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    customer = CustomerFactory()
    case = CaseFactory(customer=customer, actor=customer.user)
    files = [SimpleUploadedFile(f"{i}.txt", b"x", content_type="text/plain") for i in range(3)]
    response = Api(customer.user).upload(f"/api/cases/{case.number}/attachments", {"file": files})
    assert response.status_code == 413
    assert "SERVICELOOP_LIMIT_FILES_PER_REQUEST" in response.json()["detail"]
    assert not Attachment.objects.exists()


def test_portal_forms_apply_the_same_limits(world, limits):
    limits["CASE_DESCRIPTION_CHARS"] = 10
    limits["MESSAGE_BODY_CHARS"] = 10
    limits["FILES_PER_REQUEST"] = 1
    limits["CASE_TITLE_CHARS"] = 5
    form = CaseSubmitForm({"title": "t" * 6, "description": "x" * 11, "priority": "normal"})
    assert not form.is_valid() and "at most 10" in form.errors["description"][0]
    assert "at most 5" in form.errors["title"][0]
    reply = MessageForm({"body": "x" * 11})
    assert not reply.is_valid() and "at most 10" in reply.errors["body"][0]
    files = [SimpleUploadedFile(f"{i}.txt", b"x", content_type="text/plain") for i in range(2)]
    uploads = MultiValueDict({"attachments": files})
    many = MessageForm({"body": "ok"}, uploads)
    assert not many.is_valid() and "at most 1" in many.errors["attachments"][0]


def test_json_error_body_is_well_formed(staff, customer):
    response = staff.post(
        "/api/cases/", NEW_CASE | {"customer_id": customer.pk, "attributes": {"x": nested(7)}}
    )
    assert json.loads(response.content)["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": "a\x00b"}, "title"),
        ({"description": "a\x00b"}, "description"),
        ({"attributes": {"k": "a\x00b"}}, "attributes"),
        ({"attributes": {"k\x00": 1}}, "attributes"),
        ({"attributes": {"k": ["ok", "a\x00b"]}}, "attributes"),
    ],
    ids=["title", "description", "attribute-value", "attribute-key", "attribute-array"],
)
def test_text_with_a_nul_character_is_422_not_a_database_error(staff, customer, change, field):
    """PostgreSQL cannot store NUL in text: it answered 500 once every other check had passed."""
    response = staff.post("/api/cases/", NEW_CASE | {"customer_id": customer.pk} | change)
    assert response.status_code == 422, response.content
    assert field in response.json()["fields"]
    assert nothing_written()


def test_nul_in_a_message_or_a_filter_is_422(world):
    customer = CustomerFactory()
    case = CaseFactory(customer=customer, actor=customer.user)
    api = Api(customer.user)
    response = api.post(f"/api/cases/{case.number}/messages", {"body": "a\x00b"})
    assert response.status_code == 422 and "body" in response.json()["fields"]
    assert not Message.objects.exists()
    assert api.get("/api/cases/", {"search": "a\x00b"}).status_code == 422


@pytest.mark.parametrize("customer_id", [2**63, 10**27, 0, -1])
def test_a_customer_id_outside_the_database_range_is_422_and_nothing_is_written(staff, customer_id):
    """Found by schemathesis: 10**27 overflowed SQLite's integer inside the customer look-up (500)."""
    before = Case.objects.count()
    response = staff.post(
        "/api/cases/", NEW_CASE | {"customer_id": customer_id}, Idempotency_Key=f"id-{customer_id}"
    )
    assert response.status_code == 422, response.content
    assert "customer_id" in response.json()["fields"]
    assert Case.objects.count() == before
