"""``Idempotency-Key`` for endpoints that create: a retried request gets the first answer back.

A client that lost a response may resend the same request with the same key: it receives the first
status and body (with ``Idempotent-Replayed: true``) and nothing is created twice. The same key with
a different method, path or body is refused with 422, since the client has mixed up its keys.

Concurrency: the record is inserted first, in the same transaction as the work. The unique
(user, key) constraint makes a concurrent duplicate wait for the first request (PostgreSQL blocks on
the index entry, SQLite on the IMMEDIATE write lock), fail its insert and replay the stored answer.
Only successful answers are stored: a refused request rolls back with its record, so retrying it
re-evaluates the request, which is safe because nothing was written.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from ninja import Header, Schema

from serviceloop.core import rows
from serviceloop.core.exceptions import ConflictError, InvalidInputError, Problem
from serviceloop.core.models import IdempotencyRecord

__all__ = [
    "RETENTION",
    "IdempotencyKey",
    "JsonResult",
    "KeyReusedError",
    "idempotency_records_purge",
    "idempotent",
    "request_fingerprint",
    "run_once",
]

# How long a key is remembered. A client retries within minutes; after this a reused key is a new
# request. ``serviceloop manage idempotency_purge`` deletes older records.
RETENTION = timedelta(days=7)

IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY_CHARS = re.compile(r"[\x21-\x7e]+")
REPLAYED_HEADER = "Idempotent-Replayed"

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        min_length=1,
        max_length=200,
        description="Any unique string (e.g. a UUID) chosen by the client; resend the same key "
        "when retrying the same request and the first answer is returned.",
    ),
]


@dataclass(frozen=True)
class JsonResult:
    """What a create endpoint answers: status, JSON body and the new resource's URL."""

    status: int
    body: dict[str, Any]
    location: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, status: int, payload: Schema, location: str = "") -> JsonResult:
        return cls(status=status, body=payload.model_dump(mode="json"), location=location)

    def response(self) -> JsonResponse:
        response = JsonResponse(self.body, status=self.status)
        if self.location:
            response["Location"] = self.location
        for name, value in self.headers.items():
            response[name] = value
        return response


class _KeyTaken(Exception):
    """Another request with the same key committed first."""


class KeyReusedError(InvalidInputError):
    """The key already served a different request."""


def _update(digest: Any, *parts: str | bytes) -> None:
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)


def request_fingerprint(request: HttpRequest) -> str:
    """SHA-256 over method, path, query and body; JSON key order and multipart boundaries ignored."""
    digest = hashlib.sha256()
    _update(digest, request.method or "", request.path, request.META.get("QUERY_STRING", ""))
    if request.content_type in {"multipart/form-data", "application/x-www-form-urlencoded"}:
        for name in sorted(request.POST):
            _update(digest, "field", name, *request.POST.getlist(name))
        for name in sorted(request.FILES):
            for upload in request.FILES.getlist(name):
                _update(digest, "file", name, upload.name or "", str(upload.size))
                for chunk in upload.chunks():
                    digest.update(chunk)
                upload.seek(0)
    else:
        raw = request.body
        try:
            canonical: bytes = json.dumps(
                json.loads(raw), sort_keys=True, separators=(",", ":")
            ).encode()
        except ValueError:
            canonical = raw
        _update(digest, "body", canonical)
    return digest.hexdigest()


def _run_first(
    request: HttpRequest, user: Any, key: str, fingerprint: str, produce: Callable[[], JsonResult]
) -> JsonResult:
    """Insert the record, then do the work, in one transaction.

    The insert is the transaction's first statement, so a duplicate key needs no savepoint: the
    failed insert rolls back a transaction that has done nothing else yet.
    """
    with transaction.atomic():
        record = IdempotencyRecord(
            user=user,
            key=key,
            method=request.method or "",
            path=request.path[:500],
            request_hash=fingerprint,
            status_code=0,
            body={},
        )
        try:
            rows.insert([record])  # written-out SQL: every retry-safe create runs both statements
        except IntegrityError as exc:
            raise _KeyTaken from exc
        result = produce()
        record.status_code, record.body = result.status, result.body
        record.location = result.location[:500]
        rows.update(record, ["status_code", "body", "location"])
    return result


def _replay(request: HttpRequest, record: IdempotencyRecord, fingerprint: str) -> JsonResult:
    if (
        record.method != request.method
        or record.path != request.path[:500]
        or (record.request_hash and record.request_hash != fingerprint)
    ):
        reused = {
            "header": IDEMPOTENCY_HEADER,
            "key": record.key,
            "method": record.method,
            "path": record.path,
        }
        raise KeyReusedError.for_field(
            IDEMPOTENCY_HEADER, Problem("idempotency_key_reused", reused)
        )
    return JsonResult(
        status=record.status_code,
        body=record.body,
        location=record.location,
        headers={REPLAYED_HEADER: "true"},
    )


def run_once(
    request: HttpRequest, user: Any, key: str, produce: Callable[[], JsonResult]
) -> JsonResult:
    """Run ``produce`` once per (user, key): its answer, or the stored first answer again."""
    if not _KEY_CHARS.fullmatch(key):
        raise InvalidInputError.for_field(IDEMPOTENCY_HEADER, Problem("idempotency_key_chars"))
    fingerprint = request_fingerprint(request)
    # Insert first: a new key (the usual case) costs no look-up; a used one fails the insert.
    try:
        return _run_first(request, user, key, fingerprint, produce)
    except _KeyTaken:
        record = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if record is None:  # the first request was rolled back after our insert failed
            in_progress = {"header": IDEMPOTENCY_HEADER, "key": key}
            raise ConflictError(Problem("idempotency_in_progress", in_progress)) from None
    return _replay(request, record, fingerprint)


def idempotent(
    request: HttpRequest, key: str | None, produce: Callable[[], JsonResult]
) -> JsonResponse:
    """An API answer produced once per (token owner, key); without a key just produce it."""
    if key is None:
        return produce().response()
    return run_once(request, request.auth, key, produce).response()  # type: ignore[attr-defined]


@transaction.atomic
def idempotency_records_purge(*, older_than: timedelta = RETENTION) -> int:
    """Delete records older than ``older_than``; returns how many were deleted."""
    if older_than < timedelta(0):
        raise ValueError("older_than must not be negative")
    cutoff = timezone.now() - older_than
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
