"""Users carry one role; agents belong to a team, have skills and a capacity for open cases; an
agent may lead their team (``AgentProfile.is_lead``)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from serviceloop.accounts.choices import STAFF_ROLES, Role
from serviceloop.core.messages import Named

__all__ = ["AgentProfile", "ApiToken", "Skill", "Team", "User"]


class UserManager(DjangoUserManager["User"]):
    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **extra: Any
    ) -> User:
        """``createsuperuser`` makes an admin: a superuser with the default customer role would be
        sent to the customer portal and refused by every staff page."""
        extra.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra)


class User(AbstractUser):
    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.CUSTOMER)

    @property
    def is_staff_member(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_manager(self) -> bool:
        return self.role in {Role.ADMIN, Role.MANAGER}

    @property
    def is_agent(self) -> bool:
        return self.role == Role.AGENT

    @property
    def is_customer(self) -> bool:
        return self.role == Role.CUSTOMER


class Team(models.Model):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_zh = models.CharField(_("Chinese name"), max_length=100, blank=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name in the active language (Chinese when set and active); exports use ``code``."""
        return str(Named.of(self))


class Skill(models.Model):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["name"]
        verbose_name = _("skill")
        verbose_name_plural = _("skills")

    def __str__(self) -> str:
        return self.name


class AgentProfile(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="agent_profile")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="agents")
    skills = models.ManyToManyField(Skill, blank=True, related_name="agents")
    capacity = models.PositiveSmallIntegerField(
        _("capacity"), default=10, help_text=_("Open cases this agent can hold at once.")
    )
    is_available = models.BooleanField(_("available for routing"), default=True)
    is_lead = models.BooleanField(
        _("team lead"),
        default=False,
        help_text=_(
            "Team leads watch their team on the live monitoring page and are told of its "
            "escalations and alerts."
        ),
    )
    last_routed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("agent profile")
        verbose_name_plural = _("agent profiles")

    def __str__(self) -> str:
        return f"{self.user} ({self.team})"


class ApiToken(models.Model):
    """A bearer token for integrations; only its SHA-256 is stored. It stops working when it
    expires, is revoked, or its user changes password or is deactivated (``signals``)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=8, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(
        _("expires"), null=True, blank=True, help_text=_("Empty: the token does not expire.")
    )
    revoked = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @staticmethod
    def new_key() -> str:
        return "sl_" + secrets.token_urlsafe(32)
