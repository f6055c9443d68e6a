"""API tokens die with the credentials they stand for: changing a user's password or deactivating
the user revokes every token of theirs (the rows stay, so audits can still name the integration).

Saves through the ORM are caught here; ``api_token_authenticate`` also refuses tokens of inactive
users and tokens past their expiry, whatever path changed the row.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from serviceloop.accounts.models import ApiToken, User

__all__: list[str] = []


@receiver(pre_save, sender=User)
def _remember_credentials(sender: type[User], instance: User, **kwargs: Any) -> None:
    if instance.pk is None or kwargs.get("raw"):
        instance._credentials_changed = False  # type: ignore[attr-defined]
        return
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        instance._credentials_changed = False  # type: ignore[attr-defined]
        return
    before = User.objects.filter(pk=instance.pk).values("password", "is_active").first()
    instance._credentials_changed = before is not None and (  # type: ignore[attr-defined]
        before["password"] != instance.password or (before["is_active"] and not instance.is_active)
    )


@receiver(post_save, sender=User)
def _revoke_tokens(sender: type[User], instance: User, **kwargs: Any) -> None:
    if getattr(instance, "_credentials_changed", False):
        ApiToken.objects.filter(user=instance, revoked=False).update(revoked=True)
        instance._credentials_changed = False  # type: ignore[attr-defined]
