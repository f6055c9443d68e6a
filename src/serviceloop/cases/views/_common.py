"""Helpers shared by the portal and workspace pages: paging, htmx detection, the attachment
download, and turning the case timeline into rows a template can show."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from serviceloop.accounts.models import User
from serviceloop.cases.choices import CaseStatus, EventKind, MessageKind, Priority
from serviceloop.cases.models import Case, CaseEvent, Message
from serviceloop.cases.selectors import attachment_get_for_user, case_timeline
from serviceloop.cases.templatetags.case_ui import person

__all__ = [
    "PAGE_SIZE",
    "TimelineRow",
    "attachment_download",
    "field_label",
    "is_htmx",
    "paginate",
    "signed_in",
    "timeline_rows",
]

PAGE_SIZE = 25


def signed_in(request: HttpRequest) -> User:
    """The request's user, for views behind ``login_required``."""
    return cast(User, request.user)


def is_htmx(request: HttpRequest) -> bool:
    """An htmx request that wants a fragment. Boosted links and history restores (the back button
    after ``hx-push-url``) want the whole page."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def paginate(request: HttpRequest, queryset: QuerySet[Any], per_page: int = PAGE_SIZE) -> Page:
    """The requested page; numbers past the end give the last page, garbage gives the first."""
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


@dataclass
class TimelineRow:
    """One line of the timeline as shown: an event, or a message with its files."""

    at: datetime
    kind: str  # an EventKind value, or "public" / "internal" for messages, "attachment_added"
    actor: Any
    title: str
    detail: str = ""
    actor_label: str = ""  # shown instead of ``actor`` (the customer, for mail without a login)
    body: str = ""
    attachments: list[Any] = field(default_factory=list)


def _choice_label(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def field_label(name: str) -> str:
    """A case field's label in the active language (the attribute name for custom attributes)."""
    try:
        field_obj = Case._meta.get_field(name)
    except FieldDoesNotExist:
        return name
    # Foreign keys without an explicit verbose_name carry a plain (untranslated) string.
    return capfirst(_(str(getattr(field_obj, "verbose_name", name))))


def _assignee_names(entries: list[Any]) -> dict[str, str]:
    """Username -> the person's name, for the assignment events among ``entries`` (one query):
    the log keeps the stable username, people read names."""
    usernames: set[str] = set()
    for entry in entries:
        if entry.kind == "event" and entry.item.kind == EventKind.ASSIGNED:
            assignee = (entry.item.attributes or {}).get("assignee")
            to = assignee.get("to") if isinstance(assignee, dict) else assignee
            if isinstance(to, str) and to:
                usernames.add(to)
    if not usernames:
        return {}
    found = User.objects.filter(username__in=usernames).only("username", "first_name", "last_name")
    return {user.username: person(user) for user in found}


def _event_row(
    event: CaseEvent, stages: dict[str, Any], people: dict[str, str] | None = None
) -> TimelineRow | None:
    attrs = event.attributes or {}
    title = str(event.get_kind_display())
    detail = ""
    if event.kind in {EventKind.STAGE_ENTERED, EventKind.CLOSED}:
        target = stages.get(attrs.get("to_stage", ""))
        detail = target.display_name if target is not None else event.activity
        source = stages.get(attrs.get("from_stage", ""))
        if source is not None:
            detail = f"{source.display_name} → {detail}"
    elif event.kind == EventKind.ASSIGNED:
        assignee = attrs.get("assignee")
        to = assignee.get("to") if isinstance(assignee, dict) else assignee
        name = (people or {}).get(to, to) if isinstance(to, str) else to
        detail = _("to %(name)s") % {"name": name} if to else _("unassigned")
        if attrs.get("by") == "routing":
            detail = _("%(detail)s (routed automatically)") % {"detail": detail}
    elif event.kind == EventKind.CHECKLIST_CHECKED:
        item = str(attrs.get("item", ""))
        detail = item if attrs.get("checked", True) else _("unticked: %(item)s") % {"item": item}
    elif event.kind in {EventKind.STATUS_CHANGED, EventKind.PRIORITY_CHANGED}:
        choices = CaseStatus if event.kind == EventKind.STATUS_CHANGED else Priority
        detail = " → ".join(
            _choice_label(choices, attrs.get(key)) for key in ("from", "to") if attrs.get(key)
        )
    elif event.kind == EventKind.FIELD_CHANGED:
        detail = field_label(str(attrs.get("field", "")))
    elif event.kind == EventKind.REOPENED:
        target = stages.get(attrs.get("to_stage", ""))
        detail = target.display_name if target is not None else ""
    elif event.kind == EventKind.ESCALATED:
        detail = str(attrs.get("reason", ""))
    elif event.kind in {
        EventKind.REPLIED,
        EventKind.NOTE_ADDED,
        EventKind.CUSTOMER_REPLIED,
        EventKind.ATTACHMENT_ADDED,
    }:
        return None  # the message or file itself is shown instead
    return TimelineRow(
        at=event.timestamp, kind=event.kind, actor=event.actor, title=title, detail=detail
    )


def _message_title(message: Message, *, viewer_is_customer: bool) -> str:
    """Who wrote it, from the reader's side: "your message" / "reply from our team" for customers."""
    if message.kind == MessageKind.INTERNAL:
        return str(MessageKind.INTERNAL.label)
    from_customer = message.author is None or getattr(message.author, "is_customer", False)
    if viewer_is_customer:
        return _("Your message") if from_customer else _("Reply from our team")
    return _("Message from the customer") if from_customer else str(MessageKind.PUBLIC.label)


def timeline_rows(*, case: Case, user: Any) -> list[TimelineRow]:
    """The case timeline for ``user`` (the selector decides what they may see), with each file
    shown under its message and stage codes named in the active language."""
    stages = {s.code: s for s in case.process_version.stages.all()}
    viewer_is_customer = bool(getattr(user, "is_customer", False))
    rows: list[TimelineRow] = []
    by_message: dict[int, TimelineRow] = {}
    entries = list(case_timeline(case=case, user=user))
    people = _assignee_names(entries)
    for entry in entries:
        item: Any = entry.item
        if entry.kind == "event":
            row = _event_row(item, stages, people)
            if row is not None:
                rows.append(row)
        elif entry.kind == "message":
            assert isinstance(item, Message)
            row = TimelineRow(
                at=item.created_at,
                kind=item.kind,
                actor=item.author,
                actor_label="" if item.author is not None else case.customer.name,
                title=_message_title(item, viewer_is_customer=viewer_is_customer),
                body=item.body,
            )
            by_message[item.pk] = row
            rows.append(row)
        else:
            holder = by_message.get(item.message_id) if item.message_id else None
            if holder is not None:
                holder.attachments.append(item)
            else:
                rows.append(
                    TimelineRow(
                        at=item.created_at,
                        kind=EventKind.ATTACHMENT_ADDED,
                        actor=item.uploaded_by,
                        title=str(EventKind.ATTACHMENT_ADDED.label),
                        attachments=[item],
                    )
                )
    return rows


@require_GET
@login_required
def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    """Stream an attachment to someone allowed to see it; everyone else gets 404, not 403.

    ``Content-Disposition: attachment``, ``nosniff`` and a sandboxing CSP keep an uploaded HTML or
    SVG file from ever running in the application's origin.
    """
    attachment = attachment_get_for_user(user=request.user, pk=pk)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
