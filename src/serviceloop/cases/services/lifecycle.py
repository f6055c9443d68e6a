"""A case's life between transitions: assignment, field changes, status, reopening and
escalations that do not move it. ``case_update`` appends one event per changed field
(``priority_changed`` or ``field_changed``); ``escalated`` records an escalation in place."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import AgentProfile, User
from serviceloop.cases.choices import CaseStatus, EventKind, Priority
from serviceloop.cases.exceptions import (
    AGENT_SELF_ONLY,
    ASSIGNEE_NOT_STAFF,
    CASE_CLOSED,
    CASE_NOT_REOPENABLE,
    CHANGES_INVALID,
    ESCALATION_REASON_REQUIRED,
    FIELD_NOT_UPDATABLE,
    STATUS_NOT_SETTABLE,
    ConflictError,
    InvalidInputError,
    PermissionDeniedError,
    Problem,
)
from serviceloop.cases.models import Case, CaseEvent
from serviceloop.cases.permissions import (
    agent_team_id,
    case_can_change,
)
from serviceloop.cases.services._common import (
    append_event,
    code_of,
    deny,
    due_for_stage,
    lock_case,
    now_or,
    require_active_actor,
    touch,
    username_of,
)
from serviceloop.cases.services._validation import (
    Errors,
    choice_error,
    clean_attributes,
    clean_description,
    clean_title,
    resolve_category,
)
from serviceloop.processes.models import Stage
from serviceloop.sla.services import sla_clocks_sync

__all__ = ["case_assign", "case_escalate", "case_reopen", "case_set_status", "case_update"]

UPDATABLE_FIELDS = ("title", "description", "priority", "category", "attributes")
SETTABLE_STATUSES = (CaseStatus.OPEN, CaseStatus.PENDING, CaseStatus.RESOLVED)

# --- assignment --------------------------------------------------------------------------------


@transaction.atomic
def case_assign(
    *,
    case: Case,
    assignee: User | None,
    actor: User,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Case:
    """Managers (re)assign to any staff member (the case follows the agent's team) or unassign;
    an agent may only take an unassigned case of their own team for themself."""
    at = now_or(at)
    locked = lock_case(case, expected_version=expected_version)
    require_active_actor(actor, "assign")
    if locked.status == CaseStatus.CLOSED:
        raise ConflictError(Problem(CASE_CLOSED))
    if actor.role in {Role.ADMIN, Role.MANAGER}:
        if assignee is not None and (assignee.role == Role.CUSTOMER or not assignee.is_active):
            raise InvalidInputError.for_field("assignee", Problem(ASSIGNEE_NOT_STAFF))
    elif actor.role == Role.AGENT:
        team_id = agent_team_id(actor)
        if (
            assignee is None
            or assignee.pk != actor.pk
            or locked.assignee_id is not None
            or team_id is None
            or locked.team_id != team_id
        ):
            raise PermissionDeniedError(Problem(AGENT_SELF_ONLY))
    else:
        raise deny("assign")
    if (assignee.pk if assignee else None) == locked.assignee_id:
        return locked

    old = locked.assignee
    locked.assignee = assignee
    fields = ["assignee"]
    if assignee is not None:
        profile = AgentProfile.objects.filter(user=assignee).select_related("team").first()
        if profile is not None and profile.team_id != locked.team_id:
            locked.team = profile.team
            fields.append("team")
    touch(locked, at, fields)
    append_event(
        case=locked,
        kind=EventKind.ASSIGNED,
        actor=actor,
        at=at,
        attributes={
            "assignee": username_of(assignee),
            "from_assignee": username_of(old),
            "team": code_of(locked.team),
            "by": "manual",
        },
    )
    sla_clocks_sync(case=locked, at=at)  # another team may work on another calendar
    return locked


# --- field changes -----------------------------------------------------------------------------


@transaction.atomic
def case_update(
    *,
    case: Case,
    actor: User,
    changes: dict[str, Any],
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Case:
    """Change title, description, priority, category and/or custom attributes.

    ``attributes`` merges into the existing ones (a None value removes the key). One event per
    changed field: ``priority_changed`` for priority, ``field_changed`` otherwise; unchanged fields
    append nothing. All fields are validated before anything is written.
    """
    at = now_or(at)
    locked = lock_case(case, expected_version=expected_version)
    if not case_can_change(actor, locked):
        raise deny("change")
    if locked.status == CaseStatus.CLOSED:
        raise ConflictError(Problem(CASE_CLOSED))
    errors: Errors = {}
    unknown = [key for key in changes if key not in UPDATABLE_FIELDS]
    for key in unknown:
        errors.setdefault(key, []).append(Problem(FIELD_NOT_UPDATABLE))
    new: dict[str, Any] = {}
    if "title" in changes:
        new["title"] = clean_title(changes["title"], errors)
    if "description" in changes:
        new["description"] = clean_description(changes["description"], errors)
    if "priority" in changes:
        if changes["priority"] not in Priority.values:
            errors.setdefault("priority", []).append(choice_error(changes["priority"], Priority))
        new["priority"] = changes["priority"]
    if "category" in changes:
        new["category"] = resolve_category(changes["category"], errors)
    if "attributes" in changes:
        new["attributes"] = clean_attributes(changes["attributes"], errors)
    if errors:
        raise InvalidInputError(Problem(CHANGES_INVALID), fields=errors)

    events: list[tuple[EventKind, dict[str, Any]]] = []
    fields: list[str] = []
    for name in ("title", "description"):
        if name in new and new[name] != getattr(locked, name):
            attrs: dict[str, Any] = {"field": name}
            if name == "title":
                attrs |= {"old": locked.title, "new": new[name]}
            setattr(locked, name, new[name])
            fields.append(name)
            events.append((EventKind.FIELD_CHANGED, attrs))
    if "priority" in new and new["priority"] != locked.priority:
        events.append(
            (EventKind.PRIORITY_CHANGED, {"from": locked.priority, "to": new["priority"]})
        )
        locked.priority = new["priority"]
        fields.append("priority")
    if "category" in new:
        category = new["category"]
        if (category.pk if category else None) != locked.category_id:
            events.append(
                (
                    EventKind.FIELD_CHANGED,
                    {
                        "field": "category",
                        "old": code_of(locked.category),
                        "new": code_of(category),
                    },
                )
            )
            locked.category = category
            fields.append("category")
    if "attributes" in new:
        merged = dict(locked.attributes)
        old_values: dict[str, Any] = {}
        new_values: dict[str, Any] = {}
        for key, value in new["attributes"].items():
            if merged.get(key) == value and (value is not None or key not in merged):
                continue
            if value is None and key not in merged:
                continue
            old_values[key] = merged.get(key)
            new_values[key] = value
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        if new_values:
            events.append(
                (
                    EventKind.FIELD_CHANGED,
                    {"field": "attributes", "old": old_values, "new": new_values},
                )
            )
            locked.attributes = merged
            fields.append("attributes")
    if not events:
        return locked
    touch(locked, at, fields)
    for kind, attrs in events:
        append_event(case=locked, kind=kind, actor=actor, at=at, attributes=attrs)
    sla_clocks_sync(case=locked, at=at)  # priority or category may select another policy
    return locked


# --- status ------------------------------------------------------------------------------------


@transaction.atomic
def case_set_status(
    *,
    case: Case,
    actor: User,
    status: str,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Case:
    """Set open / pending / resolved; a case closes only by entering an end stage."""
    at = now_or(at)
    if status not in SETTABLE_STATUSES:
        raise InvalidInputError.for_field("status", Problem(STATUS_NOT_SETTABLE))
    locked = lock_case(case, expected_version=expected_version)
    if not case_can_change(actor, locked):
        raise deny("change")
    if locked.status == CaseStatus.CLOSED:
        raise ConflictError(Problem(CASE_CLOSED))
    if locked.status == status:
        return locked
    old = locked.status
    locked.status = status
    touch(locked, at, ["status"])
    append_event(
        case=locked,
        kind=EventKind.STATUS_CHANGED,
        actor=actor,
        at=at,
        attributes={"from": old, "to": status},
    )
    sla_clocks_sync(case=locked, at=at)  # pending pauses the clocks, resolved stops them
    return locked


def _stage_before_close(case: Case) -> Stage:
    """The stage a closed case came from: the ``from_stage`` of its last ``closed`` event, else
    the latest-ordered stage with a transition into the current end stage."""
    last_close = (
        CaseEvent.objects.filter(case=case, kind=EventKind.CLOSED)
        .order_by("-timestamp", "-id")
        .first()
    )
    stages = Stage.objects.filter(version_id=case.process_version_id).select_related(
        "responsible_team", "required_skill"
    )
    if last_close is not None:
        found = stages.filter(code=last_close.attributes.get("from_stage")).first()
        if found is not None:
            return found
    found = (
        stages.filter(outgoing__target_id=case.stage_id, is_end=False).order_by("-order").first()
    )
    if found is None:
        raise ConflictError(Problem(CASE_NOT_REOPENABLE))
    return found


@transaction.atomic
def case_reopen(
    *,
    case: Case,
    actor: User,
    reason: str = "",
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Case:
    """Reopen a resolved or closed case (status open).

    A closed case goes back to the stage it closed from (the checklist starts again); a resolved one
    stays where it is. One ``reopened`` event carries from/to status and stage.
    """
    at = now_or(at)
    locked = lock_case(case, expected_version=expected_version)
    if not case_can_change(actor, locked):
        raise deny("reopen")
    if locked.status not in {CaseStatus.RESOLVED, CaseStatus.CLOSED}:
        raise ConflictError(Problem(CASE_NOT_REOPENABLE))
    attributes: dict[str, Any] = {
        "from_status": locked.status,
        "from_stage": locked.stage.code,
        "reason": reason.strip(),
    }
    fields = ["status"]
    if locked.status == CaseStatus.CLOSED:
        back = _stage_before_close(locked)
        locked.stage = back
        locked.stage_entered_at = at
        locked.checklist_done = []
        locked.due_at = due_for_stage(back, at)
        locked.closed_at = None
        fields += ["stage", "stage_entered_at", "checklist_done", "due_at", "closed_at"]
    attributes["to_stage"] = locked.stage.code
    locked.status = CaseStatus.OPEN
    touch(locked, at, fields)
    append_event(case=locked, kind=EventKind.REOPENED, actor=actor, at=at, attributes=attributes)
    sla_clocks_sync(case=locked, at=at)
    return locked


@transaction.atomic
def case_escalate(
    *,
    case: Case,
    actor: User | None,
    reason: str,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Case:
    """Record an escalation that does not move the case (e.g. an SLA breach escalated to a
    manager). Escalations that move the case are transitions of kind ``escalation``.
    ``actor`` None means the system (the SLA worker)."""
    at = now_or(at)
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise InvalidInputError.for_field("reason", Problem(ESCALATION_REASON_REQUIRED))
    locked = lock_case(case, expected_version=expected_version)
    if actor is not None and not case_can_change(actor, locked):
        raise deny("escalate")
    if locked.status == CaseStatus.CLOSED:
        raise ConflictError(Problem(CASE_CLOSED))
    level = CaseEvent.objects.filter(case=locked, kind=EventKind.ESCALATED).count() + 1
    touch(locked, at, [])
    append_event(
        case=locked,
        kind=EventKind.ESCALATED,
        actor=actor,
        at=at,
        attributes={"reason": reason, "level": level, "stage": locked.stage.code},
    )
    return locked
