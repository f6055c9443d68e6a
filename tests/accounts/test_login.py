"""Sign-in: a working login, and django-axes locking an account after repeated failures."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import PASSWORD, AgentFactory

pytestmark = pytest.mark.django_db


def _sign_in(client: Client, username: str, password: str) -> int:
    response = client.post("/accounts/login/", {"username": username, "password": password})
    return response.status_code


def test_login_and_logout(client: Client) -> None:
    agent = AgentFactory()
    assert _sign_in(client, agent.username, PASSWORD) == 302
    assert client.session.get("_auth_user_id") == str(agent.pk)
    client.post("/accounts/logout/")
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_account_even_for_the_right_password(client: Client) -> None:
    agent = AgentFactory()
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _sign_in(client, agent.username, "wrong-password") == 200  # form re-shown
    assert _sign_in(client, agent.username, "wrong-password") == 429  # fifth failure: locked
    assert _sign_in(client, agent.username, PASSWORD) == 429
    assert "_auth_user_id" not in client.session


def test_fewer_failures_than_the_limit_do_not_lock(client: Client) -> None:
    agent = AgentFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _sign_in(client, agent.username, "wrong-password")
    assert _sign_in(client, agent.username, PASSWORD) == 302
    assert client.session.get("_auth_user_id") == str(agent.pk)
