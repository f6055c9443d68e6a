"""Pieces every case service shares: locking the case row, the version check, appending the event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import ForeignKey
from django.db.transaction import TransactionManagementError
from django.utils import timezone, translation

from serviceloop.cases import queries
from serviceloop.cases.choices import EventKind
from serviceloop.cases.exceptions import (
    FORBIDDEN,
    STALE_VERSION,
    PermissionDeniedError,
    Problem,
    StaleVersionError,
)
from serviceloop.cases.models import Case, CaseEvent
from serviceloop.processes.models import Stage

__all__ = [
    "append_event",
    "build_event",
    "code_of",
    "deny",
    "due_for_stage",
    "lock_case",
    "now_or",
    "require_active_actor",
    "stage_activity",
    "touch",
    "username_of",
]


def now_or(at: datetime | None) -> datetime:
    """``at`` (for replayed history) or now; naive datetimes are refused rather than guessed."""
    if at is None:
        return timezone.now()
    if timezone.is_naive(at):
        raise ValueError("'at' must be timezone-aware")
    return at


# The case's foreign keys: related objects the caller loaded are handed over while unchanged.
_RELATIONS = tuple(f for f in Case._meta.concrete_fields if isinstance(f, ForeignKey))


def lock_case(case: Case, *, expected_version: int | None = None) -> Case:
    """Lock the case row (``SELECT ... FOR UPDATE``), re-read it and check the version.

    One join-free query: on PostgreSQL a FOR UPDATE that waited returns the row's newest version
    (with joins it would re-check the new row against the *old* joined rows, so a changed stage_id
    would make the row vanish). The related objects the caller already loaded (customer, stage,
    team, ...) are reused while their foreign key is unchanged; changed ones load on access. On
    SQLite the lock is a no-op, but the IMMEDIATE transaction already holds the database's write
    lock, so the re-read is the latest committed state either way.
    """
    if not connection.in_atomic_block:  # the lock (or SQLite's write lock) ends with it
        raise TransactionManagementError("lock_case() must run inside a transaction.")
    locked = queries.case_lock(case.pk)
    if locked is None:
        raise Case.DoesNotExist(f"No case {case.pk}.")
    for field in _RELATIONS:
        if field.is_cached(case) and getattr(case, field.attname) == getattr(locked, field.attname):
            field.set_cached_value(locked, field.get_cached_value(case))
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersionError(
            Problem(STALE_VERSION, {"actual": locked.version, "expected": expected_version}),
            {"version": locked.version},
        )
    return locked


def deny(action: str) -> PermissionDeniedError:
    """The actor may not ``action`` this case (a key of ``FORBIDDEN``)."""
    return PermissionDeniedError(Problem(FORBIDDEN[action]))


def stage_activity(stage: Stage) -> str:
    """The stage's canonical (English) name: the event log must not depend on the UI language."""
    return stage.name


def due_for_stage(stage: Stage, entered_at: datetime) -> datetime | None:
    """Due date from the stage's time standard, in working time of the stage team's business
    calendar (elapsed time when no calendar is set up)."""
    from serviceloop.sla.calendars import stage_due

    return stage_due(stage=stage, entered_at=entered_at)


def build_event(
    *,
    case: Case,
    kind: EventKind,
    actor: Any,
    at: datetime,
    attributes: dict[str, Any] | None = None,
    activity: str | None = None,
) -> CaseEvent:
    """An unsaved event; ``activity`` defaults to the kind's English label."""
    if activity is None:
        with translation.override("en"):
            activity = str(EventKind(kind).label)
    return CaseEvent(
        case=case,
        kind=kind,
        activity=activity,
        timestamp=at,
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        attributes=attributes or {},
    )


def append_event(
    *,
    case: Case,
    kind: EventKind,
    actor: Any,
    at: datetime,
    attributes: dict[str, Any] | None = None,
    activity: str | None = None,
) -> CaseEvent:
    """Append one event row."""
    event = build_event(
        case=case, kind=kind, actor=actor, at=at, attributes=attributes, activity=activity
    )
    queries.events_insert([event])
    return event


def username_of(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def code_of(obj: Any) -> str | None:
    return obj.code if obj is not None else None


def touch(case: Case, at: datetime, fields: list[str]) -> None:
    """Save the changed fields together with the version bump and ``updated_at``."""
    case.version += 1
    case.updated_at = at
    queries.case_save(case, [*fields, "version", "updated_at"])


def require_active_actor(actor: Any, action: str) -> None:
    if actor is None or not getattr(actor, "is_active", False):
        raise deny(action)
