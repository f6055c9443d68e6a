"""Edits of a draft version from the browser designer: stages and transitions, one at a time.

Each edit is checked with the same rules as the YAML import (``validate_process`` over the whole
definition after the change, plus the models' own field checks). A problem of the edited element
itself (a duplicate code, a non-positive time standard, a transition to itself, a second start
stage...) refuses the edit and writes nothing. Problems of the definition as a whole (no end stage
yet, a stage not reachable yet) are normal while a process is being drawn: the edit is kept and
the problems are shown beside their elements (``process_version_problems``); publishing refuses
them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import Skill, Team, User
from serviceloop.analytics.process_model import validate_process
from serviceloop.core.messages import Problem as CodedProblem
from serviceloop.processes.choices import TransitionKind, VersionStatus
from serviceloop.processes.exceptions import VERSION_NOT_DRAFT, VersionStateError
from serviceloop.processes.models import ProcessVersion, ServiceProcess, Stage, Transition
from serviceloop.processes.services import (
    _refuse,
    _require_designer,
    _version_params,
    process_spec_from_version,
    rule_problem,
)

__all__ = [
    "MSG_EDGE_TAKEN",
    "MSG_STAGE_TAKEN",
    "ElementProblems",
    "StageFields",
    "process_create",
    "process_version_problems",
    "stage_create",
    "stage_delete",
    "stage_fields_from",
    "stage_move",
    "stage_update",
    "transition_create",
    "transition_delete",
    "transition_update",
]

# validate_process names StageSpec attributes; the designer's form fields are the model's.
_SPEC_TO_FIELD = {
    "code": "code",
    "name": "name",
    "name_zh": "name_zh",
    "checklist_zh": "checklist_zh",
    "time_standard_minutes": "time_standard_minutes",
    "role": "responsible_role",
    "start": "is_start",
    "team": "responsible_team",
    "skill": "required_skill",
    "from": "source",
    "to": "target",
    "kind": "kind",
}
_PATH = re.compile(r"^(stages|transitions)\[(\d+)\](?:\.(\w+))?$")


@dataclass(frozen=True)
class StageFields:
    """What a designer sets on a stage (checklist and required fields one entry per item)."""

    code: str
    name: str
    name_zh: str = ""
    responsible_team: Team | None = None
    responsible_role: str = Role.AGENT
    required_skill: Skill | None = None
    norm: str = ""
    norm_zh: str = ""
    time_standard_minutes: int | None = None
    checklist: tuple[str, ...] = ()
    checklist_zh: tuple[str, ...] = ()
    required_fields: tuple[str, ...] = ()
    is_start: bool = False
    is_end: bool = False

    def apply(self, stage: Stage) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            setattr(stage, name, list(value) if isinstance(value, tuple) else value)


@dataclass
class ElementProblems:
    """The rule problems of a version, placed: per stage id, per transition id, and the rest."""

    stages: dict[int, list[str]] = field(default_factory=dict)
    transitions: dict[int, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.stages or self.transitions or self.general)


def _ordered(version: ProcessVersion) -> tuple[list[int], list[int]]:
    """Stage and transition ids in the order ``process_spec_from_version`` lists them."""
    stage_ids = list(version.stages.order_by("order").values_list("pk", flat=True))
    transition_ids = list(version.transitions.order_by("pk").values_list("pk", flat=True))
    return stage_ids, transition_ids


def _located(version: ProcessVersion) -> list[tuple[str, int | None, str | None, str]]:
    """Every rule problem as (kind, element id, field, message); kind is stages/transitions/''."""
    problems = validate_process(process_spec_from_version(version), raise_errors=False)
    stage_ids, transition_ids = _ordered(version)
    out: list[tuple[str, int | None, str | None, str]] = []
    for problem in problems:
        match = _PATH.match(str(problem.path))
        message = rule_problem(problem)["message"]  # in the reader's language when it has a code
        if match is None:
            out.append(("", None, None, message))
            continue
        kind, index, attr = match.group(1), int(match.group(2)), match.group(3)
        ids = stage_ids if kind == "stages" else transition_ids
        element = ids[index] if index < len(ids) else None
        out.append((kind, element, _SPEC_TO_FIELD.get(attr or "", attr), message))
    return out


def process_version_problems(version: ProcessVersion) -> ElementProblems:
    """The version's problems under the import's rules, keyed by the element they concern."""
    placed = ElementProblems()
    for kind, element, _field, message in _located(version):
        if kind == "stages" and element is not None:
            placed.stages.setdefault(element, []).append(message)
        elif kind == "transitions" and element is not None:
            placed.transitions.setdefault(element, []).append(message)
        else:
            placed.general.append(message)
    return placed


def _check_element(version: ProcessVersion, *, kind: str, element_id: int) -> None:
    """Refuse (rolling back) when the edited element itself breaks a rule of the import.

    A stage's own problems carry a field (``stages[2].code``); a problem naming the stage alone
    (unreachable, dead end) is about the drawing as a whole and does not refuse the edit.
    """
    own = [
        (name, message)
        for k, element, name, message in _located(version)
        if k == kind and element == element_id and (name is not None or kind == "transitions")
    ]
    if own:
        raise _refuse([{"path": name or "__all__", "message": message} for name, message in own])


def _lock_draft(version: ProcessVersion) -> ProcessVersion:
    locked = ProcessVersion.objects.select_for_update().select_related("process").get(pk=version.pk)
    if locked.status != VersionStatus.DRAFT:
        raise VersionStateError(CodedProblem(VERSION_NOT_DRAFT, _version_params(locked)))
    return locked


MSG_STAGE_TAKEN = "Another stage of this version already has this %(field)s."
MSG_EDGE_TAKEN = "This version already has a transition from %(source)s to %(target)s."


def _clean(instance: Stage | Transition) -> None:
    """The model's field checks, then its uniqueness as a message on the field that collides."""
    try:
        instance.full_clean(validate_constraints=False, validate_unique=False)
    except ValidationError as exc:
        raise _refuse(
            [
                {"path": name, "message": message}
                for name, messages in exc.message_dict.items()
                for message in messages
            ]
        ) from exc
    problems: list[dict[str, str]] = []
    if isinstance(instance, Stage):
        siblings = Stage.objects.filter(version_id=instance.version_id).exclude(pk=instance.pk)
        for name, label in (("code", _("code")), ("name", _("name"))):
            if siblings.filter(**{name: getattr(instance, name)}).exists():
                problems.append({"path": name, "message": _(MSG_STAGE_TAKEN) % {"field": label}})
    else:
        edges = Transition.objects.filter(
            version_id=instance.version_id,
            source_id=instance.source_id,
            target_id=instance.target_id,
        ).exclude(pk=instance.pk)
        if edges.exists():
            names = {"source": instance.source.display_name, "target": instance.target.display_name}
            problems.append({"path": "target", "message": _(MSG_EDGE_TAKEN) % names})
    if problems:
        raise _refuse(problems)


def _renumber(version: ProcessVersion, stages: list[Stage]) -> None:
    for position, stage in enumerate(stages, start=1):
        if stage.order != position:
            stage.order = position
            stage.save(update_fields=["order"])


@transaction.atomic
def stage_create(*, version: ProcessVersion, fields: StageFields, actor: User) -> Stage:
    """Append a stage to a draft version."""
    _require_designer(actor)
    locked = _lock_draft(version)
    top = locked.stages.aggregate(top=Max("order"))["top"] or 0
    stage = Stage(version=locked, order=top + 1)
    fields.apply(stage)
    _clean(stage)
    stage.save()
    _check_element(locked, kind="stages", element_id=stage.pk)
    return stage


@transaction.atomic
def stage_update(*, stage: Stage, fields: StageFields, actor: User) -> Stage:
    """Change what a draft's stage says (name, who, norm, standard, checklist, exits)."""
    _require_designer(actor)
    locked = _lock_draft(stage.version)
    row = Stage.objects.select_for_update().get(pk=stage.pk, version=locked)
    fields.apply(row)
    _clean(row)
    row.save()
    _check_element(locked, kind="stages", element_id=row.pk)
    return row


@transaction.atomic
def stage_delete(*, stage: Stage, actor: User) -> None:
    """Remove a stage and the transitions touching it; the others close up their order."""
    _require_designer(actor)
    locked = _lock_draft(stage.version)
    Stage.objects.filter(pk=stage.pk, version=locked).delete()
    _renumber(locked, list(locked.stages.order_by("order")))


@transaction.atomic
def stage_move(*, stage: Stage, offset: int, actor: User) -> Stage:
    """Move a stage ``offset`` places up (negative) or down within its version's order."""
    _require_designer(actor)
    locked = _lock_draft(stage.version)
    stages = list(locked.stages.order_by("order"))
    index = next(i for i, s in enumerate(stages) if s.pk == stage.pk)
    moved = stages.pop(index)
    stages.insert(max(0, min(len(stages), index + offset)), moved)
    _renumber(locked, stages)
    return moved


def _transition_of(transition: Transition, version: ProcessVersion) -> Transition:
    return Transition.objects.select_for_update().get(pk=transition.pk, version=version)


@transaction.atomic
def transition_create(
    *,
    version: ProcessVersion,
    source: Stage,
    target: Stage,
    kind: str = TransitionKind.FORWARD,
    label: str = "",
    label_zh: str = "",
    actor: User,
) -> Transition:
    """Draw a transition between two stages of the draft."""
    _require_designer(actor)
    locked = _lock_draft(version)
    if source.version_id != locked.pk or target.version_id != locked.pk:
        message = _("Both stages must belong to this version.")
        raise _refuse([{"path": "target", "message": message}])
    transition = Transition(
        version=locked, source=source, target=target, kind=kind, label=label, label_zh=label_zh
    )
    _clean(transition)
    transition.save()
    _check_element(locked, kind="transitions", element_id=transition.pk)
    return transition


@transaction.atomic
def transition_update(
    *, transition: Transition, kind: str, label: str, actor: User, label_zh: str = ""
) -> Transition:
    """Change a transition's kind (forward, rework, escalation) or its label."""
    _require_designer(actor)
    locked = _lock_draft(transition.version)
    row = _transition_of(transition, locked)
    row.kind, row.label, row.label_zh = kind, label, label_zh
    _clean(row)
    row.save()
    _check_element(locked, kind="transitions", element_id=row.pk)
    return row


@transaction.atomic
def transition_delete(*, transition: Transition, actor: User) -> None:
    """Remove a transition from the draft."""
    _require_designer(actor)
    locked = _lock_draft(transition.version)
    Transition.objects.filter(pk=transition.pk, version=locked).delete()


def stage_fields_from(data: dict[str, Any]) -> StageFields:
    """``StageFields`` from a form's cleaned data (unknown keys ignored)."""
    names = StageFields.__dataclass_fields__
    return StageFields(**{k: v for k, v in data.items() if k in names})


@transaction.atomic
def process_create(
    *, code: str, name: str, name_zh: str = "", description: str = "", actor: User
) -> ProcessVersion:
    """A new process with an empty draft v1 to design in the browser."""

    _require_designer(actor)
    process = ServiceProcess(code=code, name=name, name_zh=name_zh, description=description)
    try:
        process.full_clean()
    except ValidationError as exc:
        raise _refuse(
            [{"path": k, "message": m} for k, ms in exc.message_dict.items() for m in ms]
        ) from exc
    process.save()
    return ProcessVersion.objects.create(
        process=process, number=1, status=VersionStatus.DRAFT, created_by=actor
    )
