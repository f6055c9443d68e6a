"""Every configuration screen loads for an admin; API token keys are shown once, never stored."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from serviceloop.accounts.models import ApiToken
from serviceloop.accounts.services import api_token_authenticate, api_token_create
from tests.factories import AdminFactory, AgentFactory, CustomerFactory, ManagerFactory, UserFactory

pytestmark = pytest.mark.django_db

MODELS = [
    "accounts/user",
    "accounts/team",
    "accounts/skill",
    "accounts/agentprofile",
    "accounts/apitoken",
    "customers/organisation",
    "customers/customer",
]


@pytest.fixture
def admin_client(client: Client) -> Client:
    client.force_login(AdminFactory())
    return client


@pytest.mark.parametrize("model", MODELS)
def test_changelist_add_and_change_pages_load(admin_client: Client, model: str) -> None:
    agent = AgentFactory()
    customer = CustomerFactory()
    token, _ = api_token_create(user=agent, name="crm")
    assert admin_client.get(f"/admin/{model}/").status_code == 200
    assert admin_client.get(f"/admin/{model}/add/").status_code == 200
    objects = {
        "accounts/user": agent,
        "accounts/team": agent.agent_profile.team,
        "accounts/agentprofile": agent.agent_profile,
        "accounts/apitoken": token,
        "customers/customer": customer,
        "customers/organisation": customer.organisation,
    }
    if model in objects and objects[model] is not None:
        assert admin_client.get(f"/admin/{model}/{objects[model].pk}/change/").status_code == 200


def test_admin_token_add_shows_key_once_and_stores_hash(admin_client: Client) -> None:
    owner = UserFactory()
    response = admin_client.post(
        "/admin/accounts/apitoken/add/", {"user": owner.pk, "name": "ERP"}, follow=True
    )
    assert response.status_code == 200
    match = re.search(r"sl_[A-Za-z0-9_\-]{20,}", response.content.decode())
    assert match is not None
    raw = match.group(0)
    token = ApiToken.objects.get(name="ERP")
    assert token.key_hash == ApiToken.hash_key(raw)
    assert api_token_authenticate(raw) == owner
    page = admin_client.get(f"/admin/accounts/apitoken/{token.pk}/change/").content.decode()
    assert raw not in page and token.key_hash not in page


def test_admin_revoke_action(admin_client: Client) -> None:
    token, raw = api_token_create(user=UserFactory(), name="old")
    admin_client.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke_tokens", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.revoked and api_token_authenticate(raw) is None


@pytest.mark.parametrize("factory", [ManagerFactory, AgentFactory, UserFactory])
def test_non_admins_are_kept_out_of_the_admin(client: Client, factory: type) -> None:
    client.force_login(factory())
    response = client.get("/admin/accounts/user/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
