"""Refuse deleting a frozen process version or its stages/transitions, even through bulk deletes.

``QuerySet.delete()`` never calls ``Model.delete()`` but does send ``pre_delete`` for every row once a
receiver is connected, so this is the one place both paths pass.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import pre_delete
from django.dispatch import receiver

from serviceloop.processes.models import ProcessVersion, Stage, Transition, guard_version_editable


@receiver(pre_delete, sender=ProcessVersion, dispatch_uid="processes_guard_version_delete")
def _guard_version_delete(sender: type, instance: ProcessVersion, **kwargs: Any) -> None:
    guard_version_editable(instance.pk)


@receiver(pre_delete, sender=Stage, dispatch_uid="processes_guard_stage_delete")
@receiver(pre_delete, sender=Transition, dispatch_uid="processes_guard_transition_delete")
def _guard_part_delete(sender: type, instance: Stage | Transition, **kwargs: Any) -> None:
    guard_version_editable(instance.version_id)
