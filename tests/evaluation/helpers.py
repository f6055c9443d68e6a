"""Cases with a controlled history for the evaluation tests: created through ``case_create``,
then given replies, reopenings, escalations and a close at chosen times (events appended as the
services would, the case row updated to match)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from serviceloop.accounts.models import Team, User
from serviceloop.cases.choices import CaseStatus, EventKind
from serviceloop.cases.models import Case, CaseEvent, Category
from tests.factories import CaseFactory

__all__ = ["at", "make_case"]


def at(day: int, hour: int = 9, month: int = 11, year: int = 2026) -> dt.datetime:
    """An aware datetime in the server's time zone."""
    return timezone.make_aware(dt.datetime(year, month, day, hour))


def make_case(
    *,
    team: Team,
    agent: User | None,
    created: dt.datetime,
    first_reply_hours: float | None = None,
    replies: int = 1,
    closed_hours: float | None = None,
    reopens: int = 0,
    escalations: int = 0,
    category: Category | None = None,
    survey: dict[str, Any] | None = None,
    rework: bool = False,
    process_version: Any = None,
) -> Case:
    extra = {"process_version": process_version} if process_version is not None else {}
    case = CaseFactory(at=created, category=category, **extra)
    Case.objects.filter(pk=case.pk).update(team=team, assignee=agent)
    events = []
    if first_reply_hours is not None:
        for i in range(replies):
            events.append(
                (EventKind.REPLIED, created + dt.timedelta(hours=first_reply_hours + i), {})
            )
    for i in range(reopens):
        events.append((EventKind.REOPENED, created + dt.timedelta(minutes=30 + i), {}))
    for i in range(escalations):
        events.append((EventKind.ESCALATED, created + dt.timedelta(minutes=40 + i), {}))
    if rework:
        events.append(
            (
                EventKind.STAGE_ENTERED,
                created + dt.timedelta(minutes=50),
                {"from_stage": "delivery", "to_stage": "analysis", "transition_kind": "rework"},
            )
        )
        events.append(
            (
                EventKind.STAGE_ENTERED,
                created + dt.timedelta(minutes=55),
                {"from_stage": "analysis", "to_stage": "intake", "transition_kind": "forward"},
            )
        )
    if closed_hours is not None:
        closed_at = created + dt.timedelta(hours=closed_hours)
        events.append((EventKind.CLOSED, closed_at, {"transition_kind": "forward"}))
        Case.objects.filter(pk=case.pk).update(status=CaseStatus.CLOSED, closed_at=closed_at)
    if survey is not None:
        events.append((EventKind.SURVEY_ANSWERED, created + dt.timedelta(days=2), survey))
    for kind, when, attributes in events:
        activity = "Intake" if kind == EventKind.STAGE_ENTERED else kind
        CaseEvent.objects.create(
            case=case, kind=kind, activity=activity, timestamp=when, attributes=attributes
        )
    case.refresh_from_db()
    return case
