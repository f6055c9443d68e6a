"""Small presentation helpers for case pages: localized names, event icons, file sizes."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

from serviceloop.accounts.names import person_name
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
    """A user's name as people write it: family name first and unspaced for Chinese names."""
    if user is None:
        return ""
    return person_name(user.first_name, user.last_name, user.username)


@register.filter
def is_past(moment: Any) -> bool:
    return bool(moment is not None and moment < timezone.now())


@register.simple_tag
def accepted_file_types() -> str:
    """The ``accept`` list of file inputs: the extensions the attachment check takes."""
    from serviceloop.cases.services.files import EXTENSIONS

    return ",".join(sorted(EXTENSIONS))


@register.filter
def until_short(moment: Any) -> str:
    """Time from now until ``moment`` in its largest unit ("2 hours")."""
    return timeuntil(moment, depth=1) if moment is not None else ""


@register.filter
def since_short(moment: Any) -> str:
    """Time since ``moment`` in its largest unit ("3 days")."""
    return timesince(moment, depth=1) if moment is not None else ""
