from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import User
from serviceloop.accounts.permissions import (
    can_configure,
    can_design_processes,
    can_view_processes,
    is_admin,
    is_agent,
    is_customer,
    is_manager,
    is_staff_member,
)

PREDICATES = {
    "is_admin": is_admin,
    "is_manager": is_manager,
    "is_agent": is_agent,
    "is_staff_member": is_staff_member,
    "is_customer": is_customer,
    "can_configure": can_configure,
    "can_design_processes": can_design_processes,
    "can_view_processes": can_view_processes,
}
# role -> predicates that hold
MATRIX = {
    Role.ADMIN: {
        "is_admin",
        "is_manager",
        "is_staff_member",
        "can_configure",
        "can_design_processes",
        "can_view_processes",
    },
    Role.MANAGER: {"is_manager", "is_staff_member", "can_design_processes", "can_view_processes"},
    Role.AGENT: {"is_agent", "is_staff_member", "can_view_processes"},
    Role.CUSTOMER: {"is_customer"},
}


@pytest.mark.parametrize("role", list(MATRIX))
def test_role_matrix(role: Role) -> None:
    user = User(username="u", role=role)
    held = {name for name, predicate in PREDICATES.items() if predicate(user)}
    assert held == MATRIX[role]


@pytest.mark.parametrize("role", list(MATRIX))
def test_inactive_users_hold_nothing(role: Role) -> None:
    user = User(username="u", role=role, is_active=False)
    assert not any(predicate(user) for predicate in PREDICATES.values())


def test_anonymous_holds_nothing() -> None:
    assert not any(predicate(AnonymousUser()) for predicate in PREDICATES.values())
    assert not any(predicate(None) for predicate in PREDICATES.values())


def test_superuser_counts_as_admin() -> None:
    assert is_admin(User(username="root", role=Role.CUSTOMER, is_superuser=True))
