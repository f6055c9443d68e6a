"""Small helpers for the case tests: snapshot a case and its log to prove nothing changed."""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from serviceloop.cases.models import Attachment, Case, CaseEvent, Message
from serviceloop.cases.routing import ACTIVE_STATUSES


def snapshot(case: Case) -> dict[str, Any]:
    """Every stored column of the case plus the row counts that services append to."""
    fresh = Case.objects.get(pk=case.pk)
    row = {f.attname: getattr(fresh, f.attname) for f in Case._meta.concrete_fields}
    return {
        "case": row,
        "events": CaseEvent.objects.filter(case_id=case.pk).count(),
        "messages": Message.objects.filter(case_id=case.pk).count(),
        "attachments": Attachment.objects.filter(case_id=case.pk).count(),
    }


def events_of(case: Case) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case_id=case.pk).order_by("id"))


def agent_loads(user_ids: list[int]) -> dict[int, int]:
    """Open + pending cases held by each user (users holding none are left out)."""
    rows = (
        Case.objects.filter(assignee_id__in=user_ids, status__in=ACTIVE_STATUSES)
        .values("assignee_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["assignee_id"]: row["n"] for row in rows}
