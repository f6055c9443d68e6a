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

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone, translation

from serviceloop.cases.models import Case, CaseEvent
from serviceloop.sla.choices import Trigger
from serviceloop.sla.models import EscalationRule, SlaClock
from serviceloop.sla.notify import webhooks_queue
from serviceloop.sla.services import Crossing, threshold_attributes, threshold_kind

__all__ = ["SlaSweepCounts", "sla_sweep"]


@dataclass(frozen=True)
class SlaSweepCounts:
    warnings: int
    breaches: int
    escalated_cases: int


@cache
def _due_cases_sql(vendor: str) -> str:
    """The cases with a threshold to record, locked.

    Each threshold's candidates come in order from its partial index with a LIMIT, and the cases
    are looked up by key (``= ANY(ARRAY(...))``): a plan that stays cheap whatever ``now`` is,
    also as a prepared statement's generic plan. Taking twice the batch as candidates lets a
    second worker lock cases the first one has not."""
    clock, case = SlaClock._meta.db_table, Case._meta.db_table
    candidates = (
        f"SELECT case_id FROM (SELECT case_id FROM {clock} "  # noqa: S608
        "WHERE warned_at IS NULL AND warn_at <= %s ORDER BY warn_at LIMIT %s) w UNION "
        f"SELECT case_id FROM (SELECT case_id FROM {clock} "
        "WHERE breached_at IS NULL AND due_at <= %s ORDER BY due_at LIMIT %s) d"
    )
    if vendor == "postgresql":
        where, lock = f"c.id = ANY(ARRAY({candidates}))", " FOR UPDATE OF c SKIP LOCKED"
    else:  # SQLite: the IMMEDIATE transaction already holds the database's write lock
        where, lock = f"c.id IN ({candidates})", ""
    return f"SELECT c.id FROM {case} c WHERE {where} ORDER BY c.id LIMIT %s{lock}"  # noqa: S608


def _lock_due_cases(now: datetime, limit: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(_due_cases_sql(connection.vendor), [now, 2 * limit, now, 2 * limit, limit])
        return [row[0] for row in cursor.fetchall()]


@cache
def _activity(trigger: str) -> str:
    with translation.override("en"):
        return str(threshold_kind(trigger).label)


def _insert_events(events: list[tuple[int, str, datetime, dict[str, Any]]]) -> None:
    """Append (case id, trigger, timestamp, attributes) events in one statement. PostgreSQL gets
    one array per column (``unnest``): a 10,000-row VALUES list costs more to build and to parse
    than to run."""
    from serviceloop.cases import queries

    if connection.vendor != "postgresql":
        queries.events_insert(
            [
                CaseEvent(
                    case_id=case_id,
                    kind=threshold_kind(trigger),
                    activity=_activity(trigger),
                    timestamp=at,
                    attributes=attributes,
                )
                for case_id, trigger, at, attributes in events
            ]
        )
        return
    table = CaseEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (case_id, kind, activity, timestamp, actor_id, lifecycle, "  # noqa: S608
            "attributes) SELECT case_id, kind, activity, ts, NULL, 'complete', attrs::jsonb "
            "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::timestamptz[], %s::text[]) "
            "AS e(case_id, kind, activity, ts, attrs)",
            [
                [e[0] for e in events],
                [threshold_kind(e[1]).value for e in events],
                [_activity(e[1]) for e in events],
                [e[2] for e in events],
                [json.dumps(e[3], separators=(",", ":")) for e in events],
            ],
        )


_CLOCK_COLUMNS = (
    "id", "case_id", "metric", "cycle", "target_seconds", "warn_seconds", "warn_at", "due_at",
    "warned_at", "breached_at", "policy_id", "policy__name",
)  # fmt: skip


def _record_batch(case_ids: list[int], now: datetime) -> SlaSweepCounts:
    from serviceloop.sla.escalation import escalate
    from serviceloop.sla.services import sla_clocks_sync

    # Read after the lock: what a case service committed meanwhile is seen here.
    rows = list(
        SlaClock.objects.filter(case_id__in=case_ids)
        .filter(Q(warned_at=None, warn_at__lte=now) | Q(breached_at=None, due_at__lte=now))
        .values_list(*_CLOCK_COLUMNS)
    )
    events: list[tuple[int, str, datetime, dict[str, Any]]] = []
    marked: dict[str, list[int]] = {Trigger.WARNING: [], Trigger.BREACH: []}
    crossed: list[tuple[int, str]] = []
    for (pk, case_id, metric, cycle, target, warn, warn_at, due_at, warned_at, breached_at,
         _, policy) in rows:  # fmt: skip
        for trigger, moment, done in (
            (Trigger.WARNING, warn_at, warned_at),
            (Trigger.BREACH, due_at, breached_at),
        ):
            if done is None and moment is not None and moment <= now:
                attributes = threshold_attributes(
                    metric=metric, cycle=cycle, target_seconds=target, warn_seconds=warn,
                    policy=policy, trigger=trigger, detected_at=now,
                )  # fmt: skip
                events.append((case_id, trigger, moment, attributes))
                marked[trigger].append(pk)
                crossed.append((pk, trigger))
    if not events:
        return SlaSweepCounts(0, 0, 0)
    _insert_events(events)
    webhooks_queue(
        [(case_id, threshold_kind(t).value, at, attrs) for case_id, t, at, attrs in events], at=now
    )
    SlaClock.objects.filter(pk__in=marked[Trigger.WARNING]).update(warned_at=F("warn_at"))
    SlaClock.objects.filter(pk__in=marked[Trigger.BREACH]).update(breached_at=F("due_at"))
    escalated = _escalate(
        crossed, {row[10] for row in rows} - {None}, now, escalate, sla_clocks_sync
    )
    return SlaSweepCounts(len(marked[Trigger.WARNING]), len(marked[Trigger.BREACH]), escalated)


def _escalate(
    crossed: list[tuple[int, str]],
    policy_ids: set[int],
    now: datetime,
    escalate: Any,
    sync: Any,
) -> int:
    """Run the escalation rules for the crossings whose policy has any; how many cases."""
    with_rules = set(
        EscalationRule.objects.filter(policy_id__in=policy_ids).values_list("policy_id", flat=True)
    )
    if not with_rules:
        return 0
    triggers: dict[int, list[str]] = defaultdict(list)
    for pk, trigger in crossed:
        triggers[pk].append(trigger)
    clocks = (
        SlaClock.objects.filter(pk__in=list(triggers), policy_id__in=with_rules)
        .select_related("policy")
        .prefetch_related("policy__escalations__team")
    )
    by_case: dict[int, list[Crossing]] = defaultdict(list)
    for clock in clocks:
        for trigger in triggers[clock.pk]:
            by_case[clock.case_id].append(
                Crossing(clock=clock, trigger=Trigger(trigger), event=None)
            )
    cases = Case.objects.select_related(
        "stage", "team", "assignee", "category", "customer", "process_version"
    ).filter(pk__in=list(by_case))
    for case in cases:
        if escalate(case=case, crossings=by_case[case.pk], at=now):
            sync(case=case, at=now, depth=1)
    return len(by_case)


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
