"""SLA clocks follow their case; warnings and breaches become case events exactly once.

The case services call these inside their transaction, after locking the case row:

- ``sla_clocks_start`` when a case opens: first-response and resolution clocks of its policy;
- ``sla_clocks_sync`` after any change that may move a due time: priority, category or channel
  (another policy), team (another calendar), status (pending pauses every clock, resolved/closed
  stops them, reopening resumes the resolution clock), stage;
- ``sla_reply_recorded`` after a public message: a staff reply stops the first- and next-response
  clocks; a customer's reply starts the next-response clock (its next cycle).

Every change first *settles* the clock: a warning or breach whose moment has come (``warn_at`` /
``due_at`` <= the change) and is not yet recorded is appended with its own moment as timestamp, so
nothing is lost when a case changes between two worker rounds. The worker (``sla.sweep``) settles
the rest. Locking rule: whoever writes a clock holds its case's row lock (the case services do; the
sweep takes it with SKIP LOCKED), and reads the clock after taking it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from serviceloop.cases.choices import CaseStatus, EventKind
from serviceloop.cases.models import Case, CaseEvent
from serviceloop.sla.business_time import Clock
from serviceloop.sla.calendars import clock_for
from serviceloop.sla.choices import Metric, Trigger
from serviceloop.sla.clockwork import ClockState, warning_seconds
from serviceloop.sla.models import BusinessCalendar, SlaClock, SlaPolicy
from serviceloop.sla.selectors import calendar_for, policy_for_case

__all__ = [
    "Crossing",
    "sla_clocks_start",
    "sla_clocks_sync",
    "sla_policy_recompute",
    "sla_reply_recorded",
    "threshold_attributes",
    "threshold_event",
    "threshold_kind",
]

FINISHED = (CaseStatus.RESOLVED, CaseStatus.CLOSED)
START_METRICS = (Metric.FIRST_RESPONSE, Metric.RESOLUTION)


def _second(at: datetime) -> int:
    return int(at.timestamp() // 1)


def _instant(second: int | None) -> datetime | None:
    return None if second is None else datetime.fromtimestamp(second, UTC)


@dataclass(frozen=True)
class Crossing:
    """A warning or breach just recorded on ``clock`` (escalation rules act on it)."""

    clock: SlaClock
    trigger: Trigger
    event: CaseEvent | None  # None when the sweep wrote the event itself


def threshold_attributes(
    *,
    metric: str,
    cycle: int,
    target_seconds: int,
    warn_seconds: int,
    policy: str | None,
    trigger: str,
    detected_at: datetime,
) -> dict[str, Any]:
    """What an ``sla_warning`` / ``sla_breached`` event says (the sweep writes the same)."""
    return {
        "metric": metric,
        "cycle": cycle,
        "target_minutes": target_seconds // 60,
        "used_share": 1.0
        if trigger == Trigger.BREACH
        else round(warn_seconds / max(target_seconds, 1), 4),
        "policy": policy,
        "detected_at": detected_at.isoformat(),
    }


def threshold_kind(trigger: str) -> EventKind:
    return EventKind.SLA_WARNING if trigger == Trigger.WARNING else EventKind.SLA_BREACHED


def threshold_event(
    *, case: Case, clock: SlaClock, trigger: Trigger, at: datetime, detected_at: datetime
) -> CaseEvent:
    """The unsaved ``sla_warning`` / ``sla_breached`` event of ``clock`` at its moment ``at``."""
    from serviceloop.cases.services._common import build_event

    return build_event(
        case=case,
        kind=threshold_kind(trigger),
        actor=None,
        at=at,
        attributes=threshold_attributes(
            metric=clock.metric,
            cycle=clock.cycle,
            target_seconds=clock.target_seconds,
            warn_seconds=clock.warn_seconds,
            policy=clock.policy.name if clock.policy is not None else None,
            trigger=trigger,
            detected_at=detected_at,
        ),
    )


def _state(clock: SlaClock) -> ClockState:
    return ClockState(
        target=clock.target_seconds,
        used=clock.used_seconds,
        since=_second(clock.since),
        running=clock.running and clock.stopped_at is None,
    )


def _store(clock: SlaClock, state: ClockState, arithmetic: Clock) -> None:
    """Copy the state into the row and recompute its stored due and warning times."""
    clock.target_seconds, clock.used_seconds = state.target, state.used
    clock.since, clock.running = _instant(state.since), state.running  # type: ignore[assignment]
    if clock.stopped_at is not None:
        clock.due_at = clock.warn_at = None
        return
    clock.due_at = _instant(state.due(arithmetic))
    clock.warn_at = _instant(state.threshold_at(arithmetic, clock.warn_seconds))


def _settle(case: Case, clock: SlaClock, at: datetime) -> list[Crossing]:
    """Record the warning and breach whose moment is at or before ``at`` and not yet recorded."""
    crossings = []
    for trigger, moment, done in (
        (Trigger.WARNING, clock.warn_at, clock.warned_at),
        (Trigger.BREACH, clock.due_at, clock.breached_at),
    ):
        if done is not None or moment is None or moment > at:
            continue
        event = threshold_event(case=case, clock=clock, trigger=trigger, at=moment, detected_at=at)
        if trigger == Trigger.WARNING:
            clock.warned_at = moment
        else:
            clock.breached_at = moment
        crossings.append(Crossing(clock=clock, trigger=trigger, event=event))
    return crossings


def _new_clock(
    *,
    case: Case,
    metric: str,
    policy: SlaPolicy,
    calendar: BusinessCalendar | None,
    target: int,
    at: datetime,
    cycle: int = 1,
) -> SlaClock:
    clock = SlaClock(
        case=case,
        metric=metric,
        cycle=cycle,
        policy=policy,
        calendar=calendar,
        target_seconds=target,
        warn_seconds=warning_seconds(target, policy.warn_share),
        used_seconds=0,
        since=at,
        running=case.status != CaseStatus.PENDING,
        started_at=at,
    )
    _store(
        clock,
        ClockState.start(at=_second(at), target=target, running=clock.running),
        clock_for(calendar),
    )
    return clock


def _targets(policy: SlaPolicy | None) -> dict[str, int]:
    return {t.metric: t.minutes * 60 for t in policy.targets.all()} if policy else {}


def _finish(
    case: Case, changed: list[SlaClock], crossings: list[Crossing], at: datetime, depth: int = 0
) -> list[Crossing]:
    """Write the changed clocks and the recorded events, then run the escalation rules; when
    they changed the case (priority, team, stage), its clocks follow (at most two rounds deep)."""
    from serviceloop.cases import queries

    SlaClock.objects.bulk_create([c for c in changed if c.pk is None])
    for clock in changed:
        if clock.pk is not None and not clock._state.adding:
            clock.save()
    if crossings:
        events = [c.event for c in crossings if c.event is not None]
        queries.events_insert(events)
        from serviceloop.sla.notify import webhooks_queue

        webhooks_queue([(case.pk, e.kind, e.timestamp, e.attributes) for e in events], at=at)
        from serviceloop.sla.escalation import escalate

        if escalate(case=case, crossings=crossings, at=at) and depth < 2:
            crossings += sla_clocks_sync(case=case, at=at, depth=depth + 1)
    return crossings


def sla_clocks_start(*, case: Case, at: datetime) -> list[SlaClock]:
    """Start the first-response and resolution clocks of the case's policy (none without one).

    Runs inside the transaction that creates the case."""
    policy = policy_for_case(case)
    targets = _targets(policy)
    if policy is None or not targets:
        return []
    calendar = calendar_for(policy=policy, team_id=case.team_id)
    clocks = [
        _new_clock(case=case, metric=m, policy=policy, calendar=calendar, target=targets[m], at=at)
        for m in START_METRICS
        if m in targets
    ]
    crossings = [c for clock in clocks for c in _settle(case, clock, at)]  # a zero target
    _finish(case, clocks, crossings, at)
    return clocks


def _move(
    clock: SlaClock,
    *,
    at: datetime,
    calendar: BusinessCalendar | None,
    target: int | None,
    share: float | None,
    policy: SlaPolicy | None,
    run: bool,
    stop: bool,
) -> None:
    """Rebase the clock at ``at`` on its old calendar, then apply the new parameters."""
    state = _state(clock).rebase(clock_for(clock.calendar), _second(at))
    clock.calendar = calendar
    if policy is not None:
        clock.policy = policy
    if target is not None:
        state = state.retarget(clock_for(calendar), _second(at), target)
        if share is not None:
            clock.warn_seconds = warning_seconds(target, share)
    if stop:
        clock.stopped_at = at
        run = False
    elif clock.stopped_at is not None and clock.metric == Metric.RESOLUTION:
        clock.stopped_at = None  # a reopened case: resolution time counts on
    state = ClockState(target=state.target, used=state.used, since=state.since, running=run)
    _store(clock, state, clock_for(calendar))


def sla_clocks_sync(*, case: Case, at: datetime, depth: int = 0) -> list[Crossing]:
    """Bring the case's clocks in line with its policy, calendar and status at ``at``.

    A new target (another policy after a priority, category or channel change) counts the
    working time already used against it; a target the new policy lacks stops its clock; another
    team's calendar applies from ``at`` on. Returns the warnings and breaches it recorded."""
    policy = policy_for_case(case)
    targets = _targets(policy)
    calendar = calendar_for(policy=policy, team_id=case.team_id)
    clocks = {
        c.metric: c for c in SlaClock.objects.filter(case=case).select_related("calendar", "policy")
    }
    finished = case.status in FINISHED
    paused = case.status == CaseStatus.PENDING
    crossings: list[Crossing] = []
    changed: list[SlaClock] = []
    for metric, clock in clocks.items():
        target = targets.get(metric)
        if clock.stopped_at is not None and (
            metric != Metric.RESOLUTION or finished or target is None
        ):
            continue  # a stopped response clock stays stopped; resolution resumes on reopen
        crossings += _settle(case, clock, at)
        _move(
            clock,
            at=at,
            calendar=calendar,
            target=target,
            share=policy.warn_share if policy is not None else None,
            policy=policy,
            run=not paused,
            stop=finished or target is None,
        )
        crossings += _settle(case, clock, at)
        changed.append(clock)
    if Metric.RESOLUTION not in clocks and Metric.RESOLUTION in targets and not finished:
        assert policy is not None
        clock = _new_clock(
            case=case,
            metric=Metric.RESOLUTION,
            policy=policy,
            calendar=calendar,
            target=targets[Metric.RESOLUTION],
            at=at,
        )
        crossings += _settle(case, clock, at)
        changed.append(clock)
    return _finish(case, changed, crossings, at, depth)


def sla_reply_recorded(*, case: Case, at: datetime, from_customer: bool) -> list[Crossing]:
    """A public message: staff stop the response clocks; a customer starts the next response
    clock's next cycle (once the first response was given)."""
    clocks = {
        c.metric: c for c in SlaClock.objects.filter(case=case).select_related("calendar", "policy")
    }
    crossings: list[Crossing] = []
    changed: list[SlaClock] = []
    if not from_customer:
        for metric in (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE):
            clock = clocks.get(metric)
            if clock is None or clock.stopped_at is not None:
                continue
            crossings += _settle(case, clock, at)
            _move(
                clock,
                at=at,
                calendar=clock.calendar,
                target=None,
                share=None,
                policy=None,
                run=False,
                stop=True,
            )
            changed.append(clock)
        _finish(case, changed, crossings, at)
        return crossings
    first = clocks.get(Metric.FIRST_RESPONSE)
    if first is not None and first.stopped_at is None:
        return []  # still waiting for the first response: that clock already runs
    current = clocks.get(Metric.NEXT_RESPONSE)
    if current is not None and current.stopped_at is None:
        return []  # a reply is already awaited
    policy = policy_for_case(case)
    target = _targets(policy).get(Metric.NEXT_RESPONSE)
    if policy is None or target is None or case.status in FINISHED:
        return []
    calendar = calendar_for(policy=policy, team_id=case.team_id)
    if current is None:
        clock = _new_clock(
            case=case,
            metric=Metric.NEXT_RESPONSE,
            policy=policy,
            calendar=calendar,
            target=target,
            at=at,
        )
    else:
        clock = current
        fresh = _new_clock(
            case=case,
            metric=Metric.NEXT_RESPONSE,
            policy=policy,
            calendar=calendar,
            target=target,
            at=at,
            cycle=current.cycle + 1,
        )
        for name in (
            "cycle",
            "policy",
            "calendar",
            "target_seconds",
            "warn_seconds",
            "used_seconds",
            "since",
            "running",
            "started_at",
            "due_at",
            "warn_at",
        ):
            setattr(clock, name, getattr(fresh, name))
        clock.warned_at = clock.breached_at = clock.stopped_at = None
    crossings += _settle(case, clock, at)
    _finish(case, [clock], crossings, at)
    return crossings


def sla_policy_recompute(*, policy: SlaPolicy, at: datetime | None = None, batch: int = 500) -> int:
    """After a policy's targets, conditions or calendar changed: bring the clocks of the open
    cases it times in line (each case locked in turn, like any other change). How many cases."""
    from django.db import transaction
    from django.utils import timezone

    from serviceloop.sla.selectors import setup_forget

    at = at or timezone.now()
    setup_forget()
    done, last = 0, 0
    while True:
        ids = list(
            SlaClock.objects.filter(policy=policy, stopped_at=None, case_id__gt=last)
            .order_by("case_id")
            .values_list("case_id", flat=True)
            .distinct()[:batch]
        )
        if not ids:
            return done
        with transaction.atomic():
            cases = (
                Case.objects.select_for_update(of=("self",))
                .select_related("process_version", "category", "customer", "team")
                .filter(pk__in=ids)
                .order_by("pk")
            )
            for case in cases:
                sla_clocks_sync(case=case, at=at)
                done += 1
        last = ids[-1]
