"""Evaluate the alert rules (the worker, each round): raise an alert when a rule's indicator
leaves its normal range, resolve it when it comes back; one open alert per rule at a time
(a partial unique constraint), so two workers never raise the same alert twice.

Raising tells the service managers (and, for a team's rule, that team's leads): an in-app
notification and an email each, written to the outbox in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Avg

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import User
from serviceloop.cases.models import Case
from serviceloop.sla.choices import Metric
from serviceloop.sla.live import ACTIVE, LiveScope
from serviceloop.sla.models import Alert, AlertRule, Notification, OutboxMessage, SlaClock

__all__ = ["AlertCounts", "alerts_evaluate", "alerts_visible"]


@dataclass(frozen=True)
class AlertCounts:
    raised: int
    resolved: int


def _today(now: datetime) -> datetime:
    local = now.astimezone(ZoneInfo(settings.TIME_ZONE))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _measure(rule: AlertRule, now: datetime) -> tuple[float, bool]:
    """The rule's indicator now, and whether it is out of its normal range."""
    scope = LiveScope(team_ids=(rule.team_id,) if rule.team_id else None)
    if rule.kind == AlertRule.Kind.STAGE_BACKLOG:
        cases = Case.objects.filter(status__in=ACTIVE, stage__code=rule.stage_code)
        if rule.team_id:
            cases = cases.filter(team_id=rule.team_id)
        value = float(cases.count())
        return value, value > rule.threshold
    if rule.kind == AlertRule.Kind.HANDLING_TIME:
        clocks = SlaClock.objects.filter(metric=Metric.RESOLUTION, stopped_at__gte=_today(now))
        if rule.team_id:
            clocks = clocks.filter(case__team_id=rule.team_id)
        mean = clocks.aggregate(m=Avg("used_seconds"))["m"]
        value = (mean or 0) / 60
        return value, mean is not None and value > rule.threshold
    from serviceloop.sla.charts import control_charts

    charts = control_charts(scope, since=now - timedelta(days=60), until=now, baseline=20)
    if not charts.breach_days or charts.breach_days[-1] != _today(now).date():
        return 0.0, False
    last = charts.breach_rate[-1]
    return last.value, bool(last.rules)


def _tell(rule: AlertRule, alert: Alert) -> None:
    people = User.objects.filter(is_active=True, role=Role.MANAGER)
    if rule.team_id:
        people = people | User.objects.filter(
            is_active=True,
            role=Role.AGENT,
            agent_profile__team_id=rule.team_id,
            agent_profile__is_lead=True,
        )
    people = people.distinct()
    Notification.objects.bulk_create(
        [
            Notification(recipient=u, kind="alert", title=alert.message, created_at=alert.raised_at)
            for u in people
        ]
    )
    OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                channel=OutboxMessage.Channel.EMAIL,
                recipient=u.email,
                subject=alert.message,
                body=f"{alert.message}\n\nRaised {alert.raised_at:%Y-%m-%d %H:%M} UTC by alert rule "
                f"“{rule.name}”. See the live monitoring page.\n",
                next_attempt_at=alert.raised_at,
                created_at=alert.raised_at,
            )
            for u in people
            if u.email
        ]
    )


def alerts_evaluate(*, now: datetime) -> AlertCounts:
    raised = resolved = 0
    for rule in AlertRule.objects.filter(is_active=True).select_related("team"):
        value, alarming = _measure(rule, now)
        open_alert = Alert.objects.filter(rule=rule, resolved_at=None).first()
        if alarming and open_alert is None:
            message = f"{rule.name}: {value:.4g} (threshold {rule.threshold:.4g})"
            if rule.kind == AlertRule.Kind.BREACH_RATE_SIGNAL:
                message = f"{rule.name}: today's breach rate {value:.0%} is out of control"
            try:
                with transaction.atomic():
                    alert = Alert.objects.create(
                        rule=rule, raised_at=now, value=value, message=message[:300]
                    )
                    _tell(rule, alert)
            except IntegrityError:
                continue  # another worker raised it first
            raised += 1
        elif not alarming and open_alert is not None:
            resolved += Alert.objects.filter(pk=open_alert.pk, resolved_at=None).update(
                resolved_at=now
            )
    return AlertCounts(raised, resolved)


def alerts_visible(scope: LiveScope) -> list[Alert]:
    """Open alerts for the live page: managers see all; a team lead their team's rules' alerts
    (a rule for the whole service is the managers' only)."""
    alerts = Alert.objects.filter(resolved_at=None).select_related("rule", "rule__team")
    if scope.team_ids is not None:
        alerts = alerts.filter(rule__team_id__in=scope.team_ids)
    return list(alerts[:20])
