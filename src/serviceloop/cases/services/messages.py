"""Messages (public replies, internal notes) and attachments, each appending one event."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import User
from serviceloop.cases.choices import CaseStatus, Channel, EventKind, MessageKind
from serviceloop.cases.exceptions import (
    ATTACHMENT_MESSAGE,
    BAD_CHOICE,
    BODY_REQUIRED,
    CASE_CLOSED,
    CUSTOMER_PUBLIC_ONLY,
    MESSAGE_INVALID,
    ConflictError,
    InvalidInputError,
    Problem,
)
from serviceloop.cases.models import Attachment, Case, Message
from serviceloop.cases.permissions import case_can_change, case_can_reply
from serviceloop.cases.services._common import append_event, deny, lock_case, now_or
from serviceloop.cases.services.files import CheckedUpload, check_upload
from serviceloop.sla.services import sla_clocks_sync, sla_reply_recorded

__all__ = ["attachment_add", "message_add"]

REOPENED_BY_CUSTOMER_REPLY = (CaseStatus.PENDING, CaseStatus.RESOLVED)


def _store(
    *,
    case: Case,
    file: Any,
    checked: CheckedUpload,
    uploaded_by: User | None,
    message: Message | None,
    is_internal: bool,
    at: datetime,
) -> Attachment:
    attachment = Attachment(
        case=case,
        message=message,
        original_name=checked.name,
        content_type=checked.content_type,
        size=checked.size,
        is_internal=is_internal,
        uploaded_by=uploaded_by,
        created_at=at,
    )
    file.seek(0)
    attachment.file.save(checked.name, file, save=False)  # name from attachment_path(): random
    attachment.save()
    return attachment


def _bad_choice(value: object, choices: list[str]) -> Problem:
    return Problem(BAD_CHOICE, {"value": value, "choices": ", ".join(choices)})


def _is_customer_side(author: User | None) -> bool:
    return author is None or author.role == Role.CUSTOMER


@transaction.atomic
def message_add(
    *,
    case: Case,
    author: User | None,
    body: str,
    kind: str,
    channel: str,
    files: Iterable[Any] = (),
    at: datetime | None = None,
) -> Message:
    """Add a public reply or an internal note, with optional files, as one event.

    Customers (and ``author`` None: the case's customer through a channel without login, e.g.
    email) write public replies only -> ``customer_replied``; a customer reply on a pending or
    resolved case sets it open again (recorded in the same event). Staff public replies ->
    ``replied``, notes -> ``note_added``. Closed cases take internal notes only. The files become
    attachments of the message (internal for notes) without events of their own.
    """
    at = now_or(at)
    errors: dict[str, list[Problem]] = {}
    text = body.strip() if isinstance(body, str) else ""
    if not text:
        errors["body"] = [Problem(BODY_REQUIRED)]
    if kind not in MessageKind.values:
        errors["kind"] = [_bad_choice(kind, MessageKind.values)]
    elif _is_customer_side(author) and kind != MessageKind.PUBLIC:
        errors["kind"] = [Problem(CUSTOMER_PUBLIC_ONLY)]
    if channel not in Channel.values:
        errors["channel"] = [_bad_choice(channel, Channel.values)]
    if errors:
        raise InvalidInputError(Problem(MESSAGE_INVALID), fields=errors)
    locked = lock_case(case)
    if author is not None:
        allowed = (
            case_can_change(author, locked)
            if kind == MessageKind.INTERNAL
            else case_can_reply(author, locked)
        )
        if not allowed:
            raise deny("write to")
    if locked.status == CaseStatus.CLOSED and kind == MessageKind.PUBLIC:
        raise ConflictError(Problem(CASE_CLOSED))
    uploads = list(files)
    checked = [check_upload(f) for f in uploads]  # all files valid before anything is written

    message = Message.objects.create(
        case=locked, author=author, kind=kind, body=text, channel=channel, created_at=at
    )
    internal = kind == MessageKind.INTERNAL
    stored = [
        _store(
            case=locked,
            file=f,
            checked=c,
            uploaded_by=author,
            message=message,
            is_internal=internal,
            at=at,
        )
        for f, c in zip(uploads, checked, strict=True)
    ]
    attributes: dict[str, Any] = {
        "message": message.pk,
        "channel": channel,
        "attachments": [a.pk for a in stored],
    }
    fields: list[str] = []
    if internal:
        event_kind = EventKind.NOTE_ADDED
    elif _is_customer_side(author):
        event_kind = EventKind.CUSTOMER_REPLIED
        if locked.status in REOPENED_BY_CUSTOMER_REPLY:
            attributes["status"] = {"from": locked.status, "to": CaseStatus.OPEN}
            locked.status = CaseStatus.OPEN
            fields.append("status")
    else:
        event_kind = EventKind.REPLIED
    locked.version += 1
    locked.updated_at = at
    locked.save(update_fields=[*fields, "version", "updated_at"])
    append_event(case=locked, kind=event_kind, actor=author, at=at, attributes=attributes)
    if "status" in fields:
        sla_clocks_sync(case=locked, at=at)  # the customer's reply ends the pending pause
    if not internal:
        sla_reply_recorded(case=locked, at=at, from_customer=_is_customer_side(author))
    return message


@transaction.atomic
def attachment_add(
    *,
    case: Case,
    uploaded_by: User,
    file: Any,
    message: Message | None = None,
    is_internal: bool = False,
    at: datetime | None = None,
) -> Attachment:
    """Attach a checked file to a case (optionally to one of its messages): ``attachment_added``.

    Customers may add public files to their own open cases; staff who may change the case may add
    internal ones. Files of an internal note are internal whatever ``is_internal`` says.
    """
    at = now_or(at)
    locked = lock_case(case)
    customer_side = _is_customer_side(uploaded_by)
    allowed = (
        case_can_reply(uploaded_by, locked)
        if customer_side
        else case_can_change(uploaded_by, locked)
    )
    if not allowed:
        raise deny("add files to")
    if customer_side and is_internal:
        raise InvalidInputError.for_field("is_internal", Problem(CUSTOMER_PUBLIC_ONLY))
    if message is not None and (
        message.case_id != locked.pk or (customer_side and message.kind == MessageKind.INTERNAL)
    ):
        raise InvalidInputError.for_field("message", Problem(ATTACHMENT_MESSAGE))
    if customer_side and locked.status == CaseStatus.CLOSED:
        raise ConflictError(Problem(CASE_CLOSED))
    if message is not None and message.kind == MessageKind.INTERNAL:
        is_internal = True
    checked = check_upload(file)
    attachment = _store(
        case=locked,
        file=file,
        checked=checked,
        uploaded_by=uploaded_by,
        message=message,
        is_internal=is_internal,
        at=at,
    )
    locked.version += 1
    locked.updated_at = at
    locked.save(update_fields=["version", "updated_at"])
    append_event(
        case=locked,
        kind=EventKind.ATTACHMENT_ADDED,
        actor=uploaded_by,
        at=at,
        attributes={
            "attachment": attachment.pk,
            "name": attachment.original_name,
            "content_type": attachment.content_type,
            "size": attachment.size,
            "internal": is_internal,
            "message": message.pk if message is not None else None,
        },
    )
    return attachment
