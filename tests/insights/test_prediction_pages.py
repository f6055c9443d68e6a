"""Live case predictions: the worker's refresh, the "at risk" queue and the case page's card.

Thirty closed cases walk Intake -> Needs analysis -> Delivery -> Closed: high priority ones take
40 hours, the others 4; two cases are still open after their first step, one of each priority.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from typer.testing import CliRunner

from serviceloop.cli import app
from serviceloop.insights.prediction import (
    model_path,
    open_case_scores,
    prediction_refresh,
    scores_path,
)
from tests.cases.api_client import Api
from tests.factories import AgentFactory, CaseFactory

from .conftest import DAY0, walk


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.PREDICTION_SLA_HOURS = 24
    return tmp_path


@pytest.fixture
def history(live_log, data_dir):
    version, manager = live_log.version, live_log.manager
    for i in range(30):
        slow = i % 2 == 0
        case = CaseFactory(
            process_version=version,
            at=DAY0 + timedelta(days=5, hours=3 * i),
            actor=manager,
            priority="high" if slow else "normal",
        )
        step = 10 if slow else 1
        walk(
            case,
            version,
            manager,
            [("analysis", step), ("delivery", 2 * step), ("closed", 4 * step)],
        )
    opened = {}
    for priority in ("high", "normal"):
        case = CaseFactory(
            process_version=version,
            at=DAY0 + timedelta(days=20),
            actor=manager,
            priority=priority,
        )
        hours = 10 if priority == "high" else 1
        opened[priority] = walk(case, version, manager, [("analysis", hours)])
    return live_log, opened


def test_too_little_history_trains_nothing_and_the_queue_says_so(live_log, data_dir, client):
    done = prediction_refresh()
    assert not done.trained and done.scored == 0
    assert "too few closed cases to learn from: 2" in done.note
    assert not model_path().exists() and not scores_path().exists()
    client.force_login(live_log.manager)
    response = client.get(reverse("insights:at-risk"))
    assert response.status_code == 200
    assert "No predictions yet." in response.content.decode()


def test_refresh_trains_once_a_day_and_scores_the_open_cases(history, data_dir):
    live, opened = history
    first = prediction_refresh()
    assert first.trained and first.note == ""
    scores = open_case_scores()
    assert scores is not None
    # Not closed: the two new cases, the reopened detour and the fresh one.
    assert set(scores["case_id"]) == {
        opened["high"].number,
        opened["normal"].number,
        live.detour.number,
        live.fresh.number,
    }
    by_number = {r["case_id"]: r for r in scores.iter_rows(named=True)}
    slow, fast = by_number[opened["high"].number], by_number[opened["normal"].number]
    assert slow["breach_probability"] > 0.5 > fast["breach_probability"]
    assert slow["remaining_seconds"] > fast["remaining_seconds"]
    stamp = model_path().stat().st_mtime_ns
    again = prediction_refresh()
    assert not again.trained and again.scored == 4
    assert model_path().stat().st_mtime_ns == stamp
    later = prediction_refresh(retrain_after=timedelta(0))
    assert later.trained


def test_the_queue_lists_open_cases_most_at_risk_first(
    history, client, django_assert_max_num_queries
):
    live, opened = history
    prediction_refresh()
    client.force_login(live.manager)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("insights:at-risk"))
    assert response.status_code == 200
    page = response.content.decode()
    assert opened["high"].number in page and opened["normal"].number in page
    assert page.index(opened["high"].number) < page.index(opened["normal"].number)
    assert "Cases at risk" in page
    overview = client.get(reverse("insights:dashboard")).content.decode()
    assert reverse("insights:at-risk") in overview  # a tab of Insights


def test_the_queue_is_for_managers_only(history, client):
    live, _ = history
    prediction_refresh()
    client.force_login(live.agent)
    assert client.get(reverse("insights:at-risk")).status_code == 403
    client.logout()
    assert client.get(reverse("insights:at-risk")).status_code == 302


def test_the_case_page_card_shows_the_cases_prediction(history, client):
    live, opened = history
    prediction_refresh()
    client.force_login(live.manager)
    url = reverse("insights:case-prediction", args=[opened["high"].number])
    card = client.get(url)
    assert card.status_code == 200
    text = card.content.decode()
    assert "Expected end" in text and "Risk of taking over 24 h" in text
    closed = client.get(reverse("insights:case-prediction", args=[live.standard.number]))
    assert "The case is closed." in closed.content.decode()
    assert client.get(reverse("insights:case-prediction", args=["SL-nope"])).status_code == 404
    page = client.get(reverse("workspace:case-detail", args=[opened["high"].number]))
    assert url in page.content.decode()  # the card loads through htmx


def test_staff_who_cannot_see_a_case_get_404(history, client):
    _, opened = history
    prediction_refresh()
    outsider = AgentFactory()
    client.force_login(outsider)
    url = reverse("insights:case-prediction", args=[opened["high"].number])
    response = client.get(url)
    assert response.status_code in (403, 404)


def test_the_worker_retrains_and_scores_in_its_round(history, data_dir):
    result = CliRunner().invoke(app, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "prediction: model retrained, 4 open case(s) scored" in result.output
    assert model_path().exists() and scores_path().exists()


def test_the_api_gives_staff_a_cases_prediction_and_managers_the_at_risk_list(history):
    live, opened = history
    prediction_refresh()
    manager, agent = Api(live.manager), Api(live.agent)
    one = manager.get(f"/api/predictions/cases/{opened['high'].number}")
    assert one.status_code == 200, one.content
    body = one.json()
    assert body["case"] == opened["high"].number and body["sla_hours"] == 24
    assert body["breach_probability"] > 0.5 and body["next_activity"] == "Delivery"
    closed = manager.get(f"/api/predictions/cases/{live.standard.number}").json()
    assert closed["next_activity"] is None and closed["scored_at"] is None
    assert manager.get("/api/predictions/cases/SL-nope").status_code == 404
    listed = manager.get("/api/predictions/at-risk", {"limit": 10})
    assert listed.status_code == 200
    cases = [r["case"] for r in listed.json()]
    assert len(cases) == 4
    assert cases.index(opened["high"].number) < cases.index(opened["normal"].number)
    risks = [r["breach_probability"] for r in listed.json()]
    assert risks == sorted(risks, reverse=True)
    assert len(manager.get("/api/predictions/at-risk", {"limit": 1, "offset": 3}).json()) == 1
    assert agent.get("/api/predictions/at-risk").status_code == 403
    assert Api(None).get("/api/predictions/at-risk").status_code == 401
    assert manager.get("/api/predictions/at-risk", {"limit": 0}).status_code == 422
