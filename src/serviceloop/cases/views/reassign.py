"""The reassign picker: who should take this case, first.

Agents of the stage's responsible team who have its required skill come first, then the rest of
that team, then everyone else; within each group the least loaded first. Each name shows the
team, the open and pending cases held against the capacity, and whether the skill is there.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Case as CaseWhen
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from serviceloop.accounts.choices import STAFF_ROLES
from serviceloop.accounts.models import AgentProfile, User
from serviceloop.cases.choices import CaseStatus
from serviceloop.cases.models import Case
from serviceloop.cases.templatetags.case_ui import person

__all__ = ["reassign_candidates", "reassign_label"]


def reassign_candidates(case: Case) -> QuerySet[User]:
    """Active staff ordered for ``case`` and annotated with ``load``, ``fit`` and ``has_skill``."""
    stage = case.stage
    team_id, skill_id = stage.responsible_team_id, stage.required_skill_id
    has_skill = (
        Exists(
            AgentProfile.skills.through.objects.filter(
                agentprofile__user_id=OuterRef("pk"), skill_id=skill_id
            )
        )
        if skill_id
        else Value(False)
    )
    in_team = Q(agent_profile__team_id=team_id) if team_id else Q(pk__in=[])
    return (
        User.objects.filter(is_active=True, role__in=STAFF_ROLES)
        .select_related("agent_profile__team")
        .annotate(
            load=Count(
                "assigned_cases",
                filter=Q(assigned_cases__status__in=[CaseStatus.OPEN, CaseStatus.PENDING]),
            ),
            has_skill=has_skill,
        )
        .annotate(
            fit=CaseWhen(
                When(in_team & Q(has_skill=True), then=Value(0)),
                When(in_team, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("fit", "load", "first_name", "last_name", "username")
    )


def reassign_label(user: Any) -> str:
    profile = getattr(user, "agent_profile", None)
    parts = [person(user)]
    if profile is not None:
        parts.append(profile.team.display_name)
        parts.append(
            _("%(load)d of %(capacity)d open") % {"load": user.load, "capacity": profile.capacity}
        )
    else:
        parts.append(_("%(load)d open") % {"load": user.load})
    if getattr(user, "has_skill", False):
        parts.append(_("has the skill"))
    return " · ".join(parts)
