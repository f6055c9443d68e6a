"""Small helpers for the case tests: snapshot a case and its log to prove nothing changed."""

from __future__ import annotations

from typing import Any

from serviceloop.cases.models import Attachment, Case, CaseEvent, Message


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
