"""``GET /api/sla/cases/{number}/clocks``: staff who may see the case read its clocks."""

from __future__ import annotations

import pytest

from tests.cases.api_client import Api
from tests.factories import AgentFactory, CaseFactory, TeamFactory
from tests.sla.conftest import at

pytestmark = pytest.mark.django_db


def test_staff_read_a_cases_clocks(world, sla):
    case = CaseFactory(at=at(0, 9))
    response = Api(world.manager).get(f"/api/sla/cases/{case.number}/clocks")
    assert response.status_code == 200
    clocks = {c["metric"]: c for c in response.json()}
    assert set(clocks) == {"first_response", "resolution"}
    first = clocks["first_response"]
    assert (first["state"], first["policy"], first["target_minutes"]) == (
        "running",
        "Standard",
        120,
    )
    assert first["due_at"].startswith("2026-05-04T11:00:00")
    # Opened in May and never answered: all the working time since counts, far past the target.
    assert first["used_minutes"] > 100 * first["target_minutes"]
    assert first["breached_at"] is None  # the worker has not run in this test


def test_customers_and_other_teams_get_404(world, sla):
    case = CaseFactory(at=at(0, 9))
    outsider = AgentFactory(team=TeamFactory())
    for user in (case.customer.user, outsider):
        assert Api(user).get(f"/api/sla/cases/{case.number}/clocks").status_code == 404
    assert Api(world.manager).get("/api/sla/cases/SL-999999/clocks").status_code == 404
