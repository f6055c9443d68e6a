"""Surveys: templates of questions, one invitation per resolved case, and its single response."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from serviceloop.feedback.choices import (
    Dimension,
    QuestionKind,
    RootCause,
    RuleAction,
    RuleMeasure,
)

__all__ = [
    "Complaint",
    "SurveyInvitation",
    "SurveyQuestion",
    "SurveyResponse",
    "SurveyRule",
    "SurveyTemplate",
]


class SurveyTemplate(models.Model):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("Chinese name"), max_length=200, blank=True)
    is_active = models.BooleanField(_("sent on resolution"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("survey template")
        verbose_name_plural = _("survey templates")

    def __str__(self) -> str:
        return self.name


class SurveyQuestion(models.Model):
    template = models.ForeignKey(SurveyTemplate, on_delete=models.CASCADE, related_name="questions")
    code = models.SlugField(_("code"), max_length=50)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    kind = models.CharField(_("kind"), max_length=8, choices=QuestionKind.choices)
    dimension = models.CharField(
        _("dimension"), max_length=10, choices=Dimension.choices, blank=True, default=""
    )
    text = models.CharField(_("question"), max_length=300)
    text_zh = models.CharField(_("Chinese question"), max_length=300, blank=True)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=True)

    class Meta:
        ordering = ["template", "order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "code"], name="survey_question_code_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=QuestionKind.values),
                name="survey_question_kind_valid",
                violation_error_message=_("Unknown question kind."),
            ),
        ]
        verbose_name = _("survey question")
        verbose_name_plural = _("survey questions")

    def __str__(self) -> str:
        return self.text

    @property
    def label(self) -> str:
        language = translation.get_language() or ""
        return self.text_zh if self.text_zh and language.lower().startswith("zh") else self.text


class SurveyInvitation(models.Model):
    """Sent once per case when it is resolved; answered at most once, before it expires."""

    case = models.OneToOneField("cases.Case", on_delete=models.PROTECT, related_name="survey")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    template = models.ForeignKey(SurveyTemplate, on_delete=models.PROTECT, related_name="+")
    nonce = models.CharField(max_length=32, editable=False)
    sent_at = models.DateTimeField(_("sent"))
    expires_at = models.DateTimeField(_("expires"))
    emailed = models.BooleanField(_("emailed"), default=False)
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        indexes = [
            models.Index(fields=["answered_at", "sent_at"], name="survey_open_idx"),
            models.Index(fields=["customer", "-sent_at"], name="survey_customer_idx"),
        ]
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")

    def __str__(self) -> str:
        return f"{self.case_id} {self.sent_at:%Y-%m-%d}"


class SurveyResponse(models.Model):
    invitation = models.OneToOneField(
        SurveyInvitation, on_delete=models.PROTECT, related_name="response"
    )
    submitted_at = models.DateTimeField(_("submitted"))
    csat = models.FloatField(_("CSAT"), null=True, blank=True)
    nps = models.PositiveSmallIntegerField(_("NPS answer"), null=True, blank=True)
    ces = models.FloatField(_("CES"), null=True, blank=True)
    answers = models.JSONField(_("answers"), default=dict)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")

    def __str__(self) -> str:
        return f"{self.invitation_id} {self.submitted_at:%Y-%m-%d}"


class SurveyRule(models.Model):
    """When an answer's score is at most ``at_most``, open a follow-up case or a complaint."""

    template = models.ForeignKey(SurveyTemplate, on_delete=models.CASCADE, related_name="rules")
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    measure = models.CharField(_("score"), max_length=8, choices=RuleMeasure.choices)
    at_most = models.FloatField(_("at most"))
    action = models.CharField(_("action"), max_length=16, choices=RuleAction.choices)
    category = models.ForeignKey(
        "cases.Category", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["template", "order", "id"]
        verbose_name = _("survey rule")
        verbose_name_plural = _("survey rules")

    def __str__(self) -> str:
        return f"{self.measure} <= {self.at_most}: {self.action}"


class Complaint(models.Model):
    """A complaint: its own case (run through the complaint process), the case it is about, and
    the root cause found when it was investigated."""

    case = models.OneToOneField("cases.Case", on_delete=models.PROTECT, related_name="complaint")
    about_case = models.ForeignKey(
        "cases.Case",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaints_about",
    )
    root_cause = models.CharField(
        _("root cause"), max_length=16, choices=RootCause.choices, blank=True, default=""
    )
    source = models.CharField(_("source"), max_length=16, default="manual")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded"))

    class Meta:
        ordering = ["-recorded_at", "-id"]
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")

    def __str__(self) -> str:
        return f"{self.case_id} ({self.root_cause or '-'})"
