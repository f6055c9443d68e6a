"""/api/cases: list (filters, keyset pages, pinned query count), create, get, patch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from serviceloop.accounts.services import api_token_create
from serviceloop.cases.choices import Channel, EventKind, MessageKind, Priority
from serviceloop.cases.models import Case, CaseEvent
from serviceloop.cases.schemas import ChannelCode, MessageKindCode, PriorityCode
from serviceloop.core.models import IdempotencyRecord
from tests.cases.api_client import Api
from tests.cases.helpers import snapshot
from tests.factories import CaseFactory, CategoryFactory, CustomerFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NEW_CASE = {"title": "VPN drops every hour", "description": "Since Monday the VPN disconnects."}


def test_schema_literals_match_model_choices():
    assert set(PriorityCode.__args__) == set(Priority.values)
    assert set(ChannelCode.__args__) == set(Channel.values)
    assert set(MessageKindCode.__args__) == set(MessageKind.values)


# --- create --------------------------------------------------------------------------------------


def test_customer_creates_own_case_with_201_location_and_events(world):
    customer = CustomerFactory()
    response = Api(customer.user).post("/api/cases/", NEW_CASE | {"priority": "high"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["Location"] == f"/api/cases/{body['number']}"
    assert body["priority"] == "high"
    assert body["stage"]["code"] == "intake"
    assert "assignee" not in body and "process" not in body  # the customer's view of the case
    case = Case.objects.get(number=body["number"])
    assert case.customer == customer and case.channel == Channel.API
    assert case.process_version == world.version
    assert CaseEvent.objects.filter(case=case, kind=EventKind.CREATED).count() == 1


def test_creating_a_routed_case_runs_a_pinned_number_of_statements(world):
    """Token, customer, category, start stage, routing (candidates, lock and stamp, recount),
    the case, its events and the idempotency record, each once: a query added to the hot path
    shows up here (savepoints of the test's own transaction included)."""
    customer = CustomerFactory()
    api = Api(world.front_agent)
    body = NEW_CASE | {"customer_id": customer.pk, "category": CategoryFactory().code}
    api.post("/api/cases/", body, Idempotency_Key="warm")  # first use: touches the token
    with CaptureQueriesContext(connection) as queries:
        response = api.post("/api/cases/", body, Idempotency_Key="pinned")
    assert response.status_code == 201, response.json()
    assert response.json()["assignee"] is not None
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    writes = [s for s in statements if s in {"INSERT", "UPDATE"}]
    # idempotency record, agent stamp, case, events, idempotency answer
    assert len(writes) == 5, statements
    locking = connection.features.has_select_for_update
    assert len([s for s in statements if s == "SELECT"]) == (6 if locking else 5), statements


def test_staff_creates_case_for_customer_by_email(world):
    customer = CustomerFactory()
    response = Api(world.front_agent).post(
        "/api/cases/", NEW_CASE | {"customer_email": customer.email.upper(), "channel": "phone"}
    )
    assert response.status_code == 201, response.json()
    assert response.json()["customer"]["id"] == customer.pk
    assert response.json()["channel"] == "phone"


def test_staff_must_name_the_customer(world):
    response = Api(world.manager).post("/api/cases/", NEW_CASE)
    assert response.status_code == 422
    assert "customer_id" in response.json()["fields"]
    assert not Case.objects.exists()


def test_unknown_customer_is_a_field_error(world):
    response = Api(world.manager).post("/api/cases/", NEW_CASE | {"customer_id": 999999})
    assert response.status_code == 422
    assert response.json()["fields"] == {"customer_id": ["No customer has this id."]}


@pytest.mark.parametrize(
    "named",
    [
        lambda other: {"customer_id": other.pk},
        lambda other: {"customer_email": other.email},
        lambda other: {"customer_id": 999999},
        lambda other: {"customer_email": "nobody@example.com"},
    ],
)
def test_customer_cannot_open_a_case_for_anybody_else_nor_probe_who_exists(world, named):
    mine, other = CustomerFactory(), CustomerFactory()
    response = Api(mine.user).post("/api/cases/", NEW_CASE | named(other))
    assert response.status_code == 403
    assert response.json()["detail"] == "Customers open cases for themselves only."
    assert not Case.objects.exists()


def test_customer_may_name_themselves(world):
    mine = CustomerFactory()
    response = Api(mine.user).post("/api/cases/", NEW_CASE | {"customer_email": mine.email})
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"description": "x"}, "title"),
        ({"title": "x"}, "description"),
        (NEW_CASE | {"priority": "sky-high"}, "priority"),
        (NEW_CASE | {"channel": "pigeon"}, "channel"),
        (NEW_CASE | {"title": "x" * 201}, "title"),
        (NEW_CASE | {"attributes": ["not", "an", "object"]}, "attributes"),
        (NEW_CASE | {"category": "no-such-category"}, "category"),
        (NEW_CASE | {"title": "   "}, "title"),
    ],
)
def test_bad_input_is_422_with_field_errors_and_creates_nothing(world, body, field):
    customer = CustomerFactory()
    response = Api(customer.user).post("/api/cases/", body)
    assert response.status_code == 422, response.json()
    assert field in response.json()["fields"], response.json()
    assert not Case.objects.exists()


def test_malformed_json_is_422(world):
    customer = CustomerFactory()
    api = Api(customer.user)
    response = api.client.post(
        "/api/cases/", "{not json", content_type="application/json", headers=api.headers
    )
    assert response.status_code == 422
    assert "could not be read" in response.json()["detail"]
    assert not Case.objects.exists()


def test_create_retried_with_same_idempotency_key_creates_one_case(world):
    customer = CustomerFactory()
    api = Api(customer.user)
    first = api.post("/api/cases/", NEW_CASE, Idempotency_Key="order-42")
    again = api.post("/api/cases/", NEW_CASE, Idempotency_Key="order-42")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again["Location"] == first["Location"]
    assert Case.objects.count() == 1
    other = api.post("/api/cases/", NEW_CASE | {"title": "Other"}, Idempotency_Key="order-42")
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["fields"]
    assert Case.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


# --- get and patch -------------------------------------------------------------------------------


def test_get_case_by_number(world):
    case = CaseFactory()
    response = Api(world.manager).get(f"/api/cases/{case.number}")
    assert response.status_code == 200
    assert response.json()["number"] == case.number
    assert response.json()["version"] == case.version


def test_unknown_case_is_404(world):
    assert Api(world.manager).get("/api/cases/SL-999999").status_code == 404


def test_patch_changes_only_sent_fields(world):
    case = CaseFactory(at=T0)
    category = CategoryFactory()
    response = Api(world.front_agent).patch(
        f"/api/cases/{case.number}",
        {"priority": "urgent", "category": category.code, "attributes": {"contract": "C-7"}},
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["priority"], body["category"]) == ("urgent", category.code)
    assert body["attributes"] == {"contract": "C-7"}
    assert body["title"] == case.title


def test_patch_with_stale_version_is_409_and_changes_nothing(world):
    case = CaseFactory()
    before = snapshot(case)
    response = Api(world.front_agent).patch(
        f"/api/cases/{case.number}", {"priority": "high", "expected_version": case.version + 5}
    )
    assert response.status_code == 409
    assert snapshot(case) == before


def test_patch_rejects_bad_values_with_field_errors(world):
    case = CaseFactory()
    before = snapshot(case)
    response = Api(world.front_agent).patch(
        f"/api/cases/{case.number}", {"priority": "meh", "title": ""}
    )
    assert response.status_code == 422
    assert set(response.json()["fields"]) >= {"priority"}
    assert snapshot(case) == before


# --- list ----------------------------------------------------------------------------------------


def _cases(n: int, **kwargs) -> list[Case]:
    return [CaseFactory(at=T0 + timedelta(minutes=i), **kwargs) for i in range(n)]


def test_list_pages_with_keyset_cursor_newest_first(world):
    cases = _cases(7)
    api = Api(world.manager)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        body = api.get("/api/cases/", params).json()
        seen += [item["number"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [c.number for c in reversed(cases)]


def test_list_page_is_stable_when_new_cases_arrive(world):
    _cases(4)
    api = Api(world.manager)
    first = api.get("/api/cases/", {"limit": 2}).json()
    CaseFactory(at=T0 + timedelta(days=1))  # newer than everything listed
    second = api.get("/api/cases/", {"limit": 2, "cursor": first["next_cursor"]}).json()
    numbers = [i["number"] for i in first["items"] + second["items"]]
    assert len(set(numbers)) == 4


@pytest.mark.parametrize("limit", [0, 201, -1])
def test_list_limit_out_of_range_is_422(world, limit):
    response = Api(world.manager).get("/api/cases/", {"limit": limit})
    assert response.status_code == 422
    assert "limit" in response.json()["fields"]


@pytest.mark.parametrize("cursor", ["garbage", "W10", "WyJ4IiwieSJd", "!!!"])
def test_list_bad_cursor_is_422(world, cursor):
    _cases(1)
    response = Api(world.manager).get("/api/cases/", {"cursor": cursor})
    assert response.status_code == 422
    assert "cursor" in response.json()["fields"]


def test_list_filters(world):
    high = CaseFactory(priority="high", at=T0)
    normal = CaseFactory(at=T0 + timedelta(hours=2))
    api = Api(world.manager)

    def numbers(**params):
        response = api.get("/api/cases/", params)
        assert response.status_code == 200, response.json()
        return {i["number"] for i in response.json()["items"]}

    assert numbers(priority="high") == {high.number}
    assert numbers(status="open") == {high.number, normal.number}
    assert numbers(status="closed") == set()
    assert numbers(stage="intake") == {high.number, normal.number}
    assert numbers(team=world.front.code) == {high.number, normal.number}
    assert numbers(team=world.back.code) == set()
    assert numbers(search=high.number) == {high.number}
    assert numbers(created_after=(T0 + timedelta(hours=1)).isoformat()) == {normal.number}
    assert numbers(created_before="2026-03-02T10:00:00") == {high.number}  # naive = UTC
    assert numbers(queue="unassigned") == set()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"priority": "meh"}, "priority"),
        ({"queue": "everything"}, "queue"),
        ({"created_after": "last tuesday"}, "created_after"),
    ],
)
def test_list_bad_filters_are_422_with_field(world, params, field):
    response = Api(world.manager).get("/api/cases/", params)
    assert response.status_code == 422
    assert field in response.json()["fields"], response.json()


@pytest.mark.parametrize("role", ["manager", "front_agent"])
def test_list_query_count_does_not_grow_with_rows(world, role, django_assert_max_num_queries):
    user = getattr(world, role)
    category = CategoryFactory()
    for customer in [CustomerFactory() for _ in range(3)]:
        CaseFactory(customer=customer, category=category)
    api = Api(user)
    api.get("/api/cases/")  # token last_used_at is written once; measure steady state
    # token lookup + agent team (agents) + one page query; no count, no query per row
    with django_assert_max_num_queries(3):
        small = api.get("/api/cases/", {"limit": 200})
    assert len(small.json()["items"]) == 3
    _cases(12, category=category)
    with django_assert_max_num_queries(3):
        large = api.get("/api/cases/", {"limit": 200})
    assert len(large.json()["items"]) == 15


def test_session_authenticated_list_works_for_the_portal(world, client):
    customer = CustomerFactory()
    CaseFactory(customer=customer, actor=customer.user)
    client.force_login(customer.user)
    response = client.get("/api/cases/")
    assert response.status_code == 200
    assert len(response.json()["items"]) == 1


def test_revoked_token_gets_401(world):
    from serviceloop.accounts.services import api_token_revoke

    token, key = api_token_create(user=world.manager, name="old")
    api_token_revoke(token=token, actor=world.manager)
    api = Api(None)
    api.headers["Authorization"] = f"Bearer {key}"
    response = api.get("/api/cases/")
    assert response.status_code == 401
    assert "detail" in response.json()
