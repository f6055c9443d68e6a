from __future__ import annotations

import pytest

from serviceloop.processes.choices import TransitionKind, VersionStatus
from serviceloop.processes.selectors import (
    process_list,
    process_version_get,
    process_version_published,
    stage_allowed_transitions,
    stage_transition_to,
    version_start_stage,
)
from tests.factories import ServiceProcessFactory, build_process_version

pytestmark = pytest.mark.django_db


def test_published_version_of_default_process() -> None:
    other = build_process_version()
    assert process_version_published() is None
    default = build_process_version(is_default=True)
    assert process_version_published() == default
    assert process_version_published(other.process) == other


def test_published_ignores_drafts_and_retired() -> None:
    process = ServiceProcessFactory(is_default=True)
    build_process_version(process=process, status=VersionStatus.RETIRED)
    build_process_version(process=process, status=VersionStatus.DRAFT)
    assert process_version_published() is None
    live = build_process_version(process=process)
    assert process_version_published() == live


def test_allowed_transitions_from_a_stage_with_targets(
    django_assert_num_queries: object,
) -> None:
    version = build_process_version()
    intake = version.stages.get(code="intake")
    with django_assert_num_queries(1):  # type: ignore[operator]
        moves = [(t.target.code, t.kind) for t in stage_allowed_transitions(intake)]
    assert moves == [("analysis", TransitionKind.FORWARD), ("delivery", TransitionKind.ESCALATION)]
    closed = version.stages.get(code="closed")
    assert list(stage_allowed_transitions(closed)) == []
    delivery = version.stages.get(code="delivery")
    assert stage_transition_to(delivery, version.stages.get(code="analysis")) is not None
    assert stage_transition_to(closed, intake) is None


def test_version_get_loads_definition_in_three_queries(
    django_assert_num_queries: object,
) -> None:
    version = build_process_version()
    with django_assert_num_queries(3):  # type: ignore[operator]
        loaded = process_version_get(version.pk)
        stages = [
            (s.code, s.responsible_team and s.responsible_team.code) for s in loaded.stages.all()
        ]
        edges = [(t.source.code, t.target.code) for t in loaded.transitions.all()]
    assert [code for code, _ in stages] == ["intake", "analysis", "delivery", "closed"]
    assert ("delivery", "analysis") in edges
    assert version_start_stage(version) == version.stages.get(code="intake")


def test_process_list_prefetches_versions(django_assert_num_queries: object) -> None:
    for _ in range(3):
        build_process_version()
    with django_assert_num_queries(2):  # type: ignore[operator]
        rows = [(p.code, [v.number for v in p.versions.all()]) for p in process_list()]
    assert len(rows) == 3
