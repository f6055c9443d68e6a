"""The process YAML carries every Chinese field, and the import checks them with the designer's
rules: a version exported and imported again loses nothing."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from django.utils import translation

from serviceloop.processes.exceptions import PROCESS_CHECKLIST_ZH_COUNT, ProcessDefinitionInvalid
from serviceloop.processes.models import ProcessVersion, ServiceProcess, Stage, Transition
from serviceloop.processes.services import (
    process_version_export,
    process_version_import,
    process_version_new_draft,
)
from serviceloop.processes.services.designer import StageFields, stage_update
from serviceloop.processes.services.shipped import SHIPPED_PROCESS_PATHS, process_shipped_install
from tests.factories import ManagerFactory, TeamFactory

pytestmark = pytest.mark.django_db

BILINGUAL: dict[str, Any] = {
    "process": {"code": "repair", "name": "Repair", "name_zh": "维修流程", "description": "Fix."},
    "stages": [
        {
            "code": "open",
            "name": "Open",
            "name_zh": "受理",
            "team": "desk",
            "norm": "Answer within an hour.",
            "norm_zh": "一小时内答复。",
            "checklist": ["Caller identified", "Fault recorded"],
            "checklist_zh": ["已确认来电人", "已记录故障"],
            "start": True,
        },
        {"code": "done", "name": "Done", "name_zh": "完成", "end": True},
    ],
    "transitions": [
        {"from": "open", "to": "done", "label": "Fixed", "label_zh": "已修复"},
        {
            "from": "done",
            "to": "open",
            "kind": "rework",
            "label": "Broke again",
            "label_zh": "复发",
        },
    ],
}


def _text(edit: Any = None) -> str:
    doc = copy.deepcopy(BILINGUAL)
    if edit is not None:
        edit(doc)
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


@pytest.fixture(autouse=True)
def _desk() -> None:
    TeamFactory(code="desk", name="Help desk")


def test_import_stores_every_chinese_field() -> None:
    version = process_version_import(text=_text(), actor=None)
    stage = version.stages.get(code="open")
    fixed = version.transitions.get(source__code="open")
    assert version.process.name_zh == "维修流程"
    assert (stage.name_zh, stage.norm_zh) == ("受理", "一小时内答复。")
    assert stage.checklist_zh == ["已确认来电人", "已记录故障"]
    assert fixed.label_zh == "已修复"
    with translation.override("zh-hans"):
        assert version.process.display_name == "维修流程"
        assert stage.display_norm == "一小时内答复。"
        assert stage.checklist_label("Fault recorded") == "已记录故障"
        assert fixed.display_label == "已修复"


def test_export_and_import_round_trip_loses_nothing() -> None:
    version = process_version_import(text=_text(), actor=None)
    exported = process_version_export(version)
    assert yaml.safe_load(exported)["process"]["name_zh"] == "维修流程"
    again = process_version_import(text=exported, actor=None)
    assert process_version_export(again) == exported
    fields = ("code", "name", "name_zh", "norm", "norm_zh", "checklist", "checklist_zh", "order")
    assert list(version.stages.values(*fields)) == list(again.stages.values(*fields))
    edges = ("source__code", "target__code", "kind", "label", "label_zh")
    assert list(version.transitions.order_by("pk").values(*edges)) == list(
        again.transitions.order_by("pk").values(*edges)
    )


def test_new_draft_keeps_the_chinese_labels() -> None:
    version = process_version_import(text=_text(), actor=None)
    draft = process_version_new_draft(from_version=version, actor=None)
    assert set(draft.transitions.values_list("label_zh", flat=True)) == {"已修复", "复发"}


def test_a_chinese_checklist_of_another_length_is_refused_with_its_code() -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["stages"][0]["checklist_zh"] = ["已确认来电人"]

    counts = [m.objects.count() for m in (ServiceProcess, ProcessVersion, Stage, Transition)]
    with pytest.raises(ProcessDefinitionInvalid) as info:
        process_version_import(text=_text(edit), actor=None)
    [problem] = info.value.extra["problems"]
    assert problem["path"] == "stages[0].checklist_zh"
    assert problem["code"] == PROCESS_CHECKLIST_ZH_COUNT
    assert info.value.code == "process_definition_problem"
    assert counts == [
        m.objects.count() for m in (ServiceProcess, ProcessVersion, Stage, Transition)
    ]


def test_the_designer_refuses_the_same_checklist_with_the_same_code() -> None:
    version = process_version_import(text=_text(), actor=None)
    stage = version.stages.get(code="open")
    fields = StageFields(
        code="open",
        name="Open",
        checklist=("Caller identified", "Fault recorded"),
        checklist_zh=("已确认来电人",),
        is_start=True,
    )
    with pytest.raises(ProcessDefinitionInvalid) as info:
        stage_update(stage=stage, fields=fields, actor=ManagerFactory())
    assert "checklist_zh" in info.value.extra["fields"]
    stage.refresh_from_db()
    assert stage.checklist_zh == ["已确认来电人", "已记录故障"]


def test_chinese_problem_messages_follow_the_language() -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["stages"][0]["checklist_zh"] = ["已确认来电人"]

    with translation.override("zh-hans"), pytest.raises(ProcessDefinitionInvalid) as info:
        process_version_import(text=_text(edit), actor=None)
    assert info.value.extra["problems"][0]["message"] != (
        "Give one Chinese line per checklist item (2), in the same order."
    )


def test_a_definition_without_a_chinese_name_keeps_the_products() -> None:
    version = process_version_import(text=_text(), actor=None)

    def edit(doc: dict[str, Any]) -> None:
        del doc["process"]["name_zh"]

    process_version_import(text=_text(edit), actor=None, process=version.process)
    version.process.refresh_from_db()
    assert version.process.name_zh == "维修流程"


def test_the_shipped_processes_load_with_their_chinese_names() -> None:
    versions = process_shipped_install()
    assert len(versions) == len(SHIPPED_PROCESS_PATHS)
    standard = versions["standard-service"]
    assert standard.process.name_zh == "标准服务流程"
    intake = standard.stages.get(code="intake")
    assert len(intake.checklist_zh) == len(intake.checklist) > 0
    assert all(t.label_zh for t in standard.transitions.all())


def test_chinese_stage_names_are_unique_and_the_refusal_names_the_other_stage() -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["stages"][1]["name_zh"] = "受理"

    with translation.override("zh-hans"), pytest.raises(ProcessDefinitionInvalid) as info:
        process_version_import(text=_text(edit), actor=None)
    [problem] = info.value.extra["problems"]
    assert (problem["path"], problem["code"]) == ("stages[1].name_zh", "process_stage_key_taken")
    assert "“受理”" in problem["message"] and "“Open”" in problem["message"]
    assert "阶段" in problem["message"]


def test_a_too_long_chinese_label_is_refused_with_its_code() -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["transitions"][0]["label_zh"] = "修" * 101

    with pytest.raises(ProcessDefinitionInvalid) as info:
        process_version_import(text=_text(edit), actor=None)
    [problem] = info.value.extra["problems"]
    assert (problem["path"], problem["code"]) == (
        "transitions[0].label_zh",
        "process_text_too_long",
    )
    assert "101" in problem["message"] and "100" in problem["message"]


def test_the_designer_refuses_a_chinese_checklist_item_twice_in_the_readers_language() -> None:
    version = process_version_import(text=_text(), actor=None)
    stage = version.stages.get(code="open")
    fields = StageFields(
        code="open",
        name="Open",
        checklist=("Caller identified", "Fault recorded"),
        checklist_zh=("已确认", "已确认"),
        is_start=True,
    )
    with translation.override("zh-hans"), pytest.raises(ProcessDefinitionInvalid) as info:
        stage_update(stage=stage, fields=fields, actor=ManagerFactory())
    assert info.value.extra["fields"]["checklist_zh"] == ["“已确认”重复列出。"]
    stage.refresh_from_db()
    assert stage.checklist_zh == ["已确认来电人", "已记录故障"]
