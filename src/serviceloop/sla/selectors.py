"""Which policy and calendar apply to a case, read from a per-process snapshot of the SLA set-up.

Policies, targets, escalation rules and calendars change rarely and are read by every case
change, so each process keeps them in memory: a save or delete in this process drops the snapshot
at once (``signals.py``), other processes (the worker, other web workers) reload it within
``SNAPSHOT_SECONDS``. Opening a case on a warm process therefore costs no SLA query at all unless a
policy applies (then: one INSERT of its clocks).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from threading import Lock
from typing import Any

from django.db.models import Prefetch, QuerySet

from serviceloop.cases.models import Case
from serviceloop.sla.models import BusinessCalendar, EscalationRule, SlaClock, SlaPolicy

__all__ = [
    "SNAPSHOT_SECONDS",
    "SlaSetup",
    "calendar_for",
    "case_clock_views",
    "case_clocks",
    "policy_for_case",
    "setup_forget",
    "sla_setup",
]

SNAPSHOT_SECONDS = 30.0


@dataclass(frozen=True)
class SlaSetup:
    policies: list[SlaPolicy]  # active, in order, with targets and escalation rules
    calendars: dict[int | None, BusinessCalendar]  # by team id; None: the organisation's
    loaded: float


_snapshot: SlaSetup | None = None
_lock = Lock()


def sla_setup() -> SlaSetup:
    """The current snapshot (three queries when it is loaded, none otherwise)."""
    global _snapshot
    current = _snapshot
    if current is not None and time.monotonic() - current.loaded < SNAPSHOT_SECONDS:
        return current
    policies = list(
        SlaPolicy.objects.filter(is_active=True)
        .select_related("calendar")
        .prefetch_related(
            "targets",
            Prefetch("escalations", queryset=EscalationRule.objects.select_related("team")),
        )
    )
    calendars = {c.team_id: c for c in BusinessCalendar.objects.all()}
    fresh = SlaSetup(policies=policies, calendars=calendars, loaded=time.monotonic())
    with _lock:
        _snapshot = fresh
    return fresh


def setup_forget() -> None:
    """Drop the snapshot: the next read loads the set-up again."""
    global _snapshot
    with _lock:
        _snapshot = None


def _matches(policy: SlaPolicy, case: Case) -> bool:
    if policy.process_id is not None and policy.process_id != case.process_version.process_id:
        return False
    if policy.priorities and case.priority not in policy.priorities:
        return False
    if policy.channels and case.channel not in policy.channels:
        return False
    if policy.categories and (case.category is None or case.category.code not in policy.categories):
        return False
    return not policy.segments or case.customer.segment in policy.segments


def policy_for_case(case: Case) -> SlaPolicy | None:
    """The first active policy whose conditions the case meets."""
    for policy in sla_setup().policies:
        if _matches(policy, case):
            return policy
    return None


def calendar_for(*, policy: SlaPolicy | None, team_id: int | None) -> BusinessCalendar | None:
    """The policy's calendar, else the team's, else the organisation's, else None (elapsed)."""
    if policy is not None and policy.calendar is not None:
        return policy.calendar
    calendars = sla_setup().calendars
    return calendars.get(team_id) if team_id in calendars else calendars.get(None)


def case_clocks(case: Case) -> QuerySet[SlaClock]:
    return SlaClock.objects.filter(case=case).select_related("calendar", "policy")


def case_clock_views(case: Case, *, now: datetime) -> list[dict[str, Any]]:
    """The case's clocks as plain values, with the working time used as of ``now``."""
    from serviceloop.sla.calendars import clock_for
    from serviceloop.sla.clockwork import ClockState

    views = []
    for clock in case_clocks(case):
        state = ClockState(
            target=clock.target_seconds,
            used=clock.used_seconds,
            since=int(clock.since.timestamp()),
            running=clock.running and clock.stopped_at is None,
        )
        used = state.used_at(clock_for(clock.calendar), int(now.timestamp()))
        views.append(
            {
                "metric": clock.metric,
                "cycle": clock.cycle,
                "state": clock.state,
                "policy": clock.policy.name if clock.policy else None,
                "calendar": clock.calendar.name if clock.calendar else None,
                "target_minutes": clock.target_seconds // 60,
                "used_minutes": round(used / 60, 1),
                "due_at": clock.due_at,
                "warn_at": clock.warn_at,
                "warned_at": clock.warned_at,
                "breached_at": clock.breached_at,
                "stopped_at": clock.stopped_at,
            }
        )
    return views
