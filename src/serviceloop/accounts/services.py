"""Account writes: users with a role, agents with team/skills/capacity, API tokens.

Passwords go through Django's validators; API tokens are shown once and only their SHA-256 is kept.
Every function that takes ``actor`` refuses a non-admin actor (``actor=None`` is the system: CLI,
demo, migrations).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from serviceloop.accounts import queries
from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import AgentProfile, ApiToken, Skill, Team, User
from serviceloop.accounts.permissions import is_admin
from serviceloop.core.exceptions import InvalidInputError, PermissionDeniedError, Problem

__all__ = [
    "ADMIN_ONLY",
    "CAPACITY_INVALID",
    "ROLE_INVALID",
    "TOKEN_EXPIRY_PAST",
    "TOKEN_NAME_REQUIRED",
    "TOKEN_TOUCH_INTERVAL",
    "USERNAME_TAKEN",
    "agent_create",
    "api_token_authenticate",
    "api_token_create",
    "api_token_revoke",
    "user_create",
]

# Codes of serviceloop.core.messages.MESSAGES.
ADMIN_ONLY = "admin_only"
ROLE_INVALID = "role_invalid"
USERNAME_TAKEN = "username_taken"
CAPACITY_INVALID = "capacity_invalid"
TOKEN_NAME_REQUIRED = "token_name_required"  # noqa: S105
TOKEN_EXPIRY_PAST = "token_expiry_past"  # noqa: S105

# Writing ``last_used_at`` on every request would turn each API read into a write (on SQLite: take
# the one write lock); once per interval still tells a live integration from a dead one.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)


def _require_admin(actor: User | None) -> None:
    if actor is not None and not is_admin(actor):
        raise PermissionDeniedError(Problem(ADMIN_ONLY))


def _fields_error(fields: dict[str, list[Problem | str]]) -> InvalidInputError:
    first = next(iter(fields.values()))[0]
    return InvalidInputError(first, fields=fields)


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    role: str,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    actor: User | None = None,
) -> User:
    """Create a login with one role; admins also get Django admin access (configuration)."""
    _require_admin(actor)
    username = username.strip()
    fields: dict[str, list[Problem | str]] = {}
    if role not in Role.values:
        fields["role"] = [Problem(ROLE_INVALID)]
    if username and User.objects.filter(username__iexact=username).exists():
        fields["username"] = [Problem(USERNAME_TAKEN)]
    user = User(
        username=username,
        email=email.strip(),
        first_name=first_name,
        last_name=last_name,
        role=role,
        is_staff=role == Role.ADMIN,
        is_superuser=role == Role.ADMIN,
    )
    try:
        validate_password(password, user)
    except ValidationError as exc:
        fields["password"] = list(exc.messages)
    user.set_password(password)
    try:
        # role and uniqueness are checked above, with clearer (and case-insensitive) rules
        user.full_clean(exclude=["role", "password"], validate_unique=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            known = fields.setdefault(field, [])
            known.extend(m for m in messages if m not in known)
    if fields:
        raise _fields_error(fields)
    user.save()
    return user


@transaction.atomic
def agent_create(
    *,
    username: str,
    password: str,
    team: Team,
    skills: Iterable[Skill] = (),
    capacity: int = 10,
    is_available: bool = True,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    actor: User | None = None,
) -> AgentProfile:
    """Create an agent login and its profile (team, skills, capacity for open cases)."""
    if not 1 <= capacity <= 1000:
        raise InvalidInputError.for_field("capacity", Problem(CAPACITY_INVALID))
    user = user_create(
        username=username,
        password=password,
        role=Role.AGENT,
        email=email,
        first_name=first_name,
        last_name=last_name,
        actor=actor,
    )
    profile = AgentProfile.objects.create(
        user=user, team=team, capacity=capacity, is_available=is_available
    )
    profile.skills.set(list(skills))
    return profile


@transaction.atomic
def api_token_create(
    *,
    user: User,
    name: str,
    actor: User | None = None,
    expires_at: datetime | Literal["default"] | None = "default",
) -> tuple[ApiToken, str]:
    """Issue a bearer token for ``user``; the raw key is returned once and never stored.

    Users may issue tokens for themselves; only admins for others. It expires after
    ``settings.API_TOKEN_DAYS`` unless ``expires_at`` says when (None: never).
    """
    if actor is not None and actor.pk != user.pk:
        _require_admin(actor)
    name = name.strip()
    if not name:
        raise InvalidInputError.for_field("name", Problem(TOKEN_NAME_REQUIRED))
    if expires_at == "default":
        days = settings.API_TOKEN_DAYS
        expires_at = timezone.now() + timedelta(days=days) if days > 0 else None
    elif expires_at is not None and expires_at <= timezone.now():
        raise InvalidInputError.for_field("expires_at", Problem(TOKEN_EXPIRY_PAST))
    raw_key = ApiToken.new_key()
    token = ApiToken(
        user=user, name=name[:100], key_hash=ApiToken.hash_key(raw_key), expires_at=expires_at
    )
    token.prefix = raw_key[: ApiToken._meta.get_field("prefix").max_length]
    token.save()
    return token, raw_key


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: User | None = None) -> ApiToken:
    """Revoke for good (idempotent); the row stays so audits can still name the integration."""
    if actor is not None and actor.pk != token.user_id:
        _require_admin(actor)
    if not token.revoked:
        token.revoked = True
        token.save(update_fields=["revoked"])
    return token


def api_token_authenticate(raw_key: str) -> User | None:
    """The active owner of the unrevoked, unexpired token ``raw_key``, or None.

    Looked up by its short public prefix, then the SHA-256 is compared in constant time, so the
    answer's timing does not reveal how much of a guessed hash matched.
    """
    raw_key = (raw_key or "").strip()
    prefix_len = ApiToken._meta.get_field("prefix").max_length or 8
    if len(raw_key) <= prefix_len:
        return None
    wanted = ApiToken.hash_key(raw_key)
    match = None
    for token, user, profile in queries.tokens_by_prefix(raw_key[:prefix_len]):
        if hmac.compare_digest(token.key_hash, wanted):
            match, match_user, match_profile = token, user, profile
    if match is None:
        return None
    now = timezone.now()
    if match.expires_at is not None and match.expires_at <= now:
        return None
    if match.last_used_at is None or now - match.last_used_at > TOKEN_TOUCH_INTERVAL:
        ApiToken.objects.filter(pk=match.pk).update(last_used_at=now)
    # The agent profile rides along (cached on the user, also when there is none) so permission
    # checks need no query for the agent's team.
    User.agent_profile.related.set_cached_value(match_user, match_profile)  # type: ignore[attr-defined]
    if match_profile is not None:
        AgentProfile.user.field.set_cached_value(match_profile, match_user)
    match.user = match_user
    return match_user
