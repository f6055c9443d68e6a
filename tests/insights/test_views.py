"""Insights pages: who may see them, what they show with data, with no data and with bad input."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from serviceloop.insights.formatting import format_duration
from tests.factories import AdminFactory, AgentFactory, CustomerFactory, ManagerFactory
from tests.insights.conftest import Log, walk

pytestmark = pytest.mark.django_db

PAGES = ["dashboard", "process", "process-map", "performance", "rework", "variants", "handovers"]


def _client(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def _json_script(html: str, element_id: str) -> object:
    match = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S
    )
    assert match, f"no JSON script {element_id!r} in the page"
    return json.loads(match.group(1))


@pytest.mark.parametrize("page", PAGES)
def test_agents_and_customers_are_refused(db: None, page: str) -> None:
    url = reverse(f"insights:{page}")
    assert _client(AgentFactory()).get(url).status_code == 403
    assert _client(CustomerFactory().user).get(url).status_code == 403


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_users_are_sent_to_sign_in(db: None, page: str) -> None:
    response = Client().get(reverse(f"insights:{page}"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


@pytest.mark.parametrize("page", PAGES)
def test_managers_and_admins_see_every_page(live_log: Log, page: str) -> None:
    for user in (live_log.manager, AdminFactory()):
        response = _client(user).get(reverse(f"insights:{page}"))
        assert response.status_code == 200, page


@pytest.mark.parametrize("page", PAGES)
def test_empty_log_shows_a_friendly_empty_state(db: None, page: str) -> None:
    response = _client(ManagerFactory()).get(reverse(f"insights:{page}"))
    assert response.status_code == 200
    text = response.content.decode()
    if page == "process-map":
        assert "No case matches these filters." in text
    else:
        assert "No cases to analyse." in text
        assert "The event log is empty" in text


def test_filters_that_match_nothing_explain_themselves(live_log: Log) -> None:
    response = _client(live_log.manager).get(reverse("insights:dashboard"), {"priority": "urgent"})
    assert response.status_code == 200
    assert "No case matches these filters." in response.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"start": "2025-03-10", "end": "2025-03-01"},
        {"min_hours": "10", "max_hours": "2"},
        {"start": "not a date"},
        {"priority": "whenever"},
        {"min_hours": "-1"},
        {"version": "abc"},
    ],
)
def test_invalid_filters_answer_422_with_the_form_errors(
    live_log: Log, params: dict[str, str]
) -> None:
    response = _client(live_log.manager).get(reverse("insights:dashboard"), params)
    assert response.status_code == 422
    text = response.content.decode()
    assert "Some filters are not valid." in text
    assert "errorlist" in text


@pytest.mark.parametrize("params", [{"activities": "150"}, {"measure": "colour"}])
def test_invalid_map_settings_answer_422(live_log: Log, params: dict[str, str]) -> None:
    client = _client(live_log.manager)
    assert client.get(reverse("insights:process"), params).status_code == 422
    assert client.get(reverse("insights:process-map"), params).status_code == 422


def test_dashboard_shows_kpis_and_chart_data(live_log: Log) -> None:
    response = _client(live_log.manager).get(reverse("insights:dashboard"))
    text = response.content.decode()
    kpis = dict((title, value) for title, value, _note in response.context["kpis"])
    assert kpis["Cases"] == "4"
    assert kpis["Events"] == "15"
    assert kpis["Still open"] == "2"
    assert kpis["Rework"] == "25.0%"  # the detour case only
    assert kpis["Conformance"] == "75.0%"  # the detour case reopened against the design
    histogram = _json_script(text, "chart-histogram")
    assert sum(histogram["series"][0]["data"]) == 2  # type: ignore[index]  # two closed cases
    week = _json_script(text, "chart-throughput-week")
    assert sum(week["series"][0]["data"]) == 4  # type: ignore[index]  # four opened


def _edges(dot: str) -> dict[tuple[str, str], bool]:
    """(source label, target label) -> whether the edge is marked as a deviation."""
    names = dict(re.findall(r'^  (a\d+) \[label="([^"\\]+)', dot, re.M))
    names |= {'"__start"': "START", '"__end"': "END"}
    out = {}
    for source, target, attrs in re.findall(r"^  (\S+) -> (\S+) \[(.*)\];$", dot, re.M):
        out[(names[source], names[target])] = 'class="deviation"' in attrs
    return out


def test_process_page_marks_exactly_the_disallowed_edges(live_log: Log) -> None:
    response = _client(live_log.manager).get(reverse("insights:process"))
    assert response.status_code == 200
    text = response.content.decode()
    edges = _edges(_json_script(text, "discovered-dot"))  # type: ignore[arg-type]
    marked = {edge for edge, deviation in edges.items() if deviation}
    assert marked == {("Closed", "Delivery")}  # the reopen; every other move is designed
    assert ("Intake", "Needs analysis") in edges and ("Delivery", "Needs analysis") in edges
    designed = _json_script(text, "designed-dot")
    assert "rankdir=TB" in designed  # type: ignore[operator]
    # Delivery: 2 of 4 finished visits over its 8 h standard; Intake: 1 of 3 over 1 h
    assert '"s_delivery" [style="rounded,filled", fillcolor="#fecaca"' in designed  # type: ignore[operator]
    assert '"s_intake" [style="rounded,filled", fillcolor="#fed7aa"' in designed  # type: ignore[operator]
    assert response.context["disallowed"] == [
        {
            "source": "Closed",
            "target": "Delivery",
            "count": "1",
            "cases": "1",
            "reopened": True,  # out of the end stage: shown as a reopen, not a mystery
            "examples": [live_log.detour.number],
        }
    ]
    assert reverse("workspace:case-detail", args=[live_log.detour.number]) in text
    assert '<span class="badge" title="A closed case was reopened' in text


def test_process_map_fragment_follows_measure_and_thresholds(live_log: Log) -> None:
    client = _client(live_log.manager)
    full = client.get(reverse("insights:process-map"), {"measure": "frequency"})
    assert full.status_code == 200
    assert full.context["map"]["shown_nodes"] == 4
    cut = client.get(
        reverse("insights:process-map"),
        {"measure": "performance", "activities": "25", "paths": "0"},
    )
    assert cut.status_code == 200
    assert cut.context["map"]["shown_nodes"] == 1
    assert "<html" not in cut.content.decode()  # a fragment for htmx


def test_all_events_view_skips_the_design_comparison(live_log: Log) -> None:
    response = _client(live_log.manager).get(reverse("insights:process"), {"view": "events"})
    assert response.status_code == 200
    assert "summary" not in response.context
    assert "Deviations are checked on stage events only" in response.content.decode()


def test_pages_show_bottlenecks_rework_variants_and_handovers(live_log: Log) -> None:
    client = _client(live_log.manager)
    performance = client.get(reverse("insights:performance"))
    stages = {row["stage"]: row for row in performance.context["stages"]}
    assert set(stages) == {"Intake", "Needs analysis", "Delivery"}  # end stage left out
    assert stages["Intake"]["standard"] == "1 h"
    rework = client.get(reverse("insights:rework"))
    delivery = next(r for r in rework.context["per_activity"] if r["activity"] == "Delivery")
    assert delivery["repeated"] == "1"
    variants = client.get(reverse("insights:variants"))
    first = variants.context["variants"][0]
    assert first["steps"] == ["Intake", "Needs analysis", "Delivery", "Closed"]
    assert first["count"] == "2" and first["conforms"] == 1
    handovers = client.get(reverse("insights:handovers"), {"view": "events"})
    assert handovers.status_code == 200
    manager = live_log.manager
    assert handovers.context["workload"][0]["resource"] == manager.get_full_name()


def test_people_are_shown_by_name_in_their_languages_order(live_log: Log) -> None:
    """The log keys people by username; Insights shows the name, family name first for a
    Chinese one, and tells two people of one name apart."""
    manager, agent = live_log.manager, live_log.agent
    manager.first_name, manager.last_name = "静", "陈"
    manager.save()
    agent.first_name, agent.last_name = "Ann", "Lee"
    agent.save()
    AgentFactory(first_name="Ann", last_name="Lee", team=agent.agent_profile.team)
    walk(live_log.fresh, live_log.version, agent, [("analysis", 1)])  # the agent takes a step
    page = _client(manager).get(reverse("insights:handovers"), {"view": "events"})
    shown = {row["resource"] for row in page.context["workload"]}
    assert "陈静" in shown
    assert f"Ann Lee ({agent.username})" in shown
    assert manager.username not in shown
    people = {node["name"] for node in page.context["graph"]["series"][0]["data"]}
    assert people <= shown and "陈静" in people
    pairs = {(row["source"], row["target"]) for row in page.context["handovers"]}
    assert all(agent.username not in pair for pair in pairs)


def test_stage_view_blames_time_on_the_stage_it_is_spent_in(live_log: Log) -> None:
    """Stage events mark entering a stage: the hours until the next event count for that stage
    (Delivery 3 + 5 + 19 + 10 h), not for the stage entered next (Needs analysis would lead)."""
    client = _client(live_log.manager)
    tables = client.get(reverse("insights:performance")).context["bottleneck_tables"]
    where = {title_id: rows for title_id, _title, _help, rows in tables}["waits-title"]
    assert [row["what"] for row in where] == ["Delivery", "Needs analysis", "Closed", "Intake"]
    assert where[0]["total"] == format_duration(37 * 3600)
    events = client.get(reverse("insights:performance"), {"view": "events"}).context
    assert "Where cases wait" in [title for _id, title, _help, _rows in events["bottleneck_tables"]]


def test_pages_are_translated(live_log: Log) -> None:
    client = _client(live_log.manager)
    client.cookies["django_language"] = "zh-hans"
    response = client.get(reverse("insights:process"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    dot = _json_script(response.content.decode(), "discovered-dot")
    assert "受理" in dot  # type: ignore[operator]  # stage names in Chinese on the map


def test_page_queries_do_not_grow_with_the_log(
    live_log: Log, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    client = _client(live_log.manager)
    for page in PAGES:
        # The first page also writes the columnar copy: the newest event, one read of the events,
        # one of the cases, beside the filter choices, the session and the compared version; and
        # the coded log beside it, with the team and category names it was coded with.
        with django_assert_max_num_queries(21):
            assert client.get(reverse(f"insights:{page}")).status_code == 200


def test_rework_by_team_and_category_names_them_in_the_readers_language(live_log: Log) -> None:
    team, category = live_log.fresh.team, live_log.hardware
    assert team is not None
    team.name_zh, category.name_zh = "一线服务组", "硬件"
    team.save()
    category.save()
    client = _client(live_log.manager)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("insights:rework"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    values = {
        table["title"]: {row["value"] for row in table["rows"]}
        for table in page.context["by_attribute"]
    }
    assert "一线服务组" in values["按团队"] and team.name not in values["按团队"]
    assert "硬件" in values["按类别"]
