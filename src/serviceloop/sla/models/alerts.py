"""Alert rules on the live indicators and the alerts they raise (one open alert per rule)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from serviceloop.core.messages import validation_error

__all__ = ["Alert", "AlertRule"]


class AlertRule(models.Model):
    class Kind(models.TextChoices):
        STAGE_BACKLOG = "stage_backlog", _("Backlog of a stage above the threshold")
        HANDLING_TIME = (
            "handling_time",
            _("Today's mean resolution time above the threshold (working minutes)"),
        )
        BREACH_RATE_SIGNAL = "breach_rate_signal", _("The breach-rate control chart signals today")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    stage_code = models.SlugField(_("stage code"), max_length=50, blank=True)
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+",
        help_text=_("Empty: the whole service (managers only see it)."),
    )  # fmt: skip
    threshold = models.FloatField(_("threshold"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.kind == self.Kind.STAGE_BACKLOG and not self.stage_code:
            raise ValidationError({"stage_code": validation_error("alert_stage_required")})


class Alert(models.Model):
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    raised_at = models.DateTimeField(_("raised"))
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    value = models.FloatField(_("value when raised"))
    message = models.CharField(_("message"), max_length=300)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule"],
                condition=models.Q(resolved_at=None),
                name="sla_alert_one_open_per_rule",
                violation_error_message=_("This rule already has an open alert."),
            )
        ]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")

    def __str__(self) -> str:
        return self.message
