"""Escalation rules: what a policy does when one of its clocks warns or breaches.

Each action is a case event appended by the system (no actor), with ``by: "sla"``:
``notify`` -> ``escalated`` (in-app notifications and emails, ``sla.notify``: who was told);
``raise_priority`` -> ``priority_changed``; ``reassign_team`` -> ``assigned`` (to the team,
unassigned); ``move_stage`` -> ``stage_entered`` along a declared transition of the case's process
version, or ``escalated`` saying why it could not move. The caller holds the case's row lock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from serviceloop.cases.choices import CaseStatus, EventKind, Priority
from serviceloop.cases.models import Case
from serviceloop.sla.choices import Action
from serviceloop.sla.models import EscalationRule

if TYPE_CHECKING:
    from serviceloop.sla.services import Crossing

__all__ = ["PRIORITY_LADDER", "escalate"]

PRIORITY_LADDER = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]


def _base(rule: EscalationRule, crossing: Crossing) -> dict[str, Any]:
    return {
        "by": "sla",
        "trigger": crossing.trigger,
        "metric": crossing.clock.metric,
        "cycle": crossing.clock.cycle,
        "rule": rule.pk,
    }


def _append(
    case: Case, kind: EventKind, at: datetime, attributes: dict[str, Any], **kw: Any
) -> None:
    from serviceloop.cases.services._common import append_event

    append_event(case=case, kind=kind, actor=None, at=at, attributes=attributes, **kw)


def _notify(case: Case, rule: EscalationRule, crossing: Crossing, at: datetime) -> bool:
    from serviceloop.cases.services._common import code_of, username_of
    from serviceloop.sla.notify import notify_sla_crossing

    told = notify_sla_crossing(
        case=case, metric=crossing.clock.metric, trigger=crossing.trigger, at=at
    )
    attributes = _base(rule, crossing) | {
        "action": Action.NOTIFY,
        "notify": {"assignee": username_of(case.assignee), "team": code_of(case.team)},
        "notified": told,
    }
    _append(case, EventKind.ESCALATED, at, attributes)
    return False


def _raise_priority(case: Case, rule: EscalationRule, crossing: Crossing, at: datetime) -> bool:
    from serviceloop.cases.services._common import touch

    step = PRIORITY_LADDER.index(Priority(case.priority))
    if step + 1 >= len(PRIORITY_LADDER):
        return False  # already urgent: nothing changes, nothing is appended
    old, case.priority = case.priority, PRIORITY_LADDER[step + 1]
    touch(case, at, ["priority"])
    _append(
        case,
        EventKind.PRIORITY_CHANGED,
        at,
        _base(rule, crossing) | {"from": old, "to": case.priority},
    )
    return True


def _reassign_team(case: Case, rule: EscalationRule, crossing: Crossing, at: datetime) -> bool:
    from serviceloop.cases.services._common import code_of, touch, username_of

    if rule.team_id is None or case.team_id == rule.team_id:
        return False
    old_team, old_assignee = case.team, case.assignee
    case.team, case.assignee = rule.team, None
    touch(case, at, ["team", "assignee"])
    _append(
        case,
        EventKind.ASSIGNED,
        at,
        _base(rule, crossing)
        | {
            "assignee": None,
            "from_assignee": username_of(old_assignee),
            "team": code_of(rule.team),
            "from_team": code_of(old_team),
        },
    )
    return True


def _move_stage(case: Case, rule: EscalationRule, crossing: Crossing, at: datetime) -> bool:
    from serviceloop.cases.process_graph import stage_by_code, transition_between
    from serviceloop.cases.services._common import code_of, due_for_stage, stage_activity, touch

    attributes = _base(rule, crossing) | {
        "from_stage": case.stage.code,
        "to_stage": rule.stage_code,
    }
    target = stage_by_code(version_id=case.process_version_id, code=rule.stage_code)
    if target is None or target.pk == case.stage_id:
        return False
    transition = transition_between(
        version_id=case.process_version_id, source_id=case.stage_id, target_id=target.pk
    )
    if transition is None or target.is_end or case.status == CaseStatus.CLOSED:
        reason = "no transition" if transition is None else "not to an end stage"
        _append(
            case,
            EventKind.ESCALATED,
            at,
            attributes | {"action": Action.MOVE_STAGE, "moved": False, "reason": reason},
        )
        return False
    attributes["transition_kind"] = transition.kind
    case.stage, case.stage_entered_at, case.checklist_done = target, at, []
    case.due_at = due_for_stage(target, at)
    fields = ["stage", "stage_entered_at", "checklist_done", "due_at"]
    if target.responsible_team_id is not None and target.responsible_team_id != case.team_id:
        attributes["team"] = {"from": code_of(case.team), "to": code_of(target.responsible_team)}
        case.team, case.assignee = target.responsible_team, None
        fields += ["team", "assignee"]
    touch(case, at, fields)
    _append(case, EventKind.STAGE_ENTERED, at, attributes, activity=stage_activity(target))
    return True


_ACTIONS: dict[str, Callable[[Case, EscalationRule, Crossing, datetime], bool]] = {
    Action.NOTIFY: _notify,
    Action.RAISE_PRIORITY: _raise_priority,
    Action.REASSIGN_TEAM: _reassign_team,
    Action.MOVE_STAGE: _move_stage,
}


def escalate(*, case: Case, crossings: Sequence[Crossing], at: datetime) -> bool:
    """Run the rules of each crossing's policy, in order; True when the case itself changed."""
    changed = False
    for crossing in crossings:
        policy = crossing.clock.policy
        if policy is None:
            continue
        for rule in policy.escalations.all():
            if rule.trigger == crossing.trigger and rule.metric in ("", crossing.clock.metric):
                changed |= _ACTIONS[rule.action](case, rule, crossing, at)
    return changed
