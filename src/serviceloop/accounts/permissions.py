"""Role predicates shared by every app: who is an admin, a manager, an agent, a customer.

admin     everything, including configuration (Django admin)
manager   all cases, reassignment, process design, analytics
agent     works the cases of their team and those assigned to them
customer  their own cases only

Object-level rules (which case a user may see) live with the objects (``cases/permissions.py``).
Inactive and anonymous users hold no role. A Django superuser counts as an admin whatever its role.
"""

from __future__ import annotations

from typing import Any

from serviceloop.accounts.choices import STAFF_ROLES, Role

__all__ = [
    "can_configure",
    "can_design_processes",
    "can_view_processes",
    "is_admin",
    "is_agent",
    "is_customer",
    "is_manager",
    "is_staff_member",
    "role_of",
]


def role_of(user: Any) -> Role | None:
    """The effective role of ``user``; None for anonymous or inactive users."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    try:
        return Role(user.role)
    except ValueError:
        return None


def is_admin(user: Any) -> bool:
    return role_of(user) == Role.ADMIN


def is_manager(user: Any) -> bool:
    """Managers and admins: every manager right is also an admin right."""
    return role_of(user) in {Role.ADMIN, Role.MANAGER}


def is_agent(user: Any) -> bool:
    """Exactly the agent role (use ``is_staff_member`` for "any service staff")."""
    return role_of(user) == Role.AGENT


def is_staff_member(user: Any) -> bool:
    return role_of(user) in STAFF_ROLES


def is_customer(user: Any) -> bool:
    return role_of(user) == Role.CUSTOMER


def can_configure(user: Any) -> bool:
    """Teams, skills, agents, tokens of others: admins only."""
    return is_admin(user)


def can_design_processes(user: Any) -> bool:
    """Import, publish and retire process versions."""
    return is_manager(user)


def can_view_processes(user: Any) -> bool:
    """Agents read the process they work in; customers never see its internals."""
    return is_staff_member(user)
