"""The evaluation report in a real browser: the radar and trend charts draw from the app's own
ECharts (no CDN), under the Content-Security-Policy, and the page prints without the navigation."""

from __future__ import annotations

import datetime as dt
import os
from urllib.parse import urlsplit

import pytest

from serviceloop.evaluation.services import evaluation_run, indicator_system_create_default
from tests.e2e.conftest import browser  # noqa: F401  (the chromium fixture)
from tests.evaluation.helpers import at, make_case
from tests.factories import PASSWORD, AgentFactory, ManagerFactory, TeamFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = os.environ.get("SERVICELOOP_SCREENSHOTS")


def test_radar_and_trend_render_from_local_assets(live_server, browser):  # noqa: F811
    manager = ManagerFactory(username="boss")
    system = indicator_system_create_default(actor=manager)
    north, south = TeamFactory(code="north", name="North"), TeamFactory(code="south", name="South")
    ann, bob = AgentFactory(team=north), AgentFactory(team=south)
    for month in (10, 11):
        for day in (3, 4, 5):
            make_case(
                team=north,
                agent=ann,
                created=at(day, month=month),
                first_reply_hours=1,
                closed_hours=8,
            )
            make_case(
                team=south,
                agent=bob,
                created=at(day, month=month),
                first_reply_hours=6,
                closed_hours=60,
                reopens=1,
                escalations=1,
                rework=True,
            )
    evaluation = None
    for start, end in (
        (dt.date(2026, 10, 1), dt.date(2026, 10, 31)),
        (dt.date(2026, 11, 1), dt.date(2026, 11, 30)),
    ):
        evaluation = evaluation_run(
            system=system,
            unit_kind="team",
            period_start=start,
            period_end=end,
            method="weighted_sum",
            weighting="manual",
            actor=manager,
        )
    assert evaluation is not None

    page = browser.new_page()
    origin = live_server.url
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{origin}/accounts/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]:has-text('Sign in')")
    page.goto(f"{origin}/evaluation/{evaluation.pk}/")
    page.wait_for_selector("[data-evaluation-chart='chart-radar'] svg")
    page.wait_for_selector("[data-evaluation-chart='chart-trend'] svg")
    assert page.locator("table tbody tr").first.inner_text().startswith("1")
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, "evaluation-detail.png"), full_page=True)
    page.emulate_media(media="print")
    assert not page.locator("header.topbar").is_visible()
    # The browser asks for /favicon.ico by itself (404); every other error would be ours.
    assert [e for e in errors if "404 (Not Found)" not in e] == []
    assert [u for u in requests if u.endswith(".js")] and all(
        "/static/" in u for u in requests if u.endswith(".js")
    )
    foreign = [
        u
        for u in requests
        if not u.startswith(("data:", "blob:"))
        and f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" != origin
    ]
    assert not foreign, foreign
    page.close()
