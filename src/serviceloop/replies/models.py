"""Standard replies (macros): a reply text with placeholders, per team or shared, in English and
Chinese; applying one may also set the case status and tick checklist items."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from serviceloop.cases.choices import CaseStatus

__all__ = ["STATUS_CHOICES", "ReplyTemplate"]

# What a standard reply may set: the statuses an agent sets by hand (closing is a stage's job).
STATUS_CHOICES = [
    (CaseStatus.OPEN, CaseStatus.OPEN.label),
    (CaseStatus.PENDING, CaseStatus.PENDING.label),
    (CaseStatus.RESOLVED, CaseStatus.RESOLVED.label),
]


class ReplyTemplate(models.Model):
    name = models.CharField(_("name"), max_length=120)
    name_zh = models.CharField(_("Chinese name"), max_length=120, blank=True)
    team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("team"),
        help_text=_("Empty: shared by every team."),
    )
    body = models.TextField(_("text (English)"))
    body_zh = models.TextField(_("text (Chinese)"), blank=True)
    set_status = models.CharField(
        _("then set the status"), max_length=16, choices=STATUS_CHOICES, blank=True
    )
    tick_items = models.JSONField(_("then tick these checklist items"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("standard reply")
        verbose_name_plural = _("standard replies")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if (get_language() or "").startswith("zh") and self.name_zh:
            return self.name_zh
        return self.name

    def body_for(self, language: str) -> str:
        """The text in ``language`` (Chinese when written, else English)."""
        if language.startswith("zh") and self.body_zh.strip():
            return self.body_zh
        return self.body
