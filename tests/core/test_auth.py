"""API authentication: session (CSRF on unsafe methods) or bearer token; inactive users refused."""

from __future__ import annotations

import pytest
from django.test import Client

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import ApiToken, User

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.api_fixture")]


def make_user(username: str = "ana", *, active: bool = True) -> User:
    return User.objects.create_user(
        username=username, password="pw-Long-enough-1", role=Role.AGENT, is_active=active
    )


def make_token(user: User, *, revoked: bool = False) -> str:
    key = ApiToken.new_key()
    ApiToken.objects.create(
        user=user,
        name="ci",
        key_hash=ApiToken.hash_key(key),
        prefix=key[:8],
        revoked=revoked,
    )
    return key


def test_anonymous_request_gets_401_in_common_error_format(client):
    response = client.get("/api/whoami")
    assert response.status_code == 401
    assert response.json()["detail"].startswith("Authentication required")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_bearer_token_authenticates_its_user_and_records_use(client):
    user = make_user()
    key = make_token(user)
    response = client.get("/api/whoami", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    assert response.json() == {"username": "ana"}
    assert ApiToken.objects.get().last_used_at is not None


def test_only_the_token_hash_is_stored():
    key = make_token(make_user())
    token = ApiToken.objects.get()
    assert key not in {token.key_hash, token.prefix, token.name}
    assert token.key_hash == ApiToken.hash_key(key)


@pytest.mark.parametrize("header", ["Bearer wrong", "Bearer ", "Basic YTpi", "Token x"])
def test_bad_authorization_header_is_refused(client, header):
    make_token(make_user())
    assert client.get("/api/whoami", headers={"Authorization": header}).status_code == 401


def test_revoked_token_is_refused(client):
    key = make_token(make_user(), revoked=True)
    assert client.get("/api/whoami", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_token_of_inactive_user_is_refused(client):
    key = make_token(make_user(active=False))
    assert client.get("/api/whoami", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_bad_token_is_refused_even_with_a_valid_session(client):
    client.force_login(make_user())
    assert client.get("/api/whoami", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_session_authenticates_reads(client):
    client.force_login(make_user())
    assert client.get("/api/whoami").json() == {"username": "ana"}


def test_session_of_user_deactivated_after_login_is_refused(client):
    user = make_user()
    client.force_login(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert client.get("/api/whoami").status_code == 401


def test_session_write_without_csrf_token_is_refused_and_creates_nothing():
    from serviceloop.customers.models import Organisation

    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user())
    response = client.post("/api/orgs", {"name": "Acme"}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert "CSRF" in response.json()["detail"]
    assert not Organisation.objects.exists()


def test_session_write_with_csrf_token_succeeds():
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user())
    from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret

    secret = _get_new_csrf_string()
    client.cookies["csrftoken"] = secret
    response = client.post(
        "/api/orgs",
        {"name": "Acme"},
        content_type="application/json",
        headers={"X-CSRFToken": _mask_cipher_secret(secret)},
    )
    assert response.status_code == 201


def test_token_write_needs_no_csrf_token():
    client = Client(enforce_csrf_checks=True)
    key = make_token(make_user())
    response = client.post(
        "/api/orgs",
        {"name": "Acme"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 201
