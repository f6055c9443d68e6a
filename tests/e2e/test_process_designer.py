"""A manager designs a small process in the browser, sees the chart redraw and a refusal beside
its field, publishes it after the diff, makes it the default; a customer's request then starts
on it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from serviceloop.cases.models import Case
from serviceloop.processes.choices import VersionStatus
from serviceloop.processes.models import ProcessVersion
from tests.e2e.helpers import sign_in
from tests.factories import CustomerFactory, ManagerFactory, TeamFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _add_stage(page, code: str, name: str, *, start: bool = False, end: bool = False) -> None:
    add = page.locator("details.add-stage")
    if add.get_attribute("open") is None:
        add.locator("summary").click()
    page.fill("#id_new-stage-code", code)
    page.fill("#id_new-stage-name", name)
    if start:
        page.check("#id_new-stage-is_start")
    if end:
        page.check("#id_new-stage-is_end")
    add.locator("button[type=submit]").click()


def test_manager_designs_publishes_and_a_case_starts_on_it(browser, live_server):
    manager = ManagerFactory()
    TeamFactory(code="returns-desk", name="Returns desk")
    customer = CustomerFactory(name="Zhao Lei")
    base = live_server.url
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, base, manager.username)
    page.goto(f"{base}/processes/")
    page.fill("#id_new-process-code", "returns")
    page.fill("#id_new-process-name", "Returns")
    page.click("button:has-text('Create and design')")
    page.wait_for_url(re.compile(r"/processes/\d+/design/$"))

    _add_stage(page, "receive", "Receive parcel", start=True)
    expect(page.locator("[data-stage=receive]")).to_have_count(1)
    chart = page.locator(".flowchart[data-rendered=true] svg")
    expect(chart).to_have_count(1)
    expect(chart.locator("text=Receive parcel")).to_have_count(1)

    # A duplicate code is refused beside the field, the chart is unchanged.
    _add_stage(page, "receive", "Again")
    expect(page.locator("details.add-stage .errorlist")).to_contain_text("already has this code")
    expect(page.locator("[data-stage]")).to_have_count(1)

    page.fill("#id_new-stage-code", "inspect")
    page.fill("#id_new-stage-name", "Inspect")
    page.locator("details.add-stage button[type=submit]").click()
    expect(page.locator("[data-stage=inspect]")).to_have_count(1)
    # Whole-process problems show beside the stage while drawing.
    expect(page.locator("[data-stage=inspect] .problems")).to_contain_text("unreachable")
    _add_stage(page, "refunded", "Refunded", end=True)
    expect(page.locator("[data-stage=refunded]")).to_have_count(1)

    # Give Inspect its team, time standard and checklist.
    card = page.locator("[data-stage=inspect]")
    card.locator("summary").click()
    card.locator("select[name$=responsible_team]").select_option(label="Returns desk")
    card.locator("input[name$=time_standard_minutes]").fill("90")
    card.locator("textarea[name$=checklist]").fill("Photo of the item\nSerial number checked")
    card.locator("button:has-text('Save stage')").click()
    expect(page.locator(".flowchart[data-rendered=true] svg >> text=Returns desk")).to_have_count(1)

    for count, (source, target, kind, label) in enumerate(
        [
            ("Receive parcel", "Inspect", "forward", ""),
            ("Inspect", "Refunded", "forward", "approved"),
            ("Refunded", "Inspect", "rework", "reopen"),
        ],
        start=1,
    ):
        page.select_option("#id_transition-source", label=source)
        page.select_option("#id_transition-target", label=target)
        page.select_option("#id_transition-kind", kind)
        page.fill("#id_transition-label", label)
        page.click("button:has-text('Add transition')")
        expect(page.locator(".transition-row")).to_have_count(count)
        expect(page.locator(".flowchart[data-rendered=true] svg g.edge")).to_have_count(count)
    expect(page.locator(".problems")).to_have_count(0)
    expect(page.locator(".flowchart svg >> text=approved")).to_have_count(1)

    # Publish: the confirmation shows what is new, then the version is live.
    page.click("a:has-text('Review and publish')")
    expect(page.locator("[data-testid=version-diff]")).to_contain_text("Inspect")
    page.click("button:has-text('Publish now')")
    page.wait_for_url(re.compile(r"/processes/\d+/$"))
    expect(page.locator(".messages")).to_contain_text("Published")
    version = ProcessVersion.objects.get(process__code="returns")
    assert version.status == VersionStatus.PUBLISHED
    page.click("button:has-text('Start new cases on this process')")
    expect(page.locator(".messages")).to_contain_text("New cases now start on Returns")

    # A customer's request starts on the designed process.
    customer_page = ctx.browser.new_context().new_page()
    customer_page.set_default_timeout(15_000)
    sign_in(customer_page, base, customer.user.username)
    customer_page.goto(f"{base}/portal/cases/new/")
    customer_page.fill("#id_title", "Return a kettle")
    customer_page.fill("#id_description", "It leaks.")
    customer_page.click("button:has-text('Send request')")
    customer_page.wait_for_url(re.compile(r"/portal/cases/SL-\d+/$"))
    case = Case.objects.select_related("stage", "process_version").get()
    assert case.process_version_id == version.pk
    assert case.stage.code == "receive"
    assert errors == []
    ctx.close()
