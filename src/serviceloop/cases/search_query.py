"""Which rows match a search, through the text indexes, with the work bounded at any size.

Used by the ranked search (:mod:`serviceloop.cases.search`) and the lists' search box
(``case_search_match``): both want "the newest N matching rows this user may see" and must not
read every match of a common word, nor test every row for a rare one. How text is tokenised:
:mod:`serviceloop.cases.search_text`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import OperationalError, connection, transaction
from django.db.models import BooleanField, Max, QuerySet
from django.db.models.expressions import RawSQL

from serviceloop.accounts.choices import Role
from serviceloop.cases.choices import MessageKind
from serviceloop.cases.models import Case, Message
from serviceloop.cases.search_text import Term, fts5_query, tsquery

__all__ = [
    "CASE_TEXT_SQL",
    "MESSAGE_TEXT_SQL",
    "case_candidates",
    "message_candidates",
    "text_matches",
]

WALK = 3000  # PostgreSQL: newest rows tested one by one before asking the index
RAW_LIMIT = 2000  # PostgreSQL: matching rows read before visibility is applied
SQLITE_BATCHES = 10  # SQLite: batches of RAW_LIMIT index matches read, at most
GIN_TIMEOUT_MS = 1500  # PostgreSQL: the index step gives up after this (see _pg_ids)
QUERY_CANCELED = "57014"  # SQLSTATE of a statement stopped by statement_timeout
GIN_LIMIT = 5000  # PostgreSQL: index matches looked at, at most (gin_fuzzy_search_limit)
# The indexed text, as in migration 0009's expression indexes (PostgreSQL matches them exactly).
CASE_TEXT_SQL = '"cases_case"."title" || \' \' || "cases_case"."description"'
MESSAGE_TEXT_SQL = '"cases_message"."body"'


def text_matches(
    queryset: QuerySet[Any], column_sql: str, fts_table: str, terms: list[Term]
) -> Any:
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
        yield  # on an error the caller's savepoint rolls back, and these settings with it
        _set_local(cursor, before)


def _pg_ids(
    matching: QuerySet[Any], condition: str, bound: int, *, walk: bool
) -> list[tuple[int, int]] | None:
    """(id, case id) of matching rows past ``bound``, newest first, with a pinned plan; None
    when the index step ran out of time.

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
        # The cap above does not hold for a prefix (``refund:*``), whose entries are merged
        # first: a prefix common in older rows only could read them all. Past this the step
        # gives up, and the search says there are more matches.
        "statement_timeout": "0" if walk else str(GIN_TIMEOUT_MS),
    }
    try:
        with transaction.atomic(), _pinned(settings):
            return list(rows[:RAW_LIMIT])
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) != QUERY_CANCELED:
            raise
        return None


def _visible(rows: list[tuple[int, int]], visible: QuerySet[Case] | None) -> list[tuple[int, int]]:
    """The (id, case id) rows whose case the user may see, asked for those cases only."""
    if visible is None or not rows:
        return rows
    allowed = set(visible.filter(id__in={case for _, case in rows}).values_list("id", flat=True))
    return [(row, case) for row, case in rows if case in allowed]


def _pg_newest(
    matching: QuerySet[Any], fields: tuple[str, ...], visible: QuerySet[Case] | None, limit: int
) -> tuple[list[tuple[Any, ...]], bool]:
    """PostgreSQL: the newest ``limit`` matching rows the user may see, and whether there
    were more, without reading every match.

    First the newest ``WALK`` rows are tested one by one: a common word is found there at once,
    where the GIN index would first hand over its millions of matches. If that is not enough,
    the GIN index gives the newest older matches (at most ``GIN_LIMIT`` looked at). Visibility
    is the lists' queryset, asked for the cases of those rows only.
    """
    top = matching.model.objects.aggregate(top=Max("id"))["top"] or 0
    raw = _visible(_pg_ids(matching, ">", top - WALK, walk=True) or [], visible)
    more = len(raw) > limit
    if not more and top > WALK:
        older = _pg_ids(matching, "<=", top - WALK, walk=False)
        more = older is None or len(older) >= RAW_LIMIT
        raw += _visible(older or [], visible)
    more = more or len(raw) > limit
    chosen = [row for row, _ in raw[:limit]]
    found = matching.model.objects.filter(id__in=chosen).order_by("-id").values_list(*fields)
    return list(found), more


def _sqlite_newest(
    base: QuerySet[Any], fields: tuple[str, ...], fts_table: str, terms: list[Term], limit: int
) -> tuple[list[tuple[Any, ...]], bool]:
    """SQLite: the newest matching rows of ``base``, read from the FTS5 index newest first in
    batches (FTS5 walks a posting list in rowid order and stops at the LIMIT), each batch then
    narrowed by ``base``'s own conditions (an agent's cases). At most ``SQLITE_BATCHES``
    batches: a word in every message costs one batch, not its whole posting list."""
    kept: list[int] = []
    below: int | None = None
    exhausted = False
    with connection.cursor() as cursor:
        for _ in range(SQLITE_BATCHES):
            bound = "" if below is None else " AND rowid < %s"
            params: list[Any] = [fts5_query(terms), *([] if below is None else [below])]
            cursor.execute(
                f"SELECT rowid FROM {fts_table} WHERE {fts_table} MATCH %s{bound} "  # noqa: S608
                f"ORDER BY rowid DESC LIMIT {RAW_LIMIT:d}",
                params,
            )
            ids = [row[0] for row in cursor.fetchall()]
            if ids:
                allowed = base.filter(id__in=ids).order_by("-id").values_list("id", flat=True)
                kept += list(allowed)
            if len(ids) < RAW_LIMIT:
                exhausted = True
                break
            if len(kept) > limit:
                break
            below = ids[-1]
    more = len(kept) > limit or not exhausted
    chosen = kept[:limit]
    rows = base.model.objects.filter(id__in=chosen).order_by("-id").values_list(*fields)
    return list(rows), more


def _sqlite_own(
    base: QuerySet[Any], fields: tuple[str, ...], fts_table: str, terms: list[Term], limit: int
) -> tuple[list[tuple[Any, ...]], bool]:
    """SQLite, a customer's own rows: the index's matches joined to them row by row. An
    ``id IN (SELECT rowid ... MATCH)`` first copied every match into a temporary b-tree (2.4 s
    for a word in all 1.1M messages at 100k cases, against 0.7 s joined)."""
    table = base.model._meta.db_table
    own, own_params = base.values("id").query.sql_with_params()
    sql = (
        f'SELECT t."id" FROM {fts_table} f JOIN "{table}" t ON t."id" = f.rowid '  # noqa: S608
        f'WHERE f.{fts_table} MATCH %s AND t."id" IN ({own}) ORDER BY t."id" DESC LIMIT %s'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [fts5_query(terms), *own_params, limit + 1])
        ids = [row[0] for row in cursor.fetchall()]
    rows = base.model.objects.filter(id__in=ids[:limit]).order_by("-id").values_list(*fields)
    return list(rows), len(ids) > limit


def _newest(
    base: QuerySet[Any],
    column_sql: str,
    fts_table: str,
    terms: list[Term],
    fields: tuple[str, ...],
    visible: QuerySet[Case] | None,
    *,
    narrowed: bool,
    limit: int,
) -> tuple[list[tuple[Any, ...]], bool]:
    """The newest ``limit`` rows of ``base`` matching ``terms`` (``fields``: id, case id, ...)
    the user may see, and whether there were more. ``narrowed``: ``base`` holds only a
    customer's own cases, few enough to read through their own indexes; ``visible`` is None
    then, or when ``base`` already applies the rule, or when the user sees every case."""
    if connection.vendor == "sqlite" and visible is None:
        if narrowed:
            return _sqlite_own(base, fields, fts_table, terms, limit)
        return _sqlite_newest(base, fields, fts_table, terms, limit)
    matching = text_matches(base, column_sql, fts_table, terms)
    if connection.vendor == "postgresql" and not narrowed:
        return _pg_newest(matching, fields, visible, limit)
    if visible is not None:
        matching = matching.filter(**{f"{fields[1]}__in": visible.order_by().values("id")})
    rows = list(matching.order_by("-id").values_list(*fields)[: limit + 1])
    return rows[:limit], len(rows) > limit


def _scope(
    user: Any, visible: QuerySet[Case]
) -> tuple[QuerySet[Any] | None, QuerySet[Case] | None]:
    """How to narrow to the cases the user may see: a customer's own cases as a subquery (the
    search starts from them, through their indexes), otherwise the lists' queryset, asked per
    batch of matches (None for managers, who see everything)."""
    if user.role == Role.CUSTOMER:
        return visible.order_by().values("id"), None
    return None, visible if visible.query.has_filters() else None


def case_candidates(
    user: Any, visible: QuerySet[Case], terms: list[Term], *, limit: int
) -> tuple[list[tuple[Any, ...]], bool]:
    """Newest matching cases: (id, id, title, description, created_at).

    An agent's rule is a condition on the case row itself, so it goes into the same statement:
    the database combines the text index with the team and assignee indexes and reads only the
    matching cases the agent may see."""
    own, per_batch = _scope(user, visible)
    cases = Case.objects.order_by()
    if own is not None:
        cases = cases.filter(id__in=own)
    elif per_batch is not None:
        cases = cases & per_batch.order_by()
    fields = ("id", "id", "title", "description", "created_at")
    return _newest(
        cases,
        CASE_TEXT_SQL,
        "cases_case_fts",
        terms,
        fields,
        None,
        narrowed=own is not None,
        limit=limit,
    )


def message_candidates(
    user: Any, visible: QuerySet[Case], terms: list[Term], *, limit: int
) -> tuple[list[tuple[Any, ...]], bool]:
    """Newest matching messages: (id, case id, kind, body, created_at); public ones only for
    customers."""
    own, per_batch = _scope(user, visible)
    messages = Message.objects.order_by()
    if own is not None:
        messages = messages.filter(case_id__in=own, kind=MessageKind.PUBLIC)
    if per_batch is not None and connection.vendor == "sqlite":
        messages = messages.filter(case_id__in=per_batch.order_by().values("id"))
        per_batch = None  # applied to each batch by the statement above
    fields = ("id", "case_id", "kind", "body", "created_at")
    return _newest(
        messages,
        MESSAGE_TEXT_SQL,
        "cases_message_fts",
        terms,
        fields,
        per_batch,
        narrowed=own is not None,
        limit=limit,
    )
