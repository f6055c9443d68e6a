"""Bulk actions on the queue: assign, change priority, move, close the selected cases.

Each case goes through the same look-up (``case_get_for_user``: a case the user may not see is
"not found", never touched) and the same service as on its own page, in its own transaction, so
one refusal (a move the case's process does not allow, an unticked checklist) stops that case only
and is reported with its number and reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from serviceloop.accounts.models import User
from serviceloop.cases.choices import Priority
from serviceloop.cases.models import Case
from serviceloop.cases.selectors import case_allowed_transitions, case_get_for_user
from serviceloop.cases.services import case_assign, case_transition, case_update
from serviceloop.cases.views._common import signed_in
from serviceloop.cases.views.workspace import _assignees, _error_text, staff_required
from serviceloop.core.exceptions import ApplicationError

__all__ = ["BULK_ACTIONS", "MAX_BULK", "BulkOutcome", "bulk_apply", "queue_bulk_view"]

BULK_ACTIONS = ("assign", "priority", "move", "close")
MAX_BULK = 100


@dataclass
class BulkOutcome:
    done: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (number, reason)


class _Refusal(Exception):
    pass


def _one(case: Case, *, action: str, value: str, actor: User) -> None:
    if action == "assign":
        if value == "me":
            assignee: Any = actor
        else:
            if not getattr(actor, "is_manager", False):
                raise _Refusal(_("Only managers assign cases to others."))
            assignee = _assignees().filter(pk=int(value) if value.isdigit() else 0).first()
            if assignee is None:
                raise _Refusal(_("Choose an agent to assign the case to."))
        case_assign(case=case, assignee=assignee, actor=actor)
    elif action == "priority":
        if value not in Priority.values:
            raise _Refusal(_("Choose a priority."))
        case_update(case=case, actor=actor, changes={"priority": value})
    elif action in {"move", "close"}:
        allowed = case_allowed_transitions(case)
        if action == "move":
            targets = [t.target for t in allowed if t.target.code == value]
            if not targets:
                names = ", ".join(t.target.display_name for t in allowed) or _("none")
                raise _Refusal(
                    _(
                        "Its process allows no move from “%(stage)s” to that stage (allowed: %(to)s)."
                    )
                    % {"stage": case.stage.display_name, "to": names}
                )
        else:
            targets = [t.target for t in allowed if t.target.is_end]
            if not targets:
                raise _Refusal(
                    _("“%(stage)s” has no transition to an end stage.")
                    % {"stage": case.stage.display_name}
                )
        case_transition(case=case, to_stage=targets[0], actor=actor)


def bulk_apply(*, user: User, numbers: list[str], action: str, value: str) -> BulkOutcome:
    """Apply ``action`` to each case in turn; every case is looked up as the user sees it."""
    outcome = BulkOutcome()
    for number in dict.fromkeys(numbers):
        try:
            case = case_get_for_user(user=user, number=number)
        except Http404:
            outcome.refused.append((number, _("Not found.")))
            continue
        try:
            _one(case, action=action, value=value, actor=user)
        except _Refusal as exc:
            outcome.refused.append((number, str(exc)))
        except ApplicationError as exc:
            outcome.refused.append((number, _error_text(exc, case)))
        else:
            outcome.done.append(number)
    return outcome


@staff_required
@require_POST
def queue_bulk_view(request: HttpRequest) -> HttpResponse:
    back = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    numbers = request.POST.getlist("case")
    action = request.POST.get("action", "")
    value = request.POST.get(f"{action}_value", "") if action in BULK_ACTIONS else ""
    if not numbers:
        messages.error(request, _("Select at least one case."))
    elif len(numbers) > MAX_BULK:
        messages.error(request, _("Select at most %(n)d cases at once.") % {"n": MAX_BULK})
    elif action not in BULK_ACTIONS:
        messages.error(request, _("Choose what to do with the selected cases."))
    else:
        outcome = bulk_apply(user=signed_in(request), numbers=numbers, action=action, value=value)
        if outcome.done:
            messages.success(
                request,
                _("Done for %(n)d case(s): %(numbers)s.")
                % {"n": len(outcome.done), "numbers": ", ".join(outcome.done)},
            )
        for number, reason in outcome.refused:
            messages.error(
                request,
                _("%(number)s was not changed: %(reason)s")
                % {
                    "number": number,
                    "reason": reason,
                },
            )
    return redirect(back or "workspace:queue")
