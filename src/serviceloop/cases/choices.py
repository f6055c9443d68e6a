from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Channel(models.TextChoices):
    PORTAL = "portal", _("Customer portal")
    API = "api", _("REST API")
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    AGENT = "agent", _("Entered by an agent")


class MessageKind(models.TextChoices):
    PUBLIC = "public", _("Public reply")
    INTERNAL = "internal", _("Internal note")


class EventKind(models.TextChoices):
    """What happened to a case; every mutation appends exactly one event of one of these kinds."""

    CREATED = "created", _("Case created")
    STAGE_ENTERED = "stage_entered", _("Stage entered")
    ASSIGNED = "assigned", _("Assigned")
    REPLIED = "replied", _("Replied")
    NOTE_ADDED = "note_added", _("Internal note added")
    CUSTOMER_REPLIED = "customer_replied", _("Customer replied")
    ATTACHMENT_ADDED = "attachment_added", _("Attachment added")
    FIELD_CHANGED = "field_changed", _("Field changed")
    PRIORITY_CHANGED = "priority_changed", _("Priority changed")
    CHECKLIST_CHECKED = "checklist_checked", _("Checklist item checked")
    STATUS_CHANGED = "status_changed", _("Status changed")
    ESCALATED = "escalated", _("Escalated")
    SLA_WARNING = "sla_warning", _("SLA warning")
    SLA_BREACHED = "sla_breached", _("SLA breached")
    SURVEY_ANSWERED = "survey_answered", _("Survey answered")
    REOPENED = "reopened", _("Reopened")
    CLOSED = "closed", _("Closed")
