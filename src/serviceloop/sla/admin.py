"""SLA set-up in the Django admin: calendars with their dates, policies with their targets and
escalation rules, quality standards, webhook endpoints. Clocks, notifications and the outbox
(the delivery log) are read-only: only the services and the worker write them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from serviceloop.sla.models import (
    Alert,
    AlertRule,
    BusinessCalendar,
    CalendarDate,
    EscalationRule,
    Notification,
    OutboxMessage,
    QualityStandard,
    SlaClock,
    SlaPolicy,
    SlaTarget,
    WebhookDelivery,
    WebhookEndpoint,
)
from serviceloop.sla.services import sla_policy_recompute


class CalendarDateInline(admin.TabularInline):
    model = CalendarDate
    extra = 1
    fields = ("date", "kind", "name")


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "time_zone", "country", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "team", "time_zone", ("country", "subdivision"))}),
        (
            "Working hours",
            {
                "fields": (
                    ("monday", "tuesday"),
                    ("wednesday", "thursday"),
                    ("friday", "saturday"),
                    ("sunday", "makeup_hours"),
                )
            },
        ),
    )
    inlines = [CalendarDateInline]


class SlaTargetInline(admin.TabularInline):
    model = SlaTarget
    extra = 0


class EscalationRuleInline(admin.TabularInline):
    model = EscalationRule
    extra = 0
    fields = ("order", "trigger", "metric", "action", "team", "stage_code")


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "order", "is_active", "process", "priorities", "channels", "warn_share")
    list_editable = ("order", "is_active")
    fields = (
        ("name", "order", "is_active"),
        "process",
        ("priorities", "channels"),
        ("categories", "segments"),
        ("warn_share", "calendar"),
    )
    inlines = [SlaTargetInline, EscalationRuleInline]
    actions = ["recompute_open_cases"]

    @admin.action(description="Apply the policy to its open cases now")
    def recompute_open_cases(self, request: HttpRequest, queryset: QuerySet[SlaPolicy]) -> None:
        """Other processes pick up a changed policy within 30 s for new changes; this brings the
        clocks already running in line at once."""
        cases = sum(sla_policy_recompute(policy=policy) for policy in queryset)
        self.message_user(request, f"Clocks of {cases} open case(s) recomputed.", messages.SUCCESS)


@admin.register(SlaClock)
class SlaClockAdmin(admin.ModelAdmin):
    list_display = ("case", "metric", "cycle", "state", "due_at", "warned_at", "breached_at")
    list_filter = ("metric", "running")
    list_select_related = ("case",)
    raw_id_fields = ("case",)
    search_fields = ("case__number",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(QualityStandard)
class QualityStandardAdmin(admin.ModelAdmin):
    list_display = ("process", "indicator", "stage_code", "target", "last_30_days")
    list_filter = ("process", "indicator")

    @admin.display(description="last 30 days")
    def last_30_days(self, obj: QualityStandard) -> str:
        from datetime import timedelta

        from django.utils import timezone

        from serviceloop.sla.quality import quality_result

        now = timezone.now()
        result = quality_result(obj, since=now - timedelta(days=30), until=now)
        if result.value is None:
            return "no cases"
        verdict = "met" if result.met else "missed"
        return f"{result.value:.1%} of {result.denominator} ({verdict})"


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "is_active", "allow_private_network", "kinds")
    fields = ("name", "url", "secret", "kinds", "is_active", "allow_private_network")


class WebhookDeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    extra = 0
    can_delete = False
    fields = ("attempted_at", "address", "status_code", "error", "duration_ms")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(_ReadOnly):
    """The delivery log: every email and webhook, its attempts and last error."""

    list_display = ("created_at", "channel", "recipient", "endpoint", "subject", "status",
                    "attempts", "next_attempt_at", "sent_at")  # fmt: skip
    list_filter = ("channel", "status")
    search_fields = ("recipient", "subject")
    inlines = [WebhookDeliveryInline]


@admin.register(Notification)
class NotificationAdmin(_ReadOnly):
    list_display = ("created_at", "recipient", "title", "read_at")
    list_select_related = ("recipient",)
    search_fields = ("title", "recipient__username")


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "stage_code", "team", "threshold", "is_active")
    list_editable = ("is_active",)


@admin.register(Alert)
class AlertAdmin(_ReadOnly):
    list_display = ("raised_at", "rule", "message", "resolved_at")
    list_filter = ("rule",)
