from django.db import models
from django.utils.translation import gettext_lazy as _


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    RETIRED = "retired", _("Retired")


class TransitionKind(models.TextChoices):
    FORWARD = "forward", _("Forward")
    REWORK = "rework", _("Rework")
    ESCALATION = "escalation", _("Escalation")
