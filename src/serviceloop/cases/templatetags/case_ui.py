"""Small presentation helpers for case pages: localized names, event icons, file sizes."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from serviceloop.cases.forms import localized_name

register = template.Library()

# Symbols every system font has (DejaVu, Noto, PingFang): emoji are missing on many servers.
EVENT_ICONS = {
    "created": "✚",
    "stage_entered": "➜",
    "assigned": "☺",
    "replied": "✉",
    "note_added": "✎",
    "customer_replied": "✉",
    "attachment_added": "▤",
    "field_changed": "✎",
    "priority_changed": "⚑",
    "checklist_checked": "✓",
    "status_changed": "◐",
    "escalated": "⇧",
    "sla_breached": "!",
    "survey_answered": "★",
    "reopened": "↺",
    "closed": "✔",
    "public": "✉",
    "internal": "✎",
}


@register.filter
def localized(obj: Any) -> str:
    """``name_zh`` in Chinese when set, else ``name``; empty for None."""
    return "" if obj is None else localized_name(obj)


@register.filter
def event_icon(kind: str) -> str:
    return EVENT_ICONS.get(kind, "•")


@register.filter
def person(user: Any) -> str:
    if user is None:
        return ""
    return str(user.get_full_name() or user.username)


@register.filter
def is_past(moment: Any) -> bool:
    return bool(moment is not None and moment < timezone.now())
