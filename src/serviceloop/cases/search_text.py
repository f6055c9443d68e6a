"""How text becomes searchable words, the same on PostgreSQL and SQLite.

Chinese is written without spaces, and neither database segments it: PostgreSQL's ``simple``
parser takes a run of Han characters as one word and SQLite's ``unicode61`` tokenizer too, so
"退款" would not find "退款申请". The index therefore sees every CJK character (Han, kana,
hangul) as a word of its own, and a Chinese search is the *phrase* of its characters:
"退款" is ``退`` followed directly by ``款``. No dictionary, so no word list to download or keep
up to date, and any run of characters is found (as with trigram matching, also a false hit when
punctuation sits between the two characters: "退，款").

Other words are runs of letters and digits, case-folded. A search word of three or more letters
also finds the words it begins ("refund" finds "refunds", "refunded"); shorter ones only match
whole words, so "a" or "to" do not light up half the database. Every word of a search must
match (AND).

PostgreSQL indexes ``serviceloop_search_tsv(text)`` (``to_tsvector('simple', ...)`` over the
spaced text, a GIN index, migration 0009); SQLite keeps FTS5 tables fed by triggers that call
``serviceloop_search_text``, which :func:`register_sqlite_function` adds to every connection.
Both must space CJK exactly like :func:`search_text`: the ranges below are written out in the
migration too, and a test compares them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CJK_RANGES",
    "MAX_TERMS",
    "PREFIX_MIN",
    "SQLITE_FUNCTION",
    "Term",
    "fts5_query",
    "parse_terms",
    "register_sqlite_function",
    "search_text",
    "tsquery",
]

# Kana, CJK extension A, CJK unified ideographs, compatibility ideographs, hangul syllables.
CJK_RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
PREFIX_MIN = 3  # search words this long or longer also match the words they begin
MAX_TERMS = 8  # more words narrow nothing useful and only cost index probes
SQLITE_FUNCTION = "serviceloop_search_text"

_CJK_CHAR = re.compile(f"([{CJK_RANGES}])")
_CJK_RUN = re.compile(f"([{CJK_RANGES}]+)")
_CJK_ONLY = re.compile(f"[{CJK_RANGES}]+")
_WORD = re.compile(r"[^\W_]+")


def search_text(text: str) -> str:
    """``text`` as the index reads it: a space on each side of every CJK character."""
    return _CJK_CHAR.sub(r" \1 ", text)


@dataclass(frozen=True)
class Term:
    """One word of a search: a CJK run (matched as the phrase of its characters) or a word."""

    text: str
    cjk: bool

    @property
    def prefix(self) -> bool:
        return not self.cjk and len(self.text) >= PREFIX_MIN


def parse_terms(query: str) -> list[Term]:
    """The distinct words of ``query``, at most ``MAX_TERMS``; punctuation and symbols are
    separators, so any text parses (to nothing when it holds no letter or digit)."""
    spaced = _CJK_RUN.sub(r" \1 ", query.replace("\x00", " "))
    terms: dict[Term, None] = {}
    for token in _WORD.findall(spaced):
        cjk = _CJK_ONLY.fullmatch(token) is not None
        terms[Term(token if cjk else token.lower(), cjk)] = None
    return list(terms)[:MAX_TERMS]


def tsquery(terms: list[Term]) -> str:
    """The terms as PostgreSQL ``to_tsquery('simple', ...)`` text. Every lexeme is quoted and
    holds only letters and digits, so nothing in it is tsquery syntax."""
    parts = []
    for term in terms:
        if term.cjk:
            parts.append("(" + " <-> ".join(f"'{char}'" for char in term.text) + ")")
        else:
            parts.append(f"'{term.text}'" + (":*" if term.prefix else ""))
    return " & ".join(parts)


def fts5_query(terms: list[Term]) -> str:
    """The terms as an SQLite FTS5 MATCH expression: quoted phrases, ``*`` for prefixes."""
    parts = []
    for term in terms:
        if term.cjk:
            parts.append('"' + " ".join(term.text) + '"')
        else:
            parts.append(f'"{term.text}"' + ("*" if term.prefix else ""))
    return " AND ".join(parts)


def _sqlite_search_text(text: str | None) -> str:
    return search_text(text or "")


def register_sqlite_function(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: SQLite's search triggers call ``search_text``."""
    if connection.vendor != "sqlite":
        return
    connection.connection.create_function(
        SQLITE_FUNCTION, 1, _sqlite_search_text, deterministic=True
    )
