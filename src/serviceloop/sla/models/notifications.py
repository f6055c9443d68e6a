"""Notifications: in-app rows per receiver, and an outbox for email and webhooks.

An outbox row is written in the same transaction as the change it reports and delivered by the
worker after the commit, so a mail server or webhook that is down never blocks, rolls back or
loses a case change; delivery is at least once (a webhook's ``X-ServiceLoop-Delivery`` header lets
the receiver drop a repeat).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["Notification", "OutboxMessage", "WebhookDelivery", "WebhookEndpoint"]


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    case = models.ForeignKey(
        "cases.Case", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=32)
    title = models.CharField(_("title"), max_length=300)
    created_at = models.DateTimeField(_("created"))
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="sla_notif_recipient_idx"),
            models.Index(
                fields=["recipient"], name="sla_notif_unread_idx", condition=models.Q(read_at=None)
            ),
        ]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return self.title


class WebhookEndpoint(models.Model):
    """An integration that receives SLA events as signed JSON POSTs."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(
        _("signing secret"), max_length=200, help_text=_("HMAC-SHA256 key for the signature.")
    )
    kinds = models.JSONField(
        _("event kinds"), default=list, blank=True, help_text=_("Empty: every kind.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    allow_private_network = models.BooleanField(
        _("allow private addresses"),
        default=False,
        help_text=_("Allow loopback, private and link-local addresses (e.g. an internal service)."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.name


class OutboxMessage(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        WEBHOOK = "webhook", _("Webhook")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed (gave up)")

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, null=True, blank=True, related_name="messages"
    )
    recipient = models.CharField(_("to"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("body"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="sla_outbox_due_idx",
                condition=models.Q(status="pending"),
            )
        ]
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")

    def __str__(self) -> str:
        return f"{self.channel} {self.recipient or self.endpoint} #{self.pk}"


class WebhookDelivery(models.Model):
    """One attempt to deliver an outbox message to a webhook: the delivery log."""

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="deliveries")
    attempted_at = models.DateTimeField()
    address = models.CharField(_("address connected to"), max_length=64, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-attempted_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self) -> str:
        return f"{self.message_id} @ {self.attempted_at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error}"
