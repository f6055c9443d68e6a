"""The what-if page: managers only, the as-is model of the live log, a run that goes on in the
background, reports its progress and keeps its results beside as-is; bad changes get a clear
message and start nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from serviceloop.insights import whatif
from tests.factories import AgentFactory, CaseFactory, CustomerFactory

from .conftest import DAY0, walk


@pytest.fixture(autouse=True)
def _no_kept_model():
    whatif.whatif_forget()
    yield
    whatif.whatif_forget()


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def history(live_log, data_dir):
    """Forty closed cases over ten days on top of the small live log."""
    version, manager = live_log.version, live_log.manager
    for i in range(40):
        case = CaseFactory(
            process_version=version, at=DAY0 + timedelta(days=5, hours=6 * i), actor=manager
        )
        step = 3 if i % 2 else 1
        walk(
            case,
            version,
            manager,
            [("analysis", step), ("delivery", 2 * step), ("closed", 4 * step)],
        )
    return live_log


@pytest.fixture
def synchronous(monkeypatch):
    """Runs start in the test's own thread (same database transaction), not in the background."""
    started = []

    def launch(run_id: str) -> None:
        started.append(run_id)
        whatif.whatif_execute(run_id)

    monkeypatch.setattr(whatif, "_launch", launch)
    return started


def test_the_page_is_for_managers_only(history, client):
    url = reverse("insights:what-if")
    for user in (AgentFactory(), CustomerFactory().user):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert client.post(url, {"arrivals": "10"}).status_code == 403


def test_the_page_shows_the_as_is_teams_and_stages(history, client):
    client.force_login(history.manager)
    response = client.get(reverse("insights:what-if"))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="whatif-form"' in page
    for stage in ("Intake", "Needs analysis", "Delivery"):
        assert stage in page
    # The live log records when a case entered a stage; the model's stages are the ones left,
    # each worked by the team the process design makes responsible for it.
    model = whatif.whatif_as_is_model()
    teams = {
        s.name: s.responsible_team.name
        for s in history.version.stages.select_related("responsible_team")
        if s.responsible_team is not None and not s.is_end
    }
    assert teams
    pools = {a.name: a.pool for a in model.activities}
    assert {name: pools[name] for name in teams if name in pools} == {
        name: team for name, team in teams.items() if name in pools
    }
    assert {"Intake", "Needs analysis", "Delivery"} <= set(pools)


def test_an_empty_log_says_there_is_nothing_to_simulate(db, data_dir, client):
    from tests.factories import ManagerFactory

    client.force_login(ManagerFactory())
    response = client.get(reverse("insights:what-if"))
    assert response.status_code == 200
    assert 'data-testid="whatif-no-model"' in response.content.decode()


def test_a_run_keeps_its_results_beside_as_is(history, client, synchronous, data_dir):
    client.force_login(history.manager)
    response = client.post(
        reverse("insights:what-if"),
        {"arrivals": "50", "replications": "3", "weeks": "4", "no_rework": "1"},
    )
    assert response.status_code == 302
    assert len(synchronous) == 1
    run_id = synchronous[0]
    assert response["Location"] == reverse("insights:what-if-run", args=[run_id])
    assert (data_dir / "whatif" / f"{run_id}.json").exists()
    page = client.get(response["Location"]).content.decode()
    assert 'data-status="done"' in page
    assert 'data-testid="whatif-measures"' in page and "Throughput per week" in page
    state = whatif.whatif_get(run_id)
    assert state["changes"] == ["no-rework", "arrivals +50%"]
    diff = state["result"]["scenarios"][0]["difference_to_as_is"]["measures"]
    assert diff["throughput_per_week"]["mean"] > 0
    assert state["done"] == state["total"] == 6
    listing = client.get(reverse("insights:what-if")).content.decode()
    assert run_id in listing


def test_a_run_takes_new_cases_at_the_recent_rate_or_the_whole_logs(
    history, client, synchronous, data_dir
):
    # The live log spans about two weeks: a shorter window differs from its mean rate.
    client.force_login(history.manager)
    page = client.get(reverse("insights:what-if")).content.decode()
    assert 'name="arrival_weeks" value="8"' in page
    assert "the log's mean rate (it is shorter than the window)" in page
    recent = whatif.whatif_as_is_model(arrival_weeks=1)
    whole = whatif.whatif_as_is_model(arrival_weeks=0)
    assert recent.info["arrivals"]["rule"] == "the rate of the last 1 weeks"
    assert whole.info["arrivals"]["rule"] == "the whole log's mean rate"
    assert recent.cases_per_week != pytest.approx(whole.cases_per_week)
    assert whatif.whatif_as_is_model() is whatif.whatif_as_is_model(arrival_weeks=8)
    runs = {}
    for weeks in ("1", "0"):
        response = client.post(
            reverse("insights:what-if"),
            {"arrivals": "10", "replications": "2", "weeks": "2", "arrival_weeks": weeks},
        )
        assert response.status_code == 302
        runs[weeks] = whatif.whatif_get(synchronous[-1])
    assert runs["1"]["arrival_weeks"] == 1 and runs["0"]["arrival_weeks"] == 0
    simulated = {w: r["result"]["model"]["cases_per_week"] for w, r in runs.items()}
    assert simulated == {
        "1": pytest.approx(recent.cases_per_week),
        "0": pytest.approx(whole.cases_per_week),
    }
    shown = client.get(reverse("insights:what-if-run", args=[synchronous[0]])).content.decode()
    assert "New cases at the rate of the log's last 1 weeks." in shown
    refused = client.post(reverse("insights:what-if"), {"arrivals": "10", "arrival_weeks": "-1"})
    assert refused.status_code == 422
    assert len(synchronous) == 2


def test_a_running_run_is_followed_by_htmx_and_an_orphan_is_interrupted(history, client, data_dir):
    state = {
        "id": "0123456789abcdef",
        "status": "running",
        "created_at": "2026-01-01T00:00:00+00:00",
        "created_by": "manager",
        "changes": ["arrivals +10%"],
        "replications": 3,
        "weeks": 4,
        "done": 2,
        "total": 6,
    }
    whatif._write(state)
    whatif._RUNNING.add(state["id"])
    try:
        client.force_login(history.manager)
        fragment = client.get(
            reverse("insights:what-if-run", args=[state["id"]]), HTTP_HX_REQUEST="true"
        ).content.decode()
        assert 'hx-trigger="every 1s"' in fragment and "2/6" in fragment
        assert "<html" not in fragment
    finally:
        whatif._RUNNING.discard(state["id"])
    page = client.get(reverse("insights:what-if-run", args=[state["id"]])).content.decode()
    assert 'data-status="interrupted"' in page and "hx-trigger" not in page


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"staff-0": "-50"}, "is outside"),
        ({"duration-0": "fast"}, "is not a whole number"),
        ({"hours": "Mon-Fri 18-08"}, "are not working hours such as Mon-Fri 08-18"),
        ({}, "Pick at least one change."),
    ],
)
def test_bad_changes_are_refused_and_start_nothing(
    history, client, synchronous, data_dir, form, message
):
    client.force_login(history.manager)
    response = client.post(reverse("insights:what-if"), form)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert synchronous == []
    assert not list((data_dir / "whatif").glob("*.json"))


def test_refusals_speak_the_readers_language(history, client, synchronous, data_dir):
    from serviceloop.analytics.simulation import ModelDiscoveryError

    client.force_login(history.manager)
    refused = client.post(
        reverse("insights:what-if"), {"hours": "nie"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert refused.status_code == 422
    assert "“nie”不是像 Mon-Fri 08-18 这样的工作时间" in refused.content.decode()
    assert synchronous == []
    # A run the library refuses in the background fails with a coded reason, shown in the
    # reader's language when the page is read.
    error = ModelDiscoveryError("too small", reason="too_small", cases=3, needed=30)
    problem = whatif._refusal(error, "whatif_model_failed")
    assert (problem.code, problem.params) == ("whatif_log_too_small", {"cases": 3, "needed": 30})
    state = {
        "id": "fedcba9876543210",
        "status": "failed",
        "created_at": "2026-01-01T00:00:00+00:00",
        "created_by": "m",
        "changes": ["no-rework"],
        "replications": 2,
        "weeks": 2,
        "problem": problem.as_json(),
        "error": problem.render("en"),
    }
    whatif._write(state)
    url = reverse("insights:what-if-run", args=[state["id"]])
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "事件日志太小，无法模拟：有已完成阶段的案件 3 个，至少需要 30 个。" in chinese
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The event log is too small to simulate: 3 case(s)" in english


def test_a_team_that_cannot_keep_up_is_named_before_a_run(history, client, monkeypatch):
    from serviceloop.analytics.simulation import mmc_model
    from serviceloop.insights import whatif_views

    client.force_login(history.manager)
    url = reverse("insights:what-if")
    assert 'data-testid="whatif-overloaded"' not in client.get(url).content.decode()
    overloaded = mmc_model(arrivals_per_hour=5, mean_service_seconds=1800, servers=2)
    monkeypatch.setattr(whatif_views, "whatif_as_is_model", lambda **_: overloaded)
    page = client.get(url).content.decode()
    assert "Servers cannot keep up: its work is 125% of its hours" in page
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "Servers 跟不上：按目前的新案件速率，其工作量是其工作时间的 125%" in chinese


def test_an_unknown_run_is_404(history, client):
    client.force_login(history.manager)
    assert client.get(reverse("insights:what-if-run", args=["nope"])).status_code == 404
    assert client.get(reverse("insights:what-if-run", args=["0" * 16])).status_code == 404


def test_the_as_is_model_is_kept_until_the_log_changes(history):
    first = whatif.whatif_as_is_model()
    assert whatif.whatif_as_is_model() is first
    case = CaseFactory(
        process_version=history.version, at=DAY0 + timedelta(days=20), actor=history.manager
    )
    walk(case, history.version, history.manager, [("analysis", 1)])
    again = whatif.whatif_as_is_model()
    assert again is not first
    assert again.info["events"] > first.info["events"]


WHATIF_TEMPLATES = (
    "insights/templates/insights/whatif.html",
    "insights/templates/insights/whatif_run.html",
    "insights/templates/insights/partials/whatif_run.html",
)


def _template_messages() -> list[str]:
    """Every ``translate``/``blocktranslate`` text of the what-if templates, as gettext sees it
    (a literal ``%`` is looked up as ``%%``, a ``{{ name }}`` as ``%(name)s``)."""
    import re
    from pathlib import Path

    import serviceloop

    root = Path(serviceloop.__file__).parent
    found: list[str] = []
    for name in WHATIF_TEMPLATES:
        text = (root / name).read_text(encoding="utf-8")
        found += [m.replace("%", "%%") for m in re.findall(r'{% translate "(.*?)" %}', text)]
        for block in re.findall(r"{% blocktranslate[^%]*%}(.*?){% endblocktranslate %}", text):
            found.append(re.sub(r"{{ (\w+) }}", r"%(\1)s", block.replace("%", "%%")))
    return found


def test_every_text_of_the_whatif_pages_has_chinese():
    from django.utils import translation

    from serviceloop.insights.whatif_views import MEASURES, SLA_SOURCES, STATUSES

    messages = _template_messages()
    messages += [label for _, label, _ in MEASURES]
    messages += list(SLA_SOURCES.values()) + list(STATUSES.values())
    assert len(messages) > 40
    with translation.override("zh-hans"):
        missing = [m for m in messages if translation.gettext(m) == m]
    assert missing == []


def test_the_whatif_pages_speak_chinese(history, client, synchronous):
    client.force_login(history.manager)
    client.cookies["django_language"] = "zh-hans"
    form = client.get(reverse("insights:what-if"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    page = form.content.decode()
    for label in ("假设分析：模拟对流程的改动", "各团队人数", "各阶段用时", "模拟周数"):
        assert label in page
    assert "Staff per team" not in page
    refused = client.post(
        reverse("insights:what-if"), {"arrivals": "many"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert refused.status_code == 422
    assert "many 不是整数" in refused.content.decode()
    started = client.post(
        reverse("insights:what-if"),
        {"arrivals": "50", "replications": "2", "weeks": "2"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert started.status_code == 302
    run = client.get(started["Location"], HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    for label in ("周期时间，平均", "周期时间，p90", "SLA 达成率", "每周完成量", "现状", "已完成"):
        assert label in run
    assert "Cycle time, mean" not in run and "Throughput per week" not in run
    assert any(unit in run for unit in (" 天", " 小时", " 分钟"))
    assert "日志周期时间的第 80 百分位" in run
    listing = client.get(reverse("insights:what-if"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "已完成" in listing.content.decode()
