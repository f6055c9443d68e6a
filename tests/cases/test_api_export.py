"""GET /api/events/export: managers and admins only; CSV and XES stream, Parquet is a file."""

from __future__ import annotations

import csv
import io

import pyarrow.parquet as pq
import pytest
from django.http import FileResponse, StreamingHttpResponse

from serviceloop.cases.models import CaseEvent
from tests.cases.api_client import Api
from tests.factories import AdminFactory, CaseFactory, CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(world):
    for _ in range(3):
        CaseFactory(customer=CustomerFactory())
    return CaseEvent.objects.count()


def content(response) -> bytes:
    return b"".join(response.streaming_content)


def test_csv_export_streams_every_event(world, events):
    response = Api(world.manager).get("/api/events/export", {"format": "csv"})
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="serviceloop-events-')
    rows = list(csv.DictReader(io.StringIO(content(response).decode())))
    assert len(rows) == events


def test_xes_export_streams_traces(world, events):
    response = Api(AdminFactory()).get("/api/events/export", {"format": "xes", "kind": "stage"})
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    text = content(response).decode()
    assert text.count("<trace>") == 3
    assert text.count("<event>") == 3


def test_parquet_export_is_a_file(world, events):
    response = Api(world.manager).get("/api/events/export", {"format": "parquet"})
    assert response.status_code == 200
    assert isinstance(response, FileResponse)
    assert response["Content-Type"] == "application/vnd.apache.parquet"
    assert pq.read_table(io.BytesIO(content(response))).num_rows == events


@pytest.mark.parametrize("who", ["front_agent", "team_lead", "customer", "inactive_manager"])
def test_only_those_who_see_every_case_may_export(world, events, who):
    """The log spans every team and customer: an agent, even one leading a team, a customer and
    a deactivated manager are refused, with nothing streamed."""
    if who == "customer":
        user = CustomerFactory().user
    elif who == "inactive_manager":
        user = world.manager
        user.is_active = False
        user.save(update_fields=["is_active"])
    else:
        user = world.front_agent
        if who == "team_lead":
            user.agent_profile.is_lead = True
            user.agent_profile.save(update_fields=["is_lead"])
    response = Api(user).get("/api/events/export", {"format": "csv"})
    assert not getattr(response, "streaming", False)
    if who == "inactive_manager":  # a deactivated account is not signed in at all
        assert response.status_code == 401
    else:
        assert response.status_code == 403
        assert "managers" in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"format": "json"}, "format"),
        ({"kind": "some"}, "kind"),
        ({"since": "soon"}, "since"),
        ({"since": "2026-02-01", "until": "2026-01-01"}, "since"),
    ],
)
def test_bad_export_parameters_are_422(world, params, field):
    response = Api(world.manager).get("/api/events/export", params)
    assert response.status_code == 422
    assert field in response.json()["fields"], response.json()


@pytest.mark.parametrize(
    ("since", "status"),
    [
        ("0266-03-22T20:06:59-18:40", 200),
        ("2026-01-01T00:00:00+23:59", 200),
        ("0001-01-01T00:00:00+05:00", 422),
    ],
)
def test_extreme_offsets_are_normalised_or_refused_never_500(world, events, since, status):
    response = Api(world.manager).get("/api/events/export", {"since": since})
    assert response.status_code == status
    if status == 422:
        assert response.json()["fields"] == {"since": ["Value error, Date out of range."]}


def test_case_list_accepts_offsets_postgres_cannot_store(world, events):
    response = Api(world.manager).get("/api/cases/", {"created_after": "2000-01-01T00:00:00-18:40"})
    assert response.status_code == 200
    assert len(response.json()["items"]) == 3
