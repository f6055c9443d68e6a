"""A page over unchanged data is computed once and only rendered again; a new event, another
filter or another language computes it anew."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from serviceloop.insights import pages
from tests.insights.conftest import Log, walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = pages.overview_context

    def overview(scope: pages.Scope) -> dict[str, object]:
        calls.append(1)
        return real(scope)

    monkeypatch.setattr(pages, "overview_context", overview)
    return calls


def test_a_repeated_page_is_not_computed_again(live_log: Log, counted: list[int]) -> None:
    client = Client()
    client.force_login(live_log.manager)
    url = reverse("insights:dashboard")
    first = client.get(url)
    second = client.get(url)
    assert first.status_code == second.status_code == 200
    assert len(counted) == 1
    assert second.context["kpis"] == first.context["kpis"]
    client.get(url, {"priority": "high"})
    assert len(counted) == 2  # other filters, other answer
    walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 1)])
    after = client.get(url)
    assert len(counted) == 3  # a new event: computed again over the new log
    assert after.context["kpis"] != first.context["kpis"]  # one more event


def test_a_repeated_map_redraw_is_not_computed_again(
    live_log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = pages.process_map_dot

    def counted(*args: object, **kwargs: object) -> dict[str, object]:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pages, "process_map_dot", counted)
    client = Client()
    client.force_login(live_log.manager)
    url = reverse("insights:process-map")
    params = {"measure": "frequency", "activities": 100, "paths": 100}
    assert client.get(url, params).status_code == 200
    assert client.get(url, params).status_code == 200
    assert len(calls) == 1
    assert client.get(url, params | {"paths": 50}).status_code == 200
    assert len(calls) == 2


def test_a_fresh_process_finds_the_page_on_disk(live_log: Log, counted: list[int]) -> None:
    """A restarted server (nothing in memory) renders the kept answer without reading the log;
    after a new event it computes the page again and the older answer's file goes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from serviceloop.insights import logstore
    from serviceloop.insights.keptlogs import forget_kept_logs

    client = Client()
    client.force_login(live_log.manager)
    url = reverse("insights:dashboard")
    first = client.get(url)
    forget_kept_logs()
    with CaptureQueriesContext(connection) as queries:
        second = client.get(url)
    assert len(counted) == 1
    assert second.context["kpis"] == first.context["kpis"]
    assert not [q for q in queries.captured_queries if '"cases_caseevent"."kind"' in q["sql"]]
    walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 1)])
    forget_kept_logs()
    third = client.get(url)
    assert len(counted) == 2
    assert third.context["kpis"] != first.context["kpis"]
    assert len(list((logstore.store_directory() / "answers").glob("*.pickle"))) == 1
