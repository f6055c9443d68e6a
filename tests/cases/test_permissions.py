"""Permissions matrix at the service and selector level: who sees and changes which case,
message and attachment. The selector (``case_visible_queryset``) and the predicate
(``case_can_view``) must agree for every role."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404

from serviceloop.accounts.models import AgentProfile, User
from serviceloop.cases.choices import MessageKind
from serviceloop.cases.exceptions import PermissionDeniedError
from serviceloop.cases.permissions import (
    attachment_can_view,
    case_can_change,
    case_can_reply,
    case_can_transition,
    case_can_view,
    message_can_view,
)
from serviceloop.cases.selectors import (
    attachment_get_for_user,
    attachment_list_for_user,
    case_get_for_user,
    case_timeline,
    case_visible_queryset,
    message_list_for_user,
)
from serviceloop.cases.services import attachment_add, message_add
from tests.factories import (
    AdminFactory,
    AgentFactory,
    CaseFactory,
    CustomerFactory,
    ManagerFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db

# role -> (view, change)
MATRIX = {
    "owner": (True, False),
    "other_customer": (False, False),
    "team_agent": (True, True),
    "assigned_agent_other_team": (True, True),
    "other_team_agent": (False, False),
    "manager": (True, True),
    "admin": (True, True),
    "inactive_manager": (False, False),
    "anonymous": (False, False),
}


@pytest.fixture
def scene(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    owner = CustomerFactory()
    case = CaseFactory(customer=owner, actor=owner.user)  # routed: front team, front_agent
    assert (case.team, case.assignee) == (world.front, world.front_agent)
    # The assignee moves to another team and keeps the case: assigned, but not in its team.
    AgentProfile.objects.filter(user=world.front_agent).update(team=TeamFactory())
    users = {
        "owner": owner.user,
        "other_customer": CustomerFactory().user,
        "team_agent": AgentFactory(team=world.front),
        "assigned_agent_other_team": User.objects.get(pk=world.front_agent.pk),
        "other_team_agent": world.back_agent,
        "manager": world.manager,
        "admin": AdminFactory(),
        "inactive_manager": ManagerFactory(is_active=False),
        "anonymous": AnonymousUser(),
    }
    public = message_add(
        case=case, author=world.manager, body="Reply", kind="public", channel="agent"
    )
    note = message_add(
        case=case, author=world.manager, body="Note", kind="internal", channel="agent"
    )
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
    files = {
        "public": attachment_add(
            case=case, uploaded_by=owner.user, file=SimpleUploadedFile("a.png", png)
        ),
        "internal": attachment_add(
            case=case,
            uploaded_by=world.manager,
            file=SimpleUploadedFile("b.png", png),
            is_internal=True,
        ),
        "of_note": attachment_add(
            case=case,
            uploaded_by=world.manager,
            file=SimpleUploadedFile("c.png", png),
            message=note,
        ),
    }
    return case, users, {"public": public, "note": note}, files


@pytest.mark.parametrize("role", MATRIX)
def test_case_view_and_change_rights(scene, role):
    case, users, _, _ = scene
    user = users[role]
    can_view, can_change = MATRIX[role]
    assert case_can_view(user, case) is can_view
    assert case_can_change(user, case) is can_change
    assert case_can_transition(user, case) is can_change
    assert case_can_reply(user, case) is (can_change or role == "owner")
    assert case_visible_queryset(user).filter(pk=case.pk).exists() is can_view


@pytest.mark.parametrize("role", MATRIX)
def test_case_get_for_user_answers_404_without_leaking_existence(scene, role):
    case, users, _, _ = scene
    user = users[role]
    if MATRIX[role][0]:
        assert case_get_for_user(user=user, number=case.number) == case
    else:
        with pytest.raises(Http404):
            case_get_for_user(user=user, pk=case.pk)
    with pytest.raises(Http404):
        case_get_for_user(user=user, pk=case.pk + 10_000)


@pytest.mark.parametrize("role", ["owner", "team_agent", "manager"])
def test_messages_and_attachments_visible_per_role(scene, role):
    case, users, messages, files = scene
    user = users[role]
    customer = role == "owner"
    assert message_can_view(user, messages["public"]) is True
    assert message_can_view(user, messages["note"]) is not customer
    assert attachment_can_view(user, files["public"]) is True
    assert attachment_can_view(user, files["internal"]) is not customer
    assert attachment_can_view(user, files["of_note"]) is not customer
    listed = {m.pk for m in message_list_for_user(case=case, user=user)}
    assert (messages["note"].pk in listed) is not customer
    names = {a.original_name for a in attachment_list_for_user(case=case, user=user)}
    assert names == ({"a.png"} if customer else {"a.png", "b.png", "c.png"})


@pytest.mark.parametrize(
    "role", ["other_customer", "other_team_agent", "anonymous", "inactive_manager"]
)
def test_outsiders_get_404_for_attachments_and_403_from_timeline(scene, role):
    case, users, _, files = scene
    user = users[role]
    for attachment in files.values():
        assert attachment_can_view(user, attachment) is False
        with pytest.raises(Http404):
            attachment_get_for_user(user=user, pk=attachment.pk)
    with pytest.raises(PermissionDeniedError):
        case_timeline(case=case, user=user)
    with pytest.raises(PermissionDeniedError):
        message_list_for_user(case=case, user=user)


def test_owner_gets_public_attachment_but_404_for_internal_ones(scene):
    _, users, _, files = scene
    owner = users["owner"]
    assert attachment_get_for_user(user=owner, pk=files["public"].pk) == files["public"]
    for key in ("internal", "of_note"):
        with pytest.raises(Http404):
            attachment_get_for_user(user=owner, pk=files[key].pk)


def test_customer_timeline_hides_internal_work(scene):
    case, users, messages, _ = scene
    kinds = [
        (e.kind, getattr(e.item, "kind", None))
        for e in case_timeline(case=case, user=users["owner"])
    ]
    events = {k for entry, k in kinds if entry == "event"}
    assert events <= {"created", "stage_entered", "status_changed", "reopened", "closed"}
    assert ("message", MessageKind.INTERNAL) not in kinds
    staff = case_timeline(case=case, user=users["manager"])
    assert any(e.kind == "event" and e.item.kind == "note_added" for e in staff)
    assert any(e.kind == "message" and e.item.pk == messages["note"].pk for e in staff)
    assert [e.at for e in staff] == sorted(e.at for e in staff)
