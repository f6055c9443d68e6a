"""Case search: any text is a search (never a server error), numbers and e-mails match exactly,
and the query takes indexes rather than testing every case in date order."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serviceloop.cases import selectors
from serviceloop.cases.selectors import case_list, case_number_of
from tests.cases.api_client import Api
from tests.factories import CaseFactory, CustomerFactory

pytestmark = pytest.mark.django_db

QUEUE = reverse("workspace:queue")
UNICODE_DIGITS = ["¹", "²", "①", "٣", "߂", "１２", "SL-¹", "sl-①"]


@pytest.fixture
def cases(world):
    zhang = CustomerFactory(name="Zhang Wei", email="Zhang.Wei@Example.com")
    return [
        CaseFactory(customer=zhang, title="Router keeps rebooting"),
        CaseFactory(customer=CustomerFactory(name="Anna Li"), title="Invoice 42 is wrong"),
    ]


def _numbers(queryset) -> set[str]:  # type: ignore[no-untyped-def]
    return set(queryset.values_list("number", flat=True))


@pytest.mark.parametrize(
    ("term", "number"),
    [
        ("SL-000042", "SL-000042"),
        ("sl-42", "SL-000042"),
        ("42", "SL-000042"),
        ("000042", "SL-000042"),
        ("1234567", "SL-1234567"),
        ("SL42", "SL-000042"),
        *[(digit, None) for digit in UNICODE_DIGITS],
        ("9" * 19, None),
        ("SL-", None),
        ("4 2", None),
    ],
)
def test_case_number_of_accepts_ascii_digits_only(term, number):
    assert case_number_of(term) == number


def test_search_matches_title_customer_name_email_and_number(cases, world):
    router, invoice = cases
    m = world.manager
    assert _numbers(case_list(user=m, search="REBOOT")) == {router.number}
    assert _numbers(case_list(user=m, search="zhang w")) == {router.number}
    assert _numbers(case_list(user=m, search="zhang.wei@example.com")) == {router.number}
    assert _numbers(case_list(user=m, search="wei@example.com")) == set()  # e-mail: exact only
    assert _numbers(case_list(user=m, search=invoice.number.lower())) == {invoice.number}
    assert _numbers(case_list(user=m, search=str(router.pk))) == {router.number}
    assert _numbers(case_list(user=m, search="42")) >= {invoice.number}  # the title has 42
    assert _numbers(case_list(user=m, search="100%")) == set()  # LIKE wildcards are literal


def _api_answers(response) -> None:  # type: ignore[no-untyped-def]
    """A list, or a 422 naming the search (text no database can store, e.g. NUL)."""
    assert response.status_code in (200, 422), response.content
    if response.status_code == 422:
        assert "search" in response.json()["fields"]


@pytest.mark.parametrize("term", [*UNICODE_DIGITS, "%", "_", "'", "\\"])
def test_odd_searches_are_plain_searches_in_the_api_and_the_workspace(cases, world, client, term):
    api = Api(world.manager)
    response = api.get("/api/cases/", {"search": term})
    assert response.status_code == 200, response.content
    client.force_login(world.manager)
    assert client.get(QUEUE, {"q": term, "queue": "all"}).status_code == 200


@pytest.mark.parametrize("term", ["\x00", "a\x00b"])
def test_a_nul_in_the_search_is_refused_or_ignored_never_an_error(cases, world, client, term):
    _api_answers(Api(world.manager).get("/api/cases/", {"search": term}))
    client.force_login(world.manager)
    assert client.get(QUEUE, {"q": term, "queue": "all"}).status_code == 200


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(term=st.text(max_size=60))
def test_any_unicode_search_answers_without_a_server_error(cases, world, client, term):
    _api_answers(Api(world.manager).get("/api/cases/", {"search": term}))
    client.force_login(world.manager)
    assert client.get(QUEUE, {"q": term, "queue": "all"}).status_code == 200, term


def test_the_list_reads_found_ids_not_every_case_against_an_or(cases, world):
    with CaptureQueriesContext(connection) as queries:
        list(case_list(user=world.manager, search="router")[:25])
    (sql,) = [q["sql"] for q in queries.captured_queries if 'FROM "cases_case" INNER' in q["sql"]]
    assert '"cases_case"."id" IN (' in sql
    assert " OR " not in sql and "LIKE" not in sql  # the ids were found through indexes first


def test_a_common_word_keeps_only_the_newest_matches(cases, world, monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_LIMIT", 3)
    newest = [CaseFactory(title=f"Printer {n} jams") for n in range(5)][-3:]
    found = case_list(user=world.manager, search="printer")
    assert set(found) == set(newest)


def test_one_character_matches_words_not_parts_of_names(cases, world):
    anna = CaseFactory(customer=CustomerFactory(name="Q Li"), title="Printer")
    assert _numbers(case_list(user=world.manager, search="q")) == set()
    assert _numbers(case_list(user=world.manager, search="q li")) == {anna.number}
    assert _numbers(case_list(user=world.manager, search="li")) >= {anna.number}


def test_the_list_search_keeps_to_what_the_user_may_see(cases, world):
    router, _ = cases
    zhang = router.customer.user
    assert _numbers(case_list(user=zhang, search="invoice")) == set()
    assert _numbers(case_list(user=zhang, search="anna li")) == set()
    assert _numbers(case_list(user=zhang, search="router")) == {router.number}
    assert _numbers(case_list(user=world.back_agent, search="router")) == set()
    assert _numbers(case_list(user=world.front_agent, search="router")) == {router.number}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram indexes: PostgreSQL only")
def test_search_indexes_exist_on_postgresql():
    """The lookups' indexes; the title's trigram index is gone (titles use the text index)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname IN "
            "('case_title_trgm_idx', 'customer_name_trgm_idx', 'customer_email_upper_idx', "
            "'case_number_unique')"
        )
        assert {row[0] for row in cursor.fetchall()} == {
            "customer_name_trgm_idx",
            "customer_email_upper_idx",
            "case_number_unique",
        }
