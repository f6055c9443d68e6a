"""Who hears of a warning or breach, and what goes into the outbox (in the caller's transaction).

- The escalation action ``notify`` tells the case's assignee, or the agents of its team when it has
  none, the leads of its team and the service managers: an in-app notification each, and an email to each address. Only
  users who may see the case are told (``case_can_view``), and the text names nothing but the case
  they can open.
- Every ``sla_warning`` / ``sla_breached`` event goes to the active webhook endpoints subscribed to
  its kind, as a JSON body the worker signs and posts after the commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import User
from serviceloop.cases.models import Case
from serviceloop.cases.permissions import case_can_view
from serviceloop.sla.choices import Metric, Trigger
from serviceloop.sla.models import Notification, OutboxMessage, WebhookEndpoint

__all__ = [
    "notification_mark_read",
    "notify_recipients",
    "notify_sla_crossing",
    "webhooks_queue",
]

_METRICS = dict(Metric.choices)


def notify_recipients(case: Case) -> list[User]:
    """The assignee (or the team's agents when unassigned), the team's leads and the managers;
    only those who may see the case."""
    people: dict[int, User] = {}
    if case.assignee_id is not None and case.assignee is not None:
        people[case.assignee.pk] = case.assignee
    elif case.team_id is not None:
        for user in User.objects.filter(
            agent_profile__team_id=case.team_id, is_active=True, role=Role.AGENT
        ):
            people[user.pk] = user
    if case.team_id is not None:
        for user in User.objects.filter(
            agent_profile__team_id=case.team_id,
            agent_profile__is_lead=True,
            is_active=True,
            role=Role.AGENT,
        ):
            people[user.pk] = user
    for user in User.objects.filter(role=Role.MANAGER, is_active=True):
        people[user.pk] = user
    return [u for u in people.values() if u.is_active and case_can_view(u, case)]


def notify_sla_crossing(*, case: Case, metric: str, trigger: str, at: datetime) -> list[str]:
    """In-app notifications and emails for one warning or breach; the usernames told."""
    what = "breached" if trigger == Trigger.BREACH else "at risk"
    title = f"{case.number} · {_METRICS.get(metric, metric)} {what}: {case.title}"[:300]
    recipients = notify_recipients(case)
    Notification.objects.bulk_create(
        [
            Notification(
                recipient=user, case=case, kind=f"sla_{trigger}", title=title, created_at=at
            )
            for user in recipients
        ]
    )
    body = (
        f"{title}\n\n{_METRICS.get(metric, metric)} target of case {case.number} "
        f"{'was breached' if trigger == Trigger.BREACH else 'is at risk'} "
        f"({at:%Y-%m-%d %H:%M} UTC).\nOpen the case in ServiceLoop's workspace to act on it.\n"
    )
    OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                channel=OutboxMessage.Channel.EMAIL,
                recipient=user.email,
                subject=title,
                body=body,
                next_attempt_at=at,
                created_at=at,
            )
            for user in recipients
            if user.email
        ]
    )
    return [u.get_username() for u in recipients]


def webhooks_queue(
    events: Iterable[tuple[int, str, datetime, dict[str, Any]]], *, at: datetime
) -> int:
    """Queue (case id, kind, timestamp, attributes) events for the subscribed endpoints; how
    many messages. No query beyond the endpoints' when there are none."""
    endpoints = list(WebhookEndpoint.objects.filter(is_active=True))
    events = list(events)
    if not endpoints or not events:
        return 0
    numbers = dict(Case.objects.filter(pk__in={e[0] for e in events}).values_list("pk", "number"))
    instance = getattr(settings, "SERVICELOOP_INSTANCE", "serviceloop")
    messages = []
    for case_id, kind, timestamp, attributes in events:
        wanted = [e for e in endpoints if not e.kinds or kind in e.kinds]
        if not wanted:
            continue
        body = json.dumps(
            {
                "event": kind,
                "case": numbers.get(case_id),
                "case_id": case_id,
                "timestamp": timestamp.isoformat(),
                "attributes": attributes,
                "instance": instance,
            },
            separators=(",", ":"),
            sort_keys=True,
        )
        messages += [
            OutboxMessage(
                channel=OutboxMessage.Channel.WEBHOOK,
                endpoint=endpoint,
                body=body,
                subject=kind,
                next_attempt_at=at,
                created_at=at,
            )
            for endpoint in wanted
        ]
    OutboxMessage.objects.bulk_create(messages)
    return len(messages)


def notification_mark_read(*, actor: User, pk: int | None = None, at: datetime) -> int:
    """Mark one of the actor's notifications (or all, ``pk`` None) read; how many changed.
    Another user's notification is not found (0), like one that does not exist."""
    unread = Notification.objects.filter(recipient=actor, read_at=None)
    if pk is not None:
        unread = unread.filter(pk=pk)
    return unread.update(read_at=at)
