"""Service process definitions: the YAML format, its Python form and its rules.

One format serves the Django ``processes`` app (import/export of versions) and conformance
checking of external logs. A definition looks like::

    process: {code: standard-service, name: Standard service process, name_zh: 标准服务流程,
              description: "..."}
    stages:
      - code: intake                 # slug, unique
        name: Intake                 # unique
        name_zh: 受理                 # optional, unique when set
        team: frontline              # optional team code
        role: agent                  # admin | manager | agent (default agent)
        skill: null                  # optional skill code
        norm: "Acknowledge within one business hour"
        norm_zh: "一个工作小时内确认受理"   # optional
        time_standard_minutes: 240   # optional positive integer
        checklist: ["Customer identified"]
        checklist_zh: ["已确认客户身份"]  # optional: one Chinese item per item, same order
        required_fields: ["category"]  # case fields that must be set to leave the stage
        start: true                  # exactly one start stage
        end: false                   # at least one end stage
    transitions:
      - {from: intake, to: analysis, kind: forward, label: Accept, label_zh: 受理}
        # kind: forward|rework|escalation; label_zh optional

Rules (each broken rule is one :class:`ProcessProblem` with a path such as ``stages[3].name``):
exactly one start stage; at least one end stage; stage codes, names and Chinese names unique
(and no stage's name equal to another stage's code, so that log activities map to one stage);
a Chinese checklist, when given, has one item per checklist item;
transitions between known stages, no self-loops, no duplicate edges; every stage reachable from
the start and able to reach an end stage. **An end stage may have outgoing rework or escalation
transitions** (reopening a closed case) **but no forward ones**: a forward edge out of an end
stage means the stage is not where the process ends. Input is read with ``yaml.safe_load``
semantics only (no Python objects), without anchors/aliases or duplicate keys, and at most
:data:`MAX_BYTES` long.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import AnalyticsError

__all__ = [
    "KINDS",
    "MAX_BYTES",
    "ROLES",
    "ProcessDefinitionError",
    "ProcessProblem",
    "ProcessSpec",
    "StageSpec",
    "TransitionSpec",
    "dump_process_yaml",
    "load_process_yaml",
    "parse_process_document",
    "parse_process_yaml",
    "validate_process",
]

MAX_BYTES = 512 * 1024  # a real definition is a few KB; refuse anything that is not one
ROLES = ("admin", "manager", "agent")
KINDS = ("forward", "rework", "escalation")
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")  # Django's SlugField
_CODE_MAX, _NAME_MAX, _PROCESS_NAME_MAX, _LABEL_MAX = 50, 100, 200, 100

_PROCESS_KEYS = ("code", "name", "name_zh", "description")
_STAGE_KEYS = (
    "code",
    "name",
    "name_zh",
    "team",
    "role",
    "skill",
    "norm",
    "norm_zh",
    "time_standard_minutes",
    "checklist",
    "checklist_zh",
    "required_fields",
    "start",
    "end",
)
_TRANSITION_KEYS = ("from", "to", "kind", "label", "label_zh")


# -- the Python form ------------------------------------------------------------------------------
@dataclass(frozen=True)
class StageSpec:
    """One stage: who is responsible, its operating norm, time standard and exit guards."""

    code: str
    name: str
    name_zh: str = ""
    team: str | None = None
    role: str = "agent"
    skill: str | None = None
    norm: str = ""
    time_standard_minutes: int | None = None
    checklist: tuple[str, ...] = ()
    required_fields: tuple[str, ...] = ()
    start: bool = False
    end: bool = False
    norm_zh: str = ""
    checklist_zh: tuple[str, ...] = ()  # the checklist in Chinese, item for item

    @property
    def keys(self) -> tuple[str, ...]:
        """The names a log may use for this stage: code, name and (when set) Chinese name."""
        return tuple(dict.fromkeys(k for k in (self.code, self.name, self.name_zh) if k))


@dataclass(frozen=True)
class TransitionSpec:
    """An allowed move between two stages (by code); ``kind`` is forward, rework or escalation."""

    source: str
    target: str
    kind: str = "forward"
    label: str = ""
    label_zh: str = ""


@dataclass(frozen=True)
class ProcessSpec:
    """A whole process definition: stages in order and the transitions allowed between them.

    Examples
    --------
    >>> spec = ProcessSpec("p", "P", "", (StageSpec("a", "A", start=True),
    ...                    StageSpec("b", "B", end=True)), (TransitionSpec("a", "b"),))
    >>> spec.start_stage.code, [s.code for s in spec.end_stages], spec.stage("B").code
    ('a', ['b'], 'b')
    >>> ("a", "b") in spec.allowed_edges
    True
    """

    code: str
    name: str
    description: str
    stages: tuple[StageSpec, ...]
    transitions: tuple[TransitionSpec, ...]
    name_zh: str = ""
    _lookup: dict[str, StageSpec] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        lookup: dict[str, StageSpec] = {}
        for stage in reversed(self.stages):  # first definition wins on (invalid) duplicates
            for key in stage.keys:
                lookup[key] = stage
        # Codes win over names of other stages: a code is the stage's identity.
        for stage in reversed(self.stages):
            lookup[stage.code] = stage
        object.__setattr__(self, "_lookup", lookup)

    @property
    def start_stage(self) -> StageSpec | None:
        """The start stage, or ``None`` when there is not exactly one."""
        starts = [s for s in self.stages if s.start]
        return starts[0] if len(starts) == 1 else None

    @property
    def end_stages(self) -> tuple[StageSpec, ...]:
        return tuple(s for s in self.stages if s.end)

    def stage(self, key: str) -> StageSpec:
        """The stage whose code, name or Chinese name is ``key``; ``KeyError`` when none."""
        try:
            return self._lookup[key]
        except KeyError:
            raise KeyError(f"no stage with code, name or Chinese name {key!r}") from None

    def find_stage(self, key: str) -> StageSpec | None:
        """Like :meth:`stage` but ``None`` when there is no such stage."""
        return self._lookup.get(key)

    @property
    def allowed_edges(self) -> frozenset[tuple[str, str]]:
        """``{(source code, target code)}`` of every transition, whatever its kind."""
        return frozenset((t.source, t.target) for t in self.transitions)

    def edge_kind(self, source: str, target: str) -> str | None:
        """The kind of the transition ``source -> target`` (codes), ``None`` if not allowed."""
        for t in self.transitions:
            if t.source == source and t.target == target:
                return t.kind
        return None

    def successors(self) -> dict[str, list[str]]:
        """Stage code -> codes reachable in one transition (declared order)."""
        out: dict[str, list[str]] = {s.code: [] for s in self.stages}
        for t in self.transitions:
            if t.source in out and t.target in out:
                out[t.source].append(t.target)
        return out

    def mandatory_stages(self) -> tuple[str, ...]:
        """Codes of the stages on every path from the start to an end stage (in stage order).

        A stage is mandatory when, without it, no end stage can be reached from the start:
        it dominates the end of the process. The start stage always is; with several end
        stages, none of them is. Empty when the process has no single start or no end.
        """
        start = self.start_stage
        ends = {s.code for s in self.end_stages}
        if start is None or not ends:
            return ()
        succ = self.successors()
        if not _reachable(succ, start.code) & ends:
            return ()
        out = []
        for stage in self.stages:
            if stage.code == start.code:
                out.append(stage.code)
                continue
            seen = _reachable(succ, start.code, avoid=stage.code)
            if not seen & (ends - {stage.code}):
                out.append(stage.code)
        return tuple(out)


def _reachable(succ: Mapping[str, list[str]], root: str, *, avoid: str | None = None) -> set[str]:
    seen = {root}
    todo = deque([root])
    while todo:
        for nxt in succ.get(todo.popleft(), ()):
            if nxt not in seen and nxt != avoid:
                seen.add(nxt)
                todo.append(nxt)
    return seen


# -- problems ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProcessProblem:
    """One broken rule: where (``stages[3].name``, ``transitions[2].to``) and what."""

    path: str
    message: str
    # A stable name of the rule for callers that word their own messages (``checklist_zh_count``);
    # empty for the rules that have none yet.
    code: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ProcessDefinitionError(AnalyticsError):
    """A process definition breaks the format or its rules; ``problems`` lists every one.

    An :class:`~serviceloop.analytics.errors.AnalyticsError`, so callers that catch the
    analytics root catch this too.
    """

    def __init__(self, problems: Iterable[ProcessProblem], *, source: str = "<string>") -> None:
        self.problems = list(problems)
        self.source = source
        n = len(self.problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source}: invalid process definition ({n} problem(s)):\n{lines}")


# -- parsing ----------------------------------------------------------------------------------------
class _Loader(yaml.SafeLoader):
    """``safe_load`` without anchors/aliases (no billion laughs) and without duplicate keys."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases are not allowed", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, list | dict):
                continue  # let the base class report the unhashable key
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_problem(exc: yaml.YAMLError) -> ProcessProblem:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        what = exc.problem or "syntax error"
        if exc.context:
            what = f"{what} ({exc.context})"
        return ProcessProblem(
            "", f"YAML error at line {mark.line + 1}, column {mark.column + 1}: {what}"
        )
    return ProcessProblem("", f"YAML error: {exc}")


class _Reader:
    """Typed field access that records a problem (and returns a default) instead of raising."""

    def __init__(self) -> None:
        self.problems: list[ProcessProblem] = []

    def fail(self, path: str, message: str, code: str = "", **params: Any) -> None:
        self.problems.append(ProcessProblem(path, message, code, params))

    def mapping(self, value: Any, path: str, keys: tuple[str, ...]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.fail(path, f"must be a mapping with keys {', '.join(keys)}, not {_kind(value)}")
            return None
        for key in value:
            if key not in keys:
                self.fail(_join(path, str(key)), f"unknown key {key!r}; allowed: {', '.join(keys)}")
        return value

    def text(
        self,
        obj: Mapping[str, Any],
        key: str,
        path: str,
        *,
        required: bool = False,
        max_len: int | None = None,
        slug: bool = False,
        nullable: bool = False,
    ) -> Any:
        where = _join(path, key)
        value = obj.get(key)
        if value is None:
            if required:
                self.fail(where, "is required" if key not in obj else "must not be empty")
            return None if nullable else ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.fail(where, f"must be a string, not {_kind(value)}")
            return None if nullable else ""
        if not isinstance(value, str):
            if slug or not isinstance(value, int | float):
                self.fail(where, f"must be a string, not {_kind(value)} {value!r}")
                return None if nullable else ""
            value = str(value)  # a name such as 2024 or 1.5 written unquoted
        value = value.strip()
        if required and not value:
            self.fail(where, "must not be empty")
        if max_len is not None and len(value) > max_len:
            self.fail(
                where,
                f"is {len(value)} characters long; at most {max_len} allowed",
                "text_too_long",
                length=len(value),
                max=max_len,
            )
        if slug and value and not _SLUG.match(value):
            self.fail(where, f"{value!r} is not a code: use only letters, digits, '-' and '_'")
        if nullable and not value:
            return None
        return value

    def flag(self, obj: Mapping[str, Any], key: str, path: str) -> bool:
        value = obj.get(key, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.fail(_join(path, key), f"must be true or false, not {_kind(value)} {value!r}")
            return False
        return value

    def strings(self, obj: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        value = obj.get(key)
        where = _join(path, key)
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail(where, f"must be a list of strings, not {_kind(value)}")
            return ()
        out: list[str] = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.fail(
                    f"{where}[{i}]", f"must be a non-empty string, not {item!r}", "item_empty"
                )
                continue
            item = item.strip()
            if item in out:
                self.fail(f"{where}[{i}]", f"{item!r} is listed twice", "item_twice", item=item)
                continue
            out.append(item)
        return tuple(out)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


def _stage_from(r: _Reader, raw: Any, path: str) -> StageSpec | None:
    obj = r.mapping(raw, path, _STAGE_KEYS)
    if obj is None:
        return None
    before = len(r.problems)
    role = obj.get("role", "agent")
    if role is None:
        role = "agent"
    if not isinstance(role, str) or role not in ROLES:
        r.fail(_join(path, "role"), f"{role!r} is not a role; use one of: {', '.join(ROLES)}")
        role = "agent"
    minutes = obj.get("time_standard_minutes")
    if minutes is not None and (
        isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0
    ):
        r.fail(
            _join(path, "time_standard_minutes"),
            f"must be a positive whole number of minutes, not {minutes!r}",
        )
        minutes = None
    stage = StageSpec(
        code=r.text(obj, "code", path, required=True, max_len=_CODE_MAX, slug=True),
        name=r.text(obj, "name", path, required=True, max_len=_NAME_MAX),
        name_zh=r.text(obj, "name_zh", path, max_len=_NAME_MAX),
        team=r.text(obj, "team", path, max_len=_CODE_MAX, slug=True, nullable=True),
        role=role,
        skill=r.text(obj, "skill", path, max_len=_CODE_MAX, slug=True, nullable=True),
        norm=r.text(obj, "norm", path),
        norm_zh=r.text(obj, "norm_zh", path),
        time_standard_minutes=minutes,
        checklist=r.strings(obj, "checklist", path),
        checklist_zh=r.strings(obj, "checklist_zh", path),
        required_fields=r.strings(obj, "required_fields", path),
        start=r.flag(obj, "start", path),
        end=r.flag(obj, "end", path),
    )
    return stage if len(r.problems) == before else None


def _transition_from(r: _Reader, raw: Any, path: str) -> TransitionSpec | None:
    obj = r.mapping(raw, path, _TRANSITION_KEYS)
    if obj is None:
        return None
    before = len(r.problems)
    kind = obj.get("kind", "forward")
    if kind is None:
        kind = "forward"
    if not isinstance(kind, str) or kind not in KINDS:
        r.fail(
            _join(path, "kind"),
            f"{kind!r} is not a transition kind; use one of: {', '.join(KINDS)}",
        )
    spec = TransitionSpec(
        source=r.text(obj, "from", path, required=True, max_len=_CODE_MAX),
        target=r.text(obj, "to", path, required=True, max_len=_CODE_MAX),
        kind=kind if isinstance(kind, str) else "forward",
        label=r.text(obj, "label", path, max_len=_LABEL_MAX),
        label_zh=r.text(obj, "label_zh", path, max_len=_LABEL_MAX),
    )
    return spec if len(r.problems) == before else None


def _items(r: _Reader, doc: Mapping[str, Any], key: str) -> list[Any]:
    value = doc.get(key)
    if value is None:
        r.fail(key, "is required (a list)" if key not in doc else "must be a non-empty list")
        return []
    if not isinstance(value, list):
        r.fail(key, f"must be a list, not {_kind(value)}")
        return []
    return value


def parse_process_yaml(text: str | bytes, *, source: str = "<string>") -> ProcessSpec:
    """Read and validate a definition; raise one :class:`ProcessDefinitionError` listing all problems.

    Only the keys ``process``, ``stages`` and ``transitions`` are allowed; a caller that knows more
    top-level sections reads them with :func:`parse_process_document`.

    Examples
    --------
    >>> spec = parse_process_yaml('''
    ... process: {code: mini, name: Mini}
    ... stages:
    ...   - {code: open, name: Open, start: true}
    ...   - {code: done, name: Done, end: true}
    ... transitions:
    ...   - {from: open, to: done}
    ... ''')
    >>> [s.code for s in spec.stages], spec.transitions[0].kind
    (['open', 'done'], 'forward')
    """
    return parse_process_document(text, source=source)[0]


def parse_process_document(
    text: str | bytes, *, source: str = "<string>", sections: Iterable[str] = ()
) -> tuple[ProcessSpec, dict[str, Any]]:
    """The definition and the raw values of the extra top-level ``sections`` present in the text.

    The sections (SLA policies, quality standards...) belong to whoever named them: this function
    only reads them with the same safe loader and hands them back unchecked.
    """
    extra_keys = tuple(sections)
    size = len(text.encode("utf-8")) if isinstance(text, str) else len(text)
    if size > MAX_BYTES:
        raise ProcessDefinitionError(
            [ProcessProblem("", f"the definition is {size} bytes; at most {MAX_BYTES} allowed")],
            source=source,
        )
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ProcessDefinitionError(
                [ProcessProblem("", f"not UTF-8 text (byte {exc.start}: {exc.reason})")],
                source=source,
            ) from None
    try:
        doc = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        raise ProcessDefinitionError([_yaml_problem(exc)], source=source) from None
    r = _Reader()
    if not isinstance(doc, dict):
        r.fail(
            "",
            f"the definition must be a mapping with keys process, stages, transitions, not {_kind(doc)}",
        )
        raise ProcessDefinitionError(r.problems, source=source)
    r.mapping(doc, "", ("process", "stages", "transitions", *extra_keys))
    head = r.mapping(doc.get("process"), "process", _PROCESS_KEYS) if "process" in doc else None
    if "process" not in doc:
        r.fail("process", "is required (a mapping with code, name, description)")
    head = head or {}
    code = r.text(head, "code", "process", required=bool(head), max_len=_CODE_MAX, slug=True)
    name = r.text(head, "name", "process", required=bool(head), max_len=_PROCESS_NAME_MAX)
    name_zh = r.text(head, "name_zh", "process", max_len=_PROCESS_NAME_MAX)
    description = r.text(head, "description", "process")
    stages = [_stage_from(r, s, f"stages[{i}]") for i, s in enumerate(_items(r, doc, "stages"))]
    raw_transitions = doc.get("transitions", [])
    if raw_transitions is None:
        raw_transitions = []
    if not isinstance(raw_transitions, list):
        r.fail("transitions", f"must be a list, not {_kind(raw_transitions)}")
        raw_transitions = []
    transitions = [
        _transition_from(r, t, f"transitions[{i}]") for i, t in enumerate(raw_transitions)
    ]
    if r.problems:
        raise ProcessDefinitionError(r.problems, source=source)
    spec = ProcessSpec(
        code=code,
        name=name,
        description=description,
        stages=tuple(s for s in stages if s is not None),
        transitions=tuple(t for t in transitions if t is not None),
        name_zh=name_zh,
    )
    validate_process(spec, source=source)
    return spec, {key: doc[key] for key in extra_keys if key in doc}


def load_process_yaml(path: str | Path) -> ProcessSpec:
    """Read a definition file (UTF-8); problems name the file."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise ProcessDefinitionError(
                [ProcessProblem("", f"the file is {size} bytes; at most {MAX_BYTES} allowed")],
                source=str(p),
            )
        data = p.read_bytes()
    except OSError as exc:
        raise ProcessDefinitionError(
            [ProcessProblem("", f"cannot read the file: {exc.strerror or exc}")], source=str(p)
        ) from None
    return parse_process_yaml(data, source=str(p))


# -- rules ------------------------------------------------------------------------------------------
def validate_process(
    spec: ProcessSpec, *, raise_errors: bool = True, source: str = "<process>"
) -> list[ProcessProblem]:
    """Check the rules of a definition (see the module docstring); every problem, in order.

    By default a :class:`ProcessDefinitionError` carrying the problems is raised when there is
    any, so a caller cannot forget to look; ``raise_errors=False`` returns the list instead
    (empty when the definition is valid).

    Examples
    --------
    >>> bad = ProcessSpec("p", "P", "", (StageSpec("a", "A", start=True),), ())
    >>> [str(p) for p in validate_process(bad, raise_errors=False)]
    ['stages: no end stage: mark at least one stage with end: true']
    """
    problems: list[ProcessProblem] = []

    def fail(path: str, message: str, code: str = "", **params: Any) -> None:
        problems.append(ProcessProblem(path, message, code, params))

    if not spec.stages:
        fail("stages", "must list at least one stage")

    first_by_key: dict[str, tuple[int, str]] = {}  # code/name/name_zh -> (stage index, field)
    for i, stage in enumerate(spec.stages):
        for attr in ("code", "name", "name_zh"):
            value = getattr(stage, attr)
            if not value:
                continue
            seen = first_by_key.get(value)
            if seen is None:
                first_by_key[value] = (i, attr)
            elif seen[0] != i:
                j, other = seen
                what = f"duplicate {attr}" if other == attr else f"{attr} equals the {other} of"
                fail(
                    f"stages[{i}].{attr}",
                    f"{what} stage {spec.stages[j].code!r} (stages[{j}]): {value!r}; "
                    "codes and names must identify one stage",
                    "stage_key_taken",
                    value=value,
                    stage=spec.stages[j].name,
                )
        if stage.time_standard_minutes is not None and stage.time_standard_minutes <= 0:
            fail(f"stages[{i}].time_standard_minutes", "must be a positive number of minutes")
        if stage.role not in ROLES:
            fail(
                f"stages[{i}].role", f"{stage.role!r} is not a role; use one of: {', '.join(ROLES)}"
            )
        twice = [
            item for n, item in enumerate(stage.checklist_zh) if item in stage.checklist_zh[:n]
        ]
        for item in dict.fromkeys(twice):  # the designer does not read the list as the parser does
            fail(f"stages[{i}].checklist_zh", f"{item!r} is listed twice", "item_twice", item=item)
        if stage.checklist_zh and len(stage.checklist_zh) != len(stage.checklist):
            n = len(stage.checklist)
            problems.append(
                ProcessProblem(
                    f"stages[{i}].checklist_zh",
                    f"give one Chinese item per checklist item ({n}), in the same order",
                    code="checklist_zh_count",
                    params={"count": n},
                )
            )

    starts = [i for i, s in enumerate(spec.stages) if s.start]
    if spec.stages and not starts:
        fail("stages", "no start stage: mark exactly one stage with start: true")
    for i in starts[1:]:
        fail(
            f"stages[{i}].start",
            f"a second start stage ({spec.stages[i].code!r}; the first is "
            f"{spec.stages[starts[0]].code!r}): exactly one stage may start the process",
        )
    ends = {s.code for s in spec.stages if s.end}
    if spec.stages and not ends:
        fail("stages", "no end stage: mark at least one stage with end: true")

    codes = {s.code for s in spec.stages}
    seen_edges: dict[tuple[str, str], int] = {}
    for i, t in enumerate(spec.transitions):
        path = f"transitions[{i}]"
        ok = True
        for key, value in (("from", t.source), ("to", t.target)):
            if value not in codes:
                named = spec.find_stage(value)
                hint = (
                    f"; transitions name stages by code: did you mean {named.code!r}?"
                    if named is not None
                    else f"; stages are: {', '.join(sorted(codes))}"
                )
                fail(f"{path}.{key}", f"unknown stage {value!r}{hint}")
                ok = False
        if t.kind not in KINDS:
            fail(
                f"{path}.kind",
                f"{t.kind!r} is not a transition kind; use one of: {', '.join(KINDS)}",
            )
        if not ok:
            continue
        if t.source == t.target:
            fail(f"{path}.to", f"a stage cannot transition to itself ({t.source!r})")
            continue
        edge = (t.source, t.target)
        if edge in seen_edges:
            fail(
                path,
                f"duplicate transition {t.source} -> {t.target} (also transitions[{seen_edges[edge]}])",
            )
            continue
        seen_edges[edge] = i
        if t.source in ends and t.kind == "forward":
            fail(
                f"{path}.kind",
                f"{t.source!r} is an end stage, so it cannot have a forward transition (to "
                f"{t.target!r}); make it a rework transition (a reopen) or unmark the end stage",
            )

    if len(starts) == 1 and spec.stages:
        succ = spec.successors()
        reach = _reachable(succ, spec.stages[starts[0]].code)
        pred: dict[str, list[str]] = {c: [] for c in codes}
        for src, dsts in succ.items():
            for dst in dsts:
                pred[dst].append(src)
        can_end: set[str] = set()
        for end in ends:
            can_end |= _reachable(pred, end)
        for i, stage in enumerate(spec.stages):
            if stage.code not in reach:
                fail(
                    f"stages[{i}]",
                    f"stage {stage.code!r} is unreachable: no transitions lead to it from the "
                    f"start stage {spec.stages[starts[0]].code!r}",
                )
            elif ends and stage.code not in can_end:
                fail(
                    f"stages[{i}]",
                    f"stage {stage.code!r} is a dead end: no transitions lead from it to an end stage",
                )
    if problems and raise_errors:
        raise ProcessDefinitionError(problems, source=source)
    return problems


# -- dumping ----------------------------------------------------------------------------------------
class _Flow(dict):  # type: ignore[type-arg]
    """A mapping written in flow style (``{from: a, to: b}``)."""


class _FlowList(list):  # type: ignore[type-arg]
    """A list written in flow style (``["a", "b"]``)."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _Flow, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items(), flow_style=True)
)
_Dumper.add_representer(
    _FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)


def dump_process_yaml(spec: ProcessSpec, sections: Mapping[str, Any] | None = None) -> str:
    """The definition as YAML; ``parse_process_yaml(dump_process_yaml(s)) == s`` for valid ``s``.

    ``sections`` (plain values) are written after the transitions, in their order.

    Examples
    --------
    >>> spec = ProcessSpec("p", "P", "", (StageSpec("a", "A", start=True),
    ...                    StageSpec("b", "B", end=True)), (TransitionSpec("a", "b"),))
    >>> parse_process_yaml(dump_process_yaml(spec)) == spec
    True
    """
    doc = {
        "process": {
            "code": spec.code,
            "name": spec.name,
            "name_zh": spec.name_zh,
            "description": spec.description,
        },
        "stages": [
            {
                "code": s.code,
                "name": s.name,
                "name_zh": s.name_zh,
                "team": s.team,
                "role": s.role,
                "skill": s.skill,
                "norm": s.norm,
                "norm_zh": s.norm_zh,
                "time_standard_minutes": s.time_standard_minutes,
                "checklist": _FlowList(s.checklist),
                "checklist_zh": _FlowList(s.checklist_zh),
                "required_fields": _FlowList(s.required_fields),
                "start": s.start,
                "end": s.end,
            }
            for s in spec.stages
        ],
        "transitions": [
            _Flow(
                {
                    "from": t.source,
                    "to": t.target,
                    "kind": t.kind,
                    "label": t.label,
                    "label_zh": t.label_zh,
                }
            )
            for t in spec.transitions
        ],
        **(sections or {}),
    }
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000, indent=2)
