"""The permission matrix through the API: who may read and change which case, its messages and
files. A case the caller may not see answers 404 (its existence does not leak) and nothing changes."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from serviceloop.accounts.models import User
from serviceloop.cases.services import attachment_add, message_add
from tests.cases.api_client import Api
from tests.cases.helpers import snapshot
from tests.factories import AdminFactory, AgentFactory, CaseFactory, CustomerFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def scene(world):
    """Alice's case (front team) with a public reply, an internal note and a public file."""
    alice, bob = CustomerFactory(), CustomerFactory()
    case = CaseFactory(customer=alice, actor=alice.user)
    message_add(case=case, author=alice.user, body="public", kind="public", channel="portal")
    message_add(
        case=case, author=world.front_agent, body="internal", kind="internal", channel="agent"
    )
    attachment = attachment_add(
        case=case,
        uploaded_by=alice.user,
        file=SimpleUploadedFile("a.pdf", PDF, content_type="application/pdf"),
    )
    return {
        "case": case,
        "attachment": attachment,
        "alice": alice.user,
        "bob": bob.user,
        "front_agent": world.front_agent,
        "back_agent": world.back_agent,
        "manager": world.manager,
        "admin": AdminFactory(),
    }


def _reads(api: Api, case, attachment) -> dict[str, int]:
    base = f"/api/cases/{case.number}"
    return {
        "get": api.get(base).status_code,
        "messages": api.get(f"{base}/messages").status_code,
        "attachments": api.get(f"{base}/attachments").status_code,
        "events": api.get(f"{base}/events").status_code,
        "download": api.client.get(
            f"{base}/attachments/{attachment.pk}", headers=api.headers
        ).status_code,
    }


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("alice", 200),
        ("bob", 404),
        ("front_agent", 200),
        ("back_agent", 404),
        ("manager", 200),
        ("admin", 200),
    ],
)
def test_read_matrix(scene, who, expected):
    statuses = _reads(Api(scene[who]), scene["case"], scene["attachment"])
    assert statuses == dict.fromkeys(statuses, expected)


@pytest.mark.parametrize(
    ("who", "listed"),
    [("alice", 1), ("bob", 0), ("front_agent", 1), ("back_agent", 0), ("manager", 1)],
)
def test_list_shows_only_visible_cases(scene, who, listed):
    assert len(Api(scene[who]).get("/api/cases/").json()["items"]) == listed


@pytest.mark.parametrize(
    ("who", "status"),
    [("alice", 403), ("bob", 404), ("back_agent", 404), ("front_agent", 200), ("manager", 200)],
)
def test_patch_matrix(scene, who, status):
    case = scene["case"]
    before = snapshot(case)
    response = Api(scene[who]).patch(f"/api/cases/{case.number}", {"priority": "urgent"})
    assert response.status_code == status
    if status != 200:
        assert snapshot(case) == before


@pytest.mark.parametrize(
    ("who", "status"),
    [("alice", 201), ("bob", 404), ("back_agent", 404), ("front_agent", 201), ("manager", 201)],
)
def test_reply_matrix(scene, who, status):
    case = scene["case"]
    before = snapshot(case)
    response = Api(scene[who]).post(f"/api/cases/{case.number}/messages", {"body": "hello"})
    assert response.status_code == status
    if status != 201:
        assert snapshot(case) == before


@pytest.mark.parametrize("who", ["bob", "back_agent"])
def test_outsiders_cannot_upload_move_or_assign(scene, who):
    case = scene["case"]
    api = Api(scene[who])
    before = snapshot(case)
    base = f"/api/cases/{case.number}"
    upload = api.upload(
        f"{base}/attachments",
        {"file": SimpleUploadedFile("x.pdf", PDF, content_type="application/pdf")},
    )
    assert upload.status_code == 404
    assert api.post(f"{base}/transitions", {"to_stage": "analysis"}).status_code == 404
    assert api.post(f"{base}/assign", {"assignee": scene[who].username}).status_code == 404
    assert api.post(f"{base}/checklist", {"item": "x"}).status_code == 404
    assert snapshot(case) == before


def test_customer_sees_only_public_messages(scene):
    body = Api(scene["alice"]).get(f"/api/cases/{scene['case'].number}/messages").json()
    assert [m["body"] for m in body["items"]] == ["public"]


def test_agent_sees_a_case_of_another_team_once_assigned_to_them(scene):
    case = scene["case"]
    manager = Api(scene["manager"])
    response = manager.post(
        f"/api/cases/{case.number}/assign", {"assignee": scene["back_agent"].username}
    )
    assert response.status_code == 200
    assert Api(scene["back_agent"]).get(f"/api/cases/{case.number}").status_code == 200


def test_inactive_user_token_is_refused(scene):
    api = Api(scene["front_agent"])
    User.objects.filter(pk=scene["front_agent"].pk).update(is_active=False)
    assert api.get(f"/api/cases/{scene['case'].number}").status_code == 401


def test_unauthenticated_requests_are_401_everywhere(scene):
    api = Api(None)
    case = scene["case"]
    for path in ["/api/cases/", f"/api/cases/{case.number}", "/api/events/export"]:
        response = api.get(path)
        assert response.status_code == 401, path
        assert response.json()["detail"].startswith("Authentication required")
    assert api.post("/api/cases/", {"title": "x", "description": "y"}).status_code == 401


def test_agent_of_an_unrelated_team_sees_no_case(world):
    loner = AgentFactory()
    CaseFactory()
    assert Api(loner).get("/api/cases/").json()["items"] == []
