"""Admin: the indicator system and entered values can be corrected here; evaluations are read-only
records of what was computed (they are re-run, not edited)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from serviceloop.evaluation.models import (
    ComparisonMatrix,
    Evaluation,
    EvaluationResult,
    Indicator,
    IndicatorSystem,
    ManualScore,
)


class IndicatorInline(admin.TabularInline):
    model = Indicator
    extra = 0
    fields = (
        "code",
        "name",
        "name_zh",
        "parent",
        "order",
        "source",
        "measure",
        "direction",
        "unit",
        "target",
        "weight",
    )


@admin.register(IndicatorSystem)
class IndicatorSystemAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "created_at")
    inlines = [IndicatorInline]


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ("name", "system", "parent", "source", "direction", "weight", "ahp_weight")
    list_filter = ("system", "source", "direction")
    search_fields = ("code", "name", "name_zh")


@admin.register(ManualScore)
class ManualScoreAdmin(admin.ModelAdmin):
    list_display = (
        "indicator",
        "unit_kind",
        "unit_key",
        "period_start",
        "period_end",
        "value",
        "entered_by",
    )
    list_filter = ("unit_kind", "indicator")
    readonly_fields = ("entered_by", "entered_at")


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ComparisonMatrix)
class ComparisonMatrixAdmin(ReadOnly):
    list_display = ("system", "parent", "consistency_ratio", "entered_by", "entered_at")


class ResultInline(admin.TabularInline):
    model = EvaluationResult
    extra = 0
    fields = ("rank", "unit_label", "score", "tier")
    readonly_fields = fields
    can_delete = False


@admin.register(Evaluation)
class EvaluationAdmin(ReadOnly):
    list_display = (
        "name",
        "unit_kind",
        "period_start",
        "period_end",
        "method",
        "weighting",
        "created_by",
    )
    list_filter = ("unit_kind", "method", "weighting")
    inlines = [ResultInline]
