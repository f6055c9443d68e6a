"""Who may see and change which case: one place, used by services, selectors, API and views.

- customer: only cases whose ``customer.user`` is them; only public messages, non-internal
  attachments; may reply but not change or move the case.
- agent: cases of their team (``AgentProfile.team``) or assigned to them.
- manager / admin: every case.
Inactive or anonymous users see nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from serviceloop.accounts.choices import Role
from serviceloop.cases.choices import MessageKind

if TYPE_CHECKING:
    from serviceloop.cases.models import Attachment, Case, Message

__all__ = [
    "agent_leads_team",
    "agent_team_id",
    "attachment_can_view",
    "case_can_change",
    "case_can_reply",
    "case_can_transition",
    "case_can_view",
    "message_can_view",
]


def _active(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def agent_team_id(user: Any) -> int | None:
    """The team id of a user's agent profile, or None; cached on the (request-scoped) user, with
    whether the agent leads that team (``agent_leads_team``), read in the same query.

    No query when the profile was loaded with the user (API token authentication joins it).
    """
    if not hasattr(user, "_sl_team_id"):
        from serviceloop.accounts.models import AgentProfile, User

        profile_rel = User.agent_profile.related
        if isinstance(user, User) and profile_rel.is_cached(user):
            profile: Any = profile_rel.get_cached_value(user)
            team_id = profile.team_id if profile is not None else None
            user._sl_team_id = team_id  # type: ignore[attr-defined]
            user._sl_is_lead = bool(profile is not None and profile.is_lead)  # type: ignore[attr-defined]
        else:
            found = (
                AgentProfile.objects.filter(user_id=user.pk)
                .values_list("team_id", "is_lead")
                .first()
            )
            user._sl_team_id, user._sl_is_lead = found if found else (None, False)
    return user._sl_team_id  # type: ignore[no-any-return]


def agent_leads_team(user: Any) -> bool:
    """Whether the user's agent profile leads its team (cached with ``agent_team_id``)."""
    return agent_team_id(user) is not None and bool(user._sl_is_lead)


def _is_manager(user: Any) -> bool:
    return user.role in {Role.ADMIN, Role.MANAGER}


def _customer_owns(user: Any, case: Case) -> bool:
    return user.role == Role.CUSTOMER and case.customer.user_id == user.pk


def _agent_covers(user: Any, case: Case) -> bool:
    if user.role != Role.AGENT:
        return False
    if case.assignee_id == user.pk:
        return True
    team_id = agent_team_id(user)
    return team_id is not None and case.team_id == team_id


def case_can_view(user: Any, case: Case) -> bool:
    if not _active(user):
        return False
    return _is_manager(user) or _agent_covers(user, case) or _customer_owns(user, case)


def case_can_change(user: Any, case: Case) -> bool:
    """Staff rights: edit fields, tick checklists, set status, write notes, reopen."""
    if not _active(user):
        return False
    return _is_manager(user) or _agent_covers(user, case)


def case_can_transition(user: Any, case: Case) -> bool:
    return case_can_change(user, case)


def case_can_reply(user: Any, case: Case) -> bool:
    """Public replies: staff who may change the case, and the customer who owns it."""
    return case_can_change(user, case) or (_active(user) and _customer_owns(user, case))


def message_can_view(user: Any, message: Message) -> bool:
    if not case_can_view(user, message.case):
        return False
    return user.role != Role.CUSTOMER or message.kind == MessageKind.PUBLIC


def attachment_can_view(user: Any, attachment: Attachment) -> bool:
    if not case_can_view(user, attachment.case):
        return False
    if user.role != Role.CUSTOMER:
        return True
    if attachment.is_internal:
        return False
    message = attachment.message
    return message is None or message.kind == MessageKind.PUBLIC
