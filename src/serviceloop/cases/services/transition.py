"""Moving a case through its process version: ticking the current stage's checklist and taking a
transition when the stage's guards hold. A transition appends exactly one event: ``stage_entered``
(activity = stage name, ``transition_kind`` forward / rework / escalation) or ``closed`` when the
target is an end stage; a re-route to another team travels in that same event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from serviceloop.accounts.models import User
from serviceloop.cases.choices import CaseStatus, EventKind
from serviceloop.cases.exceptions import (
    CASE_CLOSED,
    GUARDS_FAILED,
    NOT_A_CHECKLIST_ITEM,
    TRANSITION_NOT_ALLOWED,
    ConflictError,
    GuardFailedError,
    InvalidInputError,
    Problem,
    TransitionNotAllowedError,
)
from serviceloop.cases.models import Case
from serviceloop.cases.permissions import (
    case_can_change,
    case_can_transition,
)
from serviceloop.cases.process_graph import transition_between
from serviceloop.cases.routing import route_for_stage
from serviceloop.cases.selectors import case_guard_problems
from serviceloop.cases.services._common import (
    append_event,
    code_of,
    deny,
    due_for_stage,
    lock_case,
    now_or,
    stage_activity,
    touch,
    username_of,
)
from serviceloop.core.messages import Named
from serviceloop.processes.models import Stage
from serviceloop.sla.services import sla_clocks_sync

__all__ = ["case_check_item", "case_transition"]

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
        raise ConflictError(Problem(CASE_CLOSED))
    transition = transition_between(
        version_id=locked.process_version_id, source_id=locked.stage_id, target_id=to_stage.pk
    )
    if transition is None:
        raise TransitionNotAllowedError(
            Problem(
                TRANSITION_NOT_ALLOWED,
                {"source": Named.of(locked.stage), "target": Named.of(to_stage)},
            )
        )
    problems = case_guard_problems(locked)
    if problems:
        raise GuardFailedError(
            Problem(GUARDS_FAILED, {"stage": Named.of(locked.stage)}), fields=problems
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
        attributes["team"] = {"from": code_of(locked.team), "to": code_of(route.team)}
        attributes["assignee"] = {
            "from": username_of(locked.assignee),
            "to": username_of(new_assignee),
        }
        locked.team = route.team
        locked.assignee = new_assignee
        fields += ["team", "assignee"]
    touch(locked, at, fields)
    append_event(
        case=locked,
        kind=kind,
        actor=actor,
        at=at,
        activity=stage_activity(target),
        attributes=attributes,
    )
    sla_clocks_sync(case=locked, at=at)
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
        raise ConflictError(Problem(CASE_CLOSED))
    if item not in (locked.stage.checklist or []):
        raise InvalidInputError.for_field(
            "item", Problem(NOT_A_CHECKLIST_ITEM, {"item": item, "stage": Named.of(locked.stage)})
        )
    done = list(locked.checklist_done or [])
    if (item in done) == checked:
        return locked
    if checked:
        done.append(item)
    else:
        done.remove(item)
    locked.checklist_done = done
    touch(locked, at, ["checklist_done"])
    append_event(
        case=locked,
        kind=EventKind.CHECKLIST_CHECKED,
        actor=actor,
        at=at,
        attributes={"item": item, "checked": checked, "stage": locked.stage.code},
    )
    return locked
