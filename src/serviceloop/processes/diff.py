"""What changed between two versions of a process: stages, transitions and standards.

Stages are matched by code (the stable key cases and the log use), transitions by their two stage
codes; a stage whose code changed shows as one removed and one added. Compared on ``ProcessSpec``
so the diff sees exactly what the YAML export and the publish check see.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from serviceloop.analytics.process_model import ProcessSpec, StageSpec, TransitionSpec
from serviceloop.processes.flowchart import format_minutes
from serviceloop.processes.sections import registered_sections

__all__ = [
    "FieldChange",
    "ItemChange",
    "SectionChanges",
    "VersionDiff",
    "sections_diff",
    "spec_diff",
]

_STAGE_FIELDS = {
    "name": _("name"),
    "name_zh": _("Chinese name"),
    "team": _("responsible team"),
    "role": _("responsible role"),
    "skill": _("required skill"),
    "norm": _("operating norm"),
    "norm_zh": _("operating norm (Chinese)"),
    "time_standard_minutes": _("time standard"),
    "checklist": _("checklist"),
    "checklist_zh": _("checklist (Chinese)"),
    "required_fields": _("fields required to leave"),
    "start": _("start stage"),
    "end": _("end stage"),
}
_TRANSITION_FIELDS = {"kind": _("kind"), "label": _("label"), "label_zh": _("Chinese label")}


@dataclass(frozen=True)
class FieldChange:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class ItemChange:
    """One stage or transition: its key (code, or ``a → b``), how it reads, and changed fields."""

    key: str
    title: str
    changes: tuple[FieldChange, ...] = ()


@dataclass
class SectionChanges:
    """The entries of one standards section added, removed and changed between two versions."""

    label: str
    added: list[ItemChange] = field(default_factory=list)
    removed: list[ItemChange] = field(default_factory=list)
    changed: list[ItemChange] = field(default_factory=list)


@dataclass
class VersionDiff:
    stages_added: list[ItemChange] = field(default_factory=list)
    stages_removed: list[ItemChange] = field(default_factory=list)
    stages_changed: list[ItemChange] = field(default_factory=list)
    transitions_added: list[ItemChange] = field(default_factory=list)
    transitions_removed: list[ItemChange] = field(default_factory=list)
    transitions_changed: list[ItemChange] = field(default_factory=list)
    order_changed: bool = False
    # one per standards section that changed (SLA policies, quality standards)
    standards: list[SectionChanges] = field(default_factory=list)

    def __bool__(self) -> bool:
        return (
            self.order_changed
            or bool(self.standards)
            or any(
                getattr(self, name)
                for name in (
                    "stages_added",
                    "stages_removed",
                    "stages_changed",
                    "transitions_added",
                    "transitions_removed",
                    "transitions_changed",
                )
            )
        )


def _show(name: str, value: object) -> str:
    if value is None or value == "" or value == ():
        return "—"
    if name == "time_standard_minutes" and isinstance(value, int):
        return format_minutes(value)
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, tuple):
        return "; ".join(str(v) for v in value)
    return str(value)


def _stage_changes(old: StageSpec, new: StageSpec) -> tuple[FieldChange, ...]:
    return tuple(
        FieldChange(str(label), _show(name, getattr(old, name)), _show(name, getattr(new, name)))
        for name, label in _STAGE_FIELDS.items()
        if getattr(old, name) != getattr(new, name)
    )


def _edge_title(t: TransitionSpec, names: dict[str, str]) -> str:
    return f"{names.get(t.source, t.source)} → {names.get(t.target, t.target)}"


def spec_diff(old: ProcessSpec | None, new: ProcessSpec) -> VersionDiff:
    """Changes from ``old`` (``None``: an empty process) to ``new``."""
    diff = VersionDiff()
    before = {s.code: s for s in (old.stages if old else ())}
    after = {s.code: s for s in new.stages}
    names = {s.code: s.name for s in (old.stages if old else ())} | {
        s.code: s.name for s in new.stages
    }
    for code, stage in after.items():
        if code not in before:
            diff.stages_added.append(ItemChange(code, stage.name))
        elif changes := _stage_changes(before[code], stage):
            diff.stages_changed.append(ItemChange(code, stage.name, changes))
    diff.stages_removed = [ItemChange(c, s.name) for c, s in before.items() if c not in after]
    kept_before = [c for c in before if c in after]
    kept_after = [c for c in after if c in before]
    diff.order_changed = kept_before != kept_after

    edges_before = {(t.source, t.target): t for t in (old.transitions if old else ())}
    edges_after = {(t.source, t.target): t for t in new.transitions}
    for edge, t in edges_after.items():
        title = _edge_title(t, names)
        if edge not in edges_before:
            diff.transitions_added.append(ItemChange("→".join(edge), title))
            continue
        old_t = edges_before[edge]
        changes = tuple(
            FieldChange(str(label), str(getattr(old_t, name) or "—"), str(getattr(t, name) or "—"))
            for name, label in _TRANSITION_FIELDS.items()
            if getattr(old_t, name) != getattr(t, name)
        )
        if changes:
            diff.transitions_changed.append(ItemChange("→".join(edge), title, changes))
    diff.transitions_removed = [
        ItemChange("→".join(edge), _edge_title(t, names))
        for edge, t in edges_before.items()
        if edge not in edges_after
    ]
    return diff


def _flat(value: object) -> str:
    """A section value as one short line (YAML flow style)."""
    if value is None or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, list):
        return ", ".join(_flat(v) for v in value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flat(v)}" for k, v in value.items()) + "}"
    return str(value)


def sections_diff(diff: VersionDiff, old: Mapping[str, Any], new: Mapping[str, Any]) -> VersionDiff:
    """Add to ``diff`` the changes of the standards sections (``processes.sections``) from ``old``
    to ``new`` (what each version's export says); entries are matched by their section's key."""
    for key, section in registered_sections().items():
        before = {section.item_key(item): item for item in old.get(key) or ()}
        after = {section.item_key(item): item for item in new.get(key) or ()}
        entries = SectionChanges(
            str(section.label),
            added=[ItemChange(k, k) for k in after if k not in before],
            removed=[ItemChange(k, k) for k in before if k not in after],
        )
        for k, item in after.items():
            if k in before and before[k] != item:
                changes = tuple(
                    FieldChange(name, _flat(before[k].get(name)), _flat(value))
                    for name, value in item.items()
                    if before[k].get(name) != value
                )
                entries.changed.append(ItemChange(k, k, changes))
        if entries.added or entries.removed or entries.changed:
            diff.standards.append(entries)
    return diff
