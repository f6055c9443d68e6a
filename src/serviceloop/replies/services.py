"""Standard replies: managers write them; agents apply one to a case through the case services.

Applying is one transaction over the case services (``message_add``, ``case_check_item``,
``case_set_status``): the reply, the ticks and the status appear in the timeline together, or
nothing is written. Placeholders are checked when a template is saved, so a reply never goes out
with a ``{typo}`` in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy

from serviceloop.accounts.models import Team, User
from serviceloop.accounts.permissions import is_manager
from serviceloop.cases.choices import Channel, MessageKind
from serviceloop.cases.models import Case
from serviceloop.cases.services import case_check_item, case_set_status, message_add
from serviceloop.core.exceptions import InvalidInputError, PermissionDeniedError, Problem
from serviceloop.replies.models import STATUS_CHOICES, ReplyTemplate
from serviceloop.replies.selectors import reply_template_usable

__all__ = [
    "PLACEHOLDERS",
    "AppliedReply",
    "ReplyTemplateFields",
    "reply_template_apply",
    "reply_template_delete",
    "reply_template_render",
    "reply_template_save",
]

PLACEHOLDERS = {
    "customer_name": gettext_lazy("the customer's name"),
    "case_number": gettext_lazy("the case number"),
    "stage": gettext_lazy("the current stage"),
    "due": gettext_lazy("the due time"),
}
_PLACEHOLDER = re.compile(r"\{(\w*)\}")


@dataclass(frozen=True)
class ReplyTemplateFields:
    name: str
    body: str
    name_zh: str = ""
    body_zh: str = ""
    team: Team | None = None
    set_status: str = ""
    tick_items: tuple[str, ...] = ()
    is_active: bool = True


@dataclass
class AppliedReply:
    case: Case
    ticked: list[str] = field(default_factory=list)
    not_on_checklist: list[str] = field(default_factory=list)


def _check_placeholders(fields: ReplyTemplateFields) -> None:
    known = ", ".join("{" + k + "}" for k in PLACEHOLDERS)
    problems: dict[str, list[Problem]] = {}
    for name in ("body", "body_zh"):
        for found in _PLACEHOLDER.findall(getattr(fields, name)):
            if found not in PLACEHOLDERS:
                problems.setdefault(name, []).append(
                    Problem("reply_placeholder_unknown", {"name": found, "known": known})
                )
    if fields.set_status and fields.set_status not in {c for c, _label in STATUS_CHOICES}:
        problems["set_status"] = [Problem("reply_status_invalid")]
    if not fields.name.strip():
        problems["name"] = [Problem("reply_name_required")]
    if not fields.body.strip():
        problems["body"] = [Problem("reply_body_required")]
    if problems:
        raise InvalidInputError(Problem("reply_not_saved"), fields=problems)


@transaction.atomic
def reply_template_save(
    *, actor: User, fields: ReplyTemplateFields, template: ReplyTemplate | None = None
) -> ReplyTemplate:
    """Create (``template`` None) or change a standard reply; managers only."""
    if not is_manager(actor):
        raise PermissionDeniedError(Problem("reply_managers_only"))
    _check_placeholders(fields)
    row = template if template is not None else ReplyTemplate(created_by=actor)
    for name in fields.__dataclass_fields__:
        value = getattr(fields, name)
        setattr(row, name, list(value) if isinstance(value, tuple) else value)
    row.full_clean()
    row.save()
    return row


@transaction.atomic
def reply_template_delete(*, actor: User, template: ReplyTemplate) -> None:
    if not is_manager(actor):
        raise PermissionDeniedError(Problem("reply_managers_only"))
    ReplyTemplate.objects.filter(pk=template.pk).delete()


def _values(case: Case) -> dict[str, str]:
    due = (
        formats.date_format(timezone.localtime(case.due_at), "SHORT_DATETIME_FORMAT")
        if case.due_at
        else "—"
    )
    return {
        "customer_name": case.customer.name,
        "case_number": case.number,
        "stage": case.stage.display_name,
        "due": due,
    }


def reply_template_render(*, template: ReplyTemplate, case: Case, language: str) -> str:
    """The reply text in ``language`` with the case's values put in for the placeholders."""
    values = _values(case)
    return _PLACEHOLDER.sub(
        lambda m: values.get(m.group(1), m.group(0)), template.body_for(language)
    )


@transaction.atomic
def reply_template_apply(
    *, template: ReplyTemplate, case: Case, actor: User, body: str
) -> AppliedReply:
    """Send ``body`` (the rendered, possibly edited text) as a public reply, tick the template's
    items that are on the current stage's checklist, then set its status; all or nothing."""
    if not reply_template_usable(actor, template):
        raise PermissionDeniedError(Problem("reply_not_yours"))
    message_add(case=case, author=actor, body=body, kind=MessageKind.PUBLIC, channel=Channel.AGENT)
    current = Case.objects.select_related("stage").get(pk=case.pk)
    result = AppliedReply(case=current)
    on_list = set(current.stage.checklist or [])
    done = set(current.checklist_done or [])
    for item in template.tick_items or []:
        if item not in on_list:
            result.not_on_checklist.append(item)
        elif item not in done:
            current = case_check_item(case=current, actor=actor, item=item)
            result.ticked.append(item)
    if template.set_status and template.set_status != current.status:
        current = case_set_status(case=current, actor=actor, status=template.set_status)
    result.case = current
    return result
