"""Agent workspace pages: queues (filters, search, htmx fragment, fixed query count), the case
page (timeline, transitions with their guards, checklist, reply/note, assignment) and who may
use them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from serviceloop.accounts.models import AgentProfile
from serviceloop.cases.choices import Channel, EventKind, MessageKind
from serviceloop.cases.models import Case, CaseEvent, Message
from serviceloop.cases.services import (
    case_assign,
    case_check_item,
    case_transition,
    case_update,
    message_add,
)
from tests.cases.helpers import events_of, snapshot
from tests.factories import (
    CHECKLIST_ITEM,
    AgentFactory,
    CaseFactory,
    CategoryFactory,
    CustomerFactory,
    build_process_version,
    stage_of,
)

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
QUEUE = reverse("workspace:queue")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _detail(case):
    return reverse("workspace:case-detail", args=[case.number])


def _numbers(response):
    return [c.number for c in response.context["cases"]]


def _messages(response):
    return [str(m) for m in response.context["messages"]]


# --- queues -----------------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(client, world):
    response = client.get(QUEUE)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_queues_show_the_agents_cases(client, world):
    mine = CaseFactory()  # routed to the front-office agent
    other_team = case_transition(
        case=CaseFactory(), to_stage=stage_of(world.version, "delivery"), actor=world.manager
    )
    client.force_login(world.front_agent)
    assert _numbers(client.get(QUEUE)) == [mine.number]  # "mine" is an agent's default
    assert other_team.number not in _numbers(client.get(QUEUE, {"queue": "team"}))
    client.force_login(world.back_agent)
    assert _numbers(client.get(QUEUE, {"queue": "team"})) == [other_team.number]
    client.force_login(world.manager)
    assert client.get(QUEUE).context["queue_name"] == "team"


def test_filters_and_search_narrow_the_queue(client, world):
    billing = CategoryFactory(code="billing", name="Billing", name_zh="账单")
    urgent = CaseFactory(priority="urgent", title="Server room flooded")
    billed = CaseFactory(category=billing, title="Invoice twice")
    named = CaseFactory(customer=CustomerFactory(name="Huang Xiaoming"), title="Password reset")
    moved = case_transition(
        case=CaseFactory(), to_stage=stage_of(world.version, "delivery"), actor=world.manager
    )
    client.force_login(world.manager)
    base = {"queue": "all"}
    assert _numbers(client.get(QUEUE, {**base, "priority": "urgent"})) == [urgent.number]
    assert _numbers(client.get(QUEUE, {**base, "category": billing.pk})) == [billed.number]
    assert _numbers(client.get(QUEUE, {**base, "stage": "delivery"})) == [moved.number]
    assert _numbers(client.get(QUEUE, {**base, "team": world.back.pk})) == [moved.number]
    assert _numbers(client.get(QUEUE, {**base, "q": "xiaoming"})) == [named.number]
    assert _numbers(client.get(QUEUE, {**base, "q": "flooded"})) == [urgent.number]
    assert _numbers(client.get(QUEUE, {**base, "q": billed.number})) == [billed.number]
    assert _numbers(client.get(QUEUE, {**base, "status": "closed"})) == []


def test_bad_filter_values_are_ignored_not_fatal(client, world):
    case = CaseFactory()
    client.force_login(world.manager)
    response = client.get(QUEUE, {"queue": "nonsense", "status": "bogus", "team": "x"})
    assert response.status_code == 200
    assert response.context["queue_name"] == "team"  # a manager's default queue
    response = client.get(QUEUE, {"queue": "all", "priority": "bogus", "stage": "nowhere"})
    assert _numbers(response) == [case.number]


def test_htmx_request_gets_only_the_results_fragment(client, world):
    case = CaseFactory()
    client.force_login(world.manager)
    response = client.get(QUEUE, {"queue": "all"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and case.number in html
    assert response.templates[0].name == "workspace/partials/queue_results.html"
    assert "HX-Request" in response["Vary"]


def test_history_restore_gets_the_whole_page(client, world):
    client.force_login(world.manager)
    response = client.get(
        QUEUE,
        {"queue": "all"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    assert response.templates[0].name == "workspace/queue.html"


def test_queue_pages_by_keyset_cursor(client, world):
    for _ in range(27):
        CaseFactory()
    client.force_login(world.manager)
    first = client.get(QUEUE, {"queue": "all", "priority": "normal"})
    cursor = first.context["next_cursor"]
    assert len(_numbers(first)) == 25 and cursor
    assert f"queue=all&amp;priority=normal&amp;cursor={cursor}" in first.content.decode()
    second = client.get(QUEUE, {"queue": "all", "priority": "normal", "cursor": cursor})
    assert len(_numbers(second)) == 2 and second.context["next_cursor"] is None
    assert not set(_numbers(first)) & set(_numbers(second))
    assert "First page" in second.content.decode()
    newest_first = _numbers(first) + _numbers(second)
    assert newest_first == sorted(newest_first, reverse=True)


def test_a_mangled_cursor_shows_the_first_page(client, world):
    case = CaseFactory()
    client.force_login(world.manager)
    response = client.get(QUEUE, {"queue": "all", "cursor": "not-a-cursor!"})
    assert response.status_code == 200
    assert _numbers(response) == [case.number] and response.context["is_first_page"]


@pytest.mark.parametrize("queue", ["mine", "team", "unassigned", "overdue", "all"])
def test_queue_page_makes_no_query_per_row(client, world, queue, django_assert_max_num_queries):
    category = CategoryFactory()
    past = datetime.now(tz=UTC) - timedelta(days=1)
    if queue == "unassigned":  # routing then leaves every case unassigned
        AgentProfile.objects.filter(user=world.front_agent).update(is_available=False)

    def add(n):
        for _ in range(n):
            CaseFactory(category=category, at=past)

    client.force_login(world.front_agent)
    add(2)
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(QUEUE, {"queue": queue}).context["cases"]) == 2
    add(6)  # stays within the agent's capacity of 10, so "mine" gets them all
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(QUEUE, {"queue": queue}).context["cases"]) == 8
    assert len(many) == len(few)
    with django_assert_max_num_queries(10):
        client.get(QUEUE, {"queue": queue})


# --- case page --------------------------------------------------------------------------------


def test_case_page_shows_header_timeline_and_transitions(client, world):
    case = CaseFactory(title="Scanner offline", priority="high")
    message_add(
        case=case,
        author=case.customer.user,
        body="Still broken this morning.",
        kind=MessageKind.PUBLIC,
        channel=Channel.PORTAL,
        files=[SimpleUploadedFile("scan.pdf", PDF, content_type="application/pdf")],
    )
    message_add(
        case=case,
        author=world.front_agent,
        body="Checked the cable.",
        kind=MessageKind.INTERNAL,
        channel=Channel.AGENT,
    )
    client.force_login(world.front_agent)
    response = client.get(_detail(case))
    html = response.content.decode()
    assert response.status_code == 200
    for text in (case.number, "Scanner offline", case.customer.name, "High", "Intake"):
        assert text in html
    kinds = [row.kind for row in response.context["timeline"]]
    assert kinds[:3] == [EventKind.CREATED, EventKind.STAGE_ENTERED, EventKind.ASSIGNED]
    assert MessageKind.PUBLIC in kinds and MessageKind.INTERNAL in kinds
    assert "Still broken this morning." in html and "Checked the cable." in html
    assert "scan.pdf" in html
    targets = [t.target.code for t in response.context["transitions"]]
    assert targets == ["analysis", "delivery"]


def test_case_page_makes_a_bounded_number_of_queries(client, world, django_assert_max_num_queries):
    case = CaseFactory()
    for i in range(8):
        message_add(
            case=case,
            author=world.front_agent,
            body=f"note {i}",
            kind=MessageKind.INTERNAL,
            channel=Channel.AGENT,
            files=[SimpleUploadedFile(f"f{i}.pdf", PDF, content_type="application/pdf")],
        )
    client.force_login(world.manager)
    with django_assert_max_num_queries(16):
        assert client.get(_detail(case)).status_code == 200


def test_chinese_page_names_stages_in_chinese(client, world):
    case = CaseFactory()
    client.cookies["django_language"] = "zh-hans"
    client.force_login(world.manager)
    html = client.get(_detail(case)).content.decode()
    assert "受理" in html and "需求分析" in html and "流转工单" in html


def test_agent_of_another_team_gets_404(client, world):
    case = CaseFactory()
    client.force_login(AgentFactory(team=world.back))
    assert client.get(_detail(case)).status_code == 404
    response = client.post(reverse("workspace:case-assign", args=[case.number]), {"assignee": "me"})
    assert response.status_code == 404


def test_transition_moves_the_case_and_logs_it(client, world):
    case = CaseFactory()
    target = stage_of(world.version, "analysis")
    client.force_login(world.front_agent)
    response = client.post(
        reverse("workspace:case-transition", args=[case.number]),
        {"to_stage": target.pk, "expected_version": case.version},
        follow=True,
    )
    case.refresh_from_db()
    assert case.stage == target
    assert events_of(case)[-1].kind == EventKind.STAGE_ENTERED
    assert "Moved to “Needs analysis”." in _messages(response)


def test_transition_with_unmet_guards_explains_and_changes_nothing(client, world):
    case = case_transition(
        case=CaseFactory(), to_stage=stage_of(world.version, "analysis"), actor=world.manager
    )
    before = snapshot(case)
    client.force_login(world.manager)
    page = client.get(_detail(case))
    assert page.context["guard_lines"] == [
        f"Tick the checklist item “{CHECKLIST_ITEM}”.",
        "Fill in “Category”.",
    ]
    response = client.post(
        reverse("workspace:case-transition", args=[case.number]),
        {"to_stage": stage_of(world.version, "delivery").pk, "expected_version": case.version},
        follow=True,
    )
    (message,) = _messages(response)
    assert "cannot move to “Delivery”" in message
    assert CHECKLIST_ITEM in message and "Fill in “Category”." in message
    assert snapshot(case) == before


def test_guard_failure_is_explained_in_chinese(client, world):
    case = case_transition(
        case=CaseFactory(), to_stage=stage_of(world.version, "analysis"), actor=world.manager
    )
    client.cookies["django_language"] = "zh-hans"
    client.force_login(world.manager)
    response = client.post(
        reverse("workspace:case-transition", args=[case.number]),
        {"to_stage": stage_of(world.version, "delivery").pk},
        follow=True,
    )
    (message,) = _messages(response)
    assert "工单无法转入“服务实施”" in message and "勾选检查项" in message


def test_stale_transition_is_refused(client, world):
    case = CaseFactory()
    old_version = case.version
    case_update(case=case, actor=world.manager, changes={"priority": "high"})
    before = snapshot(case)
    client.force_login(world.manager)
    response = client.post(
        reverse("workspace:case-transition", args=[case.number]),
        {"to_stage": stage_of(world.version, "analysis").pk, "expected_version": old_version},
        follow=True,
    )
    assert "Someone else changed this case meanwhile" in _messages(response)[0]
    assert snapshot(case) == before


@pytest.mark.parametrize("to_stage", ["", "abc", "closed-of-another-version", "not-an-edge"])
def test_transition_to_a_bad_target_changes_nothing(client, world, to_stage):
    case = CaseFactory()
    before = snapshot(case)
    if to_stage == "closed-of-another-version":
        to_stage = stage_of(build_process_version(), "closed").pk
    elif to_stage == "not-an-edge":
        to_stage = stage_of(world.version, "closed").pk
    client.force_login(world.manager)
    response = client.post(
        reverse("workspace:case-transition", args=[case.number]), {"to_stage": to_stage}
    )
    assert response.status_code in {302, 404}
    assert snapshot(case) == before


def test_checklist_tick_over_htmx_returns_the_fragment(client, world):
    case = case_transition(
        case=CaseFactory(), to_stage=stage_of(world.version, "analysis"), actor=world.manager
    )
    client.force_login(world.front_agent)
    url = reverse("workspace:case-checklist", args=[case.number])
    response = client.post(url, {"item": CHECKLIST_ITEM, "done": "on"}, HTTP_HX_REQUEST="true")
    case.refresh_from_db()
    assert case.checklist_done == [CHECKLIST_ITEM]
    html = response.content.decode()
    assert "<html" not in html and "checked" in html
    # The transitions come along out of band with the new version and no unmet checklist item.
    assert 'id="transitions" hx-swap-oob="true"' in html
    assert f'name="expected_version" value="{case.version}"' in html
    assert response.context["guard_lines"] == ["Fill in “Category”."]
    client.post(url, {"item": CHECKLIST_ITEM})  # unticked
    case.refresh_from_db()
    assert case.checklist_done == []


def test_ticking_an_unknown_item_changes_nothing(client, world):
    case = case_transition(
        case=CaseFactory(), to_stage=stage_of(world.version, "analysis"), actor=world.manager
    )
    before = snapshot(case)
    client.force_login(world.front_agent)
    response = client.post(
        reverse("workspace:case-checklist", args=[case.number]),
        {"item": "Bribe the customer", "done": "on"},
        HTTP_HX_REQUEST="true",
    )
    assert "is not a checklist item" in response.content.decode()
    assert snapshot(case) == before


def test_reply_and_note(client, world):
    case = CaseFactory()
    client.force_login(world.front_agent)
    client.post(
        reverse("workspace:case-reply", args=[case.number]),
        {
            "reply-body": "We will call you at 3 pm.",
            "reply-attachments": [SimpleUploadedFile("plan.pdf", PDF, "application/pdf")],
        },
    )
    client.post(reverse("workspace:case-note", args=[case.number]), {"note-body": "VIP customer"})
    reply, note = Message.objects.filter(case=case).order_by("id")
    assert (reply.kind, reply.channel, reply.author) == (
        MessageKind.PUBLIC,
        Channel.AGENT,
        world.front_agent,
    )
    assert [a.original_name for a in reply.attachments.all()] == ["plan.pdf"]
    assert (note.kind, note.body) == (MessageKind.INTERNAL, "VIP customer")
    client.force_login(case.customer.user)
    html = client.get(reverse("portal:case-detail", args=[case.number])).content.decode()
    assert "We will call you at 3 pm." in html and "VIP customer" not in html


def test_empty_note_shows_error_and_writes_nothing(client, world):
    case = CaseFactory()
    before = snapshot(case)
    client.force_login(world.front_agent)
    response = client.post(reverse("workspace:case-note", args=[case.number]), {"note-body": "  "})
    assert response.status_code == 422
    assert "body" in response.context["note_form"].errors
    assert snapshot(case) == before


def test_reply_on_a_closed_case_is_refused_with_the_reason(client, world):
    case = CaseFactory(category=CategoryFactory())
    for code in ("analysis",):
        case = case_transition(
            case=case, to_stage=stage_of(world.version, code), actor=world.manager
        )
    case = case_check_item(case=case, actor=world.manager, item=CHECKLIST_ITEM)
    for code in ("delivery", "closed"):
        case = case_transition(
            case=case, to_stage=stage_of(world.version, code), actor=world.manager
        )
    before = snapshot(case)
    client.force_login(world.manager)
    response = client.post(
        reverse("workspace:case-reply", args=[case.number]), {"reply-body": "Hi"}
    )
    assert response.status_code == 422
    assert response.context["reply_form"].non_field_errors() == ["The case is closed."]
    assert "The case is closed." in response.content.decode()
    assert 'name="reply-body"' not in response.content.decode()
    assert snapshot(case) == before
    assert response.context["transitions"] == []


def test_assign_to_me_and_manager_reassign(client, world):
    case = CaseFactory()
    colleague = AgentFactory(team=world.front)
    client.force_login(world.manager)
    client.post(reverse("workspace:case-assign", args=[case.number]), {"assignee": "me"})
    case.refresh_from_db()
    assert case.assignee == world.manager
    client.post(reverse("workspace:case-assign", args=[case.number]), {"assignee": colleague.pk})
    case.refresh_from_db()
    assert case.assignee == colleague
    assert [e.kind for e in events_of(case)][-2:] == [EventKind.ASSIGNED, EventKind.ASSIGNED]


def test_agent_cannot_reassign_to_someone_else(client, world):
    case = CaseFactory()
    colleague = AgentFactory(team=world.front)
    before = snapshot(case)
    client.force_login(world.front_agent)
    response = client.post(
        reverse("workspace:case-assign", args=[case.number]), {"assignee": colleague.pk}
    )
    assert response.status_code == 403
    assert snapshot(case) == before
    assert "assign_form" not in client.get(_detail(case)).context


def test_reassign_to_a_customer_is_refused(client, world):
    case = CaseFactory()
    before = snapshot(case)
    client.force_login(world.manager)
    response = client.post(
        reverse("workspace:case-assign", args=[case.number]),
        {"assignee": case.customer.user.pk},
        follow=True,
    )
    assert _messages(response) == ["Choose an agent to assign the case to."]
    assert snapshot(case) == before


def test_staff_download_internal_file_with_safe_headers(client, world):
    case = CaseFactory()
    note = message_add(
        case=case,
        author=world.front_agent,
        body="log attached",
        kind=MessageKind.INTERNAL,
        channel=Channel.AGENT,
        files=[SimpleUploadedFile("server.txt", b"<script>alert(1)</script>", "text/html")],
    )
    attachment = note.attachments.get()
    client.force_login(world.front_agent)
    response = client.get(reverse("workspace:attachment", args=[attachment.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "text/plain"
    assert "sandbox" in response["Content-Security-Policy"]
    client.force_login(AgentFactory(team=world.back))
    assert client.get(reverse("workspace:attachment", args=[attachment.pk])).status_code == 404


def test_events_count_matches_changes(client, world):
    """Each page action appends exactly one event (the log stays the spine)."""
    case = CaseFactory()
    client.force_login(world.front_agent)
    start = CaseEvent.objects.filter(case=case).count()
    client.post(reverse("workspace:case-note", args=[case.number]), {"note-body": "one"})
    client.post(
        reverse("workspace:case-transition", args=[case.number]),
        {"to_stage": stage_of(world.version, "analysis").pk},
    )
    assert CaseEvent.objects.filter(case=case).count() == start + 2
    assert Case.objects.get(pk=case.pk).stage.code == "analysis"


def test_status_pending_then_resolved_is_shown_to_the_customer(client, world):
    case = CaseFactory()
    url = reverse("workspace:case-status", args=[case.number])
    client.force_login(world.front_agent)
    response = client.post(url, {"status": "pending"}, follow=True)
    assert _messages(response) == ["Status: Pending."]
    assert "Open → Pending" in client.get(_detail(case)).content.decode()
    assert events_of(case)[-1].kind == EventKind.STATUS_CHANGED
    client.force_login(case.customer.user)
    page = client.get(reverse("portal:case-detail", args=[case.number])).content.decode()
    assert "We are waiting for information from you." in page
    client.force_login(world.front_agent)
    client.post(url, {"status": "resolved"})
    assert Case.objects.get(pk=case.pk).status == "resolved"


def test_reopen_brings_a_closed_case_back(client, world):
    case = CaseFactory(category=CategoryFactory())
    case = case_transition(
        case=case, to_stage=stage_of(world.version, "analysis"), actor=world.manager
    )
    case = case_check_item(case=case, actor=world.manager, item=CHECKLIST_ITEM)
    for code in ("delivery", "closed"):
        case = case_transition(
            case=case, to_stage=stage_of(world.version, code), actor=world.manager
        )
    client.force_login(world.manager)
    page = client.get(_detail(case)).content.decode()
    assert 'name="status" value="reopen"' in page and 'value="resolved"' not in page
    client.post(reverse("workspace:case-status", args=[case.number]), {"status": "reopen"})
    case.refresh_from_db()
    assert (case.status, case.stage.code) == ("open", "delivery")
    assert events_of(case)[-1].kind == EventKind.REOPENED


@pytest.mark.parametrize("status", ["closed", "", "reopen"])
def test_bad_or_refused_status_changes_nothing(client, world, status):
    case = CaseFactory()  # open: "reopen" is refused by the service
    before = snapshot(case)
    client.force_login(world.front_agent)
    response = client.post(
        reverse("workspace:case-status", args=[case.number]), {"status": status}, follow=True
    )
    assert len(_messages(response)) == 1
    assert snapshot(case) == before


def test_customer_cannot_change_status(client, world):
    case = CaseFactory()
    before = snapshot(case)
    client.force_login(case.customer.user)
    url = reverse("workspace:case-status", args=[case.number])
    assert client.post(url, {"status": "resolved"}).status_code == 403
    assert snapshot(case) == before


def test_chinese_names_are_written_family_name_first(client, world):
    agent = AgentFactory(team=world.front, first_name="小明", last_name="王")
    case = CaseFactory()
    client.force_login(world.manager)
    client.post(reverse("workspace:case-assign", args=[case.number]), {"assignee": agent.pk})
    html = client.get(_detail(case)).content.decode()
    assert "王小明" in html and "小明 王" not in html


def test_assign_to_me_is_offered_only_where_it_can_work(client, world):
    taken = CaseFactory()  # routed to the front-office agent
    colleague = AgentFactory(team=world.front)
    client.force_login(colleague)
    assert 'name="assignee" value="me"' not in client.get(_detail(taken)).content.decode()
    client.force_login(world.manager)
    assert 'name="assignee" value="me"' in client.get(_detail(taken)).content.decode()
    free = case_assign(case=CaseFactory(), assignee=None, actor=world.manager)
    client.force_login(colleague)
    assert 'name="assignee" value="me"' in client.get(_detail(free)).content.decode()
    client.post(reverse("workspace:case-assign", args=[free.number]), {"assignee": "me"})
    free.refresh_from_db()
    assert free.assignee == colleague


def test_queue_shows_time_left_or_overdue(client, world):
    late = CaseFactory(at=datetime.now(tz=UTC) - timedelta(hours=3))  # intake standard: 60 min
    CaseFactory()
    client.force_login(world.manager)
    html = client.get(QUEUE, {"queue": "all"}).content.decode()
    assert html.count('class="overdue"') == 1
    assert "2\xa0hours overdue" in html
    assert re.search(r"in 5\d\xa0minutes", html)
    client.cookies["django_language"] = "zh-hans"
    html = client.get(_detail(late)).content.decode()
    assert "已逾期 2\xa0小时" in html


def test_mail_from_the_customer_names_the_customer(client, world):
    case = CaseFactory(customer=CustomerFactory(name="Zhao Lei"))
    message_add(
        case=case, author=None, body="Sent from my phone", kind="public", channel=Channel.EMAIL
    )
    client.force_login(world.manager)
    rows = client.get(_detail(case)).context["timeline"]
    (row,) = [r for r in rows if r.body == "Sent from my phone"]
    assert (row.title, row.actor_label) == ("Message from the customer", "Zhao Lei")
