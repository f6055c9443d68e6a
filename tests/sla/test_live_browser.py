"""The live page in Chromium: a case that falls overdue appears in the at-risk list by itself,
without a reload; the control chart, the arrivals-against-capacity chart and the compliance chart
are drawn, and drawn again after each refresh; no script error or CSP violation."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from serviceloop.cases.models import Case
from serviceloop.cases.services import case_set_status
from tests.e2e.conftest import browser  # noqa: F401  (the Chromium fixture)
from tests.factories import PASSWORD, CaseFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_live_page_updates_itself_when_a_case_falls_overdue(
    browser,  # noqa: F811  (the fixture imported above)
    live_server,
    world,
    sla,
    settings,
):
    settings.SLA_LIVE_REFRESH_SECONDS = 1
    done = CaseFactory(at=timezone.now() - timedelta(days=1))
    case_set_status(case=done, actor=world.manager, status="resolved")  # a point on the p chart
    Case.objects.filter(pk=done.pk).update(assignee=world.front_agent)  # a compliance row
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/")
    page.fill("#id_username", world.manager.username)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]:has-text('Sign in')")
    page.wait_for_load_state()
    page.goto(f"{base}/sla/live/")
    expect(page.locator("#at-risk")).to_contain_text("Nothing at risk.")
    page.evaluate("window.__notReloaded = true")

    case = CaseFactory(at=timezone.now() - timedelta(days=2))  # its clocks long overdue

    expect(page.locator("#at-risk")).to_contain_text(case.number, timeout=30_000)
    assert page.evaluate("window.__notReloaded === true")
    assert re.search(r"/sla/live/$", page.url)
    chart = page.locator('#control-charts [data-echarts="sla-breach-chart"]')
    expect(chart).to_have_attribute("data-rendered", "true")
    assert chart.locator("canvas").count() >= 1
    # The panels' charts are drawn on the swapped-in panels, the compliance row is there.
    for name in ("sla-arrivals-chart", "sla-compliance-chart"):
        drawn = page.locator(f'#live-panels [data-echarts="{name}"]')
        expect(drawn).to_have_attribute("data-rendered", "true")
        expect(drawn.locator("canvas")).to_have_count(1)
    expect(page.locator(f'[data-compliance-agent="{world.front_agent.username}"]')).to_be_visible()
    page.evaluate(
        "document.querySelector('#live-panels').setAttribute('data-old', '1')"
    )  # the next refresh replaces this element
    expect(page.locator("#live-panels[data-old]")).to_have_count(0, timeout=10_000)
    expect(page.locator('#live-panels [data-echarts="sla-arrivals-chart"]')).to_have_attribute(
        "data-rendered", "true"
    )
    assert [e for e in errors if "Content Security Policy" in e or "Error" in e] == []
    context.close()
