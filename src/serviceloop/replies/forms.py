"""Standard-reply forms: the manager's editor and the agent's apply form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from serviceloop.accounts.models import Team
from serviceloop.replies.models import STATUS_CHOICES

__all__ = ["ReplyApplyForm", "ReplyTemplateForm"]


class ReplyTemplateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    name_zh = forms.CharField(label=_("Chinese name"), max_length=120, required=False)
    team = forms.ModelChoiceField(
        label=_("Team"),
        queryset=Team.objects.all(),
        required=False,
        empty_label=_("Shared by every team"),
    )
    body = forms.CharField(label=_("Text (English)"), widget=forms.Textarea(attrs={"rows": 5}))
    body_zh = forms.CharField(
        label=_("Text (Chinese)"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    set_status = forms.ChoiceField(
        label=_("Then set the status"),
        choices=[("", _("Leave as it is")), *STATUS_CHOICES],
        required=False,
    )
    tick_items = forms.CharField(
        label=_("Then tick these checklist items (one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def clean_tick_items(self) -> tuple[str, ...]:
        text: str = self.cleaned_data.get("tick_items") or ""
        return tuple(line.strip() for line in text.splitlines() if line.strip())

    @staticmethod
    def initial_from(row: Any) -> dict[str, Any]:
        return {
            "name": row.name,
            "name_zh": row.name_zh,
            "team": row.team_id,
            "body": row.body,
            "body_zh": row.body_zh,
            "set_status": row.set_status,
            "tick_items": "\n".join(row.tick_items or []),
            "is_active": row.is_active,
        }


class ReplyApplyForm(forms.Form):
    template = forms.IntegerField(widget=forms.HiddenInput)
    body = forms.CharField(label=_("Reply"), widget=forms.Textarea(attrs={"rows": 6}))
