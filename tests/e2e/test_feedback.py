"""Feedback in a real browser: a refused form scrolls its error into view, the language switch
after it lands on the case page, error pages lead back, a checklist tick reaches the timeline."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from serviceloop.cases.services import case_transition
from tests.e2e.helpers import sign_in
from tests.factories import AgentFactory, CaseFactory, build_process_version, stage_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_error_in_view_language_switch_error_pages_and_live_timeline(browser, live_server):
    version = build_process_version(is_default=True)
    agent = AgentFactory(team=stage_of(version, "intake").responsible_team)
    case = case_transition(
        case=CaseFactory(process_version=version),
        to_stage=stage_of(version, "analysis"),
        actor=agent,
    )
    base = live_server.url
    ctx = browser.new_context(viewport={"width": 1280, "height": 420})
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    sign_in(page, base, agent.username)
    page.goto(f"{base}/work/cases/{case.number}/")

    # A checklist tick shows in the timeline without a reload.
    page.check("#checklist input[type=checkbox]")
    expect(page.locator("#timeline")).to_contain_text("Checklist item checked")

    # An empty reply is refused; the error is on screen, not below the fold.
    # (sent from the top of the page: Playwright's own click would scroll down to the button)
    page.evaluate("window.scrollTo(0, 0)")
    page.locator("#reply form").evaluate("form => form.requestSubmit()")
    page.wait_for_url(re.compile(rf"/work/cases/{case.number}/reply/$"))
    error = page.locator("#reply .errorlist").first
    expect(error).to_be_in_viewport()

    # Switching language now lands on the case page, in Chinese.
    page.select_option("select[name=language]", "zh-hans")
    page.wait_for_url(re.compile(rf"/work/cases/{case.number}/$"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("[data-testid=case-stage]")).to_have_text("需求分析")

    # A missing case: the site's 404 page with a way back.
    page.goto(f"{base}/work/cases/SL-99999999/")
    expect(page.locator("[data-testid=error-page]")).to_contain_text("404")
    expect(page.locator(".topbar")).to_have_count(1)
    page.locator("[data-testid=error-page] a.button").last.click()
    page.wait_for_url(re.compile(r"/work/"))

    # A page for managers only: the 403 page, also in the site's layout.
    page.goto(f"{base}/replies/1/")
    expect(page.locator("[data-testid=error-page]")).to_contain_text("403")
    ctx.close()
