"""Who sees evaluations: managers and admins see all; an agent sees only their own scorecard;
customers see nothing of it."""

from __future__ import annotations

from typing import Any

from serviceloop.accounts.permissions import is_agent, is_manager

__all__ = ["can_manage_evaluations", "can_view_scorecard"]


def can_manage_evaluations(user: Any) -> bool:
    return is_manager(user)


def can_view_scorecard(user: Any, username: str) -> bool:
    """Managers see every agent's scorecard; an agent only their own."""
    if is_manager(user):
        return True
    return is_agent(user) and user.username == username
