"""Which standard replies a user may pick: the shared ones and their team's; managers see all."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from serviceloop.accounts.permissions import is_manager, is_staff_member
from serviceloop.replies.models import ReplyTemplate

__all__ = ["reply_template_usable", "reply_templates_for"]


def _team_id(user: Any) -> int | None:
    profile = getattr(user, "agent_profile", None)
    return getattr(profile, "team_id", None)


def reply_templates_for(user: Any, *, active_only: bool = True) -> QuerySet[ReplyTemplate]:
    if not is_staff_member(user):
        return ReplyTemplate.objects.none()
    rows = ReplyTemplate.objects.select_related("team")
    if active_only:
        rows = rows.filter(is_active=True)
    if is_manager(user):
        return rows
    team = _team_id(user)
    return (
        rows.filter(Q(team__isnull=True) | Q(team_id=team))
        if team
        else rows.filter(team__isnull=True)
    )


def reply_template_usable(user: Any, template: ReplyTemplate) -> bool:
    return reply_templates_for(user).filter(pk=template.pk).exists()
