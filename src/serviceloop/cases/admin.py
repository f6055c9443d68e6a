"""Admin: categories are configuration; cases and their events are read here and changed only
through the services (portal, workspace, API), so every change leaves its event."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from serviceloop.cases.models import (
    Attachment,
    Case,
    CaseEvent,
    Category,
    IntakeRule,
    Message,
    RequestType,
)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_zh", "skill")
    list_select_related = ("skill",)
    search_fields = ("code", "name", "name_zh")


class _ReadOnlyMixin:
    """No add, change or delete: the model's rows are written by services only."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CaseEventInline(_ReadOnlyMixin, admin.TabularInline):
    model = CaseEvent
    fields = ("timestamp", "kind", "activity", "actor", "attributes")
    readonly_fields = fields
    ordering = ("timestamp", "id")
    extra = 0
    show_change_link = True


class MessageInline(_ReadOnlyMixin, admin.TabularInline):
    model = Message
    fields = ("created_at", "kind", "author", "channel", "body")
    readonly_fields = fields
    extra = 0


class AttachmentInline(_ReadOnlyMixin, admin.TabularInline):
    model = Attachment
    fields = ("created_at", "original_name", "content_type", "size", "is_internal", "uploaded_by")
    readonly_fields = fields
    extra = 0


@admin.register(Case)
class CaseAdmin(_ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "number",
        "title",
        "customer",
        "status",
        "stage",
        "priority",
        "team",
        "assignee",
        "created_at",
    )
    list_filter = ("status", "priority", "channel", "team", "category")
    list_select_related = ("customer", "stage", "team", "assignee")
    search_fields = ("=number", "title", "customer__email")
    date_hierarchy = "created_at"
    show_full_result_count = False  # no COUNT(*) over a million cases per page
    inlines = (CaseEventInline, MessageInline, AttachmentInline)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Case._meta.concrete_fields]


@admin.register(CaseEvent)
class CaseEventAdmin(_ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("timestamp", "case", "kind", "activity", "actor", "lifecycle")
    list_filter = ("kind",)
    list_select_related = ("case", "actor")
    search_fields = ("=case__number", "activity")
    date_hierarchy = "timestamp"
    show_full_result_count = False
    readonly_fields = ("case", "kind", "activity", "timestamp", "actor", "lifecycle", "attributes")


# --- intake: which process a new case runs on (serviceloop.cases.intake) ---------------------------


@admin.register(RequestType)
class RequestTypeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_zh", "process", "staff_only", "is_active", "position")
    list_editable = ("staff_only", "is_active", "position")
    list_select_related = ("process",)
    search_fields = ("code", "name", "name_zh")


@admin.register(IntakeRule)
class IntakeRuleAdmin(admin.ModelAdmin):
    list_display = (
        "position",
        "category",
        "channel",
        "customer_segment",
        "process",
        "is_active",
        "note",
    )
    list_display_links = ("process",)
    list_editable = ("position", "is_active")
    list_filter = ("is_active", "process", "channel")
    list_select_related = ("category", "process")
