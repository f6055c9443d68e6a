"""Messages, attachments (upload, list, download) and case events through the API."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from serviceloop.cases.choices import EventKind
from serviceloop.cases.models import Attachment, CaseEvent, Message
from tests.cases.api_client import Api
from tests.cases.helpers import snapshot
from tests.factories import CaseFactory, CustomerFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def case(world):
    customer = CustomerFactory()
    return CaseFactory(customer=customer, actor=customer.user)


def upload(api: Api, case, name="report.pdf", data=PDF, **form):
    return api.upload(
        f"/api/cases/{case.number}/attachments",
        {"file": SimpleUploadedFile(name, data, content_type="application/pdf")},
        form,
    )


# --- messages ------------------------------------------------------------------------------------


def test_customer_replies_and_staff_note_stays_internal(world, case):
    customer_api, agent_api = Api(case.customer.user), Api(world.front_agent)
    reply = customer_api.post(f"/api/cases/{case.number}/messages", {"body": "Any news?"})
    assert reply.status_code == 201, reply.json()
    assert reply.json()["kind"] == "public"
    assert reply.json()["channel"] == "api"
    note = agent_api.post(
        f"/api/cases/{case.number}/messages", {"body": "Check the VPN logs", "kind": "internal"}
    )
    assert note.status_code == 201
    staff_view = agent_api.get(f"/api/cases/{case.number}/messages").json()["items"]
    customer_view = customer_api.get(f"/api/cases/{case.number}/messages").json()["items"]
    assert [m["kind"] for m in staff_view] == ["public", "internal"]
    assert [m["body"] for m in customer_view] == ["Any news?"]


def test_customer_cannot_write_internal_note(world, case):
    before = snapshot(case)
    response = Api(case.customer.user).post(
        f"/api/cases/{case.number}/messages", {"body": "psst", "kind": "internal"}
    )
    assert response.status_code == 422
    assert "kind" in response.json()["fields"]
    assert snapshot(case) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [({"body": ""}, "body"), ({"body": "x", "kind": "shout"}, "kind"), ({}, "body")],
)
def test_bad_message_is_422(world, case, body, field):
    response = Api(world.front_agent).post(f"/api/cases/{case.number}/messages", body)
    assert response.status_code == 422
    assert field in response.json()["fields"]
    assert not Message.objects.exists()


def test_message_retry_with_idempotency_key_posts_once(world, case):
    api = Api(case.customer.user)
    first = api.post(f"/api/cases/{case.number}/messages", {"body": "Hi"}, Idempotency_Key="m1")
    again = api.post(f"/api/cases/{case.number}/messages", {"body": "Hi"}, Idempotency_Key="m1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Message.objects.count() == 1
    assert CaseEvent.objects.filter(case=case, kind=EventKind.CUSTOMER_REPLIED).count() == 1


def test_messages_paginate_oldest_first(world, case):
    api = Api(world.front_agent)
    for i in range(5):
        api.post(f"/api/cases/{case.number}/messages", {"body": f"m{i}"})
    first = api.get(f"/api/cases/{case.number}/messages", {"limit": 3}).json()
    rest = api.get(
        f"/api/cases/{case.number}/messages", {"limit": 3, "cursor": first["next_cursor"]}
    ).json()
    assert [m["body"] for m in first["items"] + rest["items"]] == [f"m{i}" for i in range(5)]
    assert rest["next_cursor"] is None


# --- attachments ---------------------------------------------------------------------------------


def test_upload_list_and_download_attachment(world, case):
    api = Api(case.customer.user)
    response = upload(api, case)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "report.pdf"
    assert body["content_type"] == "application/pdf"
    assert response["Location"] == body["download_url"]
    listed = api.get(f"/api/cases/{case.number}/attachments").json()["items"]
    assert [a["id"] for a in listed] == [body["id"]]

    download = api.client.get(body["download_url"], headers=api.headers)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    assert 'filename="report.pdf"' in download["Content-Disposition"]
    assert download["X-Content-Type-Options"] == "nosniff"


def test_download_filename_is_safe_for_headers(world, case):
    api = Api(world.front_agent)
    created = upload(api, case, name="..\\..\\etc\\季度 报告;x=1.pdf").json()
    assert created["name"] == "季度 报告;x=1.pdf"
    download = api.client.get(created["download_url"], headers=api.headers)
    disposition = download["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert "filename*=utf-8''%E5%AD%A3%E5%BA%A6%20%E6%8A%A5%E5%91%8A%3Bx%3D1.pdf" in disposition


def test_upload_of_disguised_file_is_422_and_stores_nothing(world, case, media):
    before = snapshot(case)
    response = upload(Api(case.customer.user), case, name="invoice.pdf", data=b"MZ\x90\x00binary")
    assert response.status_code == 422
    assert "file" in response.json()["fields"]
    assert snapshot(case) == before
    assert not any(media.rglob("*"))


def test_upload_without_file_is_422(world, case):
    api = Api(case.customer.user)
    response = api.upload(f"/api/cases/{case.number}/attachments", {}, {"is_internal": "false"})
    assert response.status_code == 422
    assert "file" in response.json()["fields"]


def test_upload_retried_with_same_key_stores_one_file(world, case):
    api = Api(case.customer.user)
    first = upload(api, case, **{})
    assert first.status_code == 201
    headers = {"Idempotency_Key": "file-1"}
    a = api.upload(
        f"/api/cases/{case.number}/attachments",
        {"file": SimpleUploadedFile("a.pdf", PDF, content_type="application/pdf")},
        **headers,
    )
    b = api.upload(
        f"/api/cases/{case.number}/attachments",
        {"file": SimpleUploadedFile("a.pdf", PDF, content_type="application/pdf")},
        **headers,
    )
    assert a.status_code == b.status_code == 201
    assert a.json() == b.json()
    assert Attachment.objects.count() == 2
    c = api.upload(
        f"/api/cases/{case.number}/attachments",
        {"file": SimpleUploadedFile("b.pdf", PDF, content_type="application/pdf")},
        **headers,
    )
    assert c.status_code == 422
    assert Attachment.objects.count() == 2


def test_internal_attachment_is_hidden_from_customer(world, case):
    staff = Api(world.front_agent)
    internal = upload(staff, case, is_internal="true").json()
    assert internal["is_internal"] is True
    customer = Api(case.customer.user)
    assert customer.get(f"/api/cases/{case.number}/attachments").json()["items"] == []
    download = customer.client.get(internal["download_url"], headers=customer.headers)
    assert download.status_code == 404


def test_attachment_of_another_case_is_404_under_this_case(world, case):
    other = CaseFactory(customer=case.customer, actor=case.customer.user)
    api = Api(case.customer.user)
    created = upload(api, other).json()
    response = api.client.get(
        f"/api/cases/{case.number}/attachments/{created['id']}", headers=api.headers
    )
    assert response.status_code == 404


def test_upload_to_message_of_another_case_is_422(world, case):
    other = CaseFactory(customer=case.customer, actor=case.customer.user)
    api = Api(case.customer.user)
    message = api.post(f"/api/cases/{other.number}/messages", {"body": "hello"}).json()
    response = upload(api, case, message_id=str(message["id"]))
    assert response.status_code == 422
    assert "message_id" in response.json()["fields"]


# --- events --------------------------------------------------------------------------------------


def test_events_list_full_for_staff_and_milestones_only_for_customer(world, case):
    Api(world.front_agent).post(
        f"/api/cases/{case.number}/messages", {"body": "note", "kind": "internal"}
    )
    staff = Api(world.front_agent).get(f"/api/cases/{case.number}/events").json()["items"]
    kinds = [e["kind"] for e in staff]
    assert kinds[:2] == ["created", "stage_entered"]
    assert "note_added" in kinds
    assert staff[0]["attributes"]["number"] == case.number
    customer = Api(case.customer.user).get(f"/api/cases/{case.number}/events").json()["items"]
    assert {e["kind"] for e in customer} <= {"created", "stage_entered"}
    assert all(e["actor"] is None and e["attributes"] is None for e in customer)


@pytest.mark.parametrize("sub", ["messages", "attachments", "events"])
def test_sub_lists_make_no_query_per_row(world, case, sub, django_assert_max_num_queries):
    api = Api(world.front_agent)
    api.get(f"/api/cases/{case.number}")  # token last_used_at written once; measure steady state

    def grow() -> None:
        for i in range(4):
            api.post(f"/api/cases/{case.number}/messages", {"body": f"m{i}"})
            upload(api, case, name=f"f{i}.pdf")

    # token, agent team, the case, the page: the same four with 1 row or 5
    with django_assert_max_num_queries(4):
        first = api.get(f"/api/cases/{case.number}/{sub}")
    grow()
    with django_assert_max_num_queries(4):
        second = api.get(f"/api/cases/{case.number}/{sub}")
    assert len(second.json()["items"]) > len(first.json()["items"])
