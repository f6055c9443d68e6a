"""A service process is versioned; a published version is immutable and cases stay pinned to it.

Immutability is guarded here, below the services, so that the admin and scripts cannot bypass it:
``save()`` refuses changes to a frozen version and to its stages and transitions; deletion (also
bulk ``QuerySet.delete()``) is refused by the ``pre_delete`` receivers in ``signals.py``.

Stages carry who is responsible, the operating norm, the time standard and the checklist that must be
ticked before a case may leave the stage. Transitions are the only way a case moves.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from serviceloop.accounts.choices import Role
from serviceloop.core.messages import Problem
from serviceloop.processes.choices import TransitionKind, VersionStatus
from serviceloop.processes.exceptions import VERSION_IMMUTABLE, VersionImmutableError

__all__ = ["ProcessVersion", "ServiceProcess", "Stage", "Transition"]


def _refuse_frozen(version: ProcessVersion) -> None:
    status = VersionStatus(version.status).label  # lazy: shown in the reader's language
    raise VersionImmutableError(
        Problem(VERSION_IMMUTABLE, {"version": str(version), "status": status})
    )


def _chinese_active() -> bool:
    return (get_language() or "").startswith("zh")


def _in_language(english: str, chinese: str) -> str:
    return chinese if chinese and _chinese_active() else english


def guard_version_editable(version_id: int | None) -> None:
    """Refuse a write to stages/transitions of a version that is no longer a draft.

    Read from the database, not from a possibly stale in-memory version, so that neither the admin
    nor a script holding an old object can change a published definition.
    """
    if version_id is None:
        return
    stored = ProcessVersion.objects.filter(pk=version_id).first()
    if stored is not None and stored.status != VersionStatus.DRAFT:
        _refuse_frozen(stored)


class ServiceProcess(models.Model):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("Chinese name"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    is_default = models.BooleanField(_("default for new cases"), default=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("service process")
        verbose_name_plural = _("service processes")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The process name in the active language (Chinese when set and active)."""
        return _in_language(self.name, self.name_zh)


class ProcessVersion(models.Model):
    process = models.ForeignKey(ServiceProcess, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    notes = models.TextField(_("change notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The checked values of the YAML sections other apps own (``processes.sections``: SLA
    # policies, quality standards), applied when this version is published.
    sections = models.JSONField(_("standards sections"), default=dict, blank=True)

    class Meta:
        ordering = ["process", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["process", "number"], name="processes_version_number_uniq"
            )
        ]
        verbose_name = _("process version")
        verbose_name_plural = _("process versions")

    def __str__(self) -> str:
        return f"{self.process} v{self.number}"

    # Fields a published/retired version may still change: only its status, published -> retired.
    _MUTABLE_WHEN_FROZEN = frozenset({"status"})

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            stored = ProcessVersion.objects.filter(pk=self.pk).first()
            if stored is not None and stored.status != VersionStatus.DRAFT:
                changed = {
                    f.attname
                    for f in self._meta.concrete_fields
                    if getattr(stored, f.attname) != getattr(self, f.attname)
                }
                retiring = (
                    stored.status == VersionStatus.PUBLISHED
                    and self.status == VersionStatus.RETIRED
                )
                if changed - self._MUTABLE_WHEN_FROZEN or ("status" in changed and not retiring):
                    _refuse_frozen(stored)
        super().save(*args, **kwargs)

    @property
    def is_editable(self) -> bool:
        return self.status == VersionStatus.DRAFT


class Stage(models.Model):
    version = models.ForeignKey(ProcessVersion, on_delete=models.CASCADE, related_name="stages")
    code = models.SlugField(_("code"), max_length=50)
    name = models.CharField(_("name"), max_length=100)
    name_zh = models.CharField(_("Chinese name"), max_length=100, blank=True)
    order = models.PositiveSmallIntegerField(_("order"))
    responsible_team = models.ForeignKey(
        "accounts.Team", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    responsible_role = models.CharField(
        _("responsible role"), max_length=16, choices=Role.choices, default=Role.AGENT
    )
    required_skill = models.ForeignKey(
        "accounts.Skill", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    norm = models.TextField(_("operating norm"), blank=True)
    norm_zh = models.TextField(_("operating norm (Chinese)"), blank=True)
    time_standard_minutes = models.PositiveIntegerField(
        _("time standard (minutes)"), null=True, blank=True
    )
    checklist = models.JSONField(_("checklist"), default=list, blank=True)
    # The same items in Chinese, in the same order; the English item stays the stable key.
    checklist_zh = models.JSONField(_("checklist (Chinese)"), default=list, blank=True)
    required_fields = models.JSONField(_("fields required to leave"), default=list, blank=True)
    is_start = models.BooleanField(_("start stage"), default=False)
    is_end = models.BooleanField(_("end stage"), default=False)

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="processes_stage_code_uniq"),
            models.UniqueConstraint(fields=["version", "name"], name="processes_stage_name_uniq"),
        ]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args: Any, **kwargs: Any) -> None:
        guard_version_editable(self.version_id)
        if self.pk is not None:
            stored_version = Stage.objects.filter(pk=self.pk).values_list("version_id", flat=True)
            guard_version_editable(stored_version.first())
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        """The stage name in the active language (Chinese when set and active)."""
        return _in_language(self.name, self.name_zh)

    @property
    def display_norm(self) -> str:
        return _in_language(self.norm, self.norm_zh)

    def checklist_label(self, item: str) -> str:
        """A checklist item (stored and ticked by its English text) in the active language."""
        items, chinese = list(self.checklist or []), list(self.checklist_zh or [])
        if _chinese_active() and item in items:
            index = items.index(item)
            if index < len(chinese) and chinese[index]:
                return str(chinese[index])
        return item


class Transition(models.Model):
    version = models.ForeignKey(
        ProcessVersion, on_delete=models.CASCADE, related_name="transitions"
    )
    source = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="outgoing")
    target = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="incoming")
    kind = models.CharField(
        _("kind"), max_length=16, choices=TransitionKind.choices, default=TransitionKind.FORWARD
    )
    label = models.CharField(_("label"), max_length=100, blank=True)
    label_zh = models.CharField(_("Chinese label"), max_length=100, blank=True)

    class Meta:
        ordering = ["version", "source__order", "target__order"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "source", "target"], name="processes_transition_edge_uniq"
            )
        ]
        verbose_name = _("transition")
        verbose_name_plural = _("transitions")

    def __str__(self) -> str:
        return f"{self.source} → {self.target}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        guard_version_editable(self.version_id)
        if self.pk is not None:
            stored_version = Transition.objects.filter(pk=self.pk).values_list(
                "version_id", flat=True
            )
            guard_version_editable(stored_version.first())
        super().save(*args, **kwargs)

    @property
    def display_label(self) -> str:
        return _in_language(self.label, self.label_zh)
