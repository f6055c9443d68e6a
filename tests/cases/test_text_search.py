"""Full-text search: Chinese and English, ranking, highlighting that cannot inject markup, and the
lists' visibility rules (a customer never reaches a note or another customer's case; an agent
only their team's cases), on SQLite (FTS5) and PostgreSQL (tsvector + GIN)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serviceloop.cases.choices import Channel, MessageKind
from serviceloop.cases.exceptions import InvalidInputError
from serviceloop.cases.models import Case, Message
from serviceloop.cases.search import CANDIDATES, case_text_search, highlight
from serviceloop.cases.search_query import CASE_TEXT_SQL, MESSAGE_TEXT_SQL, _pg_ids, text_matches
from serviceloop.cases.search_text import parse_terms, search_text
from serviceloop.cases.services import case_transition, case_update, message_add
from tests.cases.api_client import Api
from tests.factories import CaseFactory, CustomerFactory, stage_of

pytestmark = pytest.mark.django_db

SEARCH_API = "/api/cases/search"


def _say(case, text, *, author, kind=MessageKind.PUBLIC):  # type: ignore[no-untyped-def]
    return message_add(case=case, author=author, body=text, kind=kind, channel=Channel.PORTAL)


def _numbers(user, query):  # type: ignore[no-untyped-def]
    return [hit.case.number for hit in case_text_search(user=user, query=query).hits]


@pytest.fixture
def alice(world):  # type: ignore[no-untyped-def]
    return CustomerFactory(name="Alice Wang")


@pytest.fixture
def bob(world):  # type: ignore[no-untyped-def]
    return CustomerFactory(name="Bob Chen")


def test_a_chinese_word_finds_the_message_that_contains_it(world, alice):
    case = CaseFactory(customer=alice, title="账户问题", description="请帮忙")
    _say(case, "我想提交退款申请，谢谢。", author=alice.user)
    other = CaseFactory(customer=alice, title="发票", description="款式不对，要退货")
    for user in (world.manager, alice.user):
        assert _numbers(user, "退款") == [case.number]  # "退…款" apart is no hit
        assert _numbers(user, "退款申请") == [case.number]
    assert _numbers(world.manager, "退货") == [other.number]
    (hit,) = case_text_search(user=world.manager, query="退款").hits
    assert hit.source == MessageKind.PUBLIC
    assert "<mark>退款</mark>申请" in hit.snippet


def test_english_words_match_their_beginnings_from_three_letters(world, alice):
    case = CaseFactory(customer=alice, title="Refunds delayed", description="Paid twice.")
    assert _numbers(world.manager, "refund") == [case.number]
    assert _numbers(world.manager, "REF") == [case.number]
    assert _numbers(world.manager, "re") == []  # shorter words match whole words only
    assert _numbers(world.manager, "paid twice") == [case.number]
    assert _numbers(world.manager, "paid thrice") == []  # every word must match
    assert _numbers(world.manager, "funds") == []  # beginnings, not middles


def test_results_rank_title_hits_first_then_repeated_words_then_recency(world, alice):
    older_equal = CaseFactory(customer=alice, title="Question", description="scanner offline")
    in_description = CaseFactory(customer=alice, title="Question", description="scanner offline")
    in_title = CaseFactory(customer=alice, title="Scanner broken", description="see title")
    in_messages = CaseFactory(customer=alice, title="Question", description="nothing")
    _say(in_messages, "The scanner is down, the scanner again.", author=world.manager)
    numbers = _numbers(world.manager, "scanner")
    assert numbers == [
        in_title.number,  # 3: a title hit counts three times
        in_messages.number,  # 2: twice in a message
        in_description.number,  # 1, and newer than the next
        older_equal.number,
    ]


def test_a_case_number_or_e_mail_ranks_first(world, alice):
    case = CaseFactory(customer=alice, title="Anything", description="printer")
    CaseFactory(customer=CustomerFactory(), title="printer", description="printer printer")
    assert _numbers(world.manager, case.number)[0] == case.number
    assert _numbers(world.manager, alice.email.upper()) == [case.number]


def test_highlighting_escapes_the_text_and_marks_only_the_match(world, alice):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)> refund & "more"'
    case = CaseFactory(customer=alice, title=evil, description="<b>refund</b>")
    (hit,) = case_text_search(user=world.manager, query="refund").hits
    assert hit.case == case
    for html in (hit.title, hit.snippet):
        assert "<script" not in html and "<img" not in html and "<b>" not in html
        assert "<mark>refund</mark>" in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in hit.title
    assert "&amp;" in hit.title and "&quot;more&quot;" in hit.title


def test_highlight_cuts_long_text_around_the_first_match():
    terms = parse_terms("needle")
    text = "hay " * 200 + "needle" + " hay" * 200
    snippet = highlight(text, terms, width=60)
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "<mark>needle</mark>" in snippet
    assert len(snippet) < 100


def test_a_customer_never_finds_another_customers_case_or_any_note(world, alice, bob):
    own = CaseFactory(customer=alice, title="Lamp", description="flicker")
    _say(own, "Internal: alice is a VIP, goodwill voucher", author=world.manager, kind="internal")
    others = CaseFactory(customer=bob, title="Bob's secret kumquat", description="kumquat")
    _say(others, "kumquat delivery", author=bob.user)
    assert _numbers(alice.user, "kumquat") == []
    assert _numbers(alice.user, others.number) == []
    assert _numbers(alice.user, bob.email) == []
    result = case_text_search(user=alice.user, query="voucher")
    assert (result.hits, result.more) == ([], False)  # the note neither matches nor counts
    assert _numbers(world.manager, "voucher") == [own.number]
    assert _numbers(bob.user, "kumquat") == [others.number]


def test_an_agent_finds_only_the_cases_of_their_team_or_their_own(world, alice):
    case = CaseFactory(customer=alice, title="Gateway timeout", description="zebra")
    _say(case, "note about the zebra firmware", author=world.manager, kind="internal")
    assert case.team == world.front
    assert _numbers(world.front_agent, "zebra") == [case.number]
    assert _numbers(world.front_agent, "firmware") == [case.number]  # staff see notes
    assert _numbers(world.back_agent, "zebra") == []
    assert _numbers(world.back_agent, "firmware") == []
    assert _numbers(world.back_agent, case.number) == []


def test_the_index_follows_changes_to_title_and_description(world, alice):
    case = CaseFactory(customer=alice, title="Old walrus title", description="walrus")
    case_update(case=case, actor=world.manager, changes={"title": "New narwhal title"})
    assert _numbers(world.manager, "narwhal") == [case.number]
    assert _numbers(world.manager, "title walrus") == [case.number]  # description kept
    case_update(case=case, actor=world.manager, changes={"description": "orca"})
    assert _numbers(world.manager, "walrus") == []


def test_a_search_without_words_is_refused_with_the_field_named(world):
    for query in ("", "   ", "!!! ??? …", "%_"):
        with pytest.raises(InvalidInputError) as refused:
            case_text_search(user=world.manager, query=query)
        assert "q" in refused.value.fields


def test_common_words_rank_only_the_newest_candidates_and_say_there_are_more(world, alice):
    case = CaseFactory(customer=alice, title="Common", description="x")
    Message.objects.bulk_create(
        Message(
            case=case,
            kind="public",
            body="ordinary words",
            channel="portal",
            created_at=case.created_at,
        )
        for _ in range(CANDIDATES + 5)
    )
    result = case_text_search(user=world.manager, query="ordinary")
    assert result.more is True
    assert [hit.case for hit in result.hits] == [case]
    assert result.hits[0].hits == CANDIDATES  # the newest CANDIDATES messages, not all


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=st.text(max_size=40))
def test_any_text_is_a_search_or_a_clear_refusal(world, query):
    try:
        case_text_search(user=world.manager, query=query)
    except InvalidInputError as refused:
        assert "q" in refused.fields


@pytest.mark.parametrize("query", ["@\x00", "a\x00b@example.com", "\x00"])
def test_a_nul_character_is_dropped_not_sent_to_the_database(world, query):
    try:
        case_text_search(user=world.manager, query=query)
    except InvalidInputError as refused:
        assert "q" in refused.fields


# --- pages and API -------------------------------------------------------------------------------


def test_the_workspace_search_page_shows_highlighted_hits(world, alice, client):
    case = CaseFactory(customer=alice, title="Projector <b>fan</b>", description="loud fan")
    client.force_login(world.front_agent)
    page = client.get(reverse("workspace:search"), {"q": "fan"})
    assert page.status_code == 200
    html = page.content.decode()
    assert case.number in html
    assert "<mark>fan</mark>" in html and "&lt;b&gt;" in html and "<b>fan" not in html
    client.force_login(world.back_agent)
    assert case.number not in client.get(reverse("workspace:search"), {"q": "fan"}).content.decode()
    refused = client.get(reverse("workspace:search"), {"q": "!!!"})
    assert refused.status_code == 422
    assert "Type a word" in refused.content.decode()


def test_the_queue_links_to_the_full_text_search_with_its_words(world, client):
    client.force_login(world.manager)
    page = client.get(reverse("workspace:queue"), {"q": "退款 printer", "queue": "all"})
    assert reverse("workspace:search") + "?q=%E9%80%80%E6%AC%BE%20printer" in page.content.decode()


def test_the_portal_search_finds_own_public_text_only(world, alice, bob, client):
    own = CaseFactory(customer=alice, title="Heater", description="cold room")
    _say(own, "heater part ordered; supplier margin 40%", author=world.manager, kind="internal")
    CaseFactory(customer=bob, title="Heater too", description="cold office")
    client.force_login(alice.user)
    html = client.get(reverse("portal:search"), {"q": "heater"}).content.decode()
    assert own.number in html and "Heater too" not in html
    html = client.get(reverse("portal:search"), {"q": "margin"}).content.decode()
    assert own.number not in html and "margin" not in html.split("<main", 1)[-1].split('value="')[0]
    client.force_login(world.manager)
    assert client.get(reverse("portal:search"), {"q": "heater"}).status_code == 302


def test_the_api_search_answers_ranked_hits_with_snippets(world, alice, bob):
    own = CaseFactory(customer=alice, title="VPN drops", description="every hour")
    _say(own, "VPN note: reset the token", author=world.manager, kind="internal")
    CaseFactory(customer=bob, title="VPN slow", description="mornings")
    staff = Api(world.manager).get(SEARCH_API, {"q": "vpn"})
    assert staff.status_code == 200, staff.content
    body = staff.json()
    # Both titles match; the note adds a further matching text for staff.
    assert body["items"][0]["number"] == own.number
    assert body["items"][0]["title"] == "<mark>VPN</mark> drops"
    assert body["items"][0]["matches"] == 2
    assert body["more"] is False
    mine = Api(alice.user).get(SEARCH_API, {"q": "vpn"}).json()
    assert [item["number"] for item in mine["items"]] == [own.number]
    assert Api(alice.user).get(SEARCH_API, {"q": "token"}).json()["items"] == []
    refused = Api(world.manager).get(SEARCH_API, {"q": "!!!"})
    assert refused.status_code == 422 and "q" in refused.json()["fields"]
    assert Api(None).get(SEARCH_API, {"q": "vpn"}).status_code == 401


# --- PostgreSQL: the index is the path --------------------------------------------------------

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="tsvector indexes: PostgreSQL only"
)


@postgres_only
@pytest.mark.parametrize("text", ["我想提交退款申请。Refunds", "カタカナ 한국어 abc退款", "plain"])
def test_python_and_postgresql_space_cjk_alike(text):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT serviceloop_search_tsv(%s) = to_tsvector('simple', %s)",
            [text, search_text(text)],
        )
        assert cursor.fetchone()[0] is True


@postgres_only
@pytest.mark.parametrize(
    ("model", "column", "index"),
    [
        (Case, CASE_TEXT_SQL, "case_text_search_idx"),
        (Message, MESSAGE_TEXT_SQL, "message_text_search_idx"),
    ],
)
def test_postgresql_walks_the_newest_rows_then_asks_the_gin_index(model, column, index):
    matching = text_matches(model.objects.order_by(), column, "unused", parse_terms("退款 index"))

    def plan(walk: bool) -> str:
        with CaptureQueriesContext(connection) as queries:
            _pg_ids(matching, ">" if walk else "<=", 10**6, walk=walk)
        sql = [q["sql"] for q in queries.captured_queries]
        pinned = next(q for q in sql if "set_config" in q)
        select = next(q for q in sql if "FROM" in q)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(pinned)
            cursor.execute("EXPLAIN " + select)
            return "\n".join(row[0] for row in cursor.fetchall())

    walk = plan(walk=True)
    assert f"Index Scan Backward using {model._meta.db_table}_pkey" in walk, walk
    assert "Index Cond: (id > 1000000)" in walk, walk  # a bounded range, never the table
    indexed = plan(walk=False)
    assert f"Bitmap Index Scan on {index}" in indexed, indexed
    assert "Seq Scan" not in indexed, indexed


@postgres_only
def test_the_pinned_planner_settings_do_not_outlive_the_search(world):
    def current() -> tuple[str, ...]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('enable_seqscan'), current_setting('enable_bitmapscan'),"
                " current_setting('enable_indexscan'), current_setting('gin_fuzzy_search_limit')"
            )
            return cursor.fetchone()

    before = current()
    with transaction.atomic():  # as in a request that runs in one transaction
        case_text_search(user=world.front_agent, query="anything 退款")
        assert current() == before


@postgres_only
def test_the_index_step_gives_up_in_time_and_says_there_is_more(world, alice, monkeypatch):
    from serviceloop.cases import search_query

    CaseFactory(customer=alice, title="Slow walrus", description="x")
    monkeypatch.setattr(search_query, "GIN_TIMEOUT_MS", 1)
    slow = RawSQL("pg_sleep(0.2) IS NOT NULL", [], output_field=BooleanField())
    matching = text_matches(Case.objects.filter(slow), CASE_TEXT_SQL, "", parse_terms("walrus"))
    assert _pg_ids(matching, "<=", 10**6, walk=False) is None
    assert _pg_ids(matching, ">", 0, walk=True) != []  # the walk has no time limit
    with connection.cursor() as cursor:  # the transaction goes on, settings as they were
        cursor.execute("SELECT current_setting('statement_timeout')")
        assert cursor.fetchone()[0] == "0"


@pytest.mark.skipif(connection.vendor != "sqlite", reason="FTS5 batches: SQLite only")
def test_sqlite_reads_index_batches_until_the_agent_sees_enough(world, alice, monkeypatch):
    from serviceloop.cases import search_query

    monkeypatch.setattr(search_query, "RAW_LIMIT", 2)
    mine = CaseFactory(customer=alice, title="Mine", description="x")
    _say(mine, "heron sighting", author=world.manager)
    for _ in range(3):  # newer matches in cases of the other team
        other = case_transition(
            case=CaseFactory(customer=alice, title="Other", description="y"),
            to_stage=stage_of(world.version, "delivery"),
            actor=world.manager,
        )
        _say(other, "heron again", author=world.manager)
    assert _numbers(world.front_agent, "heron") == [mine.number]
    monkeypatch.setattr(search_query, "SQLITE_BATCHES", 1)
    result = case_text_search(user=world.front_agent, query="heron")
    assert (result.hits, result.more) == ([], True)  # bounded, and says so
