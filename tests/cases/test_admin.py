"""The admin shows cases and events read-only; categories are editable configuration."""

from __future__ import annotations

import pytest

from serviceloop.cases.models import CaseEvent
from tests.factories import AdminFactory, CaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, world):
    client.force_login(AdminFactory())
    return client


def test_case_changelist_and_detail_render_without_edit_rights(admin_client):
    case = CaseFactory()
    assert admin_client.get("/admin/cases/case/").status_code == 200
    page = admin_client.get(f"/admin/cases/case/{case.pk}/change/")
    assert page.status_code == 200
    assert case.number in page.content.decode()
    assert admin_client.get("/admin/cases/case/add/").status_code == 403


def test_case_events_cannot_be_added_changed_or_deleted(admin_client):
    case = CaseFactory()
    event = CaseEvent.objects.filter(case=case).first()
    assert admin_client.get("/admin/cases/caseevent/").status_code == 200
    assert admin_client.get("/admin/cases/caseevent/add/").status_code == 403
    assert (
        admin_client.post(f"/admin/cases/caseevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    posted = admin_client.post(f"/admin/cases/caseevent/{event.pk}/change/", {"activity": "x"})
    assert posted.status_code == 403
    event.refresh_from_db()
    assert event.activity == "Case created"


def test_categories_are_editable(admin_client):
    response = admin_client.post(
        "/admin/cases/category/add/", {"code": "billing", "name": "Billing", "name_zh": "账单"}
    )
    assert response.status_code == 302
