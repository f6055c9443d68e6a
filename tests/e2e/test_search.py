"""An agent searches the workspace in Chinese: the message that holds the word is found, the
word is highlighted, and a case of another team stays out of the results."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from serviceloop.cases.choices import Channel, MessageKind
from serviceloop.cases.services import case_transition, message_add
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


def test_an_agent_finds_a_chinese_message_and_sees_it_highlighted(browser, live_server):
    version = build_process_version(is_default=True)
    manager = ManagerFactory()
    customer = CustomerFactory(name="王芳")
    case = CaseFactory(process_version=version, customer=customer, title="账户问题")
    message_add(
        case=case,
        author=customer.user,
        body="您好，我想提交退款申请，订单号 8841。",
        kind=MessageKind.PUBLIC,
        channel=Channel.PORTAL,
    )
    elsewhere = case_transition(
        case=CaseFactory(process_version=version, title="另一个退款问题"),
        to_stage=stage_of(version, "delivery"),
        actor=manager,
    )
    agent = AgentFactory(team=case.team)
    assert elsewhere.team != agent.agent_profile.team

    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    sign_in(page, live_server.url, agent.username)
    page.goto(f"{live_server.url}/work/search/")
    page.fill("[data-testid=search-input]", "退款")
    page.press("[data-testid=search-input]", "Enter")
    results = page.locator("[data-testid=search-results]")
    expect(results).to_contain_text(case.number)
    expect(results.locator("mark").first).to_have_text("退款")
    expect(results).to_contain_text("申请")
    expect(results).not_to_contain_text(elsewhere.number)
    page.click(f"text={case.number}")
    expect(page).to_have_url(f"{live_server.url}/work/cases/{case.number}/")
    ctx.close()
