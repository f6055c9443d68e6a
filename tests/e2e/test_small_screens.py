"""Portal and queues at 390 px (a phone): no page scrolls sideways; wide tables scroll inside
their own box."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.helpers import sign_in
from tests.factories import (
    AgentFactory,
    CaseFactory,
    CustomerFactory,
    ManagerFactory,
    build_process_version,
    stage_of,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTH = 390
SCREENSHOTS = os.environ.get("SERVICELOOP_SCREENSHOTS")  # a directory, e.g. docs/img


def _overflow(page) -> int:
    """How far the page is wider than the screen (0 when nothing sticks out)."""
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def _check(page, url: str, wide: dict[str, int]) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    if _overflow(page) > 0:
        wide[url] = _overflow(page)
    if SCREENSHOTS:
        name = (
            url.split("//", 1)[-1].split("/", 1)[-1].strip("/").replace("/", "_").replace("?", "_")
        )
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"phone-{name or 'home'}.png"), full_page=True)


def test_portal_and_queues_fit_390px(browser, live_server):
    version = build_process_version(is_default=True)
    agent = AgentFactory(team=stage_of(version, "intake").responsible_team)
    customer = CustomerFactory(name="Liu Yang")
    case = CaseFactory(
        customer=customer,
        process_version=version,
        title="A rather long request title that describes the whole printer problem in detail",
    )
    manager = ManagerFactory()
    base = live_server.url
    wide: dict[str, int] = {}
    for user, urls in [
        (customer.user, ["/portal/", "/portal/cases/new/", f"/portal/cases/{case.number}/"]),
        (agent, ["/work/", "/work/?queue=team", f"/work/cases/{case.number}/"]),
        (manager, ["/work/?queue=all", "/replies/"]),
    ]:
        ctx = browser.new_context(viewport={"width": WIDTH, "height": 844})
        ctx.set_default_timeout(15_000)
        page = ctx.new_page()
        sign_in(page, base, user.username)
        page.wait_for_load_state("networkidle")
        for url in urls:
            _check(page, url if url.startswith("http") else f"{base}{url}", wide)
        ctx.close()
    # the sign-in page itself too
    ctx = browser.new_context(viewport={"width": WIDTH, "height": 844})
    page = ctx.new_page()
    _check(page, f"{base}/accounts/login/", wide)
    ctx.close()
    assert wide == {}, f"pages wider than {WIDTH} px: {wide}"
