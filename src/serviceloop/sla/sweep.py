"""The SLA worker's round: record every warning and breach whose moment has come, exactly once.

Driven by the stored ``warn_at`` / ``due_at`` of the clocks (two partial indexes), never by timers
in memory, so a restarted worker picks up whatever came due while it was down. One transaction per
batch of cases:

1. lock the cases that have a threshold to record (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so two
   workers share the work and neither waits for a case a user is changing; SQLite: the
   transaction's IMMEDIATE write lock serialises everything);
2. re-read their clocks *after* the lock (a case service that stopped or recorded a clock in the
   meantime has committed by then) and keep the thresholds still unrecorded;
3. append the events in one INSERT, mark the clocks in two UPDATEs, run the escalation rules.

The events and the marks commit together or not at all: a worker killed mid-batch (``kill -9``)
leaves the batch unrecorded for the next round, never half-recorded.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from serviceloop.cases.models import Case
from serviceloop.sla.choices import Trigger
from serviceloop.sla.models import SlaClock
from serviceloop.sla.services import Crossing, threshold_event

__all__ = ["SlaSweepCounts", "sla_sweep"]


@dataclass(frozen=True)
class SlaSweepCounts:
    warnings: int
    breaches: int
    escalated_cases: int


@cache
def _due_cases_sql(vendor: str) -> str:
    clock, case = SlaClock._meta.db_table, Case._meta.db_table
    lock = " FOR UPDATE SKIP LOCKED" if vendor == "postgresql" else ""
    return (
        f"SELECT c.id FROM {case} c WHERE c.id IN ("  # noqa: S608  (names from the models)
        f"SELECT case_id FROM {clock} WHERE warned_at IS NULL AND warn_at <= %s "
        f"UNION ALL SELECT case_id FROM {clock} WHERE breached_at IS NULL AND due_at <= %s"
        f") ORDER BY c.id LIMIT %s{lock}"
    )


def _lock_due_cases(now: datetime, limit: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(_due_cases_sql(connection.vendor), [now, now, limit])
        return [row[0] for row in cursor.fetchall()]


def _record_batch(case_ids: list[int], now: datetime) -> SlaSweepCounts:
    from serviceloop.cases import queries
    from serviceloop.sla.escalation import escalate
    from serviceloop.sla.services import sla_clocks_sync

    clocks = list(
        SlaClock.objects.filter(case_id__in=case_ids)
        .filter(Q(warned_at=None, warn_at__lte=now) | Q(breached_at=None, due_at__lte=now))
        .select_related("policy")
        .prefetch_related("policy__escalations__team")
    )
    crossings: list[Crossing] = []
    warned: list[int] = []
    breached: list[int] = []
    for clock in clocks:
        stub = Case(pk=clock.case_id)  # the events need only the case's id
        for trigger, moment, done, ids in (
            (Trigger.WARNING, clock.warn_at, clock.warned_at, warned),
            (Trigger.BREACH, clock.due_at, clock.breached_at, breached),
        ):
            if done is None and moment is not None and moment <= now:
                event = threshold_event(
                    case=stub, clock=clock, trigger=trigger, at=moment, detected_at=now
                )
                crossings.append(Crossing(clock=clock, trigger=trigger, event=event))
                ids.append(clock.pk)
    if not crossings:
        return SlaSweepCounts(0, 0, 0)
    queries.events_insert([c.event for c in crossings])
    SlaClock.objects.filter(pk__in=warned).update(warned_at=F("warn_at"))
    SlaClock.objects.filter(pk__in=breached).update(breached_at=F("due_at"))

    with_rules: dict[int, list[Crossing]] = defaultdict(list)
    for crossing in crossings:
        policy = crossing.clock.policy
        if policy is not None and policy.escalations.all():
            with_rules[crossing.clock.case_id].append(crossing)
    if with_rules:
        cases = Case.objects.select_related(
            "stage", "team", "assignee", "category", "customer", "process_version"
        ).filter(pk__in=list(with_rules))
        for case in cases:
            if escalate(case=case, crossings=with_rules[case.pk], at=now):
                sla_clocks_sync(case=case, at=now, depth=1)
    return SlaSweepCounts(len(warned), len(breached), len(with_rules))


def sla_sweep(*, now: datetime | None = None, batch: int = 1000) -> SlaSweepCounts:
    """Record every due warning and breach (as of ``now``) in batches of ``batch`` cases."""
    now = now or timezone.now()
    warnings = breaches = escalated = 0
    while True:
        with transaction.atomic():
            ids = _lock_due_cases(now, batch)
            counts = _record_batch(ids, now) if ids else SlaSweepCounts(0, 0, 0)
        warnings += counts.warnings
        breaches += counts.breaches
        escalated += counts.escalated_cases
        if len(ids) < batch or not (counts.warnings or counts.breaches):
            # Fewer than a batch: nothing more was due (or the rest is locked by others, who
            # record it). A full batch that recorded nothing was done by another worker: stop.
            return SlaSweepCounts(warnings, breaches, escalated)
