"""A published or retired version, its stages and transitions cannot change, even bypassing services."""

from __future__ import annotations

import pytest
from django.db import transaction

from serviceloop.processes.choices import TransitionKind, VersionStatus
from serviceloop.processes.exceptions import VersionImmutableError
from serviceloop.processes.models import ProcessVersion, Stage, Transition
from tests.factories import build_process_version

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[VersionStatus.PUBLISHED, VersionStatus.RETIRED])
def frozen(request: pytest.FixtureRequest) -> ProcessVersion:
    return build_process_version(status=request.param)


def _snapshot(version: ProcessVersion) -> tuple[list[tuple], list[tuple]]:
    stages = list(Stage.objects.filter(version=version).order_by("pk").values_list())
    transitions = list(Transition.objects.filter(version=version).order_by("pk").values_list())
    return stages, transitions


def test_stage_of_frozen_version_cannot_be_saved(frozen: ProcessVersion) -> None:
    before = _snapshot(frozen)
    stage = frozen.stages.get(code="analysis")
    stage.norm = "changed"
    with pytest.raises(VersionImmutableError, match="cannot be changed"):
        stage.save()
    assert _snapshot(frozen) == before


def test_stage_cannot_be_added_to_frozen_version(frozen: ProcessVersion) -> None:
    with pytest.raises(VersionImmutableError):
        Stage.objects.create(version=frozen, code="extra", name="Extra", order=99)
    assert not Stage.objects.filter(version=frozen, code="extra").exists()


def test_transition_cannot_be_added_or_changed(frozen: ProcessVersion) -> None:
    before = _snapshot(frozen)
    closed, intake = frozen.stages.get(code="closed"), frozen.stages.get(code="intake")
    with pytest.raises(VersionImmutableError):
        Transition.objects.create(version=frozen, source=closed, target=intake)
    edge = frozen.transitions.first()
    assert edge is not None
    edge.kind = TransitionKind.ESCALATION
    with pytest.raises(VersionImmutableError):
        edge.save()
    assert _snapshot(frozen) == before


def test_parts_of_frozen_version_cannot_be_deleted_one_by_one_or_in_bulk(
    frozen: ProcessVersion,
) -> None:
    before = _snapshot(frozen)
    attempts = [
        frozen.stages.get(code="delivery").delete,
        Transition.objects.filter(version=frozen).delete,
        Stage.objects.filter(version=frozen).delete,
        ProcessVersion.objects.filter(pk=frozen.pk).delete,
    ]
    for attempt in attempts:
        # Django deletes inside atomic(savepoint=False): give each attempt its own savepoint.
        with pytest.raises(VersionImmutableError), transaction.atomic():
            attempt()
    assert _snapshot(frozen) == before
    assert ProcessVersion.objects.filter(pk=frozen.pk).exists()


def test_frozen_version_fields_cannot_change(frozen: ProcessVersion) -> None:
    frozen.notes = "rewritten history"
    with pytest.raises(VersionImmutableError):
        frozen.save()
    frozen.refresh_from_db()
    assert frozen.notes == ""


def test_frozen_version_cannot_go_back_to_draft(frozen: ProcessVersion) -> None:
    status = frozen.status
    frozen.status = VersionStatus.DRAFT
    with pytest.raises(VersionImmutableError):
        frozen.save()
    frozen.refresh_from_db()
    assert frozen.status == status


def test_published_version_may_only_be_retired() -> None:
    version = build_process_version(status=VersionStatus.PUBLISHED)
    version.status = VersionStatus.RETIRED
    version.save()
    version.refresh_from_db()
    assert version.status == VersionStatus.RETIRED
    version.status = VersionStatus.PUBLISHED
    with pytest.raises(VersionImmutableError):
        version.save()


def test_draft_stays_editable_and_deletable() -> None:
    draft = build_process_version(status=VersionStatus.DRAFT)
    stage = draft.stages.get(code="analysis")
    stage.norm = "Ask three questions."
    stage.save()
    assert draft.stages.get(code="analysis").norm == "Ask three questions."
    draft.transitions.filter(kind=TransitionKind.ESCALATION).delete()
    draft.delete()
    assert not ProcessVersion.objects.filter(pk=draft.pk).exists()
    assert not Stage.objects.filter(version_id=draft.pk).exists()
