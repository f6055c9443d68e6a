"""Process reads: published versions, a version with its definition, allowed transitions."""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet

from serviceloop.processes.choices import VersionStatus
from serviceloop.processes.models import ProcessVersion, ServiceProcess, Stage, Transition

__all__ = [
    "process_default",
    "process_list",
    "process_version_get",
    "process_version_published",
    "stage_allowed_transitions",
    "stage_transition_to",
    "version_stages",
    "version_stages_queryset",
    "version_start_stage",
    "version_transitions",
    "version_transitions_queryset",
]


def process_list() -> QuerySet[ServiceProcess]:
    """All processes with their versions (newest first) and each version's case count."""
    versions = ProcessVersion.objects.annotate(case_count=Count("cases")).order_by("-number")
    # (each version's ``process`` is filled in by the prefetch itself: no query per version)
    return ServiceProcess.objects.prefetch_related(Prefetch("versions", queryset=versions))


def process_default() -> ServiceProcess | None:
    return ServiceProcess.objects.filter(is_default=True).order_by("pk").first()


def process_version_published(process: ServiceProcess | None = None) -> ProcessVersion | None:
    """The published version new cases start on: of ``process``, or of the default process."""
    qs = ProcessVersion.objects.select_related("process").filter(status=VersionStatus.PUBLISHED)
    qs = qs.filter(process=process) if process is not None else qs.filter(process__is_default=True)
    return qs.order_by("-number").first()


def process_version_get(version_id: int) -> ProcessVersion:
    """One version with stages (and their team/skill) and transitions loaded in three queries.

    Raises ``ProcessVersion.DoesNotExist``.
    """
    return (
        ProcessVersion.objects.select_related("process", "created_by")
        .prefetch_related(
            Prefetch("stages", queryset=version_stages_queryset()),
            Prefetch("transitions", queryset=version_transitions_queryset()),
        )
        .get(pk=version_id)
    )


def version_stages_queryset() -> QuerySet[Stage]:
    return Stage.objects.select_related("responsible_team", "required_skill").order_by("order")


def version_transitions_queryset() -> QuerySet[Transition]:
    return Transition.objects.select_related("source", "target").order_by(
        "source__order", "target__order"
    )


def version_stages(version: ProcessVersion) -> QuerySet[Stage]:
    return version_stages_queryset().filter(version=version)


def version_transitions(version: ProcessVersion) -> QuerySet[Transition]:
    return version_transitions_queryset().filter(version=version)


def version_start_stage(version: ProcessVersion) -> Stage | None:
    return version_stages(version).filter(is_start=True).first()


def stage_allowed_transitions(stage: Stage) -> QuerySet[Transition]:
    """The transitions leaving ``stage`` (the only moves a case in it may make), with their targets
    (and the targets' team and skill) joined, in the target's stage order."""
    return (
        Transition.objects.filter(source=stage)
        .select_related("target", "target__responsible_team", "target__required_skill")
        .order_by("target__order")
    )


def stage_transition_to(stage: Stage, target: Stage) -> Transition | None:
    """The declared transition from ``stage`` to ``target``, or None when the move is not allowed."""
    return Transition.objects.filter(source=stage, target=target).first()
