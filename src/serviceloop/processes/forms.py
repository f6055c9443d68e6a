"""The YAML import form: paste a definition or upload a file."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

__all__ = ["MAX_DEFINITION_BYTES", "ProcessImportForm"]

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
