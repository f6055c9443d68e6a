"""Keep the per-process caches honest.

- A calendar's compiled timeline is cached under its ``updated_at``: adding, changing or removing
  one of its dates (admin inline, script, bulk delete) bumps that stamp.
- The SLA set-up snapshot (``selectors.sla_setup``) is dropped on any change of a policy, target,
  escalation rule, calendar or calendar date made in this process.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from serviceloop.sla.models import (
    BusinessCalendar,
    CalendarDate,
    EscalationRule,
    SlaPolicy,
    SlaTarget,
)
from serviceloop.sla.selectors import setup_forget


@receiver(post_save, sender=CalendarDate)
@receiver(post_delete, sender=CalendarDate)
def _touch_calendar(sender: type[CalendarDate], instance: CalendarDate, **_: Any) -> None:
    BusinessCalendar.objects.filter(pk=instance.calendar_id).update(updated_at=timezone.now())


def _forget(**_: Any) -> None:
    setup_forget()


for _model in (SlaPolicy, SlaTarget, EscalationRule, BusinessCalendar, CalendarDate):
    post_save.connect(_forget, sender=_model, dispatch_uid=f"sla-forget-save-{_model.__name__}")
    post_delete.connect(_forget, sender=_model, dispatch_uid=f"sla-forget-del-{_model.__name__}")
