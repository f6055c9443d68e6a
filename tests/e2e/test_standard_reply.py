"""An agent picks a standard reply in the case's reply box: the text arrives filled in for the
case, and sending it also ticks the checklist item and sets the case pending."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from serviceloop.cases.choices import CaseStatus
from serviceloop.cases.services import case_transition
from serviceloop.replies.services import ReplyTemplateFields, reply_template_save
from tests.e2e.helpers import sign_in
from tests.factories import (
    CHECKLIST_ITEM,
    AgentFactory,
    CaseFactory,
    CustomerFactory,
    ManagerFactory,
    build_process_version,
    stage_of,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_agent_sends_a_standard_reply(browser, live_server):
    version = build_process_version(is_default=True)
    agent = AgentFactory(team=stage_of(version, "intake").responsible_team)
    case = CaseFactory(customer=CustomerFactory(name="Chen Jie"), process_version=version)
    case = case_transition(case=case, to_stage=stage_of(version, "analysis"), actor=agent)
    reply_template_save(
        actor=ManagerFactory(),
        fields=ReplyTemplateFields(
            name="Ask for the serial number",
            body="Dear {customer_name}, please send the serial number for {case_number}.",
            set_status=CaseStatus.PENDING,
            tick_items=(CHECKLIST_ITEM,),
        ),
    )
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    sign_in(page, live_server.url, agent.username)
    page.goto(f"{live_server.url}/work/cases/{case.number}/")
    page.wait_for_load_state("networkidle")  # the picker arrives over htmx; let it settle
    page.select_option("[data-testid=macro-select]", label="Ask for the serial number")
    body = page.locator(".macro-apply textarea")
    expect(body).to_have_value(f"Dear Chen Jie, please send the serial number for {case.number}.")
    expect(page.locator(".macro-apply")).to_contain_text("Pending")
    body.fill(body.input_value() + " Thank you!")
    page.click("button:has-text('Send standard reply')")
    page.wait_for_url(re.compile(rf"/work/cases/{case.number}/$"))
    expect(page.locator(".messages")).to_contain_text("Reply sent to the customer.")
    expect(page.locator("#timeline")).to_contain_text("Thank you!")
    expect(page.locator("#status .badge")).to_have_text("Pending")
    expect(page.locator("#checklist input[type=checkbox]")).to_be_checked()
    case.refresh_from_db()
    assert case.status == CaseStatus.PENDING
    assert case.checklist_done == [CHECKLIST_ITEM]
    ctx.close()
