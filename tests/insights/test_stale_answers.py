"""On a big log the first load after new events shows the page's kept answer, saying when it was
computed, while the page is computed again in the background; the page that follows equals the
page computed from scratch. An erasure or a small log computes the page before showing it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import models, transaction
from django.test import Client
from django.urls import reverse

from serviceloop.cases.models import CaseEvent
from serviceloop.core import append_only
from serviceloop.insights import answers
from serviceloop.insights.keptlogs import forget_kept_logs
from tests.insights.conftest import Log, walk

pytestmark = pytest.mark.django_db

STALE_NOTE = "updating: new events came in"


@pytest.fixture
def jobs(monkeypatch: pytest.MonkeyPatch, settings: object) -> list[Callable[[], None]]:
    """Every log counts as big; refreshes wait here until the test runs them (in its thread,
    which sees the test's database)."""
    settings.INSIGHTS_INLINE_BELOW = 0  # type: ignore[attr-defined]
    queued: list[Callable[[], None]] = []
    monkeypatch.setattr(answers, "run_later", queued.append)
    return queued


def _run(queued: list[Callable[[], None]]) -> None:
    while queued:
        queued.pop(0)()


def _client(log: Log) -> Client:
    client = Client()
    client.force_login(log.manager)
    return client


def _from_scratch(client: Client, url: str, params: dict[str, object]) -> Any:
    """The page computed by a fresh process with nothing kept: no log, no answer."""
    forget_kept_logs()
    for kept in (answers.logstore.store_directory() / "answers").glob("*.pickle"):
        kept.unlink()
    response = client.get(url, params)
    assert "stale_at" not in response.context
    return response.context


PAGES = [
    ("insights:dashboard", {}, "kpis"),
    ("insights:dashboard", {"view": "events"}, "kpis"),
    ("insights:process", {}, "disallowed"),
    ("insights:process-map", {"measure": "performance", "activities": 100, "paths": 100}, "map"),
    ("insights:performance", {}, "bottleneck_tables"),
    ("insights:rework", {}, "by_attribute"),
    ("insights:variants", {"priority": "normal"}, "variants"),
    ("insights:handovers", {}, "handovers"),
]


@pytest.mark.parametrize(("name", "params", "figure"), PAGES)
def test_the_kept_page_is_shown_as_of_its_time_while_it_is_computed_again(
    live_log: Log, jobs: list[Callable[[], None]], name: str, params: dict[str, object], figure: str
) -> None:
    client, url = _client(live_log), reverse(name)
    before = client.get(url, params)
    assert "stale_at" not in before.context and not jobs
    walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 2), ("delivery", 3)])

    shown = client.get(url, params)
    assert shown.status_code == 200
    assert shown.context["stale_at"] is not None
    assert STALE_NOTE in shown.content.decode()
    assert shown.context[figure] == before.context[figure]  # the older answer, said to be one
    again = client.get(url, params)
    assert "stale_at" in again.context
    assert len(jobs) == 1  # one refresh per page, however many loads wait for it

    _run(jobs)
    fresh = client.get(url, params)
    assert "stale_at" not in fresh.context
    assert STALE_NOTE not in fresh.content.decode()
    assert not jobs
    assert fresh.context[figure] == _from_scratch(client, url, params)[figure]


def test_the_refreshed_page_has_the_new_events(
    live_log: Log, jobs: list[Callable[[], None]]
) -> None:
    client, url = _client(live_log), reverse("insights:dashboard")
    before = client.get(url).context["kpis"]
    walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 2)])
    assert client.get(url).context["kpis"] == before
    _run(jobs)
    after = client.get(url).context["kpis"]
    assert after != before  # one event more
    assert after == _from_scratch(client, url, {})["kpis"]


def test_a_page_another_process_computes_is_read_from_its_file(
    live_log: Log, jobs: list[Callable[[], None]]
) -> None:
    client, url = _client(live_log), reverse("insights:rework")
    client.get(url)
    walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 2)])
    assert "stale_at" in client.get(url).context
    key = next(k for k in answers._answers.items if k[0] == "rework")
    with answers._page_lock(key) as mine:  # another process holds the page
        assert mine
        _run(jobs)  # this process leaves the page to it
    assert "stale_at" in client.get(url).context
    _run(jobs)
    assert "stale_at" not in client.get(url).context


def test_after_an_erasure_the_page_is_computed_before_it_is_shown(
    live_log: Log, jobs: list[Callable[[], None]]
) -> None:
    """The kept answer may name an erased case: it is not shown, even as an older page."""
    client, url = _client(live_log), reverse("insights:process")
    client.get(url)
    oldest = CaseEvent.objects.order_by("id").first()
    assert oldest is not None
    with transaction.atomic(), append_only.lifted(CaseEvent._meta.db_table):
        models.QuerySet(CaseEvent).filter(pk=oldest.pk)._raw_delete("default")
    response = client.get(url)
    assert "stale_at" not in response.context
    assert not jobs


def test_a_small_log_computes_the_page_before_showing_it(live_log: Log) -> None:
    client, url = _client(live_log), reverse("insights:dashboard")
    before = client.get(url).context["kpis"]
    walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 2)])
    after = client.get(url)
    assert "stale_at" not in after.context
    assert after.context["kpis"] != before


def test_the_note_is_in_chinese_for_a_chinese_reader(
    live_log: Log, jobs: list[Callable[[], None]]
) -> None:
    client, url = _client(live_log), reverse("insights:dashboard")
    headers = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
    client.get(url, **headers)  # type: ignore[arg-type]
    walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 2)])
    text = client.get(url, **headers).content.decode()  # type: ignore[arg-type]
    assert "正在更新" in text
