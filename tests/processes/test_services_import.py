"""process_version_import: every rule of the format is refused with its path and message, and a
refused definition writes nothing; export round-trips; the default process installs once."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from serviceloop.accounts.models import Skill, Team
from serviceloop.core.exceptions import PermissionDeniedError
from serviceloop.processes.choices import TransitionKind, VersionStatus
from serviceloop.processes.exceptions import PROCESS_CHANGE_FORBIDDEN, ProcessDefinitionInvalid
from serviceloop.processes.models import ProcessVersion, ServiceProcess, Stage, Transition
from serviceloop.processes.selectors import process_version_published
from serviceloop.processes.services import (
    DEFAULT_PROCESS_PATH,
    process_default_install,
    process_version_export,
    process_version_import,
    process_version_publish,
)
from tests.factories import AgentFactory, ManagerFactory, SkillFactory, TeamFactory

pytestmark = pytest.mark.django_db

BASE: dict[str, Any] = {
    "process": {"code": "repair", "name": "Repair", "description": "Fix what broke."},
    "stages": [
        {
            "code": "open",
            "name": "Open",
            "name_zh": "受理",
            "team": "desk",
            "start": True,
            "time_standard_minutes": 60,
            "checklist": ["Caller identified"],
            "required_fields": ["category"],
            "norm": "Answer within an hour.",
        },
        {
            "code": "fix",
            "name": "Fix",
            "name_zh": "维修",
            "team": "techs",
            "skill": "soldering",
            "time_standard_minutes": 480,
        },
        {"code": "done", "name": "Done", "name_zh": "关闭", "role": "manager", "end": True},
    ],
    "transitions": [
        {"from": "open", "to": "fix", "kind": "forward", "label": "Accept"},
        {"from": "fix", "to": "done"},
        {"from": "fix", "to": "open", "kind": "rework"},
        {"from": "open", "to": "done", "kind": "escalation", "label": "Nothing to fix"},
    ],
}


@pytest.fixture
def known_codes() -> None:
    TeamFactory(code="desk", name="Help desk")
    TeamFactory(code="techs", name="Technicians")
    SkillFactory(code="soldering", name="Soldering")


def _text(edit: Callable[[dict[str, Any]], None] | None = None) -> str:
    doc = copy.deepcopy(BASE)
    if edit is not None:
        edit(doc)
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def _counts() -> tuple[int, ...]:
    return tuple(
        m.objects.count() for m in (ServiceProcess, ProcessVersion, Stage, Transition, Team, Skill)
    )


def test_import_creates_process_and_draft(known_codes: None) -> None:
    manager = ManagerFactory()
    version = process_version_import(text=_text(), actor=manager)
    assert (version.number, version.status, version.created_by) == (1, VersionStatus.DRAFT, manager)
    process = version.process
    assert (process.code, process.name, process.description) == (
        "repair",
        "Repair",
        "Fix what broke.",
    )
    stages = {
        s.code: s for s in version.stages.select_related("responsible_team", "required_skill")
    }
    assert [s.code for s in version.stages.order_by("order")] == ["open", "fix", "done"]
    assert stages["open"].responsible_team.code == "desk"  # type: ignore[union-attr]
    assert stages["open"].is_start and stages["done"].is_end
    assert stages["open"].checklist == ["Caller identified"]
    assert stages["open"].required_fields == ["category"]
    assert stages["fix"].required_skill.code == "soldering"  # type: ignore[union-attr]
    assert stages["done"].responsible_role == "manager" and stages["done"].responsible_team is None
    kinds = {(t.source.code, t.target.code): t.kind for t in version.transitions.all()}
    assert kinds[("fix", "open")] == TransitionKind.REWORK
    assert kinds[("open", "done")] == TransitionKind.ESCALATION


def test_second_import_is_next_version_of_same_process(known_codes: None) -> None:
    first = process_version_import(text=_text(), actor=None)
    second = process_version_import(text=_text(), actor=None, process=first.process)
    assert second.process == first.process and second.number == 2


def test_export_round_trips(known_codes: None) -> None:
    version = process_version_import(text=_text(), actor=None)
    exported = process_version_export(version)
    again = process_version_import(text=exported, actor=None)
    assert process_version_export(again) == exported
    assert yaml.safe_load(exported)["stages"][1]["skill"] == "soldering"


def _drop_start(d: dict) -> None:
    d["stages"][0]["start"] = False


def _two_starts(d: dict) -> None:
    d["stages"][1]["start"] = True


def _no_end(d: dict) -> None:
    d["stages"][2]["end"] = False


def _dup_code(d: dict) -> None:
    d["stages"][1]["code"] = "open"


def _dup_name(d: dict) -> None:
    d["stages"][1]["name"] = "Open"


def _dup_name_zh(d: dict) -> None:
    d["stages"][1]["name_zh"] = "受理"


def _unknown_target(d: dict) -> None:
    d["transitions"][1]["to"] = "archive"


def _unknown_source(d: dict) -> None:
    d["transitions"][0]["from"] = "nowhere"


def _self_loop(d: dict) -> None:
    d["transitions"].append({"from": "fix", "to": "fix", "kind": "rework"})


def _duplicate_edge(d: dict) -> None:
    d["transitions"].append({"from": "open", "to": "fix"})


def _forward_from_end(d: dict) -> None:
    d["transitions"].append({"from": "done", "to": "open", "kind": "forward"})


def _unreachable(d: dict) -> None:
    d["stages"].insert(2, {"code": "limbo", "name": "Limbo"})
    d["transitions"].append({"from": "limbo", "to": "done"})


def _dead_end(d: dict) -> None:
    d["stages"].insert(2, {"code": "trap", "name": "Trap"})
    d["transitions"].append({"from": "fix", "to": "trap"})


def _bad_role(d: dict) -> None:
    d["stages"][1]["role"] = "wizard"


def _customer_role(d: dict) -> None:
    d["stages"][1]["role"] = "customer"


def _bad_kind(d: dict) -> None:
    d["transitions"][2]["kind"] = "sideways"


def _zero_minutes(d: dict) -> None:
    d["stages"][1]["time_standard_minutes"] = 0


def _unknown_key(d: dict) -> None:
    d["stages"][0]["colour"] = "red"


def _bad_code(d: dict) -> None:
    d["stages"][1]["code"] = "fix it!"
    d["transitions"] = [t for t in d["transitions"] if "fix" not in (t["from"], t["to"])]


def _long_name(d: dict) -> None:
    d["stages"][1]["name"] = "x" * 101


def _missing_name(d: dict) -> None:
    del d["stages"][1]["name"]


def _no_stages(d: dict) -> None:
    d["stages"] = []
    d["transitions"] = []


def _unknown_team(d: dict) -> None:
    d["stages"][1]["team"] = "night-shift"


def _unknown_skill(d: dict) -> None:
    d["stages"][1]["skill"] = "juggling"


RULES = [
    (_drop_start, "stages", "no start stage"),
    (_two_starts, "stages[1].start", "a second start stage"),
    (_no_end, "stages", "no end stage"),
    (_dup_code, "stages[1].code", "already names stage"),
    (_dup_name, "stages[1].name", "already names stage"),
    (_dup_name_zh, "stages[1].name_zh", "already names stage"),
    (_unknown_target, "transitions[1].to", "unknown stage 'archive'"),
    (_unknown_source, "transitions[0].from", "unknown stage 'nowhere'"),
    (_self_loop, "transitions[4].to", "cannot transition to itself"),
    (_duplicate_edge, "transitions[4]", "duplicate transition open -> fix"),
    (_forward_from_end, "transitions[4].kind", "is an end stage"),
    (_unreachable, "stages[2]", "'limbo' is unreachable"),
    (_dead_end, "stages[2]", "'trap' is a dead end"),
    (_bad_role, "stages[1].role", "'wizard' is not a role"),
    (_customer_role, "stages[1].role", "'customer' is not a role"),
    (_bad_kind, "transitions[2].kind", "'sideways' is not a transition kind"),
    (_zero_minutes, "stages[1].time_standard_minutes", "positive"),
    (_unknown_key, "stages[0].colour", "unknown key 'colour'"),
    (_bad_code, "stages[1].code", "is not a code"),
    (_long_name, "stages[1].name", "at most 100 are allowed"),
    (_missing_name, "stages[1].name", "is required"),
    (_no_stages, "stages", "at least one stage"),
    (_unknown_team, "stages[1].team", "Unknown team 'night-shift'"),
    (_unknown_skill, "stages[1].skill", "Unknown skill 'juggling'"),
]


@pytest.mark.parametrize(("edit", "path", "message"), RULES, ids=[r[0].__name__ for r in RULES])
def test_each_rule_is_refused_with_path_and_message_and_writes_nothing(
    known_codes: None, edit: Callable[[dict], None], path: str, message: str
) -> None:
    before = _counts()
    with pytest.raises(ProcessDefinitionInvalid) as info:
        process_version_import(text=_text(edit), actor=ManagerFactory())
    problems = info.value.extra["problems"]
    assert any(p["path"] == path and message in p["message"] for p in problems), problems
    assert message in " ".join(info.value.extra["fields"][path])
    assert _counts() == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stages: [\n  - {code: a", "YAML error at line"),
        ("a: &x [1]\nb: *x\n", "anchors and aliases are not allowed"),
        ("process: {code: a}\nprocess: {code: b}\n", "duplicate key 'process'"),
        ("- just\n- a list\n", "must be a mapping"),
        ("!!python/object:os.system {}\n", "YAML error"),
        ("x" * (512 * 1024 + 1), "at most"),
    ],
)
def test_malformed_text_is_refused(known_codes: None, text: str, message: str) -> None:
    before = _counts()
    with pytest.raises(ProcessDefinitionInvalid) as info:
        process_version_import(text=text, actor=None)
    assert any(message in p["message"] for p in info.value.extra["problems"])
    assert _counts() == before


def test_several_problems_are_reported_together(known_codes: None) -> None:
    def edit(d: dict) -> None:
        _unknown_team(d)
        d["stages"][0]["skill"] = "juggling"

    with pytest.raises(ProcessDefinitionInvalid) as info:
        process_version_import(text=_text(edit), actor=None)
    paths = {p["path"] for p in info.value.extra["problems"]}
    assert paths == {"stages[1].team", "stages[0].skill"}
    assert "2 problem(s)" in info.value.message


def test_import_into_another_process_is_refused(known_codes: None) -> None:
    other = ServiceProcess.objects.create(code="billing", name="Billing")
    before = _counts()
    with pytest.raises(ProcessDefinitionInvalid) as info:
        process_version_import(text=_text(), actor=None, process=other)
    assert info.value.extra["problems"] == [
        {"path": "code", "message": "This definition is for process 'repair', not 'billing'."}
    ]
    assert _counts() == before


def test_agents_may_not_import(known_codes: None) -> None:
    agent = AgentFactory()
    before = _counts()
    with pytest.raises(PermissionDeniedError) as info:
        process_version_import(text=_text(), actor=agent)
    assert info.value.code == PROCESS_CHANGE_FORBIDDEN
    assert _counts() == before


def test_publish_after_import(known_codes: None) -> None:
    version = process_version_import(text=_text(), actor=None)
    process_version_publish(version=version, actor=None)
    assert process_version_published(version.process) == version


def test_default_install_is_idempotent() -> None:
    version = process_default_install()
    assert version.status == VersionStatus.PUBLISHED
    assert version.process.is_default
    assert process_version_published() == version
    assert [s.code for s in version.stages.order_by("order")] == [
        "intake",
        "analysis",
        "confirmation",
        "design",
        "delivery",
        "follow-up",
        "closed",
    ]
    assert Team.objects.filter(code__in=["frontline", "specialists", "field"]).count() == 3
    rework = set(
        version.transitions.filter(kind=TransitionKind.REWORK).values_list(
            "source__code", "target__code"
        )
    )
    assert {("delivery", "design"), ("follow-up", "delivery")} <= rework
    counts = _counts()
    assert process_default_install() == version
    assert _counts() == counts


def test_default_install_uses_existing_teams_and_retakes_default_flag() -> None:
    team = TeamFactory(code="frontline", name="Front line (ours)")
    other = ServiceProcess.objects.create(code="other", name="Other", is_default=True)
    version = process_default_install()
    team.refresh_from_db()
    assert team.name == "Front line (ours)"
    assert version.stages.get(code="intake").responsible_team == team
    other.refresh_from_db()
    assert not other.is_default


def test_default_file_round_trips_through_export() -> None:
    version = process_default_install()
    shipped = yaml.safe_load(DEFAULT_PROCESS_PATH.read_text(encoding="utf-8"))
    assert yaml.safe_load(process_version_export(version)) == shipped
