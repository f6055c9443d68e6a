"""Stages and transitions of frozen (published or retired) process versions, cached per process.

Once a version leaves draft its stages and transitions can no longer change (the models refuse
it), so moving a case looks its target stage and edge up here instead of querying and joining on
every transition. Drafts are never cached. Saving or deleting a version, stage or transition
evicts its version, which also covers ids that SQLite hands out again after a rolled-back insert.

Callers get copies: a relation they load (``stage.responsible_team``) is cached on their copy
only, so teams and skills, which may be renamed, are always read fresh from the database.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from django.db.models.signals import post_delete, post_save

from serviceloop.processes.choices import VersionStatus
from serviceloop.processes.models import ProcessVersion, Stage, Transition

__all__ = ["stage_by_code", "transition_between"]


@dataclass(frozen=True)
class _Graph:
    stages: dict[int, Stage]
    by_code: dict[str, int]
    edges: dict[tuple[int, int], Transition]


_graphs: dict[int, _Graph] = {}


def _graph(version_id: int) -> _Graph | None:
    """The frozen version's graph (three small queries the first time), or None for a draft."""
    graph = _graphs.get(version_id)
    if graph is not None:
        return graph
    status = ProcessVersion.objects.filter(pk=version_id).values_list("status", flat=True).first()
    if status is None or status == VersionStatus.DRAFT:
        return None
    stages = {stage.pk: stage for stage in Stage.objects.filter(version_id=version_id)}
    edges = {
        (edge.source_id, edge.target_id): edge
        for edge in Transition.objects.filter(version_id=version_id)
    }
    graph = _Graph(
        stages=stages,
        by_code={stage.code: pk for pk, stage in stages.items()},
        edges=edges,
    )
    _graphs[version_id] = graph
    return graph


def stage_by_code(*, version_id: int, code: str) -> Stage | None:
    """The version's stage with this code, or None."""
    graph = _graph(version_id)
    if graph is None:
        return Stage.objects.filter(version_id=version_id, code=code).first()
    pk = graph.by_code.get(code)
    return copy.copy(graph.stages[pk]) if pk is not None else None


def transition_between(*, version_id: int, source_id: int, target_id: int) -> Transition | None:
    """The version's edge from one stage to another (its ``target`` loaded), or None."""
    graph = _graph(version_id)
    if graph is None:
        return (
            Transition.objects.filter(
                version_id=version_id, source_id=source_id, target_id=target_id
            )
            .select_related("target__responsible_team", "target__required_skill")
            .first()
        )
    edge = graph.edges.get((source_id, target_id))
    if edge is None:
        return None
    found = copy.copy(edge)
    found.target = copy.copy(graph.stages[target_id])
    return found


def _evict(sender: Any, instance: Any, **kwargs: Any) -> None:
    version_id = instance.pk if isinstance(instance, ProcessVersion) else instance.version_id
    _graphs.pop(version_id, None)


for _model in (ProcessVersion, Stage, Transition):
    post_save.connect(_evict, sender=_model, dispatch_uid=f"cases.process_graph.{_model.__name__}")
    post_delete.connect(
        _evict, sender=_model, dispatch_uid=f"cases.process_graph.del.{_model.__name__}"
    )
