"""Full-text search over cases: titles, descriptions, replies and internal notes, ranked, with the
matching text highlighted.

Who sees what is the lists' rule (``case_visible_queryset``): a customer searches their own cases
and public replies only (a note never matches, counts or shows), an agent their team's and their
own cases, managers everything. How words match is :mod:`serviceloop.cases.search_text`.

Bounded work at any size: each source (cases, messages) gives at most its newest ``CANDIDATES``
matches (:mod:`serviceloop.cases.search_query`), and only those are ranked. A common word therefore
costs a short walk of the newest rows, a rare one a few index entries, and neither reads every
match; when a source had more, the answer says so (``more``) and the user narrows the search.

Ranking happens here, on the candidates, the same on both databases: a word counts for each time
it occurs (at most three), a hit in the title three times; a case scores its best hit plus half a
point for every further matching message (at most five); ties go to the newest activity. A case
number or a customer's exact e-mail address ranks first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from serviceloop.cases.exceptions import SEARCH_NO_WORDS, InvalidInputError, Problem
from serviceloop.cases.models import Case
from serviceloop.cases.search_query import case_candidates, message_candidates
from serviceloop.cases.search_text import CJK_RANGES, Term, parse_terms
from serviceloop.cases.selectors import LIST_RELATED, case_number_of, case_visible_queryset

__all__ = [
    "CANDIDATES",
    "CaseHit",
    "SearchResult",
    "case_text_search",
    "highlight",
]

CANDIDATES = 200  # newest matches ranked per source
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


# --- exact hits ----------------------------------------------------------------------------------


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
    case_rows, more_cases = case_candidates(user, visible, terms, limit=CANDIDATES)
    message_rows, more_messages = message_candidates(user, visible, terms, limit=CANDIDATES)
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
    query = query.replace("\x00", "")  # PostgreSQL text cannot hold NUL; no stored text has it
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
