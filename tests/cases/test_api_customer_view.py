"""Customers read cases through the API as the portal shows them, cannot choose staff-only input,
and cannot reach anybody's attachment by counting ids."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from serviceloop.cases.models import Attachment, Case
from serviceloop.cases.schemas import CustomerCaseOut
from serviceloop.cases.services import attachment_add, case_update
from tests.cases.api_client import Api
from tests.factories import CaseFactory, CustomerFactory

pytestmark = pytest.mark.django_db

STAFF_ONLY = {"id", "customer", "channel", "process", "team", "assignee", "checklist_done"}
STAFF_ONLY |= {"version", "due_at", "stage_entered_at"}


@pytest.fixture
def shared(settings):
    settings.CUSTOMER_ATTRIBUTES = ["order_number"]


@pytest.fixture
def own(world, shared):
    customer = CustomerFactory()
    case = CaseFactory(customer=customer, actor=customer.user)
    case_update(
        case=case,
        actor=world.manager,
        changes={"attributes": {"order_number": "A-17", "vip_risk": "churn", "sla_override": 4}},
    )
    return customer, Case.objects.get(pk=case.pk)


def test_customer_reads_own_case_without_staff_fields(world, own):
    customer, case = own
    body = Api(customer.user).get(f"/api/cases/{case.number}").json()
    assert set(body) == set(CustomerCaseOut.model_fields)
    assert not STAFF_ONLY & set(body)
    assert body["attributes"] == {"order_number": "A-17"}  # not the staff-written ones


def test_customer_list_has_the_same_shape(world, own):
    customer, case = own
    items = Api(customer.user).get("/api/cases/").json()["items"]
    assert [i["number"] for i in items] == [case.number]
    assert set(items[0]) == set(CustomerCaseOut.model_fields)
    assert items[0]["attributes"] == {"order_number": "A-17"}


def test_staff_still_read_the_whole_case(world, own):
    _, case = own
    body = Api(world.front_agent).get(f"/api/cases/{case.number}").json()
    assert {"assignee", "team", "due_at", "checklist_done", "version"} <= set(body)
    assert body["attributes"]["vip_risk"] == "churn"


@pytest.mark.parametrize("channel", ["phone", "email", "agent", "portal"])
def test_customer_cannot_choose_the_channel(world, shared, channel):
    customer = CustomerFactory()
    response = Api(customer.user).post(
        "/api/cases/", {"title": "t", "description": "d", "channel": channel}
    )
    assert response.status_code == 422
    assert "channel" in response.json()["fields"]
    assert not Case.objects.exists()


def test_customer_cannot_set_staff_attributes_but_may_set_shared_ones(world, shared):
    api = Api(CustomerFactory().user)
    bad = api.post("/api/cases/", {"title": "t", "description": "d", "attributes": {"vip": 1}})
    assert bad.status_code == 422
    assert "vip" in bad.json()["fields"]["attributes"][0]
    assert not Case.objects.exists()
    good = api.post(
        "/api/cases/", {"title": "t", "description": "d", "attributes": {"order_number": "9"}}
    )
    assert good.status_code == 201
    assert Case.objects.get().channel == "api"
    assert good.json()["attributes"] == {"order_number": "9"}


def test_openapi_shows_the_customer_schema_and_no_name_collision(client):
    schema = client.get("/api/openapi.json").json()
    components = schema["components"]["schemas"]
    assert "CustomerCaseOut" in components
    got = schema["paths"]["/api/cases/{number}"]["get"]["responses"]["200"]
    refs = str(got["content"]["application/json"]["schema"])
    assert "CustomerCaseOut" in refs and "'#/components/schemas/CaseOut'" in refs
    # the process edge and the case's allowed move are two schemas, both kept
    assert "blocked_by" in components["CaseTransitionOut"]["properties"]
    assert "blocked_by" not in components["TransitionOut"]["properties"]


def _refs(node: object) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def test_openapi_schema_names_are_unique_per_python_class(client):
    """ninja names a component after its class: two classes with one name would overwrite each
    other. Every referenced component exists, and no two schema classes share a name."""
    from ninja import Schema

    from serviceloop.api import api

    schema = client.get("/api/openapi.json").json()
    components = schema["components"]["schemas"]
    for ref in _refs(schema["paths"]):
        assert ref.rsplit("/", 1)[-1] in components, ref
    names: dict[str, type] = {}
    api.get_openapi_schema()
    stack = list(Schema.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if not cls.__module__.startswith("serviceloop."):
            continue
        assert names.setdefault(cls.__name__, cls) is cls, (cls, names[cls.__name__])


def test_attachment_ids_cannot_be_enumerated(world, settings, tmp_path):
    """Every download path looks the attachment up through the same permission check: counting
    ids finds only one's own public files, under every path."""
    settings.MEDIA_ROOT = tmp_path
    alice, bob = CustomerFactory(), CustomerFactory()
    mine = CaseFactory(customer=alice, actor=alice.user)
    theirs = CaseFactory(customer=bob, actor=bob.user)

    def add(case: Case, user: object, internal: bool = False) -> Attachment:
        upload = SimpleUploadedFile("n.txt", b"note", content_type="text/plain")
        return attachment_add(case=case, uploaded_by=user, file=upload, is_internal=internal)

    visible = add(mine, alice.user)
    add(mine, world.front_agent, internal=True)
    add(theirs, bob.user)
    top = Attachment.objects.order_by("-pk").first().pk + 3

    api = Api(alice.user)
    client = api.client
    client.force_login(alice.user)
    found = set()
    for pk in range(1, top):
        for path in (
            f"/api/cases/{mine.number}/attachments/{pk}",
            f"/api/cases/{theirs.number}/attachments/{pk}",
            f"/portal/attachments/{pk}/",
        ):
            response = client.get(path, headers=api.headers if path.startswith("/api/") else {})
            assert response.status_code in {200, 404}, (path, response.status_code)
            if response.status_code == 200:
                found.add(pk)
    assert found == {visible.pk}


def test_customers_do_not_learn_staff_usernames_from_messages_or_files(world, settings, tmp_path):
    from serviceloop.cases.choices import Channel, MessageKind
    from serviceloop.cases.services import message_add

    settings.MEDIA_ROOT = tmp_path
    customer = CustomerFactory()
    case = CaseFactory(customer=customer, actor=customer.user)
    agent = world.front_agent
    upload = SimpleUploadedFile("a.txt", b"answer", content_type="text/plain")
    message_add(
        case=case,
        author=agent,
        body="We are on it.",
        kind=MessageKind.PUBLIC,
        channel=Channel.AGENT,
        files=[upload],
    )
    api = Api(customer.user)
    mine = api.post(f"/api/cases/{case.number}/messages", {"body": "thanks"}).json()
    assert mine["author"] == customer.user.username
    messages = api.get(f"/api/cases/{case.number}/messages").json()["items"]
    assert {m["author"] for m in messages} == {None, customer.user.username}
    files = api.get(f"/api/cases/{case.number}/attachments").json()["items"]
    assert [f["uploaded_by"] for f in files] == [None]
    assert agent.username not in str(api.get(f"/api/cases/{case.number}").content)
    staff = Api(agent).get(f"/api/cases/{case.number}/messages").json()["items"]
    assert agent.username in {m["author"] for m in staff}
