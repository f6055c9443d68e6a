"""The workspace case page shows the case's SLA clocks; cases without clocks show no card."""

from __future__ import annotations

import pytest
from django.urls import reverse

from serviceloop.cases.services import case_set_status
from serviceloop.sla.sweep import sla_sweep
from tests.factories import CaseFactory
from tests.sla.conftest import at

pytestmark = pytest.mark.django_db


def page(client, user, case) -> str:
    client.force_login(user)
    response = client.get(reverse("workspace:case-detail", args=[case.number]))
    assert response.status_code == 200
    return response.content.decode()


def test_case_page_shows_clocks_with_breach_and_pause(client, world, sla):
    case = CaseFactory(at=at(0, 9))
    sla_sweep(now=at(0, 11))
    case_set_status(case=case, actor=world.manager, status="pending", at=at(0, 12))
    html = page(client, world.manager, case)
    assert 'id="sla"' in html and "First response" in html and "Resolution" in html
    assert "breached" in html and "paused" in html


def test_no_card_without_clocks(client, world, db):
    case = CaseFactory(at=at(0, 9))
    assert 'id="sla"' not in page(client, world.manager, case)
