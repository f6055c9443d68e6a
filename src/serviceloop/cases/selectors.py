"""Read queries over cases. Every list joins what it shows (no query per row) and is ordered for
keyset pagination (``-created_at, -id``); single reads answer 404 for cases the user may not see, so
existence does not leak."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import Team
from serviceloop.cases import queries
from serviceloop.cases.choices import CaseStatus, EventKind, MessageKind, Priority
from serviceloop.cases.exceptions import (
    BAD_CHOICE,
    CHECKLIST_OPEN,
    FIELD_REQUIRED,
    FILTER_INVALID,
    FORBIDDEN,
    InvalidInputError,
    PermissionDeniedError,
    Problem,
)
from serviceloop.cases.models import Attachment, Case, CaseEvent, Message
from serviceloop.cases.permissions import agent_team_id, case_can_view
from serviceloop.cases.search_query import case_candidates
from serviceloop.cases.search_text import parse_terms
from serviceloop.customers.models import Customer
from serviceloop.processes.models import Stage, Transition

__all__ = [
    "CUSTOMER_VISIBLE_EVENTS",
    "QUEUES",
    "TimelineEntry",
    "attachment_get_for_user",
    "attachment_list_for_user",
    "case_allowed_transitions",
    "case_get_for_user",
    "case_guard_problems",
    "case_list",
    "case_number_of",
    "case_search_match",
    "case_timeline",
    "case_visible_queryset",
    "event_list_for_user",
    "message_list_for_user",
]

QUEUES = ("mine", "team", "unassigned", "overdue")
SEARCH_LIMIT = 200  # newest matches of each kind a list search keeps (number, customer, text)
SEARCH_CUSTOMERS = 200  # customers whose name matches, at most
CUSTOMER_VISIBLE_EVENTS = frozenset(
    {
        EventKind.CREATED,
        EventKind.STAGE_ENTERED,
        EventKind.STATUS_CHANGED,
        EventKind.REOPENED,
        EventKind.CLOSED,
    }
)
LIST_RELATED = ("customer", "category", "stage", "team", "assignee", "process_version__process")


def case_visible_queryset(user: Any) -> QuerySet[Case]:
    """Cases ``user`` may see: all for managers/admins, team or assigned for agents, own for
    customers, none for anonymous or inactive users."""
    cases = Case.objects.all()
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return cases.none()
    if user.role in {Role.ADMIN, Role.MANAGER}:
        return cases
    if user.role == Role.AGENT:
        team_id = agent_team_id(user)
        scope = Q(assignee_id=user.pk)
        if team_id is not None:
            scope |= Q(team_id=team_id)
        return cases.filter(scope)
    if user.role == Role.CUSTOMER:
        return cases.filter(customer__user_id=user.pk)
    return cases.none()


def _bad_choice(value: object, choices: Sequence[str]) -> Problem:
    return Problem(BAD_CHOICE, {"value": value, "choices": ", ".join(choices)})


def _by_pk_or_code(value: Any, model: type[Team] | type[Stage], field: str) -> Q:
    """A filter on the case's own column. A code is looked up first (a team code names one
    team, a stage code a stage in every process version): with the ids as constants the
    database walks that team's or stage's cases newest first, where a join on the code made it
    test every case (1.1 s for three filters matching 30 of a million cases)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return Q(**{f"{field}_id": value})
    if isinstance(value, str):
        ids = list(model.objects.filter(code=value).values_list("id", flat=True))
        return Q(**{f"{field}_id__in": ids})
    return Q(**{field: value})


def case_list(
    *,
    user: Any,
    queue: str | None = None,
    status: str | None = None,
    priority: str | None = None,
    team: Team | int | str | None = None,
    stage: Stage | int | str | None = None,
    search: str | None = None,
) -> QuerySet[Case]:
    """The cases a user sees, filtered. Queues hide closed cases unless ``status`` asks for them.

    queue: ``mine`` (assigned to the user), ``team`` (the agent's team; every team for managers),
    ``unassigned``, ``overdue`` (open or pending past ``due_at``). ``team`` / ``stage`` take an
    object, an id or a code; ``search`` matches the number, title and customer name or email.
    """
    errors: dict[str, list[Problem]] = {}
    if queue is not None and queue not in QUEUES:
        errors["queue"] = [_bad_choice(queue, QUEUES)]
    if status is not None and status not in CaseStatus.values:
        errors["status"] = [_bad_choice(status, CaseStatus.values)]
    if priority is not None and priority not in Priority.values:
        errors["priority"] = [_bad_choice(priority, Priority.values)]
    if errors:
        raise InvalidInputError(Problem(FILTER_INVALID), fields=errors)

    cases = case_visible_queryset(user).select_related(*LIST_RELATED)
    if queue is not None and status is None:
        cases = cases.exclude(status=CaseStatus.CLOSED)
    if queue == "mine":
        cases = cases.filter(assignee_id=user.pk)
    elif queue == "team":
        team_id = agent_team_id(user)
        if team_id is not None:
            cases = cases.filter(team_id=team_id)
        elif user.role not in {Role.ADMIN, Role.MANAGER}:
            cases = cases.none()
    elif queue == "unassigned":
        cases = cases.filter(assignee__isnull=True)
    elif queue == "overdue":
        cases = cases.filter(
            due_at__lt=timezone.now(), status__in=[CaseStatus.OPEN, CaseStatus.PENDING]
        )
    if status is not None:
        cases = cases.filter(status=status)
    if priority is not None:
        cases = cases.filter(priority=priority)
    if team is not None:
        cases = cases.filter(_by_pk_or_code(team, Team, "team"))
    if stage is not None:
        cases = cases.filter(_by_pk_or_code(stage, Stage, "stage"))
    if search:
        cases = cases.filter(case_search_match(search, user=user))
    return cases.order_by("-created_at", "-id")


# "SL-000042", "sl-42", "000042", "42": ASCII digits only (``str.isdigit`` also accepts "¹", "①",
# which ``int`` refuses), at most 18 of them (an id fits in 64 bits).
_CASE_NUMBER = re.compile(r"(?:SL-?)?([0-9]{1,18})", re.IGNORECASE | re.ASCII)


def case_number_of(term: str) -> str | None:
    """The case number ``term`` spells (``SL-`` and the id, six digits at least), or None."""
    found = _CASE_NUMBER.fullmatch(term)
    if found is None:
        return None
    return f"SL-{int(found[1]):06d}"


def case_search_match(search: str, *, user: Any) -> Q:
    """Cases whose number ``search`` spells, whose customer's e-mail it equals or name contains,
    or whose title or description has its words (as the full-text search reads them: a word of
    three letters or more by its beginning, Chinese by its characters); any text is a valid
    search (it may match nothing).

    Bounded at any size: the ids are found first, each kind through its own index (the unique
    number, the customer's upper-cased e-mail and trigram name, the text index) and at most
    ``SEARCH_LIMIT`` newest of each that the user may see, so a common word or a single letter
    never sorts a million cases; the list then orders and pages those ids.
    """
    term = search.replace("\x00", "").strip()  # PostgreSQL text cannot hold NUL
    if not term:
        return Q()
    ids: set[int] = set()
    number = case_number_of(term)
    if number is not None:
        ids.update(Case.objects.filter(number=number).values_list("id", flat=True))
    customer_ids: list[int] = []
    if len(term) >= 2:  # one character names nobody; no index serves it (trigrams need three)
        customers = Customer.objects.filter(Q(name__icontains=term) | Q(email__iexact=term))
        customer_ids = list(customers.order_by().values_list("id", flat=True)[:SEARCH_CUSTOMERS])
    if customer_ids:
        theirs = Case.objects.filter(customer_id__in=customer_ids).order_by("-id")
        ids.update(theirs.values_list("id", flat=True)[:SEARCH_LIMIT])
    is_address = "@" in term and not any(char.isspace() for char in term)
    terms = [] if is_address else parse_terms(term)  # an address is looked up, not read as words
    if terms:
        rows, _ = case_candidates(user, case_visible_queryset(user), terms, limit=SEARCH_LIMIT)
        ids.update(row[0] for row in rows)
    return Q(pk__in=sorted(ids))


def case_get_for_user(*, user: Any, pk: int | None = None, number: str | None = None) -> Case:
    """One case with its joins, or Http404 when it does not exist *or* the user may not see it.

    Every case page and endpoint starts here, so the read is written out (one join of the case
    and its ``LIST_RELATED`` objects); ``case_can_view`` then applies the rule that
    ``case_visible_queryset`` applies to lists.
    """
    if (pk is None) == (number is None):
        raise ValueError("give exactly one of pk or number")
    case = queries.case_by_key(pk=pk, number=number)
    if case is None or not case_can_view(user, case):
        raise Http404("No such case.")
    return case


def case_allowed_transitions(case: Case) -> list[Transition]:
    """Transitions out of the case's current stage (none once closed), in stage order."""
    if case.status == CaseStatus.CLOSED:
        return []
    return list(
        Transition.objects.filter(version_id=case.process_version_id, source_id=case.stage_id)
        .select_related("target")
        .order_by("target__order", "id")
    )


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and not value)


def case_guard_problems(case: Case) -> dict[str, list[Problem]]:
    """Why the case may not leave its current stage yet: open checklist items (under
    ``checklist``) and missing required fields (under the field's name). Empty when it may."""
    problems: dict[str, list[Problem]] = {}
    done = set(case.checklist_done or [])
    open_items = [item for item in case.stage.checklist or [] if item not in done]
    if open_items:
        problems["checklist"] = [Problem(CHECKLIST_OPEN, {"item": item}) for item in open_items]
    model_fields = {f.name: f for f in Case._meta.concrete_fields}
    for name in case.stage.required_fields or []:
        field = model_fields.get(name)
        value = getattr(case, field.attname) if field is not None else case.attributes.get(name)
        if _empty(value):
            problems[name] = [Problem(FIELD_REQUIRED)]
    return problems


def event_list_for_user(*, case: Case, user: Any) -> QuerySet[CaseEvent]:
    """Events of a case the user may see: customers get the milestones only (created, stage
    entered, status changed, reopened, closed)."""
    if not case_can_view(user, case):
        raise PermissionDeniedError(Problem(FORBIDDEN["view"]))
    events = CaseEvent.objects.filter(case=case).select_related("actor")
    if user.role == Role.CUSTOMER:
        events = events.filter(kind__in=CUSTOMER_VISIBLE_EVENTS)
    return events.order_by("timestamp", "id")


def message_list_for_user(*, case: Case, user: Any) -> QuerySet[Message]:
    """Messages of a case the user may see: customers get public replies only."""
    if not case_can_view(user, case):
        raise PermissionDeniedError(Problem(FORBIDDEN["view"]))
    messages = Message.objects.filter(case=case).select_related("author")
    if user.role == Role.CUSTOMER:
        messages = messages.filter(kind=MessageKind.PUBLIC)
    return messages.order_by("created_at", "id")


def attachment_list_for_user(*, case: Case, user: Any) -> QuerySet[Attachment]:
    """Attachments the user may see: customers get neither internal files nor those of notes."""
    if not case_can_view(user, case):
        raise PermissionDeniedError(Problem(FORBIDDEN["view"]))
    attachments = Attachment.objects.filter(case=case).select_related("uploaded_by", "message")
    if user.role == Role.CUSTOMER:
        attachments = attachments.filter(is_internal=False).exclude(
            message__kind=MessageKind.INTERNAL
        )
    return attachments.order_by("created_at", "id")


def attachment_get_for_user(*, user: Any, pk: int) -> Attachment:
    """One attachment for download, or Http404 if it does not exist or the user may not see it."""
    attachment = (
        Attachment.objects.select_related("case__customer", "message").filter(pk=pk).first()
    )
    if attachment is None:
        raise Http404("No such attachment.")
    from serviceloop.cases.permissions import attachment_can_view

    if not attachment_can_view(user, attachment):
        raise Http404("No such attachment.")
    return attachment


@dataclass(frozen=True)
class TimelineEntry:
    kind: Literal["event", "message", "attachment"]
    at: datetime
    item: CaseEvent | Message | Attachment


_ORDER = {"event": 0, "message": 1, "attachment": 2}


def case_timeline(*, case: Case, user: Any) -> list[TimelineEntry]:
    """Events, messages and attachments of a case in time order (three queries), each filtered
    to what the user may see."""
    entries = [
        TimelineEntry("event", e.timestamp, e) for e in event_list_for_user(case=case, user=user)
    ]
    entries += [
        TimelineEntry("message", m.created_at, m)
        for m in message_list_for_user(case=case, user=user)
    ]
    entries += [
        TimelineEntry("attachment", a.created_at, a)
        for a in attachment_list_for_user(case=case, user=user)
    ]
    entries.sort(key=lambda e: (e.at, _ORDER[e.kind], e.item.pk))
    return entries
