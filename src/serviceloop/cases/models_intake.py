"""Which process a new case runs on: request types a customer or agent may name, and the rules an
admin sets for the rest (category, channel, customer segment).

Both are configuration edited in the admin; ``serviceloop.cases.intake`` evaluates them when a case
is opened. A case keeps the process version it started on, so editing these never moves open cases.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from serviceloop.cases.choices import Channel
from serviceloop.core.messages import validation_error
from serviceloop.processes.choices import VersionStatus

__all__ = ["IntakeRule", "RequestType"]


def _require_published(process_id: int | None) -> None:
    """A type or rule that sends cases to a process without a published version would refuse
    every case it matches: refuse it when it is saved in the admin instead."""
    from serviceloop.processes.models import ProcessVersion

    if (
        process_id is not None
        and not ProcessVersion.objects.filter(
            process_id=process_id, status=VersionStatus.PUBLISHED
        ).exists()
    ):
        raise ValidationError({"process": validation_error("process_unpublished")})


class RequestType(models.Model):
    """A kind of request named explicitly at intake (portal form, API ``request_type``)."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_zh = models.CharField(_("Chinese name"), max_length=100, blank=True)
    process = models.ForeignKey(
        "processes.ServiceProcess",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("process"),
        help_text=_("New cases of this type start on the latest published version."),
    )
    staff_only = models.BooleanField(
        _("staff only"),
        default=False,
        help_text=_("Customers do not see this type in the portal and may not name it."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=100)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("request type")
        verbose_name_plural = _("request types")

    def __str__(self) -> str:
        return self.display_name

    def clean(self) -> None:
        _require_published(self.process_id)

    @property
    def display_name(self) -> str:
        if self.name_zh and (get_language() or "").startswith("zh"):
            return self.name_zh
        return self.name


class IntakeRule(models.Model):
    """When a case names no request type: the first active rule (lowest position) whose every set
    condition matches picks the process; an empty condition matches anything."""

    position = models.PositiveSmallIntegerField(
        _("position"), default=100, help_text=_("Rules are tried from the lowest position up.")
    )
    category = models.ForeignKey(
        "cases.Category",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("category"),
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    customer_segment = models.CharField(
        _("customer segment"),
        max_length=50,
        blank=True,
        help_text=_("Matches the customer's segment exactly (e.g. enterprise, vip)."),
    )
    process = models.ForeignKey(
        "processes.ServiceProcess",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("process"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("intake rule")
        verbose_name_plural = _("intake rules")

    def __str__(self) -> str:
        conditions = [
            f"category={self.category}" if self.category_id else "",
            f"channel={self.channel}" if self.channel else "",
            f"segment={self.customer_segment}" if self.customer_segment else "",
        ]
        when = ", ".join(c for c in conditions if c) or "any case"
        return f"#{self.position}: {when} -> {self.process}"

    def clean(self) -> None:
        _require_published(self.process_id)
