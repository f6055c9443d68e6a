"""Process configuration in the Django admin.

Drafts can be edited stage by stage; published and retired versions are shown read-only (the
models refuse such writes anyway). Publishing, retiring and copying go through the services, as
admin actions, so the admin follows the same rules as the pages and the API.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from serviceloop.core.exceptions import ApplicationError
from serviceloop.processes.models import ProcessVersion, ServiceProcess, Stage, Transition
from serviceloop.processes.services import (
    process_version_new_draft,
    process_version_publish,
    process_version_retire,
)


def _editable(obj: Any) -> bool:
    return obj is None or obj.is_editable


class _FrozenInlineMixin:
    """Inline rows of a published/retired version can be neither added, changed nor deleted."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(obj) and super().has_add_permission(request, obj)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(obj) and super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(obj) and super().has_delete_permission(request, obj)  # type: ignore[misc]


class StageInline(_FrozenInlineMixin, admin.StackedInline):
    model = Stage
    extra = 0
    fields = (
        ("order", "code", "name", "name_zh"),
        ("responsible_team", "responsible_role", "required_skill", "time_standard_minutes"),
        "norm",
        ("checklist", "required_fields"),
        ("is_start", "is_end"),
    )


class TransitionInline(_FrozenInlineMixin, admin.TabularInline):
    model = Transition
    extra = 0
    fields = ("source", "target", "kind", "label")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # Offer only the stages of the version being edited.
        if db_field.name in {"source", "target"}:
            version_id = (
                request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
            )
            kwargs["queryset"] = Stage.objects.filter(version_id=version_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def _run(request: HttpRequest, queryset: QuerySet[ProcessVersion], action: Any, done: str) -> None:
    for version in queryset:
        try:
            result = action(version)
        except ApplicationError as exc:
            problems = exc.extra.get("problems") or []
            detail = "; ".join(f"{p['path']}: {p['message']}" for p in problems)
            messages.error(request, f"{version}: {exc.message} {detail}".strip())
        else:
            messages.success(request, done % {"version": result})


@admin.action(description=_("Publish selected drafts"))
def publish_versions(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[ProcessVersion]
) -> None:
    _run(
        request,
        queryset,
        lambda v: process_version_publish(version=v, actor=request.user),  # type: ignore[arg-type]
        gettext("Published %(version)s."),
    )


@admin.action(description=_("Retire selected versions"))
def retire_versions(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[ProcessVersion]
) -> None:
    _run(
        request,
        queryset,
        lambda v: process_version_retire(version=v, actor=request.user),  # type: ignore[arg-type]
        gettext("Retired %(version)s."),
    )


@admin.action(description=_("Copy selected versions into new drafts"))
def copy_versions(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[ProcessVersion]
) -> None:
    _run(
        request,
        queryset,
        lambda v: process_version_new_draft(from_version=v, actor=request.user),  # type: ignore[arg-type]
        gettext("Created draft %(version)s."),
    )


@admin.register(ServiceProcess)
class ServiceProcessAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "is_default")
    search_fields = ("code", "name")


@admin.register(ProcessVersion)
class ProcessVersionAdmin(admin.ModelAdmin):
    list_display = ("__str__", "status", "created_at", "published_at", "created_by")
    list_filter = ("status", "process")
    list_select_related = ("process", "created_by")
    inlines = (StageInline, TransitionInline)
    actions = (publish_versions, retire_versions, copy_versions)
    # Status and publication change only through the actions (the services): never by hand.
    readonly_fields = ("status", "published_at", "created_at", "created_by")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is not None and not obj.is_editable:
            return ("process", "number", "notes", *self.readonly_fields)
        if obj is not None:
            return ("process", "number", *self.readonly_fields)
        return tuple(self.readonly_fields)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(obj) and super().has_delete_permission(request, obj)

    def save_model(
        self, request: HttpRequest, obj: ProcessVersion, form: Any, change: bool
    ) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
