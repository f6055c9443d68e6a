"""Process forms: the YAML import (paste or upload) and the designer's stage and transition forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import Skill, Team
from serviceloop.processes.choices import TransitionKind
from serviceloop.processes.models import ProcessVersion, Stage, Transition

__all__ = [
    "MAX_DEFINITION_BYTES",
    "ProcessCreateForm",
    "ProcessImportForm",
    "StageForm",
    "TransitionEditForm",
    "TransitionForm",
]

MAX_DEFINITION_BYTES = 512 * 1024


class ProcessImportForm(forms.Form):
    definition = forms.CharField(
        label=_("Definition (YAML)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false", "class": "mono"}),
    )
    file = forms.FileField(label=_("…or upload a .yaml file"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        if upload is not None:
            if upload.size > MAX_DEFINITION_BYTES:
                raise forms.ValidationError(
                    _("The file is larger than %(kb)d KB.") % {"kb": MAX_DEFINITION_BYTES // 1024}
                )
            try:
                data["text"] = upload.read().decode("utf-8")
            except UnicodeDecodeError as exc:
                raise forms.ValidationError(_("The file is not UTF-8 text.")) from exc
            data["source"] = upload.name
        elif (data.get("definition") or "").strip():
            data["text"] = data["definition"]
            data["source"] = "<pasted>"
        else:
            raise forms.ValidationError(_("Paste a definition or choose a file."))
        return data


class ProcessCreateForm(forms.Form):
    """A new process, designed from an empty first draft."""

    code = forms.SlugField(label=_("Code"), max_length=50)
    name = forms.CharField(label=_("Name"), max_length=200)
    name_zh = forms.CharField(label=_("Chinese name"), max_length=200, required=False)


class LinesField(forms.CharField):
    """A textarea of one item per line, cleaned to a tuple without blank lines."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return "\n".join(str(v) for v in value)
        return value

    def to_python(self, value: Any) -> tuple[str, ...]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return tuple(line.strip() for line in text.splitlines() if line.strip())


class StageForm(forms.Form):
    """One stage of a draft; the rules across stages are the service's (the import's rules)."""

    code = forms.SlugField(label=_("Code"), max_length=50, help_text=_("Stable key in the log."))
    name = forms.CharField(label=_("Name"), max_length=100)
    name_zh = forms.CharField(label=_("Chinese name"), max_length=100, required=False)
    responsible_team = forms.ModelChoiceField(
        label=_("Responsible team"), queryset=Team.objects.all(), required=False
    )
    responsible_role = forms.ChoiceField(
        label=_("Responsible role"), choices=Role.choices, initial=Role.AGENT
    )
    required_skill = forms.ModelChoiceField(
        label=_("Required skill"), queryset=Skill.objects.all(), required=False
    )
    time_standard_minutes = forms.IntegerField(
        label=_("Time standard (minutes)"), required=False, min_value=1
    )
    norm = forms.CharField(
        label=_("Operating norm"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    norm_zh = forms.CharField(
        label=_("Operating norm (Chinese)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    checklist = LinesField(label=_("Checklist (one item per line)"), required=False)
    checklist_zh = LinesField(
        label=_("Checklist in Chinese (same lines, same order)"), required=False
    )
    required_fields = LinesField(label=_("Fields required to leave (one per line)"), required=False)
    is_start = forms.BooleanField(label=_("Start stage"), required=False)
    is_end = forms.BooleanField(label=_("End stage"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        english, chinese = data.get("checklist") or (), data.get("checklist_zh") or ()
        if chinese and len(chinese) != len(english):
            self.add_error(
                "checklist_zh",
                _("Give one Chinese line per checklist item (%(n)d), in the same order.")
                % {"n": len(english)},
            )
        return data

    @classmethod
    def for_stage(cls, stage: Stage, data: Any = None) -> StageForm:
        initial = {name: getattr(stage, name) for name in cls.base_fields}
        return cls(data, initial=initial, prefix=f"stage-{stage.pk}")


class TransitionForm(forms.Form):
    """Draw a transition between two stages of one draft version."""

    source = forms.ModelChoiceField(label=_("From"), queryset=Stage.objects.none())
    target = forms.ModelChoiceField(label=_("To"), queryset=Stage.objects.none())
    kind = forms.ChoiceField(label=_("Kind"), choices=TransitionKind.choices)
    label = forms.CharField(label=_("Label"), max_length=100, required=False)
    label_zh = forms.CharField(label=_("Chinese label"), max_length=100, required=False)

    def __init__(self, *args: Any, version: ProcessVersion, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "transition")
        super().__init__(*args, **kwargs)
        stages = version.stages.order_by("order")
        for name in ("source", "target"):
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = stages
            field.label_from_instance = lambda s: s.display_name  # type: ignore[method-assign,assignment]


class TransitionEditForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=TransitionKind.choices)
    label = forms.CharField(label=_("Label"), max_length=100, required=False)
    label_zh = forms.CharField(label=_("Chinese label"), max_length=100, required=False)

    @classmethod
    def for_transition(cls, transition: Transition, data: Any = None) -> TransitionEditForm:
        initial = {
            "kind": transition.kind,
            "label": transition.label,
            "label_zh": transition.label_zh,
        }
        return cls(data, initial=initial, prefix=f"transition-{transition.pk}")
