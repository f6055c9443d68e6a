"""Every way a case changes. Each service is keyword-only, runs in one transaction, locks the case
row, checks the actor's rights, bumps ``Case.version`` and appends its event(s) in that transaction.

Event rules (what analytics can rely on):

- One mutation, one event. The exception is ``case_create``: ``created``, ``stage_entered`` (the
  start stage) and, when routing picked an agent, ``assigned``.
- ``case_transition`` appends ``stage_entered`` (activity = the stage's English name) with
  ``from_stage``, ``to_stage`` and ``transition_kind`` (forward / rework / escalation), or ``closed``
  (activity = the end stage's name, same attributes) when the target is an end stage. So the
  stage-level view of the log is ``kind in (stage_entered, closed)``. A re-route to another team is
  part of the transition and travels in that event (``team``, ``assignee``: from/to).
- ``escalated`` is appended only by ``case_escalate``: an escalation that does not move the case.
- ``case_update`` appends one event per changed field (``priority_changed``, ``field_changed``).
- ``message_add`` appends one event for the message and its files; a customer reply that reopens a
  pending/resolved case records the status change in that same event.
- ``case_reopen`` appends ``reopened`` (from/to status and stage).
- Services that change nothing (same value, item already ticked) append nothing.
- Every service accepts ``at`` (aware datetime) so history can be replayed through the same rules.
"""

from serviceloop.cases.services.creation import case_create
from serviceloop.cases.services.lifecycle import (
    case_assign,
    case_escalate,
    case_reopen,
    case_set_status,
    case_update,
)
from serviceloop.cases.services.messages import attachment_add, message_add
from serviceloop.cases.services.transition import case_check_item, case_transition

__all__ = [
    "attachment_add",
    "case_assign",
    "case_check_item",
    "case_create",
    "case_escalate",
    "case_reopen",
    "case_set_status",
    "case_transition",
    "case_update",
    "message_add",
]
