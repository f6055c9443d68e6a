from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import AgentProfile, ApiToken, User
from serviceloop.accounts.services import (
    ADMIN_ONLY,
    CAPACITY_INVALID,
    ROLE_INVALID,
    USERNAME_TAKEN,
    agent_create,
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
    user_create,
)
from serviceloop.core.exceptions import InvalidInputError, PermissionDeniedError
from tests.factories import AdminFactory, ManagerFactory, SkillFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db
GOOD_PASSWORD = "plum-orchard-77-lantern"


def test_user_create_with_role() -> None:
    user = user_create(username="li.na", password=GOOD_PASSWORD, role=Role.MANAGER, email="l@x.cn")
    assert user.role == Role.MANAGER
    assert user.check_password(GOOD_PASSWORD)
    assert not user.is_staff


def test_admin_role_gets_django_admin_access() -> None:
    user = user_create(username="root2", password=GOOD_PASSWORD, role=Role.ADMIN)
    assert user.is_staff and user.is_superuser


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"role": "overlord"}, "role", ROLE_INVALID),
        ({"username": "Taken"}, "username", USERNAME_TAKEN),
        ({"password": "123"}, "password", "This password is too short."),
        ({"username": ""}, "username", "This field cannot be blank."),
    ],
)
def test_user_create_refuses_bad_input(kwargs: dict, field: str, message: str) -> None:
    UserFactory(username="taken")
    before = User.objects.count()
    args = {"username": "new.user", "password": GOOD_PASSWORD, "role": Role.AGENT, **kwargs}
    with pytest.raises(InvalidInputError) as info:
        user_create(**args)
    # Our refusals by their code, Django's validators by their text.
    shown = [str(problem) for problem in info.value.fields[field]]
    assert message in info.value.field_codes()[field] or any(message in m for m in shown)
    assert User.objects.count() == before


def test_only_admins_create_users() -> None:
    with pytest.raises(PermissionDeniedError) as info:
        user_create(username="x", password=GOOD_PASSWORD, role=Role.AGENT, actor=ManagerFactory())
    assert info.value.code == ADMIN_ONLY
    assert not User.objects.filter(username="x").exists()
    user_create(username="x", password=GOOD_PASSWORD, role=Role.AGENT, actor=AdminFactory())


def test_agent_create_with_team_skills_capacity() -> None:
    team, skills = TeamFactory(), [SkillFactory(), SkillFactory()]
    profile = agent_create(
        username="wang", password=GOOD_PASSWORD, team=team, skills=skills, capacity=4
    )
    assert profile.user.role == Role.AGENT
    assert profile.team == team and profile.capacity == 4
    assert set(profile.skills.all()) == set(skills)


def test_agent_create_refuses_bad_capacity_and_writes_nothing() -> None:
    with pytest.raises(InvalidInputError) as info:
        agent_create(username="zhao", password=GOOD_PASSWORD, team=TeamFactory(), capacity=0)
    assert info.value.field_codes()["capacity"] == [CAPACITY_INVALID]
    assert not User.objects.filter(username="zhao").exists()
    assert not AgentProfile.objects.exists()


def test_api_token_stores_only_hash_and_authenticates() -> None:
    user = UserFactory()
    token, raw = api_token_create(user=user, name="CRM sync")
    assert raw.startswith("sl_")
    stored = ApiToken.objects.get(pk=token.pk)
    assert raw not in {stored.key_hash, stored.name, stored.prefix}
    assert stored.key_hash == ApiToken.hash_key(raw)
    assert stored.last_used_at is None
    assert api_token_authenticate(raw) == user
    stored.refresh_from_db()
    assert stored.last_used_at is not None


def test_api_token_last_used_is_refreshed_after_interval() -> None:
    user = UserFactory()
    token, raw = api_token_create(user=user, name="old")
    long_ago = timezone.now() - timedelta(days=1)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=long_ago)
    api_token_authenticate(raw)
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_at > long_ago


@pytest.mark.parametrize("raw", ["", "sl_", "sl_wrong-but-long-enough-key", "Bearer x"])
def test_api_token_unknown_keys_refused(raw: str) -> None:
    api_token_create(user=UserFactory(), name="a")
    assert api_token_authenticate(raw) is None


def test_api_token_with_same_prefix_but_other_key_refused() -> None:
    _, raw = api_token_create(user=UserFactory(), name="a")
    forged = raw[:8] + "x" * (len(raw) - 8)
    assert api_token_authenticate(forged) is None


def test_revoked_token_and_inactive_user_refused() -> None:
    user = UserFactory()
    token, raw = api_token_create(user=user, name="a")
    api_token_revoke(token=token)
    assert api_token_authenticate(raw) is None
    _, raw2 = api_token_create(user=user, name="b")
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert api_token_authenticate(raw2) is None


def test_token_for_someone_else_needs_admin() -> None:
    owner = UserFactory()
    with pytest.raises(PermissionDeniedError):
        api_token_create(user=owner, name="x", actor=ManagerFactory())
    token, _ = api_token_create(user=owner, name="x", actor=owner)
    with pytest.raises(PermissionDeniedError):
        api_token_revoke(token=token, actor=ManagerFactory())
    api_token_revoke(token=token, actor=AdminFactory())
    token.refresh_from_db()
    assert token.revoked


def test_createsuperuser_makes_an_admin() -> None:
    user = User.objects.create_superuser("boss", "b@x.cn", GOOD_PASSWORD)
    assert user.role == Role.ADMIN
