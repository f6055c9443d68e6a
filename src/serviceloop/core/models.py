"""Idempotency records: a retried create returns the first answer instead of creating again."""

from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["IdempotencyRecord"]


class IdempotencyRecord(models.Model):
    """The first successful answer to a request sent with an ``Idempotency-Key``.

    The row is inserted before the work starts, in the same transaction, so the unique (user, key)
    constraint makes a concurrent retry wait for the first request and then replay its answer.
    ``request_hash`` fingerprints method, path and body so a key reused for another request is caught.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=200)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64, default="")
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField()
    location = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="core_idempotency_user_key_uniq")
        ]
        indexes = [models.Index(fields=["created_at"], name="core_idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
