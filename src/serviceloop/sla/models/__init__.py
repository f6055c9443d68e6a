"""The SLA app's models: service standards and clocks (``standards``), notifications, their
outbox and webhooks (``notifications``), alert rules (``alerts``), the live page's counters
(``live``). The validators stay importable from here: the migrations
name them."""

from serviceloop.sla.models.alerts import Alert, AlertRule
from serviceloop.sla.models.live import CaseHourCount, ClockHourCount
from serviceloop.sla.models.notifications import (
    Notification,
    OutboxMessage,
    WebhookDelivery,
    WebhookEndpoint,
)
from serviceloop.sla.models.standards import (
    WEEKDAY_FIELDS,
    BusinessCalendar,
    CalendarDate,
    EscalationRule,
    QualityStandard,
    SlaClock,
    SlaPolicy,
    SlaTarget,
    validate_country,
    validate_hours,
    validate_time_zone,
)

__all__ = [
    "WEEKDAY_FIELDS",
    "Alert",
    "AlertRule",
    "BusinessCalendar",
    "CalendarDate",
    "CaseHourCount",
    "ClockHourCount",
    "EscalationRule",
    "Notification",
    "OutboxMessage",
    "QualityStandard",
    "SlaClock",
    "SlaPolicy",
    "SlaTarget",
    "WebhookDelivery",
    "WebhookEndpoint",
    "validate_country",
    "validate_hours",
    "validate_time_zone",
]
