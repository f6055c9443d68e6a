from __future__ import annotations

from django.contrib import admin

from serviceloop.feedback.models import SurveyInvitation, SurveyQuestion, SurveyTemplate


class QuestionInline(admin.TabularInline):
    model = SurveyQuestion
    extra = 0


@admin.register(SurveyTemplate)
class SurveyTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "is_active")
    inlines = [QuestionInline]


@admin.register(SurveyInvitation)
class SurveyInvitationAdmin(admin.ModelAdmin):
    list_display = ("case", "customer", "sent_at", "reminded_at", "answered_at", "expires_at")
    readonly_fields = ("case", "customer", "template", "sent_at", "answered_at", "reminded_at")
    exclude = ("nonce",)

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False
