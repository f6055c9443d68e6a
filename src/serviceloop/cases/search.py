"""Full-text search over cases: titles, descriptions, replies and internal notes, ranked, with the
matching text highlighted.

Who sees what is the lists' rule (``case_visible_queryset``): a customer searches their own cases
and public replies only (a note never matches, counts or shows), an agent their team's and their
own cases, managers everything. How words match is :mod:`serviceloop.cases.search_text`.

Bounded work at any size: each source (cases, messages) gives at most its newest ``CANDIDATES``
matches, read newest first through the index, and only those are ranked. A common word therefore
costs a short walk of the newest rows, a rare one a few index entries, and neither reads every
match; when a source had more, the answer says so (``more``) and the user narrows the search.

Ranking happens here, on the candidates, the same on both databases: a word counts for each time
it occurs (at most three), a hit in the title three times; a case scores its best hit plus half a
point for every further matching message (at most five); ties go to the newest activity. A case
number or a customer's exact e-mail address ranks first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import BooleanField, Max, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from serviceloop.accounts.choices import Role
from serviceloop.cases.choices import MessageKind
from serviceloop.cases.exceptions import SEARCH_NO_WORDS, InvalidInputError, Problem
from serviceloop.cases.models import Case, Message
from serviceloop.cases.search_text import CJK_RANGES, Term, fts5_query, parse_terms, tsquery
from serviceloop.cases.selectors import LIST_RELATED, case_number_of, case_visible_queryset

__all__ = [
    "CANDIDATES",
    "CaseHit",
    "SearchResult",
    "case_text_search",
    "highlight",
]

CANDIDATES = 200  # newest matches ranked per source
WALK = 3000  # PostgreSQL: newest rows tested one by one before asking the index
RAW_LIMIT = 2000  # PostgreSQL: matching rows read before visibility is applied
GIN_LIMIT = 5000  # PostgreSQL: index matches looked at, at most (gin_fuzzy_search_limit)
# The indexed text, as in migration 0009's expression indexes (PostgreSQL matches them exactly).
CASE_TEXT_SQL = '"cases_case"."title" || \' \' || "cases_case"."description"'
MESSAGE_TEXT_SQL = '"cases_message"."body"'
SNIPPET_CHARS = 180
TITLE_WEIGHT = 3
MAX_COUNTED = 3  # occurrences of one word that still add to a hit's score
SOURCE_EXACT = "exact"  # the case number or the customer's e-mail address


@dataclass
class CaseHit:
    """One case in the results, with the text that matched best, highlighted."""

    case: Case
    score: float
    source: str  # "title", "description", "public" (a reply) or "internal" (a note)
    title: SafeString
    snippet: SafeString
    at: datetime
    hits: int = 1


@dataclass
class SearchResult:
    hits: list[CaseHit]
    more: bool  # a source had more matches than were ranked: add words to narrow
    terms: list[Term] = field(default_factory=list)


# --- matching in the database --------------------------------------------------------------------


def _matches(queryset: QuerySet[Any], column_sql: str, fts_table: str, terms: list[Term]) -> Any:
    """``queryset`` narrowed to rows whose text matches every term, through the text index."""
    if connection.vendor == "postgresql":
        # Names are this module's constants; the query travels as a parameter.
        condition = RawSQL(  # noqa: S611
            f"serviceloop_search_tsv({column_sql}) @@ to_tsquery('simple', %s)",
            [tsquery(terms)],
            output_field=BooleanField(),
        )
        return queryset.filter(condition)
    if connection.vendor == "sqlite":
        sql = f"SELECT rowid FROM {fts_table} WHERE {fts_table} MATCH %s"  # noqa: S608
        rowids = RawSQL(sql, [fts5_query(terms)])  # noqa: S611
        return queryset.filter(id__in=rowids)
    raise NotImplementedError(
        f"text search is written for SQLite and PostgreSQL, not {connection.vendor}"
    )


def _set_local(cursor: Any, settings: dict[str, str]) -> None:
    pairs = ", ".join("set_config(%s, %s, true)" for _ in settings)  # true: SET LOCAL
    cursor.execute(f"SELECT {pairs}", [value for pair in settings.items() for value in pair])


@contextmanager
def _pinned(settings: dict[str, str]) -> Iterator[None]:
    """Planner settings for the statements inside, put back afterwards: a SET LOCAL outlives
    its savepoint when the caller's transaction goes on (a request in ``ATOMIC_REQUESTS``)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join("current_setting(%s)" for _ in settings), list(settings)
        )
        before = dict(zip(settings, cursor.fetchone(), strict=True))
        _set_local(cursor, settings)
        try:
            yield
        finally:
            _set_local(cursor, before)


def _pg_ids(
    matching: QuerySet[Any], condition: str, bound: int, *, walk: bool
) -> list[tuple[int, int]]:
    """(id, case id) of matching rows past ``bound``, newest first, with a pinned plan.

    ``SET LOCAL`` (this transaction only) pins it because the planner's guess of how common a
    word is comes from a sample and can be far off (a word it never sampled counts as common),
    and a wrong guess costs seconds either way: testing row after row for a rare word, or
    reading every match of a common one. ``walk`` tests the newest rows one by one along the
    primary key; otherwise only the GIN index is used, and ``gin_fuzzy_search_limit`` caps what
    it hands over (a random part of a longer list), so no search reads millions of rows.
    """
    table = matching.model._meta.db_table
    # The walk reads the primary key from the newest id down to ``bound``. The index path keeps
    # the range as a filter ("+ 0"): an index range over most of the table costs more than the
    # text index it would be combined with.
    column = f'"{table}"."id"' if walk else f'"{table}"."id" + 0'
    within = RawSQL(f"{column} {condition} %s", [bound], output_field=BooleanField())  # noqa: S611
    rows = (
        matching.filter(within)
        .order_by("-id")
        .values_list("id", "case_id" if table == "cases_message" else "id")
    )
    settings = {
        "max_parallel_workers_per_gather": "0",
        "jit": "off",
        "enable_seqscan": "off",
        "enable_bitmapscan": "off" if walk else "on",
        "enable_indexscan": "on" if walk else "off",
        "gin_fuzzy_search_limit": "0" if walk else str(GIN_LIMIT),
    }
    with transaction.atomic(), _pinned(settings):
        return list(rows[:RAW_LIMIT])


def _visible(rows: list[tuple[int, int]], visible: QuerySet[Case] | None) -> list[tuple[int, int]]:
    """The (id, case id) rows whose case the user may see, asked for those cases only."""
    if visible is None or not rows:
        return rows
    allowed = set(visible.filter(id__in={case for _, case in rows}).values_list("id", flat=True))
    return [(row, case) for row, case in rows if case in allowed]


def _pg_newest(
    matching: QuerySet[Any], fields: tuple[str, ...], visible: QuerySet[Case] | None
) -> tuple[list[tuple[Any, ...]], bool]:
    """PostgreSQL: the newest ``CANDIDATES`` matching rows the user may see, and whether there
    were more, without reading every match.

    First the newest ``WALK`` rows are tested one by one: a common word is found there at once,
    where the GIN index would first hand over its millions of matches. If that is not enough,
    the GIN index gives the newest older matches (at most ``GIN_LIMIT`` looked at). Visibility
    is the lists' queryset, asked for the cases of those rows only.
    """
    top = matching.model.objects.aggregate(top=Max("id"))["top"] or 0
    raw = _visible(_pg_ids(matching, ">", top - WALK, walk=True), visible)
    more = len(raw) > CANDIDATES
    if not more and top > WALK:
        older = _pg_ids(matching, "<=", top - WALK, walk=False)
        more = len(older) >= RAW_LIMIT
        raw += _visible(older, visible)
    more = more or len(raw) > CANDIDATES
    chosen = [row for row, _ in raw[:CANDIDATES]]
    found = matching.model.objects.filter(id__in=chosen).order_by("-id").values_list(*fields)
    return list(found), more


def _newest(
    matching: QuerySet[Any],
    fields: tuple[str, ...],
    visible: QuerySet[Case] | None,
    *,
    narrowed: bool,
) -> tuple[list[tuple[Any, ...]], bool]:
    """The newest ``CANDIDATES`` matching rows (``fields``: id, case id, ...) the user may see,
    and whether there were more. ``narrowed``: ``matching`` holds only a customer's own cases,
    few enough to read through their own indexes; ``visible`` is None then, or when the user
    sees every case."""
    if connection.vendor == "postgresql" and not narrowed:
        return _pg_newest(matching, fields, visible)
    if visible is not None:
        matching = matching.filter(**{f"{fields[1]}__in": visible.order_by().values("id")})
    rows = list(matching.order_by("-id").values_list(*fields)[: CANDIDATES + 1])
    return rows[:CANDIDATES], len(rows) > CANDIDATES


def _scope(
    user: Any, visible: QuerySet[Case]
) -> tuple[QuerySet[Any] | None, QuerySet[Case] | None]:
    """How to narrow to the cases the user may see: a customer's own cases as a subquery (the
    search starts from them, through their indexes), otherwise the lists' queryset, asked per
    batch of matches (None for managers, who see everything)."""
    if user.role == Role.CUSTOMER:
        return visible.order_by().values("id"), None
    return None, visible if visible.query.has_filters() else None


def _case_candidates(
    user: Any, visible: QuerySet[Case], terms: list[Term]
) -> tuple[list[tuple[Any, ...]], bool]:
    """Newest matching cases: (id, id, title, description, created_at)."""
    own, per_batch = _scope(user, visible)
    cases = Case.objects.order_by()
    if own is not None:
        cases = cases.filter(id__in=own)
    matching = _matches(cases, CASE_TEXT_SQL, "cases_case_fts", terms)
    fields = ("id", "id", "title", "description", "created_at")
    return _newest(matching, fields, per_batch, narrowed=own is not None)


def _message_candidates(
    user: Any, visible: QuerySet[Case], terms: list[Term]
) -> tuple[list[tuple[Any, ...]], bool]:
    """Newest matching messages: (id, case id, kind, body, created_at); public ones only for
    customers."""
    own, per_batch = _scope(user, visible)
    messages = Message.objects.order_by()
    if own is not None:
        messages = messages.filter(case_id__in=own, kind=MessageKind.PUBLIC)
    matching = _matches(messages, MESSAGE_TEXT_SQL, "cases_message_fts", terms)
    fields = ("id", "case_id", "kind", "body", "created_at")
    return _newest(matching, fields, per_batch, narrowed=own is not None)


def _exact_cases(visible: QuerySet[Case], query: str) -> list[int]:
    """A case number or a customer's e-mail address, as the queue search reads them."""
    term = query.strip()
    number = case_number_of(term)
    if number is not None:
        return list(visible.filter(number=number).values_list("id", flat=True)[:1])
    if "@" in term and " " not in term:
        found = visible.filter(customer__email__iexact=term).order_by("-created_at", "-id")
        return list(found.values_list("id", flat=True)[:CANDIDATES])
    return []


# --- ranking and highlighting --------------------------------------------------------------------

_NOT_CJK_WORD = f"[^\\W_{CJK_RANGES}]"


def _pattern(terms: Iterable[Term]) -> re.Pattern[str] | None:
    """Where the terms occur in text, as the index would match them."""
    parts = []
    for term in terms:
        if term.cjk:
            parts.append(re.escape(term.text))
        else:
            tail = f"{_NOT_CJK_WORD}*" if term.prefix else f"(?!{_NOT_CJK_WORD})"
            parts.append(f"(?<!{_NOT_CJK_WORD}){re.escape(term.text)}{tail}")
    if not parts:
        return None
    return re.compile("|".join(parts), re.IGNORECASE)


def _score(text: str, terms: list[Term], pattern: re.Pattern[str] | None, weight: int) -> float:
    if pattern is None or not text:
        return 0.0
    counts: dict[str, int] = {}
    for found in pattern.finditer(text):
        word = found.group(0).lower()
        key = next((t.text for t in terms if word.startswith(t.text.lower())), word)
        counts[key] = counts.get(key, 0) + 1
    return float(weight * sum(min(n, MAX_COUNTED) for n in counts.values()))


def highlight(text: str, terms: list[Term], *, width: int | None = SNIPPET_CHARS) -> SafeString:
    """``text`` HTML-escaped, every match wrapped in ``<mark>``; cut to ``width`` characters
    around the first match (``…`` where cut). User text never becomes markup: only the ``mark``
    tags are ours, and everything between them goes through ``escape``."""
    pattern = _pattern(terms)
    spans = [m.span() for m in pattern.finditer(text)] if pattern is not None else []
    start, end = 0, len(text)
    if width is not None and len(text) > width:
        first = spans[0][0] if spans else 0
        start = max(0, min(first - width // 3, len(text) - width))
        end = start + width
    pieces = ["…"] if start > 0 else []
    cursor = start
    for left, right in spans:
        if right <= start or left >= end:
            continue
        left, right = max(left, start), min(right, end)
        pieces += [escape(text[cursor:left]), "<mark>", escape(text[left:right]), "</mark>"]
        cursor = right
    pieces.append(escape(text[cursor:end]))
    if end < len(text):
        pieces.append("…")
    return mark_safe("".join(str(piece) for piece in pieces))  # noqa: S308 (escaped above)


# --- the search ----------------------------------------------------------------------------------


@dataclass
class _Best:
    score: float
    source: str
    text: str
    at: datetime
    hits: int = 1

    def add(self, score: float, source: str, text: str, at: datetime) -> None:
        """Another hit in the same case: keep the best text, count the hit, the newest time."""
        self.hits += 1
        self.at = max(self.at, at)
        if score > self.score:
            self.score, self.source, self.text = score, source, text


def _ranked_text_hits(
    user: Any, visible: QuerySet[Case], terms: list[Term]
) -> tuple[dict[int, _Best], bool]:
    """The best hit of each candidate case and whether any source had more matches."""
    pattern = _pattern(terms)
    case_rows, more_cases = _case_candidates(user, visible, terms)
    message_rows, more_messages = _message_candidates(user, visible, terms)
    best: dict[int, _Best] = {}

    def keep(case_id: int, score: float, source: str, text: str, at: datetime) -> None:
        if case_id in best:
            best[case_id].add(score, source, text, at)
        else:
            best[case_id] = _Best(score, source, text, at)

    for _, case_id, title, description, created_at in case_rows:
        in_title = _score(title, terms, pattern, TITLE_WEIGHT)
        in_description = _score(description, terms, pattern, 1)
        source = "title" if in_title >= in_description else "description"
        keep(case_id, in_title + in_description, source, description, created_at)
    for _, case_id, kind, body, created_at in message_rows:
        keep(case_id, _score(body, terms, pattern, 1), kind, body, created_at)
    for found in best.values():
        found.score += 0.5 * min(found.hits - 1, 5)
    return best, more_cases or more_messages


def case_text_search(*, user: Any, query: str, limit: int = 50) -> SearchResult:
    """Cases the user may see whose title, description or messages match ``query``, best first.

    Raises ``InvalidInputError`` (field ``q``) when the query holds neither a word nor a case
    number or e-mail address to look for.
    """
    terms = parse_terms(query)
    visible = case_visible_queryset(user)
    exact = _exact_cases(visible, query)
    if not terms and not exact:
        raise InvalidInputError.for_field("q", Problem(SEARCH_NO_WORDS))
    best, more = _ranked_text_hits(user, visible, terms) if terms else ({}, False)
    ranked = sorted(
        (item for item in best.items() if item[0] not in exact),
        key=lambda item: (item[1].score, item[1].at, item[0]),
        reverse=True,
    )
    order = exact + [case_id for case_id, _ in ranked]
    more = more or len(order) > limit
    order = order[:limit]
    cases = Case.objects.select_related(*LIST_RELATED).in_bulk(order)
    hits = []
    for case_id in order:
        case = cases[case_id]
        found = best.get(case_id)
        if case_id in exact or found is None:
            found = _Best(0.0, SOURCE_EXACT, case.description, case.updated_at)
        hits.append(
            CaseHit(
                case=case,
                score=found.score,
                source=found.source,
                title=highlight(case.title, terms, width=None),
                snippet=highlight(found.text, terms),
                at=found.at,
                hits=found.hits,
            )
        )
    return SearchResult(hits=hits, more=more, terms=terms)
