"""Credential lifecycle: tokens expire and die with a password change or deactivation; failed
tokens and failed sign-ins are throttled per address with 429 and Retry-After."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from serviceloop.accounts.models import ApiToken
from serviceloop.accounts.services import api_token_authenticate, api_token_create
from serviceloop.core.exceptions import InvalidInputError
from tests.factories import PASSWORD, AdminFactory, AgentFactory, CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()
    yield
    cache.clear()


def _get(client: Client, key: str, address: str = "198.51.100.7"):
    return client.get("/api/cases/", HTTP_AUTHORIZATION=f"Bearer {key}", REMOTE_ADDR=address)


def test_tokens_expire_by_default_after_the_configured_days(settings):
    settings.API_TOKEN_DAYS = 30
    token, key = api_token_create(user=AgentFactory(), name="ci")
    assert token.expires_at is not None
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert api_token_authenticate(key) is not None
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api_token_authenticate(key) is None


def test_an_expired_token_is_401_through_the_api(client):
    soon = timezone.now() + timedelta(minutes=1)
    token, key = api_token_create(user=CustomerFactory().user, name="x", expires_at=soon)
    assert _get(client, key).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    assert _get(client, key).status_code == 401


def test_a_token_can_live_forever_only_when_asked_and_not_be_born_expired():
    _, key = api_token_create(user=AgentFactory(), name="forever", expires_at=None)
    assert api_token_authenticate(key) is not None
    with pytest.raises(InvalidInputError):
        api_token_create(user=AgentFactory(), name="x", expires_at=timezone.now())


def test_changing_the_password_revokes_the_users_tokens(client):
    user = AgentFactory()
    token, key = api_token_create(user=user, name="ci")
    _, other_key = api_token_create(user=AgentFactory(), name="ci")
    user.set_password("a-brand-new-passphrase-8")
    user.save()
    token.refresh_from_db()
    assert token.revoked and _get(client, key).status_code == 401
    assert _get(client, other_key).status_code == 200  # nobody else's token is touched


def test_deactivating_the_user_revokes_the_tokens_for_good(client):
    user = AgentFactory()
    token, key = api_token_create(user=user, name="ci")
    user.is_active = False
    user.save(update_fields=["is_active"])
    user.is_active = True  # reactivation does not bring old tokens back
    user.save()
    token.refresh_from_db()
    assert token.revoked and _get(client, key).status_code == 401


def test_other_saves_of_the_user_keep_the_tokens():
    user = AgentFactory()
    token, _ = api_token_create(user=user, name="ci")
    user.first_name = "Renamed"
    user.save()
    token.refresh_from_db()
    assert not token.revoked


def test_failed_tokens_are_throttled_per_address(client, settings):
    settings.RATE_TOKEN_FAILURES_PER_ADDRESS = "3/300"
    _, good = api_token_create(user=CustomerFactory().user, name="ok")
    for i in range(3):
        assert _get(client, f"sl_wrong{i:040d}").status_code == 401
    refused = _get(client, "sl_wrong" + "9" * 40)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 300
    assert _get(client, good).status_code == 429  # a guess that hits is refused as well
    assert _get(client, good, address="203.0.113.5").status_code == 200  # other addresses work


def _sign_in(client: Client, username: str, password: str, address: str = "198.51.100.9"):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_a_locked_username_answers_429_with_retry_after(client, settings):
    agent = AgentFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _sign_in(client, agent.username, "wrong").status_code == 200
    locked = _sign_in(client, agent.username, "wrong")
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == int(settings.AXES_COOLOFF_TIME * 3600)
    assert _sign_in(client, agent.username, PASSWORD).status_code == 429


def test_spraying_many_usernames_from_one_address_is_stopped(client, settings):
    """One wrong password each for many usernames never trips the per-username lockout."""
    settings.RATE_LOGIN_FAILURES_PER_ADDRESS = "10/900"
    victims = [AgentFactory() for _ in range(12)]
    answers = [_sign_in(client, v.username, "Spring2026!").status_code for v in victims[:10]]
    assert answers == [200] * 10
    refused = _sign_in(client, victims[10].username, "Spring2026!")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert _sign_in(client, victims[11].username, PASSWORD).status_code == 429
    assert _sign_in(Client(), victims[11].username, PASSWORD, "203.0.113.8").status_code == 302


def test_behind_a_proxy_the_forwarded_client_address_counts(client, settings):
    """With one trusted proxy the client is the last X-Forwarded-For entry; a forged first entry
    does not give an attacker a fresh address."""
    settings.TRUSTED_PROXY_COUNT = 1
    settings.RATE_TOKEN_FAILURES_PER_ADDRESS = "2/300"
    for i in range(3):
        response = client.get(
            "/api/cases/",
            HTTP_AUTHORIZATION=f"Bearer sl_wrong{i:040d}",
            HTTP_X_FORWARDED_FOR=f"10.9.9.{i}, 198.51.100.77",
            REMOTE_ADDR="10.0.0.1",
        )
    assert response.status_code == 429


def test_spraying_through_the_admin_sign_in_is_stopped_too(settings):
    settings.RATE_LOGIN_FAILURES_PER_ADDRESS = "5/900"
    admin = AdminFactory()
    client = Client(REMOTE_ADDR="198.51.100.33")
    for victim in [AgentFactory() for _ in range(5)]:
        client.post("/admin/login/", {"username": victim.username, "password": "Spring2026!"})
    client.post("/admin/login/", {"username": admin.username, "password": PASSWORD})
    assert "_auth_user_id" not in client.session  # the right password, from a spraying address
    other = Client(REMOTE_ADDR="203.0.113.44")
    other.post("/admin/login/", {"username": admin.username, "password": PASSWORD})
    assert other.session.get("_auth_user_id") == str(admin.pk)


def test_the_admin_refuses_a_token_born_expired_and_can_set_an_expiry(admin_client):
    owner = AgentFactory()
    past = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%d")
    refused = admin_client.post(
        "/admin/accounts/apitoken/add/",
        {"user": owner.pk, "name": "old", "expires_at_0": past, "expires_at_1": "10:00:00"},
    )
    assert refused.status_code == 200 and "future" in refused.content.decode()
    assert not ApiToken.objects.filter(user=owner).exists()
    future = (timezone.now() + timedelta(days=10)).strftime("%Y-%m-%d")
    admin_client.post(
        "/admin/accounts/apitoken/add/",
        {"user": owner.pk, "name": "new", "expires_at_0": future, "expires_at_1": "10:00:00"},
    )
    token = ApiToken.objects.get(user=owner)
    assert token.expires_at is not None and token.expires_at > timezone.now() + timedelta(days=9)
