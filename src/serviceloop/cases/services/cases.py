"""Services that create a case and change its state.

Every service locks the case row, checks the actor's rights, bumps ``Case.version`` and appends one
``CaseEvent`` per change in the same transaction. Design rules (docs in ``services/__init__``):

- ``case_create`` is the one service that appends several events: ``created``, ``stage_entered`` of
  the start stage and, when routing found an agent, ``assigned``.
- A transition appends exactly one event: ``stage_entered`` (activity = stage name) with
  ``transition_kind`` forward / rework / escalation, or ``closed`` (activity = end stage name) when
  the target is an end stage. A re-route to another team travels in that same event's attributes.
- ``escalated`` is kept for explicit escalations that do not move the case (``case_escalate``).
- ``case_update`` appends one event per changed field (``priority_changed`` or ``field_changed``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db import transaction

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import AgentProfile, User
from serviceloop.cases import queries
from serviceloop.cases.choices import CaseStatus, Channel, EventKind, Priority
from serviceloop.cases.exceptions import (
    MSG_AGENT_SELF_ONLY,
    MSG_ASSIGNEE_NOT_STAFF,
    MSG_ATTRIBUTE_NAME,
    MSG_ATTRIBUTE_VALUE,
    MSG_ATTRIBUTES_NOT_OBJECT,
    MSG_BAD_CHOICE,
    MSG_BAD_STATUS,
    MSG_CASE_CLOSED,
    MSG_DESCRIPTION_REQUIRED,
    MSG_GUARDS_FAILED,
    MSG_NO_DEFAULT_PROCESS,
    MSG_NO_START_STAGE,
    MSG_NOT_A_CHECKLIST_ITEM,
    MSG_NOT_REOPENABLE,
    MSG_TITLE_REQUIRED,
    MSG_TITLE_TOO_LONG,
    MSG_TRANSITION_NOT_ALLOWED,
    MSG_UNKNOWN_FIELD,
    MSG_VERSION_NOT_PUBLISHED,
    ConflictError,
    GuardFailedError,
    InvalidInputError,
    PermissionDeniedError,
    TransitionNotAllowedError,
)
from serviceloop.cases.models import Case, CaseEvent, Category
from serviceloop.cases.permissions import (
    agent_team_id,
    case_can_change,
    case_can_transition,
)
from serviceloop.cases.process_graph import transition_between
from serviceloop.cases.routing import route_for_stage
from serviceloop.cases.selectors import case_guard_problems
from serviceloop.cases.services._common import (
    append_event,
    build_event,
    deny,
    due_for_stage,
    lock_case,
    now_or,
    stage_activity,
)
from serviceloop.customers.models import Customer
from serviceloop.processes.choices import VersionStatus
from serviceloop.processes.models import ProcessVersion, Stage

__all__ = [
    "case_assign",
    "case_check_item",
    "case_create",
    "case_escalate",
    "case_reopen",
    "case_set_status",
    "case_transition",
    "case_update",
]

TITLE_MAX = Case._meta.get_field("title").max_length or 200
UPDATABLE_FIELDS = ("title", "description", "priority", "category", "attributes")
SETTABLE_STATUSES = (CaseStatus.OPEN, CaseStatus.PENDING, CaseStatus.RESOLVED)


# --- validation helpers ------------------------------------------------------------------------


def _choice_error(value: object, choices: type[Priority] | type[Channel]) -> str:
    return MSG_BAD_CHOICE.format(value=value, choices=", ".join(choices.values))


def _clean_title(title: object, errors: dict[str, list[str]]) -> str:
    text = title.strip() if isinstance(title, str) else ""
    if not text:
        errors.setdefault("title", []).append(MSG_TITLE_REQUIRED)
    elif len(text) > TITLE_MAX:
        errors.setdefault("title", []).append(MSG_TITLE_TOO_LONG.format(max=TITLE_MAX))
    return text


def _clean_description(description: object, errors: dict[str, list[str]]) -> str:
    text = description.strip() if isinstance(description, str) else ""
    if not text:
        errors.setdefault("description", []).append(MSG_DESCRIPTION_REQUIRED)
    return text


def _clean_attributes(attributes: object, errors: dict[str, list[str]]) -> dict[str, Any]:
    if attributes is None:
        return {}
    if not isinstance(attributes, dict):
        errors.setdefault("attributes", []).append(MSG_ATTRIBUTES_NOT_OBJECT)
        return {}
    for key in attributes:
        if not isinstance(key, str) or not key.strip() or len(key) > 50:
            errors.setdefault("attributes", []).append(MSG_ATTRIBUTE_NAME)
            break
    try:
        json.dumps(attributes, allow_nan=False)
    except (TypeError, ValueError):
        errors.setdefault("attributes", []).append(MSG_ATTRIBUTE_VALUE)
    return dict(attributes)


def _resolve_category(value: object, errors: dict[str, list[str]]) -> Category | None:
    """A Category, its code or its id, or None."""
    if value is None or value == "":
        return None
    if isinstance(value, Category):
        return value
    found: Category | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        found = queries.category_by_id(value)
    elif isinstance(value, str):
        found = queries.category_by_code(value)
    if found is None:
        errors.setdefault("category", []).append(f"Unknown category {value!r}.")
    return found


def _username(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def _code(obj: Any) -> str | None:
    return obj.code if obj is not None else None


def _touch(case: Case, at: datetime, fields: list[str]) -> None:
    """Save the changed fields together with the version bump and ``updated_at``."""
    case.version += 1
    case.updated_at = at
    queries.case_save(case, [*fields, "version", "updated_at"])


def _require_active_actor(actor: Any, action: str) -> None:
    if actor is None or not getattr(actor, "is_active", False):
        raise deny(action)


# --- create ------------------------------------------------------------------------------------


def case_create(
    *,
    actor: User | None,
    customer: Customer,
    title: str,
    description: str,
    channel: str,
    category: Category | str | int | None = None,
    priority: str = Priority.NORMAL,
    attributes: dict[str, Any] | None = None,
    process_version: ProcessVersion | None = None,
    at: datetime | None = None,
) -> Case:
    """Open a case on the start stage of its process version and route it.

    ``actor`` None means a system intake (e.g. email); a customer may only open cases for themself.
    Appends ``created``, ``stage_entered`` and, if routing found an agent, ``assigned``.
    """
    at = now_or(at)
    if actor is not None:
        _require_active_actor(actor, "create")
        if actor.role == Role.CUSTOMER and customer.user_id != actor.pk:
            raise deny("create")
    errors: dict[str, list[str]] = {}
    title = _clean_title(title, errors)
    description = _clean_description(description, errors)
    if priority not in Priority.values:
        errors.setdefault("priority", []).append(_choice_error(priority, Priority))
    if channel not in Channel.values:
        errors.setdefault("channel", []).append(_choice_error(channel, Channel))
    attrs = {k: v for k, v in _clean_attributes(attributes, errors).items() if v is not None}
    category_obj = _resolve_category(category, errors)
    start = (
        queries.start_stage_of_version(process_version.pk)
        if process_version is not None
        else queries.start_stage_of_default_process()
    )
    version = start.version if start is not None else process_version
    if version is None:
        errors.setdefault("process_version", []).append(MSG_NO_DEFAULT_PROCESS)
    elif version.status != VersionStatus.PUBLISHED:
        errors.setdefault("process_version", []).append(MSG_VERSION_NOT_PUBLISHED)
    elif start is None:
        errors.setdefault("process_version", []).append(MSG_NO_START_STAGE)
    if errors:
        raise InvalidInputError("Invalid case.", {"fields": errors})
    assert version is not None and start is not None

    # Everything above only reads, so the transaction can fail only on a database error; inside a
    # caller's transaction (the API's idempotency record) it then needs no savepoint of its own.
    with transaction.atomic(savepoint=False):
        route = route_for_stage(stage=start, category=category_obj, at=at)
        case = Case(
            title=title,
            description=description,
            customer=customer,
            channel=channel,
            category=category_obj,
            priority=priority,
            process_version=version,
            stage=start,
            status=CaseStatus.OPEN,
            team=start.responsible_team,
            assignee=route.agent.user if route.agent is not None else None,
            attributes=attrs,
            checklist_done=[],
            stage_entered_at=at,
            due_at=due_for_stage(start, at),
            created_at=at,
            updated_at=at,
        )
        queries.case_insert(case)  # numbered by the database

        events = [
            build_event(
                case=case,
                kind=EventKind.CREATED,
                actor=actor,
                at=at,
                attributes={
                    "number": case.number,
                    "channel": channel,
                    "priority": priority,
                    "category": _code(category_obj),
                    "process": version.process.code,
                    "process_version": version.number,
                    "customer": customer.pk,
                },
            ),
            build_event(
                case=case,
                kind=EventKind.STAGE_ENTERED,
                actor=actor,
                at=at,
                activity=stage_activity(start),
                attributes={"from_stage": None, "to_stage": start.code, "transition_kind": "start"},
            ),
        ]
        if route.agent is not None:
            events.append(
                build_event(
                    case=case,
                    kind=EventKind.ASSIGNED,
                    actor=actor,
                    at=at,
                    attributes={
                        "assignee": _username(route.agent.user),
                        "from_assignee": None,
                        "team": _code(route.team),
                        "skill": _code(route.skill),
                        "by": "routing",
                    },
                )
            )
        queries.events_insert(events)
        return case


# --- transition --------------------------------------------------------------------------------


@transaction.atomic
def case_transition(
    *,
    case: Case,
    to_stage: Stage,
    actor: User,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Case:
    """Move the case along a transition of its own process version, if the guards hold.

    Raises TransitionNotAllowedError / StaleVersionError (409) for state problems and
    GuardFailedError (422, field -> reasons) for unmet checklist items and required fields.
    """
    at = now_or(at)
    locked = lock_case(case, expected_version=expected_version)
    if not case_can_transition(actor, locked):
        raise deny("move")
    if locked.status == CaseStatus.CLOSED:
        raise ConflictError(MSG_CASE_CLOSED)
    transition = transition_between(
        version_id=locked.process_version_id, source_id=locked.stage_id, target_id=to_stage.pk
    )
    if transition is None:
        raise TransitionNotAllowedError(
            MSG_TRANSITION_NOT_ALLOWED.format(
                source=locked.stage.code, target=getattr(to_stage, "code", to_stage)
            )
        )
    problems = case_guard_problems(locked)
    if problems:
        raise GuardFailedError(
            MSG_GUARDS_FAILED.format(stage=locked.stage.code), {"fields": problems}
        )

    source, target = locked.stage, transition.target
    attributes: dict[str, Any] = {
        "from_stage": source.code,
        "to_stage": target.code,
        "transition_kind": transition.kind,
    }
    locked.stage = target
    locked.stage_entered_at = at
    locked.checklist_done = []
    locked.due_at = due_for_stage(target, at)
    fields = ["stage", "stage_entered_at", "checklist_done", "due_at"]
    kind = EventKind.STAGE_ENTERED
    if target.is_end:
        kind = EventKind.CLOSED
        attributes["from_status"] = locked.status
        locked.status = CaseStatus.CLOSED
        locked.closed_at = at
        fields += ["status", "closed_at"]
    elif target.responsible_team_id is not None and target.responsible_team_id != locked.team_id:
        route = route_for_stage(stage=target, category=locked.category, at=at)
        new_assignee = route.agent.user if route.agent is not None else None
        attributes["team"] = {"from": _code(locked.team), "to": _code(route.team)}
        attributes["assignee"] = {"from": _username(locked.assignee), "to": _username(new_assignee)}
        locked.team = route.team
        locked.assignee = new_assignee
        fields += ["team", "assignee"]
    _touch(locked, at, fields)
    append_event(
        case=locked,
        kind=kind,
        actor=actor,
        at=at,
        activity=stage_activity(target),
        attributes=attributes,
    )
    return locked


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
    _require_active_actor(actor, "assign")
    if locked.status == CaseStatus.CLOSED:
        raise ConflictError(MSG_CASE_CLOSED)
    if actor.role in {Role.ADMIN, Role.MANAGER}:
        if assignee is not None and (assignee.role == Role.CUSTOMER or not assignee.is_active):
            raise InvalidInputError.for_field("assignee", MSG_ASSIGNEE_NOT_STAFF)
    elif actor.role == Role.AGENT:
        team_id = agent_team_id(actor)
        if (
            assignee is None
            or assignee.pk != actor.pk
            or locked.assignee_id is not None
            or team_id is None
            or locked.team_id != team_id
        ):
            raise PermissionDeniedError(MSG_AGENT_SELF_ONLY)
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
    _touch(locked, at, fields)
    append_event(
        case=locked,
        kind=EventKind.ASSIGNED,
        actor=actor,
        at=at,
        attributes={
            "assignee": _username(assignee),
            "from_assignee": _username(old),
            "team": _code(locked.team),
            "by": "manual",
        },
    )
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
        raise ConflictError(MSG_CASE_CLOSED)
    errors: dict[str, list[str]] = {}
    unknown = [key for key in changes if key not in UPDATABLE_FIELDS]
    for key in unknown:
        errors.setdefault(key, []).append(MSG_UNKNOWN_FIELD)
    new: dict[str, Any] = {}
    if "title" in changes:
        new["title"] = _clean_title(changes["title"], errors)
    if "description" in changes:
        new["description"] = _clean_description(changes["description"], errors)
    if "priority" in changes:
        if changes["priority"] not in Priority.values:
            errors.setdefault("priority", []).append(_choice_error(changes["priority"], Priority))
        new["priority"] = changes["priority"]
    if "category" in changes:
        new["category"] = _resolve_category(changes["category"], errors)
    if "attributes" in changes:
        new["attributes"] = _clean_attributes(changes["attributes"], errors)
    if errors:
        raise InvalidInputError("Invalid changes.", {"fields": errors})

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
                    {"field": "category", "old": _code(locked.category), "new": _code(category)},
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
    _touch(locked, at, fields)
    for kind, attrs in events:
        append_event(case=locked, kind=kind, actor=actor, at=at, attributes=attrs)
    return locked


@transaction.atomic
def case_check_item(
    *,
    case: Case,
    actor: User,
    item: str,
    checked: bool = True,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Case:
    """Tick (or untick) a checklist item of the current stage; ticking twice changes nothing."""
    at = now_or(at)
    locked = lock_case(case, expected_version=expected_version)
    if not case_can_change(actor, locked):
        raise deny("change")
    if locked.status == CaseStatus.CLOSED:
        raise ConflictError(MSG_CASE_CLOSED)
    if item not in (locked.stage.checklist or []):
        raise InvalidInputError.for_field(
            "item", MSG_NOT_A_CHECKLIST_ITEM.format(item=item, stage=locked.stage.code)
        )
    done = list(locked.checklist_done or [])
    if (item in done) == checked:
        return locked
    if checked:
        done.append(item)
    else:
        done.remove(item)
    locked.checklist_done = done
    _touch(locked, at, ["checklist_done"])
    append_event(
        case=locked,
        kind=EventKind.CHECKLIST_CHECKED,
        actor=actor,
        at=at,
        attributes={"item": item, "checked": checked, "stage": locked.stage.code},
    )
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
        raise InvalidInputError.for_field("status", MSG_BAD_STATUS)
    locked = lock_case(case, expected_version=expected_version)
    if not case_can_change(actor, locked):
        raise deny("change")
    if locked.status == CaseStatus.CLOSED:
        raise ConflictError(MSG_CASE_CLOSED)
    if locked.status == status:
        return locked
    old = locked.status
    locked.status = status
    _touch(locked, at, ["status"])
    append_event(
        case=locked,
        kind=EventKind.STATUS_CHANGED,
        actor=actor,
        at=at,
        attributes={"from": old, "to": status},
    )
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
        raise ConflictError(MSG_NOT_REOPENABLE)
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
        raise ConflictError(MSG_NOT_REOPENABLE)
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
    _touch(locked, at, fields)
    append_event(case=locked, kind=EventKind.REOPENED, actor=actor, at=at, attributes=attributes)
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
        raise InvalidInputError.for_field("reason", "Say why the case is escalated.")
    locked = lock_case(case, expected_version=expected_version)
    if actor is not None and not case_can_change(actor, locked):
        raise deny("escalate")
    if locked.status == CaseStatus.CLOSED:
        raise ConflictError(MSG_CASE_CLOSED)
    level = CaseEvent.objects.filter(case=locked, kind=EventKind.ESCALATED).count() + 1
    _touch(locked, at, [])
    append_event(
        case=locked,
        kind=EventKind.ESCALATED,
        actor=actor,
        at=at,
        attributes={"reason": reason, "level": level, "stage": locked.stage.code},
    )
    return locked
