"""Customer portal pages: my requests, submitting and answering, and what a customer may
never see (another customer's case or file, internal notes) — always 404, never a leak."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from serviceloop.cases.choices import Channel, EventKind, MessageKind
from serviceloop.cases.models import Attachment, Case, CaseEvent, Message
from serviceloop.cases.services import message_add
from tests.cases.helpers import snapshot
from tests.factories import PASSWORD, CaseFactory, CategoryFactory, CustomerFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def alice(world):
    return CustomerFactory(name="Alice Wang")


@pytest.fixture
def bob(world):
    return CustomerFactory(name="Bob Li")


@pytest.fixture
def alice_case(alice):
    case = CaseFactory(customer=alice, actor=alice.user, title="Alice's broken printer")
    message_add(
        case=case,
        author=alice.user,
        body="Here is the error report.",
        kind=MessageKind.PUBLIC,
        channel=Channel.PORTAL,
        files=[SimpleUploadedFile("report.pdf", PDF, content_type="application/pdf")],
    )
    return case


def _login(client, customer):
    client.force_login(customer.user)
    return client


# --- my requests ------------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_sign_in(client, world):
    response = client.get(reverse("portal:case-list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_case_list_shows_only_own_cases(client, alice_case, bob):
    bob_case = CaseFactory(customer=bob, actor=bob.user, title="Bob's missing invoice")
    page = _login(client, alice_case.customer).get(reverse("portal:case-list")).content.decode()
    assert alice_case.number in page and "Alice&#x27;s broken printer" in page
    assert bob_case.number not in page and "missing invoice" not in page


def test_case_list_makes_no_query_per_row(client, alice, django_assert_max_num_queries):
    for _ in range(12):
        CaseFactory(customer=alice, actor=alice.user)
    _login(client, alice)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("portal:case-list"))
    assert len(response.context["cases"]) == 12


def test_staff_are_sent_to_the_workspace(client, world):
    client.force_login(world.front_agent)
    response = client.get(reverse("portal:case-list"))
    assert response.status_code == 302
    assert response["Location"] == reverse("workspace:queue")


# --- submitting -------------------------------------------------------------------------------


def test_submit_request_with_files_creates_case_and_attachments(client, alice):
    category = CategoryFactory(code="billing", name="Billing", name_zh="账单")
    _login(client, alice)
    response = client.post(
        reverse("portal:case-new"),
        {
            "title": "Invoice total is wrong",
            "description": "The March invoice counts the same item twice.",
            "category": category.pk,
            "priority": "high",
            "attachments": [
                SimpleUploadedFile("invoice.pdf", PDF, content_type="application/pdf"),
                SimpleUploadedFile("notes.txt", "两次计费".encode(), content_type="text/plain"),
            ],
        },
    )
    case = Case.objects.get(title="Invoice total is wrong")
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:case-detail", args=[case.number])
    assert (case.customer, case.channel, case.priority, case.category) == (
        alice,
        Channel.PORTAL,
        "high",
        category,
    )
    names = sorted(a.original_name for a in case.attachments.all())
    assert names == ["invoice.pdf", "notes.txt"]
    assert not any(a.is_internal for a in case.attachments.all())
    page = client.get(response["Location"]).content.decode()
    assert "invoice.pdf" in page and "notes.txt" in page


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": ""}, "title"),
        ({"description": ""}, "description"),
        ({"priority": "whenever"}, "priority"),
        ({"category": "999999"}, "category"),
    ],
)
def test_submit_bad_input_shows_error_and_writes_nothing(client, alice, data, field):
    _login(client, alice)
    form = {"title": "T", "description": "D", "priority": "normal", **data}
    response = client.post(reverse("portal:case-new"), form)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert Case.objects.count() == 0
    assert CaseEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("page.html", b"<html><script>alert(1)</script></html>"),
        ("empty.pdf", b""),
        ("fake.pdf", b"just text pretending to be a PDF"),
    ],
)
def test_submit_with_a_refused_file_writes_nothing(client, alice, media, name, content):
    _login(client, alice)
    response = client.post(
        reverse("portal:case-new"),
        {
            "title": "With a bad file",
            "description": "D",
            "priority": "normal",
            "attachments": [
                SimpleUploadedFile("fine.pdf", PDF, content_type="application/pdf"),
                SimpleUploadedFile(name, content, content_type="application/octet-stream"),
            ],
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["attachments"]
    assert any(name in e for e in errors)
    assert Case.objects.count() == 0
    assert Attachment.objects.count() == 0
    assert not any(p.is_file() for p in media.rglob("*"))


# --- the case page ----------------------------------------------------------------------------


def test_case_page_shows_public_history_in_plain_language(client, alice_case, world):
    message_add(
        case=alice_case,
        author=world.manager,
        body="We are checking the printer queue.",
        kind=MessageKind.PUBLIC,
        channel=Channel.AGENT,
    )
    message_add(
        case=alice_case,
        author=world.manager,
        body="SECRET: customer was rude",
        kind=MessageKind.INTERNAL,
        channel=Channel.AGENT,
        files=[SimpleUploadedFile("internal.pdf", PDF, content_type="application/pdf")],
    )
    page = _login(client, alice_case.customer).get(
        reverse("portal:case-detail", args=[alice_case.number])
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert "We are checking the printer queue." in html
    assert "report.pdf" in html
    assert "We are working on your request." in html
    assert "Reply from our team" in html and "Your message" in html
    assert "SECRET" not in html and "internal.pdf" not in html
    kinds = [row.kind for row in page.context["timeline"]]
    assert EventKind.ASSIGNED not in kinds and MessageKind.INTERNAL not in kinds


def test_case_page_names_stages_in_chinese(client, alice_case):
    client.cookies["django_language"] = "zh-hans"
    html = _login(client, alice_case.customer).get(
        reverse("portal:case-detail", args=[alice_case.number])
    )
    text = html.content.decode()
    assert "受理" in text and "需求分析" in text
    assert "我们正在处理您的需求。" in text


def test_reply_adds_a_public_message_with_files(client, alice_case):
    _login(client, alice_case.customer)
    response = client.post(
        reverse("portal:case-reply", args=[alice_case.number]),
        {
            "body": "It happens on every page.",
            "attachments": [SimpleUploadedFile("photo.pdf", PDF, content_type="application/pdf")],
        },
    )
    assert response.status_code == 302
    message = Message.objects.filter(case=alice_case).latest("id")
    assert (message.body, message.kind, message.channel) == (
        "It happens on every page.",
        MessageKind.PUBLIC,
        Channel.PORTAL,
    )
    assert [a.original_name for a in message.attachments.all()] == ["photo.pdf"]


def test_empty_reply_shows_error_and_writes_nothing(client, alice_case):
    before = snapshot(alice_case)
    response = _login(client, alice_case.customer).post(
        reverse("portal:case-reply", args=[alice_case.number]), {"body": "   "}
    )
    assert response.status_code == 422
    assert "body" in response.context["reply_form"].errors
    assert snapshot(alice_case) == before


# --- attacks: another customer's case and files -----------------------------------------------


def test_other_customer_gets_404_for_case_reply_and_files(client, alice_case, bob):
    attachment = alice_case.attachments.get()
    before = snapshot(alice_case)
    _login(client, bob)
    assert client.get(reverse("portal:case-detail", args=[alice_case.number])).status_code == 404
    reply = client.post(reverse("portal:case-reply", args=[alice_case.number]), {"body": "hi"})
    assert reply.status_code == 404
    assert client.get(reverse("portal:attachment", args=[attachment.pk])).status_code == 404
    assert client.get(reverse("workspace:attachment", args=[attachment.pk])).status_code == 404
    assert client.get(reverse("portal:attachment", args=[999999])).status_code == 404
    assert snapshot(alice_case) == before


def test_customer_cannot_open_the_workspace(client, alice_case):
    _login(client, alice_case.customer)
    assert client.get(reverse("workspace:queue")).status_code == 403
    url = reverse("workspace:case-detail", args=[alice_case.number])
    assert client.get(url).status_code == 403
    transition = reverse("workspace:case-transition", args=[alice_case.number])
    assert client.post(transition, {"to_stage": alice_case.stage_id}).status_code == 403


def test_owner_downloads_file_as_attachment_with_nosniff(client, alice_case):
    attachment = alice_case.attachments.get()
    response = _login(client, alice_case.customer).get(
        reverse("portal:attachment", args=[attachment.pk])
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="report.pdf"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PDF


def test_customer_cannot_download_internal_files_of_own_case(client, alice_case, world):
    note = message_add(
        case=alice_case,
        author=world.manager,
        body="internal",
        kind=MessageKind.INTERNAL,
        channel=Channel.AGENT,
        files=[SimpleUploadedFile("internal.pdf", PDF, content_type="application/pdf")],
    )
    attachment = note.attachments.get()
    _login(client, alice_case.customer)
    assert client.get(reverse("portal:attachment", args=[attachment.pk])).status_code == 404
    client.force_login(world.manager)
    assert client.get(reverse("workspace:attachment", args=[attachment.pk])).status_code == 200


def test_customer_sign_in_with_password_lands_on_my_requests(client, alice):
    response = client.post(
        reverse("login"), {"username": alice.user.username, "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("portal:case-list")


def test_closed_case_offers_a_new_request_instead_of_a_reply(client, alice, world):
    from serviceloop.cases.services import case_check_item, case_transition
    from tests.factories import CHECKLIST_ITEM, stage_of

    case = CaseFactory(customer=alice, actor=alice.user, category=CategoryFactory())
    case = case_transition(
        case=case, to_stage=stage_of(world.version, "analysis"), actor=world.manager
    )
    case = case_check_item(case=case, actor=world.manager, item=CHECKLIST_ITEM)
    for code in ("delivery", "closed"):
        case = case_transition(
            case=case, to_stage=stage_of(world.version, code), actor=world.manager
        )
    before = snapshot(case)
    _login(client, alice)
    html = client.get(reverse("portal:case-detail", args=[case.number])).content.decode()
    assert "This request is closed, so it takes no more replies." in html
    assert 'name="body"' not in html
    response = client.post(reverse("portal:case-reply", args=[case.number]), {"body": "Hello?"})
    assert response.status_code == 422
    assert response.context["reply_form"].non_field_errors() == ["The case is closed."]
    assert "The case is closed." in response.content.decode()
    assert snapshot(case) == before


# --- sending the same form twice --------------------------------------------------------------


def _shown_key(client) -> str:
    page = client.get(reverse("portal:case-new")).content.decode()
    match = re.search(r'name="submission_key" value="([0-9a-f]{32})"', page)
    assert match is not None
    return match.group(1)


def test_the_same_form_sent_twice_opens_one_case(client, alice):
    _login(client, alice)
    key = _shown_key(client)
    assert _shown_key(client) != key  # each form shown gets its own key
    form = {
        "title": "Double click",
        "description": "D",
        "priority": "normal",
        "submission_key": key,
    }
    first = client.post(reverse("portal:case-new"), form)
    second = client.post(reverse("portal:case-new"), form)
    case = Case.objects.get()
    assert first.status_code == second.status_code == 302
    assert (
        first["Location"] == second["Location"] == reverse("portal:case-detail", args=[case.number])
    )
    assert CaseEvent.objects.filter(kind="created").count() == 1


def test_a_sent_form_changed_and_sent_again_asks_before_opening_another(client, alice):
    _login(client, alice)
    key = _shown_key(client)
    form = {"title": "First", "description": "D", "priority": "normal", "submission_key": key}
    client.post(reverse("portal:case-new"), form)
    response = client.post(reverse("portal:case-new"), {**form, "title": "Second"})
    assert response.status_code == 200
    assert Case.objects.count() == 1
    shown = response.context["form"]
    assert shown["title"].value() == "Second"
    new_key = shown["submission_key"].value()
    assert new_key and new_key != key
    again = client.post(
        reverse("portal:case-new"), {**form, "title": "Second", "submission_key": new_key}
    )
    assert again.status_code == 302
    assert sorted(Case.objects.values_list("title", flat=True)) == ["First", "Second"]


def test_a_tampered_submission_key_is_refused_and_writes_nothing(client, alice):
    _login(client, alice)
    form = {"title": "T", "description": "D", "priority": "normal", "submission_key": "bad key!"}
    response = client.post(reverse("portal:case-new"), form)
    assert response.status_code == 200
    assert Case.objects.count() == 0
