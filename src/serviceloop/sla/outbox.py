"""Deliver the outbox: emails over SMTP and signed webhooks, after the changes that wrote them
committed, retried with exponential backoff.

Each message is claimed under its row lock (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and leased
for five minutes, then sent outside any transaction; two workers never send the same message at
once, and one killed between sending and recording sends it again after the lease (at least
once). A failure waits 30 s, 1 min, 2 min, ... up to 6
hours between attempts; after ``MAX_ATTEMPTS`` the message is marked failed. Every webhook
attempt is logged (``WebhookDelivery``: the address connected to, the status or error).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.utils import timezone

from serviceloop.sla.models import OutboxMessage, WebhookDelivery
from serviceloop.sla.webhooks import WebhookRefused, webhook_post

__all__ = ["MAX_ATTEMPTS", "OutboxCounts", "backoff", "outbox_deliver"]

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)  # a claimed message is not taken again before this, unless sent


@dataclass(frozen=True)
class OutboxCounts:
    sent: int
    retrying: int
    failed: int


def backoff(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failure: 30 s doubling, at most 6 hours."""
    return min(timedelta(seconds=30 * 2 ** (attempts - 1)), timedelta(hours=6))


def _send_email(message: OutboxMessage) -> None:
    EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.recipient],
    ).send(fail_silently=False)


def _send_webhook(message: OutboxMessage, now: datetime) -> None:
    endpoint = message.endpoint
    assert endpoint is not None
    started = time.perf_counter()
    log = WebhookDelivery(message=message, attempted_at=now)
    try:
        result = webhook_post(
            url=endpoint.url,
            secret=endpoint.secret,
            body=message.body.encode(),
            delivery=str(message.pk),
            allow_private=endpoint.allow_private_network,
        )
        log.address, log.status_code = result.address, result.status
        if not 200 <= result.status < 300:
            raise OSError(f"HTTP {result.status}")
    except (WebhookRefused, OSError) as exc:
        log.error = log.error or str(exc)
        raise
    finally:
        log.duration_ms = round((time.perf_counter() - started) * 1000)
        log.save()


def _take(now: datetime) -> OutboxMessage | None:
    query = OutboxMessage.objects.filter(
        status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now
    ).order_by("next_attempt_at", "id")
    if connection.features.has_select_for_update:
        query = query.select_for_update(
            of=("self",), skip_locked=connection.features.has_select_for_update_skip_locked
        )
    return query.select_related("endpoint").first()


def _claim(now: datetime) -> OutboxMessage | None:
    """Take one due message and lease it: no other worker takes it while this one sends."""
    with transaction.atomic():
        message = _take(now)
        if message is not None:
            OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=now + LEASE)
        return message


def outbox_deliver(*, now: datetime | None = None, limit: int = 200) -> OutboxCounts:
    """Send up to ``limit`` due messages. No transaction is open while a mail server or a webhook
    is talked to, so a slow far side holds up nothing else."""
    now = now or timezone.now()
    sent = retrying = failed = 0
    for _ in range(limit):
        message = _claim(now)
        if message is None:
            break
        try:
            if message.channel == OutboxMessage.Channel.EMAIL:
                _send_email(message)
            else:
                _send_webhook(message, now)
        except Exception as exc:  # any failure of the far side: retry later, never lose it
            message.attempts += 1
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.attempts >= MAX_ATTEMPTS or isinstance(exc, WebhookRefused):
                message.status = OutboxMessage.Status.FAILED
                failed += 1
            else:
                message.next_attempt_at = now + backoff(message.attempts)
                retrying += 1
        else:
            message.attempts += 1
            message.status, message.sent_at = OutboxMessage.Status.SENT, now
            sent += 1
        message.save(
            update_fields=["attempts", "last_error", "status", "next_attempt_at", "sent_at"]
        )
    return OutboxCounts(sent, retrying, failed)
