"""Picking the process a new case runs on, by the request types and intake rules an admin sets.

Precedence: an explicit request type (portal form, API ``request_type``) names its process; else
the first active rule (lowest position, then oldest) whose every set condition (category, channel,
customer segment) matches; else the default process. Only the process is chosen here: the case
starts on its latest published version and stays on that version for life.

The rules are read once and cached (``INTAKE_CACHE_SECONDS``) so that opening a case costs no
extra query; saving or deleting a rule or type clears the cache at once and again on commit (with
a cache shared between processes, every process sees the change; with the per-process default,
other processes within the timeout).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import User
from serviceloop.cases.exceptions import (
    REQUEST_TYPE_STAFF_ONLY,
    REQUEST_TYPE_UNKNOWN,
    PermissionDeniedError,
    Problem,
)
from serviceloop.cases.models import Category, IntakeRule, RequestType

__all__ = [
    "INTAKE_CACHE_SECONDS",
    "IntakeConfig",
    "RuleSpec",
    "intake_cache_clear",
    "intake_config",
    "intake_process_id",
    "request_type_exists",
    "request_types_for",
]

INTAKE_CACHE_SECONDS = 60
_CACHE_KEY = "serviceloop:cases:intake:v1"


@dataclass(frozen=True)
class RuleSpec:
    """One active rule as plain values (cacheable); None / "" means "any"."""

    category_id: int | None
    channel: str
    segment: str
    process_id: int

    def matches(self, *, category_id: int | None, channel: str, segment: str) -> bool:
        return (
            (self.category_id is None or self.category_id == category_id)
            and (not self.channel or self.channel == channel)
            and (not self.segment or self.segment == segment)
        )


@dataclass(frozen=True)
class IntakeConfig:
    """Active request types (code -> process id, staff only) and active rules in order."""

    types: dict[str, tuple[int, bool]]
    rules: tuple[RuleSpec, ...]


def _load() -> IntakeConfig:
    types = {
        code: (process_id, staff_only)
        for code, process_id, staff_only in RequestType.objects.filter(is_active=True).values_list(
            "code", "process_id", "staff_only"
        )
    }
    rules = tuple(
        RuleSpec(category_id, channel, segment.strip().lower(), process_id)
        for category_id, channel, segment, process_id in IntakeRule.objects.filter(
            is_active=True
        ).values_list("category_id", "channel", "customer_segment", "process_id")
    )
    return IntakeConfig(types=types, rules=rules)


def intake_config() -> IntakeConfig:
    """The active types and rules, from the cache or (one query each, rarely) the database."""
    config = cache.get(_CACHE_KEY)
    if not isinstance(config, IntakeConfig):
        config = _load()
        cache.set(_CACHE_KEY, config, INTAKE_CACHE_SECONDS)
    return config


def intake_cache_clear() -> None:
    cache.delete(_CACHE_KEY)


@receiver([post_save, post_delete], sender=RequestType)
@receiver([post_save, post_delete], sender=IntakeRule)
def _config_changed(**_: Any) -> None:
    intake_cache_clear()
    transaction.on_commit(intake_cache_clear)  # a request that read the old rows meanwhile


def intake_process_id(
    *,
    actor: User | None,
    request_type: str | None,
    category: Category | None,
    channel: str,
    segment: str,
    errors: dict[str, list[Problem]],
) -> int | None:
    """The process a new case runs on, or None for the default process.

    An unknown or inactive ``request_type`` is an error of that field (appended to ``errors``); a
    customer naming a staff-only type is refused (PermissionDeniedError).
    """
    config = intake_config()
    if request_type:
        found = config.types.get(request_type)
        if found is None:
            errors.setdefault("request_type", []).append(
                Problem(REQUEST_TYPE_UNKNOWN, {"value": request_type})
            )
            return None
        process_id, staff_only = found
        if staff_only and actor is not None and actor.role == Role.CUSTOMER:
            raise PermissionDeniedError(
                Problem(REQUEST_TYPE_STAFF_ONLY, {"value": request_type}),
                fields={
                    "request_type": [Problem(REQUEST_TYPE_STAFF_ONLY, {"value": request_type})]
                },
            )
        return process_id
    category_id = category.pk if category is not None else None
    wanted = (segment or "").strip().lower()
    for rule in config.rules:
        if rule.matches(category_id=category_id, channel=channel, segment=wanted):
            return rule.process_id
    return None


def request_type_exists(code: str) -> bool:
    """Whether an active request type has this code (for system intakes that name one)."""
    return code in intake_config().types


def request_types_for(user: User | None) -> list[RequestType]:
    """The active request types ``user`` may name: customers do not see staff-only ones."""
    types = RequestType.objects.filter(is_active=True).select_related("process")
    if user is None or user.role == Role.CUSTOMER:
        types = types.filter(staff_only=False)
    return list(types)
