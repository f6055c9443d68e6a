"""The Insights pages in a real browser: charts and both process maps are drawn from local assets
without breaking the Content-Security-Policy, and the map's sliders redraw it through htmx."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import browser  # noqa: F401 - the shared Chromium fixture
from tests.factories import PASSWORD
from tests.insights.conftest import Log

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_process_map_and_charts_render_and_react(browser, live_server, live_log: Log) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", live_log.manager.username)
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_url(lambda url: "/accounts/login" not in url)

    page.goto(f"{live_server.url}/insights/")
    expect(page.locator('[data-echarts="chart-histogram"][data-rendered="true"]')).to_be_visible()
    expect(page.locator('[data-echarts="chart-throughput-week"] canvas')).to_have_count(1)
    page.click("button[data-chart-option='chart-throughput-day']")
    expect(page.locator("button[data-chart-option='chart-throughput-day']")).to_have_attribute(
        "aria-pressed", "true"
    )

    page.goto(f"{live_server.url}/insights/process/")
    discovered = page.locator('[data-insights-dot="discovered-dot"]')
    expect(discovered).to_have_attribute("data-rendered", "true")
    expect(page.locator('[data-insights-dot="designed-dot"] svg')).to_have_count(1)
    expect(discovered.locator("g.edge.deviation")).to_have_count(1)  # Closed -> Delivery
    expect(discovered.locator("g.node")).to_have_count(4 + 2)  # four stages, start and end

    page.locator("input[name=activities]").evaluate(
        "el => { el.value = 25; el.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    expect(page.locator("#discovered-map")).to_contain_text("Showing 1 of 4 activities")
    expect(page.locator('[data-insights-dot="discovered-dot"] g.node')).to_have_count(1 + 2)
    page.check("input[name=measure][value=performance]")
    expect(
        page.locator('[data-insights-dot="discovered-dot"][data-rendered="true"]')
    ).to_be_visible()

    page.goto(f"{live_server.url}/insights/handovers/?view=events")
    expect(page.locator("h2#workload-title")).to_be_visible()  # one person: no handovers
    page.close()
    assert [e for e in errors if "favicon" not in e and "404" not in e] == []
