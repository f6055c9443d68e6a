"""Cases, their messages and attachments, and the immutable case event log.

The event log (``CaseEvent``) is the spine of ServiceLoop: every change to a case appends one row in
the same transaction, and the analytics never read anything else about the past.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from django.conf import settings
from django.db import models
from django.db.models.functions import Cast, Concat, LPad
from django.utils.translation import gettext_lazy as _

from serviceloop.cases.choices import CaseStatus, Channel, EventKind, MessageKind, Priority
from serviceloop.core.messages import Named

__all__ = [
    "MSG_EVENTS_APPEND_ONLY",
    "AppendOnlyError",
    "Attachment",
    "Case",
    "CaseEvent",
    "CaseEventQuerySet",
    "Category",
    "IntakeRule",
    "Message",
    "RequestType",
]


class Category(models.Model):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_zh = models.CharField(_("Chinese name"), max_length=100, blank=True)
    skill = models.ForeignKey(
        "accounts.Skill",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Routing prefers agents with this skill."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name in the active language (Chinese when set and active); exports use ``code``."""
        return str(Named.of(self))


def _case_number() -> models.Func:
    """``SL-`` and the id, zero-padded to six digits (longer ids are kept whole)."""
    digits = Cast("id", models.CharField(max_length=20))
    return Concat(
        models.Value("SL-"),
        models.Case(
            models.When(id__lt=1_000_000, then=LPad(digits, 6, models.Value("0"))),
            default=digits,
        ),
        output_field=models.CharField(max_length=23),
    )


class Case(models.Model):
    # Computed by the database from the id, so creating a case is one INSERT (number via RETURNING).
    # ``unique`` on the output field does not reach the database for a generated column: the
    # ``case_number_unique`` constraint below is what indexes it.
    number = models.GeneratedField(
        expression=_case_number(),
        output_field=models.CharField(_("number"), max_length=23, unique=True),
        db_persist=True,
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"))
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="cases"
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, null=True, blank=True, related_name="cases"
    )
    priority = models.CharField(
        _("priority"), max_length=16, choices=Priority.choices, default=Priority.NORMAL
    )
    process_version = models.ForeignKey(
        "processes.ProcessVersion", on_delete=models.PROTECT, related_name="cases"
    )
    stage = models.ForeignKey("processes.Stage", on_delete=models.PROTECT, related_name="cases")
    status = models.CharField(
        _("status"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.OPEN
    )
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.PROTECT, null=True, blank=True, related_name="cases"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_cases",
    )
    attributes = models.JSONField(_("custom attributes"), default=dict, blank=True)
    checklist_done = models.JSONField(
        _("checklist items done in the current stage"), default=list, blank=True
    )
    stage_entered_at = models.DateTimeField(_("stage entered at"))
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    version = models.PositiveIntegerField(
        default=1, editable=False, help_text="Bumped on every change, for optimistic concurrency."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "team", "-created_at"], name="case_status_team_idx"),
            models.Index(fields=["assignee", "status"], name="case_assignee_status_idx"),
            models.Index(fields=["customer", "-created_at"], name="case_customer_idx"),
            models.Index(fields=["status", "due_at"], name="case_status_due_idx"),
            models.Index(fields=["-created_at", "-id"], name="case_created_idx"),
            # Queues read newest first and stop at a page: these let the database walk only the
            # cases a common filter keeps, in page order, instead of every case testing each.
            models.Index(
                fields=["-created_at", "-id"],
                condition=models.Q(assignee__isnull=True) & ~models.Q(status=CaseStatus.CLOSED),
                name="case_unassigned_open_idx",
            ),
            models.Index(fields=["stage", "-created_at", "-id"], name="case_stage_created_idx"),
        ]
        constraints = [
            # Looking a case up by its number (pages, API, search) is an index probe.
            models.UniqueConstraint(
                fields=["number"],
                name="case_number_unique",
                violation_error_message=_("A case with this number already exists."),
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=CaseStatus.values),
                name="case_status_valid",
                violation_error_message=_("Unknown case status."),
            ),
            models.CheckConstraint(
                condition=models.Q(priority__in=Priority.values),
                name="case_priority_valid",
                violation_error_message=_("Unknown priority."),
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(status=CaseStatus.CLOSED, closed_at__isnull=False)
                    | (~models.Q(status=CaseStatus.CLOSED) & models.Q(closed_at__isnull=True))
                ),
                name="case_closed_at_iff_closed",
                violation_error_message=_("A case has a closing time exactly when it is closed."),
            ),
        ]
        verbose_name = _("case")
        verbose_name_plural = _("cases")

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class Message(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=MessageKind.choices)
    body = models.TextField(_("body"))
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="message_case_idx")]
        verbose_name = _("message")
        verbose_name_plural = _("messages")

    def __str__(self) -> str:
        return f"{self.case.number} {self.kind} #{self.pk}"


def attachment_path(instance: Attachment, filename: str) -> str:
    """Files are stored under the case's id with a random name; the original name is kept apart."""
    import uuid

    return f"cases/{instance.case_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="attachments")
    message = models.ForeignKey(
        Message, on_delete=models.PROTECT, null=True, blank=True, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=255)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    is_internal = models.BooleanField(_("internal"), default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded"))

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.original_name


MSG_EVENTS_APPEND_ONLY = (
    "Case events are append-only: they are never updated or deleted (the database refuses it too)."
)


class AppendOnlyError(Exception):
    """An attempt to change or remove a row of an append-only table through the ORM."""


class CaseEventQuerySet(models.QuerySet["CaseEvent"]):
    """Reads and inserts only. The same refusals are enforced by triggers in the database
    (``core.append_only``, migration ``0004``), which also stop raw SQL; these fail earlier,
    with a clearer message."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(MSG_EVENTS_APPEND_ONLY)

    def delete(self) -> NoReturn:
        raise AppendOnlyError(MSG_EVENTS_APPEND_ONLY)

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> NoReturn:
        raise AppendOnlyError(MSG_EVENTS_APPEND_ONLY)

    def update_or_create(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(MSG_EVENTS_APPEND_ONLY)


class CaseEvent(models.Model):
    """One immutable row of the event log.

    ``activity`` is what process mining sees: the stage name for ``stage_entered`` events, the kind's
    label otherwise. ``kind`` lets analytics pick the stage-level view. Rows are only ever inserted:
    the manager, ``save()``, ``delete()`` and database triggers refuse every other write.
    """

    APPEND_ONLY: ClassVar[bool] = True  # read by the SQLite backend's flush (core.sqlite)
    objects: ClassVar[models.Manager[CaseEvent]] = CaseEventQuerySet.as_manager()  # type: ignore[assignment]

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("kind"), max_length=32, choices=EventKind.choices)
    activity = models.CharField(_("activity"), max_length=200)
    timestamp = models.DateTimeField(_("timestamp"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    lifecycle = models.CharField(_("lifecycle"), max_length=16, default="complete")
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)

    class Meta:
        ordering = ["timestamp", "id"]
        indexes = [
            models.Index(fields=["case", "timestamp", "id"], name="event_case_ts_idx"),
            models.Index(fields=["timestamp", "id"], name="event_ts_idx"),
            models.Index(fields=["kind", "timestamp"], name="event_kind_ts_idx"),
        ]
        verbose_name = _("case event")
        verbose_name_plural = _("case events")

    def __str__(self) -> str:
        return f"{self.case_id} {self.activity} @ {self.timestamp:%Y-%m-%d %H:%M}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise AppendOnlyError(MSG_EVENTS_APPEND_ONLY)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> NoReturn:
        raise AppendOnlyError(MSG_EVENTS_APPEND_ONLY)


# Intake configuration (which process a new case runs on) lives in its own module.
from serviceloop.cases.models_intake import IntakeRule, RequestType  # noqa: E402
