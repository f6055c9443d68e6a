"""The flow chart is laid out by viz.js (WebAssembly) in real Chromium under the app's CSP."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from serviceloop.processes.services import process_default_install
from tests.e2e.conftest import browser  # noqa: F401  (the shared chromium fixture)
from tests.factories import PASSWORD, ManagerFactory

SCREENSHOTS = os.environ.get("SERVICELOOP_SCREENSHOTS")
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _shot(page: Any) -> None:
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / "process-flowchart.png"), full_page=True)


def test_flow_chart_renders_as_svg(browser: Any, live_server: Any) -> None:  # noqa: F811
    version = process_default_install()
    manager = ManagerFactory()
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    failed: list[str] = []
    # 404s show up as console errors without their URL: judge them by response instead
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            failed.append(r.url) if r.status >= 400 and not r.url.endswith("/favicon.ico") else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    base = live_server.url
    page.goto(f"{base}/accounts/login/?next=/processes/{version.pk}/")
    page.fill("#id_username", manager.username)
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_selector("[data-flowchart][data-rendered]", timeout=20_000)
    chart = page.locator("[data-flowchart]")
    assert chart.get_attribute("data-rendered") == "true", chart.inner_text()
    svg_text = page.locator("[data-flowchart] svg").text_content() or ""
    assert "需求分析" in svg_text and "服务实施" in svg_text  # Chinese stage names (zh browser)
    # 7 stages as nodes and 11 transitions as edges
    assert page.locator("[data-flowchart] svg g.node").count() == 7
    assert page.locator("[data-flowchart] svg g.edge").count() == 11
    assert errors == [] and failed == []  # no CSP violation, every asset served locally
    _shot(page)
    context.close()
