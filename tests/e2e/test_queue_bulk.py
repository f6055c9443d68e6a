"""A manager selects cases in the queue and acts on them at once; a move the process does not
allow for one case is refused for that case, with its number and reason, and done for the rest."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from serviceloop.cases.models import Case
from serviceloop.cases.services import case_transition
from tests.e2e.helpers import sign_in
from tests.factories import CaseFactory, ManagerFactory, build_process_version, stage_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_bulk_priority_and_a_refused_move(browser, live_server):
    version = build_process_version(is_default=True)
    manager = ManagerFactory()
    at_intake = CaseFactory(process_version=version)
    at_delivery = case_transition(
        case=CaseFactory(process_version=version),
        to_stage=stage_of(version, "delivery"),
        actor=manager,
    )
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    sign_in(page, live_server.url, manager.username)
    page.goto(f"{live_server.url}/work/?queue=all")

    for case in (at_intake, at_delivery):
        page.check(f"input[name=case][value={case.number}]")
    page.select_option("[data-testid=bulk-action]", "priority")
    page.select_option("select[name=priority_value]", "urgent")
    page.click("button:has-text('Apply to selected')")
    expect(page.locator(".messages")).to_contain_text("Done for 2 case(s)")
    assert set(Case.objects.values_list("priority", flat=True)) == {"urgent"}

    for case in (at_intake, at_delivery):
        page.check(f"input[name=case][value={case.number}]")
    page.select_option("[data-testid=bulk-action]", "move")
    page.select_option("select[name=move_value]", label="Closed")
    page.click("button:has-text('Apply to selected')")
    page.wait_for_url(re.compile(r"/work/\?queue=all$"))
    expect(page.locator(".messages li.success")).to_contain_text(at_delivery.number)
    refusal = page.locator(".messages li.error")
    expect(refusal).to_contain_text(f"{at_intake.number} was not changed")
    expect(refusal).to_contain_text("allows no move from “Intake”")
    at_intake.refresh_from_db()
    at_delivery.refresh_from_db()
    assert (at_intake.stage.code, at_delivery.status) == ("intake", "closed")

    # Sorting by a column header keeps the queue and reorders in place.
    page.click("th a:has-text('Priority')")
    page.wait_for_url(re.compile(r"sort=priority"))
    expect(page.locator("th a.sorted")).to_have_text(re.compile("Priority"))
    ctx.close()
