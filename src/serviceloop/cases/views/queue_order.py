"""Queue order and paging: newest or last-updated first by keyset; due and priority by offset.

Created and updated order walk an index by keyset, as deep as the agent pages. Due time (empty
last) and priority rank are not unique keys, so those pages are read by offset; the cursor says
which (``o:50``), so the pager and links need not know.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Case as CaseWhen
from django.db.models import F, Max, QuerySet, Value, When

from serviceloop.cases.choices import EventKind, Priority
from serviceloop.cases.models import Case, CaseEvent
from serviceloop.cases.views._common import PAGE_SIZE
from serviceloop.core.exceptions import InvalidInputError
from serviceloop.core.pagination import keyset_page

__all__ = ["QUEUE_SORTS", "mark_unread", "queue_page"]

QUEUE_SORTS = ("created", "updated", "due", "priority")
_KEYSET = {"created": ("-created_at", "-id"), "updated": ("-updated_at", "-id")}
_RANK = [Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW]


def _ordered(cases: QuerySet[Case], sort: str) -> QuerySet[Case]:
    if sort == "due":
        return cases.order_by(F("due_at").asc(nulls_last=True), "id")
    rank = CaseWhen(
        *[When(priority=p, then=Value(i)) for i, p in enumerate(_RANK)], default=Value(len(_RANK))
    )
    return cases.annotate(priority_rank=rank).order_by("priority_rank", "-created_at", "-id")


def queue_page(
    cases: QuerySet[Case], *, sort: str, cursor: str | None
) -> tuple[list[Case], str | None, str | None]:
    """One page: (cases, next cursor, the cursor actually used: None when back at the top)."""
    if sort in _KEYSET:
        order = _KEYSET[sort]
        if cursor is not None and cursor.startswith("o:"):
            cursor = None
        try:
            page = keyset_page(cases, order=order, limit=PAGE_SIZE, cursor=cursor)
        except InvalidInputError:  # a mangled or stale link: start again at the top
            cursor = None
            page = keyset_page(cases, order=order, limit=PAGE_SIZE, cursor=None)
        return page.items, page.next_cursor, cursor
    raw = (cursor or "").removeprefix("o:")
    offset = int(raw) if raw.isdigit() else 0
    rows = list(_ordered(cases, sort)[offset : offset + PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    return (
        rows[:PAGE_SIZE],
        (f"o:{offset + PAGE_SIZE}" if more else None),
        (f"o:{offset}" if offset else None),
    )


def mark_unread(cases: list[Any]) -> None:
    """Set ``case.unread`` when the customer wrote after the team last replied (one query)."""
    last: dict[tuple[int, str], Any] = {
        (row["case_id"], row["kind"]): row["at"]
        for row in CaseEvent.objects.filter(
            case_id__in=[c.pk for c in cases],
            kind__in=[EventKind.CUSTOMER_REPLIED, EventKind.REPLIED],
        )
        .values("case_id", "kind")
        .annotate(at=Max("timestamp"))
        .order_by()
    }
    for case in cases:
        asked = last.get((case.pk, EventKind.CUSTOMER_REPLIED))
        answered = last.get((case.pk, EventKind.REPLIED))
        case.unread = asked is not None and (answered is None or asked > answered)
