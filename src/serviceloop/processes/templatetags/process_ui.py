"""Process texts in the reader's language on pages."""

from __future__ import annotations

from django import template

from serviceloop.processes.models import Stage

register = template.Library()


@register.filter
def checklist_label(stage: Stage, item: str) -> str:
    """``{{ stage|checklist_label:item }}``: the item in the active language."""
    return stage.checklist_label(item)
