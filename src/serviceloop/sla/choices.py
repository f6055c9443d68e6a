from django.db import models
from django.utils.translation import gettext_lazy as _


class Metric(models.TextChoices):
    """What an SLA target times."""

    FIRST_RESPONSE = "first_response", _("First response")
    NEXT_RESPONSE = "next_response", _("Next response")
    RESOLUTION = "resolution", _("Resolution")


class DateKind(models.TextChoices):
    CLOSED = "closed", _("Closed (holiday)")
    WORKING = "working", _("Working day (make-up day)")


class Trigger(models.TextChoices):
    WARNING = "warning", _("Warning")
    BREACH = "breach", _("Breach")


class Action(models.TextChoices):
    NOTIFY = "notify", _("Notify the assignee and team lead")
    RAISE_PRIORITY = "raise_priority", _("Raise the priority one level")
    REASSIGN_TEAM = "reassign_team", _("Reassign to another team")
    MOVE_STAGE = "move_stage", _("Move to an escalation stage")


class Indicator(models.TextChoices):
    """Quality standards measured on the event log."""

    REOPEN_RATE = "reopen_rate", _("Reopen rate (at most)")
    REWORK_RATE = "rework_rate", _("Rework rate (at most)")
    FIRST_CONTACT_RESOLUTION = "first_contact_resolution", _("First-contact resolution (at least)")
