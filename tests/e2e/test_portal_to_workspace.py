"""The whole loop in a real browser: a customer submits a request in the portal, an agent finds it
in the workspace and moves it one stage, and both timelines show it. Every asset comes from the
application itself (no CDN), and the Content-Security-Policy is never violated."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from serviceloop.cases.models import Case, CaseEvent
from tests.factories import (
    PASSWORD,
    AgentFactory,
    CategoryFactory,
    CustomerFactory,
    build_process_version,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = os.environ.get("SERVICELOOP_SCREENSHOTS")  # a directory, e.g. docs/img


class PageWatch:
    """Records every request a page makes and every console error (CSP violations show there)."""

    def __init__(self, page, origin: str) -> None:
        self.origin = origin
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on(
            "console",
            lambda m: self.console_errors.append(m.text) if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))

    def foreign_requests(self) -> list[str]:
        return [
            url
            for url in self.requests
            if not url.startswith(("data:", "blob:"))
            and f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" != self.origin
        ]


def _sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]:has-text('Sign in')")


def _shot(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / name), full_page=True)


def test_customer_submits_agent_moves_timeline_shows_both(browser, live_server):
    version = build_process_version(is_default=True)
    front_team = version.stages.get(code="intake").responsible_team
    agent = AgentFactory(team=front_team, first_name="Li", last_name="Na")
    customer = CustomerFactory(name="Wang Fang")
    CategoryFactory(code="hardware", name="Hardware", name_zh="硬件")
    base = live_server.url
    origin = f"{urlsplit(base).scheme}://{urlsplit(base).netloc}"

    # --- the customer -------------------------------------------------------------------------
    customer_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    customer_ctx.set_default_timeout(15_000)
    page = customer_ctx.new_page()
    watch_customer = PageWatch(page, origin)
    _sign_in(page, base, customer.user.username)
    page.wait_for_url(re.compile(r"/portal/$"))
    page.click("text=Submit a new request")
    page.fill("#id_title", "Laptop does not start")
    page.fill("#id_description", "Since this morning the power light blinks three times.")
    page.select_option("#id_category", label="Hardware")
    page.select_option("#id_priority", "high")
    page.set_input_files(
        "input[name=attachments]",
        files=[{"name": "blink.txt", "mimeType": "text/plain", "buffer": b"3 blinks, then off"}],
    )
    page.click("button:has-text('Send request')")
    page.wait_for_url(re.compile(r"/portal/cases/SL-\d+/$"))
    assert Case.objects.count() == 1
    number = page.url.rstrip("/").rsplit("/", 1)[-1]
    assert page.locator("h1").inner_text().startswith(number)
    assert page.locator(".timeline").get_by_text("blink.txt").count() == 1
    with page.expect_download() as download_info:
        page.locator(".timeline a", has_text="blink.txt").click()
    download = download_info.value
    assert download.suggested_filename == "blink.txt"
    assert Path(download.path()).read_bytes() == b"3 blinks, then off"
    case = Case.objects.get(number=number)
    assert (case.title, case.priority, case.assignee_id) == (
        "Laptop does not start",
        "high",
        agent.pk,
    )

    # --- the agent ----------------------------------------------------------------------------
    agent_ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    agent_ctx.set_default_timeout(15_000)
    work = agent_ctx.new_page()
    watch_agent = PageWatch(work, origin)
    _sign_in(work, base, agent.username)
    work.wait_for_url(re.compile(r"/work/$"))
    # Search through the htmx-updated list.
    work.fill("input[name=q]", number)
    work.press("input[name=q]", "Enter")
    work.wait_for_url(re.compile(r"q=SL-"))
    work.wait_for_load_state("networkidle")  # Enter fires change, search and submit: let them land
    rows = work.locator("#queue-results tbody tr")
    assert rows.count() == 1
    _shot(work, "workspace-queue.png")
    rows.first.locator("a", has_text=number).click()
    work.wait_for_url(re.compile(rf"/work/cases/{number}/$"))
    assert work.locator("[data-testid=case-stage]").inner_text() == "Intake"
    work.click("#transitions button:has-text('Needs analysis')")
    work.wait_for_selector("text=Moved to “Needs analysis”.")
    assert work.locator("[data-testid=case-stage]").inner_text() == "Needs analysis"
    timeline = work.locator("#timeline .timeline")
    assert timeline.get_by_text("Case created").count() == 1
    assert timeline.get_by_text("Intake → Needs analysis").count() == 1
    # Ticking the checklist (htmx) refreshes the guards and the transition buttons in place.
    guards = work.locator("#guard-lines")
    assert "Need confirmed with the customer" in guards.inner_text()
    work.check("#checklist input[type=checkbox]")
    expect(work.locator("#guard-lines li")).to_have_count(0)
    case.refresh_from_db()
    assert case.checklist_done == ["Need confirmed with the customer"]
    assert work.locator("#transitions input[name=expected_version]").first.input_value() == str(
        case.version
    )
    _shot(work, "workspace-case.png")

    # The language switch (a script, allowed by the CSP) turns the page Chinese.
    work.select_option("select[name=language]", "zh-hans")
    work.wait_for_selector("text=流转工单")
    assert work.locator("[data-testid=case-stage]").inner_text() == "需求分析"
    _shot(work, "workspace-case-zh.png")

    # --- the customer sees the move -----------------------------------------------------------
    page.reload()
    history = page.locator(".timeline")
    assert history.get_by_text("Case created").count() == 1
    assert history.get_by_text("Intake → Needs analysis").count() == 1
    assert page.locator(".progress li.current").inner_text() == "Needs analysis"
    _shot(page, "portal-case.png")

    kinds = list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
    assert kinds.count("created") == 1 and kinds.count("stage_entered") == 2

    for watch in (watch_customer, watch_agent):
        assert watch.requests, "no request recorded"
        assert watch.foreign_requests() == []
        assert [e for e in watch.console_errors if "Content Security Policy" in e] == []
        assert any("/static/vendor/htmx.min.js" in url for url in watch.requests)
    customer_ctx.close()
    agent_ctx.close()
