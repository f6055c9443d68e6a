"""The process-definition format: parsing, every rule refused with its path, exact round trips."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from serviceloop.analytics import AnalyticsError
from serviceloop.analytics.process_model import (
    MAX_BYTES,
    ProcessDefinitionError,
    ProcessProblem,
    ProcessSpec,
    StageSpec,
    TransitionSpec,
    dump_process_yaml,
    load_process_yaml,
    parse_process_yaml,
    validate_process,
)

DEFAULT = (
    Path(__file__).resolve().parents[2]
    / "src"
    / "serviceloop"
    / "processes"
    / "defaults"
    / "standard-service.yaml"
)

BASE: dict[str, Any] = {
    "process": {"code": "mini", "name": "Mini process", "description": "Three stages."},
    "stages": [
        {"code": "open", "name": "Open", "name_zh": "受理", "start": True},
        {"code": "work", "name": "Work", "time_standard_minutes": 60, "team": "field"},
        {"code": "done", "name": "Done", "end": True, "role": "manager"},
    ],
    "transitions": [
        {"from": "open", "to": "work"},
        {"from": "work", "to": "done", "label": "Finished"},
        {"from": "work", "to": "open", "kind": "rework"},
    ],
}


def _doc(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc.update(changes)
    return doc


def _problems(doc: Any) -> list[tuple[str, str]]:
    text = doc if isinstance(doc, str) else yaml.safe_dump(doc, allow_unicode=True)
    with pytest.raises(ProcessDefinitionError) as info:
        parse_process_yaml(text, source="test.yaml")
    assert str(info.value).startswith("test.yaml: invalid process definition")
    return [(p.path, p.message) for p in info.value.problems]


def _stages(*patches: tuple[int, dict[str, Any]]) -> list[dict[str, Any]]:
    stages = copy.deepcopy(BASE["stages"])
    for index, patch in patches:
        stages[index].update(patch)
    return stages


def test_parses_a_valid_definition_with_defaults():
    spec = parse_process_yaml(yaml.safe_dump(BASE, allow_unicode=True))
    assert spec.code == "mini" and spec.description == "Three stages."
    assert [s.code for s in spec.stages] == ["open", "work", "done"]
    open_, work, done = spec.stages
    assert open_ == StageSpec(code="open", name="Open", name_zh="受理", start=True)
    assert work.time_standard_minutes == 60 and work.team == "field" and work.role == "agent"
    assert done.role == "manager" and done.end
    assert spec.transitions[2] == TransitionSpec("work", "open", "rework", "")
    assert spec.start_stage == open_
    assert spec.end_stages == (done,)
    assert spec.stage("受理") is open_ and spec.stage("Work") is work and spec.stage("done") is done
    assert spec.find_stage("nope") is None
    with pytest.raises(KeyError, match="nope"):
        spec.stage("nope")
    assert spec.allowed_edges == {("open", "work"), ("work", "done"), ("work", "open")}
    assert spec.edge_kind("work", "open") == "rework" and spec.edge_kind("open", "done") is None


def test_error_is_an_analytics_error_and_lists_every_problem():
    doc = _doc(stages=_stages((0, {"role": "boss"}), (1, {"time_standard_minutes": 0})))
    problems = _problems(doc)
    assert [p for p, _ in problems] == ["stages[0].role", "stages[1].time_standard_minutes"]
    assert issubclass(ProcessDefinitionError, AnalyticsError)


@pytest.mark.parametrize(
    ("doc", "path", "fragment"),
    [
        # types and keys
        ("- just a list", "", "must be a mapping"),
        (_doc(stages="open"), "stages", "must be a list"),
        (_doc(stages=[]), "stages", "at least one stage"),
        ({k: v for k, v in BASE.items() if k != "process"}, "process", "is required"),
        (_doc(extra=1), "extra", "unknown key"),
        (_doc(stages=_stages((0, {"colour": "red"}))), "stages[0].colour", "unknown key"),
        (_doc(stages=_stages((0, {"code": "not a slug"}))), "stages[0].code", "is not a code"),
        (_doc(stages=_stages((0, {"code": None}))), "stages[0].code", "must not be empty"),
        (_doc(stages=_stages((1, {"name": ""}))), "stages[1].name", "must not be empty"),
        (_doc(stages=_stages((1, {"name": ["x"]}))), "stages[1].name", "must be a string"),
        (_doc(stages=_stages((1, {"name": "x" * 101}))), "stages[1].name", "at most 100"),
        (_doc(stages=_stages((1, {"role": "boss"}))), "stages[1].role", "is not a role"),
        (_doc(stages=_stages((1, {"role": "customer"}))), "stages[1].role", "is not a role"),
        (_doc(stages=_stages((1, {"start": "yes"}))), "stages[1].start", "true or false"),
        (_doc(stages=_stages((1, {"checklist": "a"}))), "stages[1].checklist", "list of strings"),
        (_doc(stages=_stages((1, {"checklist": ["a", 3]}))), "stages[1].checklist[1]", "non-empty"),
        (_doc(stages=_stages((1, {"checklist": ["a", "a"]}))), "stages[1].checklist[1]", "twice"),
        (_doc(stages=_stages((1, {"required_fields": [""]}))), "stages[1].required_fields[0]", ""),
        (_doc(stages=_stages((1, {"team": "Field Team"}))), "stages[1].team", "is not a code"),
        (_doc(stages=_stages((1, {"skill": 3}))), "stages[1].skill", "must be a string"),
        # time standards
        (
            _doc(stages=_stages((1, {"time_standard_minutes": 0}))),
            "stages[1].time_standard_minutes",
            "positive",
        ),
        (
            _doc(stages=_stages((1, {"time_standard_minutes": -5}))),
            "stages[1].time_standard_minutes",
            "positive",
        ),
        (
            _doc(stages=_stages((1, {"time_standard_minutes": 1.5}))),
            "stages[1].time_standard_minutes",
            "whole",
        ),
        (
            _doc(stages=_stages((1, {"time_standard_minutes": True}))),
            "stages[1].time_standard_minutes",
            "whole",
        ),
        (
            _doc(stages=_stages((1, {"time_standard_minutes": "60"}))),
            "stages[1].time_standard_minutes",
            "whole",
        ),
        # start and end stages
        (_doc(stages=_stages((0, {"start": False}))), "stages", "no start stage"),
        (_doc(stages=_stages((1, {"start": True}))), "stages[1].start", "second start stage"),
        (_doc(stages=_stages((2, {"end": False}))), "stages", "no end stage"),
        # uniqueness (also across code/name so activities map to one stage)
        (_doc(stages=_stages((1, {"code": "open"}))), "stages[1].code", "duplicate code"),
        (_doc(stages=_stages((1, {"name": "Open"}))), "stages[1].name", "duplicate name"),
        (_doc(stages=_stages((1, {"name_zh": "受理"}))), "stages[1].name_zh", "duplicate name_zh"),
        (_doc(stages=_stages((1, {"name": "open"}))), "stages[1].name", "equals the code of"),
        # transitions
        (_doc(transitions="x"), "transitions", "must be a list"),
        (
            _doc(transitions=[{"from": "open", "to": "nowhere"}]),
            "transitions[0].to",
            "unknown stage 'nowhere'",
        ),
        (
            _doc(transitions=[{"from": "ghost", "to": "work"}]),
            "transitions[0].from",
            "unknown stage 'ghost'",
        ),
        (_doc(transitions=[{"from": "open"}]), "transitions[0].to", "is required"),
        (
            _doc(transitions=[{"from": "Open", "to": "work"}]),
            "transitions[0].from",
            "did you mean 'open'",
        ),
        (_doc(stages=["open", *BASE["stages"][1:]]), "stages[0]", "must be a mapping"),
        (
            _doc(
                transitions=[*BASE["transitions"], {"from": "open", "to": "work", "kind": "jump"}]
            ),
            "transitions[3].kind",
            "not a transition kind",
        ),
        (
            _doc(transitions=[*BASE["transitions"], {"from": "work", "to": "work"}]),
            "transitions[3].to",
            "to itself",
        ),
        (
            _doc(
                transitions=[*BASE["transitions"], {"from": "open", "to": "work", "kind": "rework"}]
            ),
            "transitions[3]",
            "duplicate transition",
        ),
        (
            _doc(transitions=[*BASE["transitions"], {"from": "done", "to": "work"}]),
            "transitions[3].kind",
            "end stage",
        ),
        (
            _doc(transitions=[*BASE["transitions"], {"from": "open", "to": "done", "via": 1}]),
            "transitions[3].via",
            "unknown key",
        ),
        # graph
        (
            _doc(transitions=[{"from": "open", "to": "done"}, {"from": "work", "to": "done"}]),
            "stages[1]",
            "unreachable",
        ),
        (
            _doc(transitions=[{"from": "open", "to": "work"}, {"from": "open", "to": "done"}]),
            "stages[1]",
            "dead end",
        ),
    ],
)
def test_each_rule_is_refused_with_its_path(doc, path, fragment):
    problems = _problems(doc)
    assert any(p == path and fragment in m for p, m in problems), problems


def test_end_stage_may_have_a_rework_transition_a_reopen():
    doc = _doc(transitions=[*BASE["transitions"], {"from": "done", "to": "work", "kind": "rework"}])
    spec = parse_process_yaml(yaml.safe_dump(doc))
    assert ("done", "work") in spec.allowed_edges


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("process: {code: a\nstages: [", "line 2, column"),
        ("process:\n  code: a\n   name: b\n", "line 3, column"),
        ("a: &x [1]\nb: *x\n", "anchors and aliases are not allowed"),
        ("process: {code: a}\nprocess: {code: b}\n", "duplicate key 'process'"),
        ("!!python/object/apply:os.system ['echo hi']\n", "line 1, column 1"),
    ],
)
def test_yaml_problems_give_line_and_column_and_unsafe_input_is_refused(text, fragment):
    [(path, message)] = _problems(text)
    assert path == "" and fragment in message


def test_huge_input_is_refused_before_parsing():
    text = "# " + "x" * MAX_BYTES
    [(path, message)] = _problems(text)
    assert path == "" and "bytes; at most" in message


def test_non_utf8_bytes_are_refused():
    with pytest.raises(ProcessDefinitionError, match="not UTF-8"):
        parse_process_yaml(b"process: \xff\xfe")


def test_load_names_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages: 3\n", encoding="utf-8")
    with pytest.raises(ProcessDefinitionError, match=r"bad\.yaml: invalid"):
        load_process_yaml(bad)
    with pytest.raises(ProcessDefinitionError, match="cannot read the file"):
        load_process_yaml(tmp_path / "missing.yaml")


def test_validate_process_raises_by_default_and_can_return_the_list():
    good = parse_process_yaml(yaml.safe_dump(BASE))
    assert validate_process(good) == []
    bad = ProcessSpec(
        "p", "P", "", (StageSpec("a", "A", start=True, end=True), StageSpec("b", "B")), ()
    )
    problems = validate_process(bad, raise_errors=False)
    assert problems == [
        ProcessProblem(
            "stages[1]",
            "stage 'b' is unreachable: no transitions lead to it from the start stage 'a'",
        )
    ]
    with pytest.raises(ProcessDefinitionError) as info:
        validate_process(bad, source="version 3")
    assert info.value.problems == problems and str(info.value).startswith("version 3:")


def test_mandatory_stages_are_the_dominators_of_the_end():
    spec = load_process_yaml(DEFAULT)
    # Escalation edges let urgent cases skip analysis and confirmation; the rest is mandatory.
    assert spec.mandatory_stages() == ("intake", "design", "delivery", "follow-up", "closed")
    two_ends = ProcessSpec(
        "p",
        "P",
        "",
        (
            StageSpec("a", "A", start=True),
            StageSpec("b", "B", end=True),
            StageSpec("c", "C", end=True),
        ),
        (TransitionSpec("a", "b"), TransitionSpec("a", "c")),
    )
    assert two_ends.mandatory_stages() == ("a",)


def test_default_process_is_valid_and_complete():
    spec = load_process_yaml(DEFAULT)
    assert [(s.name, s.name_zh) for s in spec.stages] == [
        ("Intake", "受理"),
        ("Needs analysis", "需求分析"),
        ("Confirmation", "需求确认"),
        ("Solution design", "方案设计"),
        ("Delivery", "服务实施"),
        ("Follow-up", "回访"),
        ("Closed", "关闭"),
    ]
    assert spec.start_stage is not None and spec.start_stage.code == "intake"
    assert [s.code for s in spec.end_stages] == ["closed"]
    assert spec.edge_kind("delivery", "design") == "rework"
    assert spec.edge_kind("follow-up", "delivery") == "rework"
    assert spec.edge_kind("intake", "design") == "escalation"
    assert {s.team for s in spec.stages} - {None} == {"frontline", "specialists", "field"}
    assert all(s.norm for s in spec.stages)
    assert all(s.time_standard_minutes for s in spec.stages if not s.end)


def test_dump_round_trips_the_default_exactly():
    spec = load_process_yaml(DEFAULT)
    text = dump_process_yaml(spec)
    assert parse_process_yaml(text) == spec
    assert dump_process_yaml(parse_process_yaml(text)) == text


_text = (
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30)
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=60, deadline=None)
@given(
    names=st.lists(_text, min_size=3, max_size=3, unique=True),
    norm=st.text(max_size=80).map(str.strip),
    label=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40).map(
        str.strip
    ),
    minutes=st.one_of(st.none(), st.integers(min_value=1, max_value=10**9)),
    checklist=st.lists(_text, max_size=4, unique=True),
)
def test_dump_round_trips_any_valid_definition(names, norm, label, minutes, checklist):
    codes = ["s-1", "s_2", "S3"]
    if set(names) & set(codes):
        return
    norm = norm.replace("\r", "").replace("\x85", "").replace("\u2028", "").replace("\u2029", "")
    spec = ProcessSpec(
        "p",
        names[0],
        norm,
        (
            StageSpec(codes[0], names[0], start=True, norm=norm, checklist=tuple(checklist)),
            StageSpec(codes[1], names[1], time_standard_minutes=minutes, role="admin"),
            StageSpec(codes[2], names[2], end=True, team="t", skill="k"),
        ),
        (
            TransitionSpec(codes[0], codes[1], label=label),
            TransitionSpec(codes[1], codes[2], "escalation"),
        ),
    )
    if validate_process(spec, raise_errors=False):
        return
    assert parse_process_yaml(dump_process_yaml(spec)) == spec


@pytest.mark.parametrize("module", ["process_model", "conformance", "report"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    mod = importlib.import_module(f"serviceloop.analytics.{module}")
    failed, tried = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert failed == 0 and tried > 0
