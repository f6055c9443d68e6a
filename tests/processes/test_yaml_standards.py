"""SLA policies and quality standards travel in the process YAML: exported, imported all-or-nothing
(a bad element refuses the whole definition, naming it), applied when the version is published."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from serviceloop.cases.models import Category
from serviceloop.processes.exceptions import ProcessDefinitionInvalid
from serviceloop.processes.models import ProcessVersion, ServiceProcess, Stage, Transition
from serviceloop.processes.services import (
    process_version_export,
    process_version_import,
    process_version_new_draft,
    process_version_publish,
)
from serviceloop.sla.models import (
    BusinessCalendar,
    EscalationRule,
    QualityStandard,
    SlaPolicy,
    SlaTarget,
)
from serviceloop.sla.selectors import setup_forget
from tests.factories import CategoryFactory, TeamFactory

pytestmark = pytest.mark.django_db

DEFINITION: dict[str, Any] = {
    "process": {"code": "repair", "name": "Repair", "name_zh": "维修流程", "description": ""},
    "stages": [
        {"code": "open", "name": "Open", "name_zh": "受理", "team": "desk", "start": True},
        {"code": "fix", "name": "Fix", "name_zh": "维修", "team": "techs"},
        {"code": "done", "name": "Done", "name_zh": "完成", "end": True},
    ],
    "transitions": [
        {"from": "open", "to": "fix", "label": "Accept", "label_zh": "受理"},
        {"from": "fix", "to": "done", "label": "Fixed", "label_zh": "已修复"},
        {"from": "open", "to": "fix", "kind": "escalation"},
    ],
    "sla_policies": [
        {
            "name": "Urgent billing",
            "order": 10,
            "active": True,
            "priorities": ["urgent", "high"],
            "channels": ["phone"],
            "categories": ["billing"],
            "segments": ["vip"],
            "warn_share": 0.5,
            "calendar": "Office",
            "targets": {"first_response": 30, "next_response": 60, "resolution": 480},
            "escalations": [
                {"trigger": "warning", "metric": "first_response", "action": "notify"},
                {"trigger": "breach", "metric": None, "action": "reassign_team", "team": "techs"},
                {
                    "trigger": "breach",
                    "metric": "resolution",
                    "action": "move_stage",
                    "stage": "fix",
                },
            ],
        },
        {"name": "Everything else", "order": 20, "targets": {"resolution": 2400}},
    ],
    "quality_standards": [
        {"indicator": "reopen_rate", "target": 0.05},
        {"indicator": "rework_rate", "stage": "fix", "target": 0.1},
        {"indicator": "first_contact_resolution", "target": 0.6},
    ],
}
# The duplicate (open -> fix) edge above is not wanted: keep the definition valid.
DEFINITION["transitions"] = DEFINITION["transitions"][:2]


def _text(edit: Any = None) -> str:
    doc = copy.deepcopy(DEFINITION)
    if edit is not None:
        edit(doc)
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


@pytest.fixture(autouse=True)
def _known() -> None:
    TeamFactory(code="desk", name="Help desk")
    TeamFactory(code="techs", name="Technicians")
    CategoryFactory(code="billing", name="Billing")
    BusinessCalendar.objects.create(name="Office", time_zone="UTC", country="")
    setup_forget()


def _rows() -> tuple[int, ...]:
    models = (ServiceProcess, ProcessVersion, Stage, Transition)
    sla = (SlaPolicy, SlaTarget, EscalationRule, QualityStandard)
    return tuple(m.objects.count() for m in (*models, *sla))


def test_import_keeps_the_sections_on_the_draft_and_publish_applies_them() -> None:
    version = process_version_import(text=_text(), actor=None)
    assert SlaPolicy.objects.count() == 0  # a draft changes nothing that runs
    process_version_publish(version=version, actor=None)
    urgent = SlaPolicy.objects.get(name="Urgent billing")
    assert urgent.process == version.process
    assert (urgent.priorities, urgent.categories, urgent.segments) == (
        ["urgent", "high"],
        ["billing"],
        ["vip"],
    )
    assert urgent.calendar is not None and urgent.calendar.name == "Office"
    assert dict(urgent.targets.values_list("metric", "minutes")) == {
        "first_response": 30,
        "next_response": 60,
        "resolution": 480,
    }
    rules = list(urgent.escalations.order_by("order"))
    assert [(r.trigger, r.action) for r in rules] == [
        ("warning", "notify"),
        ("breach", "reassign_team"),
        ("breach", "move_stage"),
    ]
    assert rules[1].team is not None and rules[1].team.code == "techs"
    assert rules[2].stage_code == "fix"
    assert set(QualityStandard.objects.values_list("indicator", "stage_code", "target")) == {
        ("reopen_rate", "", 0.05),
        ("rework_rate", "fix", 0.1),
        ("first_contact_resolution", "", 0.6),
    }


def test_round_trip_with_chinese_fields_and_standards_loses_nothing() -> None:
    version = process_version_import(text=_text(), actor=None)
    draft_yaml = process_version_export(version)
    published = process_version_publish(version=version, actor=None)
    live_yaml = process_version_export(published)
    assert yaml.safe_load(live_yaml) == yaml.safe_load(draft_yaml)
    doc = yaml.safe_load(live_yaml)
    assert doc["process"]["name_zh"] == "维修流程"
    assert doc["transitions"][1]["label_zh"] == "已修复"
    assert doc["sla_policies"][0]["escalations"][1]["team"] == "techs"
    again = process_version_import(text=live_yaml, actor=None)
    assert process_version_export(again) == live_yaml


def test_edits_in_the_web_ui_show_in_the_published_export_and_carry_to_a_new_draft() -> None:
    published = process_version_publish(
        version=process_version_import(text=_text(), actor=None), actor=None
    )
    SlaTarget.objects.filter(policy__name="Everything else").update(minutes=1200)
    exported = yaml.safe_load(process_version_export(published))
    assert exported["sla_policies"][1]["targets"] == {"resolution": 1200}
    draft = process_version_new_draft(from_version=published, actor=None)
    assert draft.sections["sla_policies"][1]["targets"] == {"resolution": 1200}


def test_publishing_matches_policies_by_name_and_removes_the_others() -> None:
    first = process_version_publish(
        version=process_version_import(text=_text(), actor=None), actor=None
    )
    kept_id = SlaPolicy.objects.get(name="Urgent billing").pk

    def edit(doc: dict[str, Any]) -> None:
        doc["sla_policies"] = doc["sla_policies"][:1]
        doc["sla_policies"][0]["targets"] = {"resolution": 240}

    second = process_version_import(text=_text(edit), actor=None, process=first.process)
    process_version_publish(version=second, actor=None)
    assert list(SlaPolicy.objects.values_list("pk", "name")) == [(kept_id, "Urgent billing")]
    assert list(SlaTarget.objects.values_list("metric", "minutes")) == [("resolution", 240)]


def test_a_version_without_sections_leaves_the_standards_as_they_are() -> None:
    first = process_version_publish(
        version=process_version_import(text=_text(), actor=None), actor=None
    )

    def edit(doc: dict[str, Any]) -> None:
        del doc["sla_policies"], doc["quality_standards"]

    second = process_version_import(text=_text(edit), actor=None, process=first.process)
    process_version_publish(version=second, actor=None)
    assert SlaPolicy.objects.count() == 2 and QualityStandard.objects.count() == 3


def _set(path: list[Any], value: Any) -> Any:
    def edit(doc: dict[str, Any]) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


BAD = [
    (["sla_policies", 0, "categories"], ["billing", "ghost"], "sla_policies[0].categories[1]", "category_unknown"),
    (["sla_policies", 0, "priorities"], ["urgent", "asap"], "sla_policies[0].priorities[1]", "yaml_priority"),
    (["sla_policies", 0, "warn_share"], 1.5, "sla_policies[0].warn_share", "yaml_warn_share_range"),
    (["sla_policies", 0, "calendar"], "Night shift", "sla_policies[0].calendar", "yaml_calendar_unknown"),
    (["sla_policies", 0, "targets"], {"resolution": 0}, "sla_policies[0].targets.resolution", "yaml_whole_number"),
    (["sla_policies", 1, "targets"], {}, "sla_policies[1].targets", "yaml_targets_required"),
    (["sla_policies", 1, "name"], "Urgent billing", "sla_policies[1].name", "yaml_policy_name_twice"),
    (["sla_policies", 1, "colour"], "red", "sla_policies[1].colour", "yaml_unknown_key"),
    (["sla_policies", 0, "escalations", 1, "team"], "ghosts", "sla_policies[0].escalations[1].team", "yaml_team_unknown"),
    (["sla_policies", 0, "escalations", 1, "team"], None, "sla_policies[0].escalations[1].team", "yaml_escalation_team_required"),
    (["sla_policies", 0, "escalations", 2, "stage"], "limbo", "sla_policies[0].escalations[2].stage", "yaml_stage_unknown"),
    (["sla_policies", 0, "escalations", 0, "trigger"], "later", "sla_policies[0].escalations[0].trigger", "bad_choice"),
    (["quality_standards", 0, "stage"], "fix", "quality_standards[0].stage", "yaml_quality_stage_rework_only"),
    (["quality_standards", 1, "target"], 2, "quality_standards[1].target", "yaml_share_range"),
    (["quality_standards", 2, "indicator"], "reopen_rate", "quality_standards[2]", "yaml_quality_twice"),
    (["sla_policies"], {"name": "not a list"}, "sla_policies", "yaml_not_list"),
    (["sla_policies", 0, "escalations", 0, "trigger"], None, "sla_policies[0].escalations[0].trigger", "yaml_required"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "value", "where", "code"), BAD, ids=[b[3] + str(i) for i, b in enumerate(BAD)]
)
def test_a_bad_element_refuses_the_whole_import_naming_it(
    path: list[Any], value: Any, where: str, code: str
) -> None:
    before = _rows()
    with pytest.raises(ProcessDefinitionInvalid) as info:
        process_version_import(text=_text(_set(path, value)), actor=None)
    assert {"path": where, "code": code} in [
        {"path": p["path"], "code": p.get("code")} for p in info.value.extra["problems"]
    ], info.value.extra["problems"]
    assert _rows() == before


def test_publish_refuses_when_a_named_category_went_away_and_changes_nothing() -> None:
    version = process_version_import(text=_text(), actor=None)
    Category.objects.filter(code="billing").update(code="invoices")
    with pytest.raises(ProcessDefinitionInvalid) as info:
        process_version_publish(version=version, actor=None)
    assert [(p["path"], p.get("code")) for p in info.value.extra["problems"]] == [
        ("sla_policies[0].categories[0]", "category_unknown")
    ]
    version.refresh_from_db()
    assert version.status == "draft" and SlaPolicy.objects.count() == 0


def test_the_api_refuses_a_bad_policy_with_its_code_in_the_readers_language() -> None:
    from django.test import Client

    from serviceloop.accounts.services import api_token_create
    from tests.factories import ManagerFactory

    _, key = api_token_create(user=ManagerFactory(), name="tests")
    before = _rows()
    response = Client().post(
        "/api/processes/import",
        {"definition": _text(_set(["sla_policies", 0, "calendar"], "Night shift"))},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "process_definition_problem"
    [problem] = body["problems"]
    assert (problem["path"], problem["code"]) == (
        "sla_policies[0].calendar",
        "yaml_calendar_unknown",
    )
    assert "Night shift" in problem["message"] and "没有名为" in problem["message"]
    assert _rows() == before


def test_the_documented_example_imports_publishes_and_round_trips() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "process-yaml.md").read_text("utf-8")
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    TeamFactory(code="frontline", name="Frontline")
    TeamFactory(code="specialists", name="Specialists")
    version = process_version_import(text=example, actor=None)
    published = process_version_publish(version=version, actor=None)
    assert published.process.name_zh == "维修服务流程"
    assert SlaPolicy.objects.filter(process=published.process).count() == 2
    assert QualityStandard.objects.filter(process=published.process).count() == 3
    exported = process_version_export(published)
    assert yaml.safe_load(exported)["stages"][0]["checklist_zh"] == ["已确认客户身份", "已记录故障"]
    assert process_version_export(process_version_import(text=exported, actor=None)) == exported


def test_the_publish_page_shows_the_standards_a_draft_changes() -> None:
    from django.test import Client

    from tests.factories import ManagerFactory

    live = process_version_publish(
        version=process_version_import(text=_text(), actor=None), actor=None
    )

    def edit(doc: dict[str, Any]) -> None:
        doc["sla_policies"][1]["targets"] = {"resolution": 1200}
        del doc["sla_policies"][0]
        doc["quality_standards"].append({"indicator": "rework_rate", "target": 0.2})

    draft = process_version_import(text=_text(edit), actor=None, process=live.process)
    client = Client()
    client.force_login(ManagerFactory())
    html = client.get(f"/processes/{draft.pk}/publish/confirm/").content.decode()
    assert "SLA policies" in html and "Quality standards" in html
    assert "− Urgent billing" in html  # removed
    assert "<del>{resolution: 2400}</del> → <ins>{resolution: 1200}</ins>" in html
    assert "+ Rework rate (at most)" in html
    assert SlaPolicy.objects.count() == 2  # the page only shows: nothing applied yet
