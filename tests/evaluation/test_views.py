"""Evaluation pages, export and API: who sees what, runs, AHP refusals, Excel and escaping."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from serviceloop.evaluation.models import ComparisonMatrix, Evaluation
from serviceloop.evaluation.services import evaluation_run, indicator_system_create_default
from tests.evaluation.helpers import at, make_case
from tests.factories import AgentFactory, CustomerFactory, ManagerFactory, TeamFactory

pytestmark = pytest.mark.django_db

START, END = dt.date(2026, 11, 1), dt.date(2026, 11, 30)
HOSTILE = '=HYPERLINK("http://evil.example","x")'


@pytest.fixture
def manager():
    return ManagerFactory()


@pytest.fixture
def setup(manager):
    """Two teams (one with a hostile name) and agents; an agent evaluation and a team one."""
    system = indicator_system_create_default(actor=manager)
    north = TeamFactory(code="north", name="<b>North</b>")
    south = TeamFactory(code="south", name=HOSTILE)
    ann = AgentFactory(team=north, username="ann")
    bob = AgentFactory(team=south, username="bob")
    for day in (3, 4, 5):
        make_case(team=north, agent=ann, created=at(day), first_reply_hours=1, closed_hours=8)
        make_case(
            team=south, agent=bob, created=at(day), first_reply_hours=6, closed_hours=60, reopens=1
        )
    teams = evaluation_run(
        system=system,
        unit_kind="team",
        period_start=START,
        period_end=END,
        method="topsis",
        weighting="manual",
        actor=manager,
        name="November teams",
    )
    agents = evaluation_run(
        system=system,
        unit_kind="agent",
        period_start=START,
        period_end=END,
        method="rsr",
        weighting="manual",
        actor=manager,
        name="November agents",
    )
    return {"system": system, "teams": teams, "agents": agents, "ann": ann, "bob": bob}


def _login(client, user):
    client.force_login(user)
    return client


def test_customers_and_agents_cannot_open_evaluations(client, setup):
    pages = [
        reverse("evaluation:list"),
        reverse("evaluation:detail", args=[setup["teams"].pk]),
        reverse("evaluation:export", args=[setup["teams"].pk]),
        reverse("evaluation:system", args=[setup["system"].pk]),
        reverse("evaluation:manual-scores"),
        reverse("evaluation:scorecard", args=["ann"]),
    ]
    for user in (CustomerFactory().user, setup["bob"]):
        _login(client, user)
        for url in pages:
            assert client.get(url).status_code == 403, url
    client.logout()
    assert client.get(pages[0]).status_code == 302  # to the sign-in page


def test_an_agent_sees_only_their_own_scorecard(client, setup):
    _login(client, setup["ann"])
    page = client.get(reverse("evaluation:my-scorecard"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "November agents" in body
    assert "November teams" not in body
    assert client.get(reverse("evaluation:scorecard", args=["bob"])).status_code == 403
    _login(client, CustomerFactory().user)
    assert client.get(reverse("evaluation:my-scorecard")).status_code == 403


def test_manager_runs_an_evaluation_and_reads_ranking_radar_and_trend(client, manager, setup):
    _login(client, manager)
    response = client.post(
        reverse("evaluation:run"),
        {
            "system": setup["system"].pk,
            "name": "Again",
            "unit_kind": "team",
            "period_start": "2026-11-01",
            "period_end": "2026-11-30",
            "method": "weighted_sum",
            "weighting": "entropy",
            "alpha": "0.5",
            "tiers": "3",
        },
    )
    assert response.status_code == 302
    evaluation = Evaluation.objects.get(name="Again")
    page = client.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert "chart-radar" in body and "evaluation/print.css" in body
    assert "&lt;b&gt;North&lt;/b&gt;" in body and "<b>North</b>" not in body
    unit = client.get(reverse("evaluation:unit", args=[evaluation.pk, "south"]))
    assert unit.status_code == 200
    assert "Response time" in unit.content.decode()
    # The first run (TOPSIS) is another method: no trend yet for weighted sums.
    assert page.context["trend"] == {}


def test_run_with_bad_input_answers_422_and_stores_nothing(client, manager, setup):
    _login(client, manager)
    before = Evaluation.objects.count()
    response = client.post(
        reverse("evaluation:run"),
        {
            "system": setup["system"].pk,
            "unit_kind": "team",
            "period_start": "2026-11-30",
            "period_end": "2026-11-01",
            "method": "topsis",
            "weighting": "manual",
            "alpha": "0.5",
            "tiers": "3",
        },
    )
    assert response.status_code == 422
    assert "The period ends before it starts." in response.content.decode()
    assert Evaluation.objects.count() == before


def test_inconsistent_ahp_judgements_are_refused_on_the_page(client, manager, setup):
    _login(client, manager)
    system = setup["system"]
    group = system.indicators.get(code="service_quality")
    url = reverse("evaluation:group", args=[system.pk, group.pk])
    assert client.get(url).status_code == 200
    codes = list(group.children.order_by("order").values_list("code", flat=True))
    data = {}
    for i, a in enumerate(codes):
        for b in codes[i + 1 :]:
            data[f"c-{a}__{b}"] = "9" if (a, b) != (codes[0], codes[-1]) else "1/9"
    data["save_judgements"] = "1"
    response = client.post(url, data)
    assert response.status_code == 422
    assert "consistency ratio" in response.content.decode()
    assert not ComparisonMatrix.objects.exists()
    consistent = {key: "1" for key in data if key.startswith("c-")} | {"save_judgements": "1"}
    assert client.post(url, consistent).status_code == 302
    assert ComparisonMatrix.objects.get().consistency_ratio == pytest.approx(0.0, abs=1e-9)


def test_excel_export_holds_values_and_no_formula(client, manager, setup):
    _login(client, manager)
    response = client.get(reverse("evaluation:export", args=[setup["teams"].pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames[:4] == ["Evaluation", "Ranking", "Measures", "Weights"]
    ranking = workbook["Ranking"]
    rows = list(ranking.iter_rows(min_row=2, values_only=True))
    assert [r[1] for r in rows] == ["<b>North</b>", HOSTILE]
    assert isinstance(rows[0][2], int | float) and rows[0][2] > rows[1][2]
    hostile = ranking.cell(row=3, column=2)
    assert hostile.data_type == "s" and hostile.value == HOSTILE
    for sheet in workbook:
        for row in sheet.iter_rows():
            assert all(cell.data_type != "f" for cell in row)
    measures = list(workbook["Measures"].iter_rows(min_row=2, values_only=True))
    south_response = next(r for r in measures if r[0] == HOSTILE and r[1] == "Response time")
    assert south_response[2] == pytest.approx(6.0)


def test_detail_page_queries_do_not_grow_with_units(
    client, manager, setup, django_assert_max_num_queries
):
    _login(client, manager)
    with django_assert_max_num_queries(14):
        assert (
            client.get(reverse("evaluation:detail", args=[setup["agents"].pk])).status_code == 200
        )


def test_indicator_pages_and_manual_scores(client, manager, setup):
    _login(client, manager)
    system = setup["system"]
    page = client.get(reverse("evaluation:system", args=[system.pk]))
    assert page.status_code == 200
    assert "客户满意度" in page.content.decode()
    equipment = system.indicators.get(code="equipment_utilisation")
    response = client.post(
        reverse("evaluation:manual-scores"),
        {
            "indicator": equipment.pk,
            "unit_kind": "team",
            "unit_key": "north",
            "period_start": "2026-11-01",
            "period_end": "2026-11-30",
            "value": "85",
            "note": "",
        },
    )
    assert response.status_code == 302
    assert equipment.manual_scores.get().entered_by == manager


def test_api_lists_and_details_for_managers_only(client, manager, setup):
    _login(client, manager)
    listing = client.get("/api/evaluations/")
    assert listing.status_code == 200
    assert {e["name"] for e in listing.json()} == {"November teams", "November agents"}
    detail = client.get(f"/api/evaluations/{setup['teams'].pk}")
    assert detail.status_code == 200
    body = detail.json()
    assert [r["unit_key"] for r in body["results"]] == ["north", "south"]
    assert body["results"][1]["measures"]
    assert client.get("/api/evaluations/999999").status_code == 404
    _login(client, setup["ann"])
    assert client.get("/api/evaluations/").status_code == 403


def test_pages_speak_chinese(client, manager, setup):
    _login(client, manager)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("evaluation:unit", args=[setup["teams"].pk, "south"]))
    body = page.content.decode()
    assert "得分来源" in body  # "Where the score comes from"
    assert "响应时间" in body  # the indicator's Chinese name
    listing = client.get(reverse("evaluation:list"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "新建评价" in listing.content.decode()


def test_ids_beyond_the_column_range_are_404(client, manager, setup):
    _login(client, manager)
    assert client.get("/evaluation/99999999999999999999/").status_code == 404
    assert client.get("/api/evaluations/99999999999999999999").status_code == 404


def test_the_ahp_form_starts_from_the_last_judgements(client, manager, setup):
    from serviceloop.evaluation.services import comparison_matrix_save

    system = setup["system"]
    group = system.indicators.get(code="process_efficiency")
    codes = list(group.children.order_by("order").values_list("code", flat=True))
    comparison_matrix_save(
        system=system,
        parent=group,
        judgements={(codes[0], codes[1]): 3, (codes[0], codes[2]): 5, (codes[2], codes[1]): 1 / 2},
        actor=manager,
    )
    _login(client, manager)
    form = client.get(reverse("evaluation:group", args=[system.pk, group.pk])).context[
        "comparison_form"
    ]
    assert form[f"{codes[0]}__{codes[1]}"].initial == "3"
    assert form[f"{codes[1]}__{codes[2]}"].initial == "2"  # saved the other way round as 1/2


def test_units_are_named_in_the_readers_language_and_as_they_are_named_now(client, manager, setup):
    from serviceloop.accounts.models import Team

    Team.objects.filter(code="north").update(name_zh="北区")
    _login(client, manager)
    detail = reverse("evaluation:detail", args=[setup["teams"].pk])
    client.cookies["django_language"] = "zh-hans"
    assert "北区" in client.get(detail).content.decode()
    client.cookies["django_language"] = "en"
    english = client.get(detail).content.decode()
    assert "北区" not in english and "&lt;b&gt;North&lt;/b&gt;" in english
    Team.objects.filter(code="north").update(name="Northern")
    assert "Northern" in client.get(detail).content.decode()
    api = client.get(f"/api/evaluations/{setup['teams'].pk}").json()
    assert api["results"][0]["unit_label"] == "Northern"
