"""Configuration screens for customers and their organisations."""

from __future__ import annotations

from django.contrib import admin

from serviceloop.customers.models import Customer, Organisation


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "organisation", "segment", "user", "created_at")
    list_filter = ("segment", "organisation")
    list_select_related = ("organisation", "user")
    search_fields = ("name", "email", "phone")
    autocomplete_fields = ("organisation", "user")
    readonly_fields = ("created_at",)
