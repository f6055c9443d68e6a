from django.db import models
from django.utils.translation import gettext_lazy as _


class QuestionKind(models.TextChoices):
    CSAT = "csat", _("Satisfaction (1-5)")
    NPS = "nps", _("Likelihood to recommend (0-10)")
    CES = "ces", _("Effort (1-7)")
    CHOICE = "choice", _("Choice")
    TEXT = "text", _("Free text")


class Dimension(models.TextChoices):
    NONE = "", _("None")
    PROCESS = "process", _("Service process")
    ATTITUDE = "attitude", _("Service attitude")
    EFFECT = "effect", _("Service effect")


#: The range of each scored kind.
SCALES = {QuestionKind.CSAT: (1, 5), QuestionKind.NPS: (0, 10), QuestionKind.CES: (1, 7)}


class RootCause(models.TextChoices):
    UNKNOWN = "", _("Not analysed yet")
    PROCESS = "process", _("Process or procedure")
    TIMELINESS = "timeliness", _("Too slow")
    QUALITY = "quality", _("Solution did not work")
    ATTITUDE = "attitude", _("Staff attitude")
    COMMUNICATION = "communication", _("Communication")
    POLICY = "policy", _("Policy or pricing")
    OTHER = "other", _("Other")


class RuleAction(models.TextChoices):
    FOLLOW_UP = "follow_up", _("Open a follow-up case")
    COMPLAINT = "complaint", _("Open a complaint")


class RuleMeasure(models.TextChoices):
    CSAT = "csat", _("Satisfaction (1-5)")
    NPS = "nps", _("Likelihood to recommend (0-10)")
    CES = "ces", _("Effort (1-7)")
