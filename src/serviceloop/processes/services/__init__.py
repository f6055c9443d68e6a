"""Process-design writes: import/export YAML, publish, retire, new draft, the default process.

The definition format and its rules live in ``serviceloop.analytics.process_model`` (Django-free);
this module only maps a validated ``ProcessSpec`` onto rows (resolving team and skill codes) and
back. Every refusal names the offending path (``stages[3].team``) and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import Skill, Team, User
from serviceloop.accounts.permissions import can_design_processes
from serviceloop.analytics.process_model import (
    MAX_BYTES,
    ProcessDefinitionError,
    ProcessProblem,
    ProcessSpec,
    StageSpec,
    TransitionSpec,
    dump_process_yaml,
    parse_process_document,
    validate_process,
)
from serviceloop.core.exceptions import PermissionDeniedError
from serviceloop.core.limits import limit
from serviceloop.core.messages import Problem as CodedProblem
from serviceloop.processes.choices import VersionStatus
from serviceloop.processes.exceptions import (
    PROCESS_CHANGE_FORBIDDEN,
    PROCESS_CHECKLIST_ZH_COUNT,
    PROCESS_DEFINITION_INVALID,
    PROCESS_DEFINITION_PROBLEM,
    VERSION_NOT_DRAFT,
    VERSION_NOT_PUBLISHED_TO_RETIRE,
    ProcessDefinitionInvalid,
    VersionStateError,
)
from serviceloop.processes.models import ProcessVersion, ServiceProcess, Stage, Transition
from serviceloop.processes.sections import registered_sections, section_keys

__all__ = [
    "DEFAULT_PROCESS_PATH",
    "MSG_CODE_MISMATCH",
    "MSG_TOO_BIG",
    "MSG_TOO_DEEP",
    "MSG_UNKNOWN_ROLE",
    "MSG_UNKNOWN_SKILL",
    "MSG_UNKNOWN_TEAM",
    "SHIPPED_TEAM_NAMES_ZH",
    "Problem",
    "coded",
    "process_default_install",
    "process_set_default",
    "process_spec_from_version",
    "process_version_export",
    "process_version_import",
    "process_version_new_draft",
    "process_version_publish",
    "process_version_retire",
    "rule_problem",
    "team_defaults",
    "version_sections",
]

DEFAULT_PROCESS_PATH = Path(__file__).resolve().parent.parent / "defaults" / "standard-service.yaml"

MSG_UNKNOWN_TEAM = "Unknown team '%(code)s'. Create the team first or use an existing team code."
MSG_UNKNOWN_SKILL = (
    "Unknown skill '%(code)s'. Create the skill first or use an existing skill code."
)
MSG_UNKNOWN_ROLE = "Unknown role '%(role)s'; use one of: %(roles)s."
MSG_CODE_MISMATCH = "This definition is for process '%(found)s', not '%(expected)s'."

# {"path": "stages[3].name", "message": "..."}, plus "code" (of core.messages) when it has one
Problem = dict[str, str]

# Rules of the format (analytics.process_model) that carry a code -> their code in core.messages.
_RULE_CODES = {
    "checklist_zh_count": PROCESS_CHECKLIST_ZH_COUNT,
    "text_too_long": "process_text_too_long",
    "item_empty": "process_item_empty",
    "item_twice": "process_item_twice",
    "stage_key_taken": "process_stage_key_taken",
}

# Model field -> the key a definition author wrote, so database-level refusals name the YAML path.
_STAGE_FIELD_PATHS = {
    "code": "code",
    "name": "name",
    "name_zh": "name_zh",
    "norm": "norm",
    "norm_zh": "norm_zh",
    "time_standard_minutes": "time_standard_minutes",
    "checklist": "checklist",
    "checklist_zh": "checklist_zh",
    "required_fields": "required_fields",
    "responsible_role": "role",
}


def _version_params(version: ProcessVersion) -> dict[str, Any]:
    """The version and its status (a lazy label: shown in the reader's language)."""
    return {"version": str(version), "status": VersionStatus(version.status).label}


def _require_designer(actor: User | None) -> None:
    if actor is not None and not can_design_processes(actor):
        raise PermissionDeniedError(CodedProblem(PROCESS_CHANGE_FORBIDDEN))


def coded(path: str, code: str, **params: Any) -> Problem:
    """A problem at ``path`` worded by the ``code`` of core.messages (in the active language)."""
    return {"path": path, "message": CodedProblem(code, params).render(), "code": code}


def _refuse(problems: list[Problem]) -> ProcessDefinitionInvalid:
    """One error carrying every problem, also as ``fields`` (path -> messages) for forms and API."""
    fields: dict[str, list[str]] = {}
    for problem in problems:
        # a problem of the whole text (YAML syntax, size) has no path: it belongs to the definition
        fields.setdefault(problem["path"] or "definition", []).append(problem["message"])
    if len(problems) == 1:
        path, text = problems[0]["path"], problems[0]["message"]
        head = CodedProblem(
            PROCESS_DEFINITION_PROBLEM,
            {"count": 1, "problem": f"{path}: {text}" if path else text},
        )
    else:
        head = CodedProblem(PROCESS_DEFINITION_INVALID, {"count": len(problems)})
    return ProcessDefinitionInvalid(head, {"problems": problems, "fields": fields})


def rule_problem(problem: ProcessProblem) -> Problem:
    """A broken rule of the format, worded by its code of core.messages when it has one."""
    code = _RULE_CODES.get(problem.code)
    if code is not None:
        return coded(str(problem.path), code, **dict(problem.params))
    return {"path": str(problem.path), "message": str(problem.message)}


def _problems_of(error: ProcessDefinitionError) -> list[Problem]:
    return [rule_problem(p) for p in error.problems]


MSG_TOO_DEEP = (
    "The definition nests deeper than %(max)d levels (SERVICELOOP_LIMIT_PROCESS_YAML_DEPTH); "
    "a process definition needs a few."
)


def _too_deep(text: str | bytes) -> bool:
    """Whether the YAML nests deeper than the limit, read as a stream of events: the document
    loader recurses once per level and would exhaust the stack on ``[[[[...`` 100,000 deep."""
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig", errors="replace")
    most, depth = limit("PROCESS_YAML_DEPTH"), 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                depth += 1
                if depth > most:
                    return True
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return False  # the parser below reports it with its line and column
    except RecursionError:
        return True
    return False


MSG_TOO_BIG = (
    "The definition has %(size)d bytes; at most %(max)d are allowed "
    "(SERVICELOOP_LIMIT_PROCESS_YAML_BYTES)."
)


def _parse(text: str, source: str) -> ProcessSpec:
    return _parse_document(text, source)[0]


def _parse_document(text: str, source: str) -> tuple[ProcessSpec, dict[str, Any]]:
    """The definition and the raw sections other apps registered (``processes.sections``)."""
    size = len(text.encode("utf-8", "surrogatepass")) if isinstance(text, str) else len(text)
    most = min(limit("PROCESS_YAML_BYTES"), MAX_BYTES)
    if size > most:
        raise _refuse([{"path": "", "message": _(MSG_TOO_BIG) % {"size": size, "max": most}}])
    if _too_deep(text):
        most = limit("PROCESS_YAML_DEPTH")
        raise _refuse([{"path": "", "message": _(MSG_TOO_DEEP) % {"max": most}}])
    try:
        return parse_process_document(text, source=source, sections=section_keys())
    except ProcessDefinitionError as exc:
        raise _refuse(_problems_of(exc)) from exc
    except RecursionError:  # a structure deep in some other way: still the author's input
        most = limit("PROCESS_YAML_DEPTH")
        raise _refuse([{"path": "", "message": _(MSG_TOO_DEEP) % {"max": most}}]) from None


def _by_code(model: type[Team] | type[Skill], codes: Iterable[str]) -> dict[str, Any]:
    return {row.code: row for row in model.objects.filter(code__in=set(codes))}


def _build_stages(
    spec: ProcessSpec, *, teams: Mapping[str, Team], skills: Mapping[str, Skill]
) -> tuple[list[Stage], list[Problem]]:
    """Unsaved stages for ``spec`` plus every problem found resolving codes and checking columns."""
    problems: list[Problem] = []
    stages: list[Stage] = []
    for index, s in enumerate(spec.stages):
        path = f"stages[{index}]"
        team = teams.get(s.team) if s.team else None
        skill = skills.get(s.skill) if s.skill else None
        if s.team and team is None:
            problems.append(
                {"path": f"{path}.team", "message": _(MSG_UNKNOWN_TEAM) % {"code": s.team}}
            )
        if s.skill and skill is None:
            problems.append(
                {"path": f"{path}.skill", "message": _(MSG_UNKNOWN_SKILL) % {"code": s.skill}}
            )
        if s.role not in Role.values:
            roles = ", ".join(Role.values)
            problems.append(
                {
                    "path": f"{path}.role",
                    "message": _(MSG_UNKNOWN_ROLE) % {"role": s.role, "roles": roles},
                }
            )
        stage = Stage(
            code=s.code,
            name=s.name,
            name_zh=s.name_zh or "",
            order=index + 1,
            responsible_team=team,
            responsible_role=s.role if s.role in Role.values else Role.AGENT,
            required_skill=skill,
            norm=s.norm or "",
            norm_zh=s.norm_zh or "",
            time_standard_minutes=s.time_standard_minutes,
            checklist=list(s.checklist),
            checklist_zh=list(s.checklist_zh),
            required_fields=list(s.required_fields),
            is_start=s.start,
            is_end=s.end,
        )
        try:
            stage.full_clean(
                exclude=["version", "responsible_team", "required_skill"], validate_unique=False
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                key = _STAGE_FIELD_PATHS.get(field, field)
                problems += [{"path": f"{path}.{key}", "message": m} for m in messages]
        stages.append(stage)
    return stages, problems


def _write_definition(
    *, version: ProcessVersion, stages: list[Stage], transitions: Iterable[TransitionSpec]
) -> None:
    for stage in stages:
        stage.version = version
    Stage.objects.bulk_create(stages)
    by_code = {stage.code: stage for stage in stages}
    Transition.objects.bulk_create(
        Transition(
            version=version,
            source=by_code[t.source],
            target=by_code[t.target],
            kind=t.kind,
            label=t.label or "",
            label_zh=t.label_zh or "",
        )
        for t in transitions
    )


def _next_number(process: ServiceProcess) -> int:
    current = process.versions.aggregate(top=Max("number"))["top"]
    return (current or 0) + 1


@transaction.atomic
def process_version_import(
    *,
    text: str,
    actor: User | None,
    process: ServiceProcess | None = None,
    source: str = "<upload>",
) -> ProcessVersion:
    """Create a new draft version from a YAML definition; all-or-nothing.

    The process is found (or created) by the definition's ``code``; when ``process`` is given the
    code must match it. The process's names and description follow the definition (they are labels,
    not part of the versioned definition). Teams and skills are referenced by code and must exist.
    """
    _require_designer(actor)
    spec, raw_sections = _parse_document(text, source)
    if process is not None and spec.code != process.code:
        message = _(MSG_CODE_MISMATCH) % {"found": spec.code, "expected": process.code}
        raise _refuse([{"path": "code", "message": message}])
    teams = _by_code(Team, (s.team for s in spec.stages if s.team))
    skills = _by_code(Skill, (s.skill for s in spec.stages if s.skill))
    stages, problems = _build_stages(spec, teams=teams, skills=skills)
    sections, section_problems = _read_sections(raw_sections, spec)
    if problems or section_problems:
        raise _refuse(problems + section_problems)

    target = ServiceProcess.objects.select_for_update().filter(code=spec.code).first()
    labels = {"name": spec.name, "description": spec.description or ""}
    if spec.name_zh:  # a definition without one (written before the field) keeps the product's
        labels["name_zh"] = spec.name_zh
    if target is None:
        target = ServiceProcess(code=spec.code, **labels)
        target.full_clean()
        target.save()
    elif any(getattr(target, key) != value for key, value in labels.items()):
        for key, value in labels.items():
            setattr(target, key, value)
        target.save(update_fields=list(labels))
    version = ProcessVersion.objects.create(
        process=target,
        number=_next_number(target),
        status=VersionStatus.DRAFT,
        created_by=actor,
        sections=sections,
    )
    _write_definition(version=version, stages=stages, transitions=spec.transitions)
    return version


def _read_sections(
    raw: Mapping[str, Any], spec: ProcessSpec
) -> tuple[dict[str, Any], list[Problem]]:
    """Each registered section present in ``raw``, checked by its owner; all their problems."""
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, section in registered_sections().items():
        if key in raw:
            values[key], found = section.read(raw[key], spec=spec, path=key)
            problems += found
    return values, problems


def version_sections(version: ProcessVersion) -> dict[str, Any]:
    """What the sections say for ``version``: what runs now for the published one, else the
    values kept from its import. Empty sections are left out."""
    out: dict[str, Any] = {}
    for key, section in registered_sections().items():
        if version.status == VersionStatus.PUBLISHED:
            value = section.export(version)
        else:
            value = (version.sections or {}).get(key)
        if value:
            out[key] = value
    return out


def process_spec_from_version(version: ProcessVersion) -> ProcessSpec:
    """The definition held by ``version`` as a ``ProcessSpec`` (for export and re-validation)."""
    stages = list(
        version.stages.select_related("responsible_team", "required_skill").order_by("order")
    )
    transitions = version.transitions.select_related("source", "target").order_by("pk")
    return ProcessSpec(
        code=version.process.code,
        name=version.process.name,
        description=version.process.description,
        stages=tuple(
            StageSpec(
                code=s.code,
                name=s.name,
                name_zh=s.name_zh,
                team=s.responsible_team.code if s.responsible_team else None,
                role=s.responsible_role,
                skill=s.required_skill.code if s.required_skill else None,
                norm=s.norm,
                norm_zh=s.norm_zh,
                time_standard_minutes=s.time_standard_minutes,
                checklist=tuple(s.checklist or ()),
                checklist_zh=tuple(s.checklist_zh or ()),
                required_fields=tuple(s.required_fields or ()),
                start=s.is_start,
                end=s.is_end,
            )
            for s in stages
        ),
        transitions=tuple(
            TransitionSpec(
                source=t.source.code,
                target=t.target.code,
                kind=t.kind,
                label=t.label,
                label_zh=t.label_zh,
            )
            for t in transitions
        ),
        name_zh=version.process.name_zh,
    )


def process_version_export(version: ProcessVersion) -> str:
    """YAML that ``process_version_import`` turns back into the same definition."""
    return dump_process_yaml(process_spec_from_version(version), version_sections(version))


@transaction.atomic
def process_version_publish(*, version: ProcessVersion, actor: User | None) -> ProcessVersion:
    """Make a draft the live version of its process and retire the one before it.

    Validated again from the rows (a draft may have been edited since import). Cases already open
    stay on the version they started on; only new cases start on this one.
    """
    _require_designer(actor)
    locked = ProcessVersion.objects.select_for_update().select_related("process").get(pk=version.pk)
    if locked.status != VersionStatus.DRAFT:
        raise VersionStateError(CodedProblem(VERSION_NOT_DRAFT, _version_params(locked)))
    spec = process_spec_from_version(locked)
    try:
        validate_process(spec)
    except ProcessDefinitionError as exc:
        raise _refuse(_problems_of(exc)) from exc
    sections, problems = _read_sections(locked.sections or {}, spec)
    if problems:  # checked again: a team or category may have gone since the import
        raise _refuse(problems)
    for previous in ProcessVersion.objects.select_for_update().filter(
        process=locked.process, status=VersionStatus.PUBLISHED
    ):
        previous.status = VersionStatus.RETIRED
        previous.save(update_fields=["status"])
    locked.status = VersionStatus.PUBLISHED
    locked.published_at = timezone.now()
    locked.save(update_fields=["status", "published_at"])
    owners = registered_sections()
    for key, value in sections.items():
        owners[key].apply(version=locked, value=value, actor=actor)
    version.status, version.published_at = locked.status, locked.published_at
    return locked


@transaction.atomic
def process_version_retire(*, version: ProcessVersion, actor: User | None) -> ProcessVersion:
    """Stop new cases from starting on ``version``; cases on it continue to the end."""
    _require_designer(actor)
    locked = ProcessVersion.objects.select_for_update().select_related("process").get(pk=version.pk)
    if locked.status != VersionStatus.PUBLISHED:
        raise VersionStateError(
            CodedProblem(VERSION_NOT_PUBLISHED_TO_RETIRE, _version_params(locked))
        )
    locked.status = VersionStatus.RETIRED
    locked.save(update_fields=["status"])
    version.status = locked.status
    return locked


@transaction.atomic
def process_version_new_draft(
    *, from_version: ProcessVersion, actor: User | None
) -> ProcessVersion:
    """A new draft (next number) with a copy of ``from_version``'s stages and transitions."""
    _require_designer(actor)
    process = ServiceProcess.objects.select_for_update().get(pk=from_version.process_id)
    draft = ProcessVersion.objects.create(
        process=process,
        number=_next_number(process),
        status=VersionStatus.DRAFT,
        created_by=actor,
        notes=_("Copied from version %(number)d.") % {"number": from_version.number},
        sections=version_sections(from_version),
    )
    originals = list(from_version.stages.order_by("order"))
    copies = [
        Stage(
            version=draft,
            **{
                f.attname: getattr(s, f.attname)
                for f in Stage._meta.concrete_fields
                if f.attname not in {"id", "version_id"}
            },
        )
        for s in originals
    ]
    Stage.objects.bulk_create(copies)
    new_id = {old.pk: new.pk for old, new in zip(originals, copies, strict=True)}
    Transition.objects.bulk_create(
        Transition(
            version=draft,
            source_id=new_id[t.source_id],
            target_id=new_id[t.target_id],
            kind=t.kind,
            label=t.label,
            label_zh=t.label_zh,
        )
        for t in from_version.transitions.all()
    )
    return draft


@transaction.atomic
def process_set_default(*, process: ServiceProcess, actor: User | None) -> ServiceProcess:
    """Make ``process`` the one new cases start on when no process is named."""
    _require_designer(actor)
    ServiceProcess.objects.filter(is_default=True).exclude(pk=process.pk).update(is_default=False)
    if not process.is_default:
        process.is_default = True
        process.save(update_fields=["is_default"])
    return process


def _team_name(code: str) -> str:
    return code.replace("-", " ").replace("_", " ").capitalize()


# The Chinese names of the teams the shipped processes name, given when the team is created.
SHIPPED_TEAM_NAMES_ZH = {"frontline": "一线服务组", "specialists": "专家组", "field": "现场服务组"}


def team_defaults(code: str) -> dict[str, str]:
    """Names for a team a definition names but the database lacks (created by the installers)."""
    return {"name": _team_name(code), "name_zh": SHIPPED_TEAM_NAMES_ZH.get(code, "")}


@transaction.atomic
def process_default_install(
    *, actor: User | None = None, path: Path = DEFAULT_PROCESS_PATH
) -> ProcessVersion:
    """Install, publish and mark as default the shipped standard process; safe to run again.

    When the process already has a published version, that version is kept (and the process made
    the default): a re-run never creates a second version. Teams and skills the definition names
    are created when missing.
    """
    _require_designer(actor)
    spec = _parse(path.read_text(encoding="utf-8"), str(path))
    process = ServiceProcess.objects.select_for_update().filter(code=spec.code).first()
    if process is not None:
        live = process.versions.filter(status=VersionStatus.PUBLISHED).order_by("-number").first()
        if live is not None:
            process_set_default(process=process, actor=actor)
            return live
    for code in {s.team for s in spec.stages if s.team}:
        Team.objects.get_or_create(code=code, defaults=team_defaults(code))
    for code in {s.skill for s in spec.stages if s.skill}:
        Skill.objects.get_or_create(code=code, defaults={"name": _team_name(code)})
    version = process_version_import(text=path.read_text(encoding="utf-8"), actor=actor)
    version = process_version_publish(version=version, actor=actor)
    process_set_default(process=version.process, actor=actor)
    return version
