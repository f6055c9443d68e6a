"""Publish, retire, new draft, default process; cases stay pinned to the version they started on."""

from __future__ import annotations

import pytest

from serviceloop.core.exceptions import PermissionDeniedError
from serviceloop.processes.choices import VersionStatus
from serviceloop.processes.exceptions import (
    PROCESS_CHANGE_FORBIDDEN,
    ProcessDefinitionInvalid,
    VersionStateError,
)
from serviceloop.processes.models import ProcessVersion, Stage, Transition
from serviceloop.processes.selectors import process_version_published
from serviceloop.processes.services import (
    process_set_default,
    process_version_export,
    process_version_new_draft,
    process_version_publish,
    process_version_retire,
)
from tests.factories import AgentFactory, CaseFactory, ManagerFactory, build_process_version

pytestmark = pytest.mark.django_db


def _definition(version: ProcessVersion) -> tuple[list[tuple], list[tuple]]:
    stages = list(
        version.stages.order_by("order").values_list(
            "code",
            "name",
            "name_zh",
            "order",
            "responsible_team",
            "responsible_role",
            "required_skill",
            "norm",
            "time_standard_minutes",
            "checklist",
            "required_fields",
            "is_start",
            "is_end",
        )
    )
    edges = sorted(version.transitions.values_list("source__code", "target__code", "kind", "label"))
    return stages, edges


def test_publish_draft_retires_previous_and_pins_cases() -> None:
    manager = ManagerFactory()
    v1 = build_process_version(is_default=True)
    old_case = CaseFactory(process_version=v1)
    v2 = process_version_new_draft(from_version=v1, actor=manager)
    assert (v2.number, v2.status) == (2, VersionStatus.DRAFT)
    assert _definition(v2) == _definition(v1)

    process_version_publish(version=v2, actor=manager)
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert v1.status == VersionStatus.RETIRED
    assert v2.status == VersionStatus.PUBLISHED and v2.published_at is not None
    assert process_version_published() == v2

    old_case.refresh_from_db()
    assert old_case.process_version_id == v1.pk
    assert old_case.stage.version_id == v1.pk
    new_case = CaseFactory()
    assert new_case.process_version_id == v2.pk
    assert new_case.stage.version_id == v2.pk


def test_only_drafts_are_published() -> None:
    manager = ManagerFactory()
    for status in (VersionStatus.PUBLISHED, VersionStatus.RETIRED):
        version = build_process_version(status=status)
        with pytest.raises(VersionStateError, match="Only a draft can be published"):
            process_version_publish(version=version, actor=manager)
        version.refresh_from_db()
        assert version.status == status


def test_publish_validates_again_and_changes_nothing_when_invalid() -> None:
    draft = build_process_version(status=VersionStatus.DRAFT)
    # Edited after import: the end stage can no longer be reached.
    Transition.objects.filter(version=draft, target__code="closed").delete()
    live = build_process_version(process=draft.process)
    with pytest.raises(ProcessDefinitionInvalid) as info:
        process_version_publish(version=draft, actor=ManagerFactory())
    assert info.value.extra["problems"]
    assert all({"path", "message"} <= set(p) for p in info.value.extra["problems"])
    draft.refresh_from_db()
    live.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT and draft.published_at is None
    assert live.status == VersionStatus.PUBLISHED


def test_retire_only_published() -> None:
    manager = ManagerFactory()
    version = build_process_version()
    process_version_retire(version=version, actor=manager)
    version.refresh_from_db()
    assert version.status == VersionStatus.RETIRED
    with pytest.raises(VersionStateError):
        process_version_retire(version=version, actor=manager)
    draft = build_process_version(status=VersionStatus.DRAFT)
    with pytest.raises(VersionStateError):
        process_version_retire(version=draft, actor=manager)


def test_new_draft_from_retired_keeps_the_source_untouched() -> None:
    retired = build_process_version(status=VersionStatus.RETIRED)
    before = _definition(retired)
    draft = process_version_new_draft(from_version=retired, actor=ManagerFactory())
    Stage.objects.filter(version=draft, code="analysis").update(norm="new norm")
    assert _definition(retired) == before
    assert draft.stages.get(code="analysis").norm == "new norm"
    assert process_version_export(retired) != process_version_export(draft)


@pytest.mark.parametrize("role_factory", [AgentFactory])
def test_agents_cannot_change_processes(role_factory: type) -> None:
    agent = role_factory()
    draft = build_process_version(status=VersionStatus.DRAFT)
    live = build_process_version()
    for call in (
        lambda: process_version_publish(version=draft, actor=agent),
        lambda: process_version_retire(version=live, actor=agent),
        lambda: process_version_new_draft(from_version=live, actor=agent),
        lambda: process_set_default(process=live.process, actor=agent),
    ):
        with pytest.raises(PermissionDeniedError) as info:
            call()
        assert info.value.code == PROCESS_CHANGE_FORBIDDEN
    draft.refresh_from_db()
    live.refresh_from_db()
    assert (draft.status, live.status) == (VersionStatus.DRAFT, VersionStatus.PUBLISHED)
    assert ProcessVersion.objects.count() == 2


def test_set_default_moves_the_flag() -> None:
    first = build_process_version(is_default=True)
    second = build_process_version()
    process_set_default(process=second.process, actor=ManagerFactory())
    first.process.refresh_from_db()
    assert not first.process.is_default
    assert process_version_published() == second
