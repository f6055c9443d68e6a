"""The answer form is built from the template's questions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from serviceloop.feedback.choices import SCALES, QuestionKind, RootCause
from serviceloop.feedback.models import SurveyQuestion

__all__ = ["ComplaintForm", "PeriodForm", "SurveyAnswerForm"]


class SurveyAnswerForm(forms.Form):
    def __init__(self, *args: Any, questions: list[SurveyQuestion], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for q in questions:
            if q.kind in SCALES:
                low, high = SCALES[QuestionKind(q.kind)]
                field: forms.Field = forms.TypedChoiceField(
                    label=q.label,
                    choices=[(str(v), str(v)) for v in range(low, high + 1)],
                    coerce=int,
                    widget=forms.RadioSelect(attrs={"class": "scale"}),
                    required=q.required,
                )
            elif q.kind == QuestionKind.CHOICE:
                field = forms.ChoiceField(
                    label=q.label,
                    choices=[(str(c), str(c)) for c in q.choices],
                    widget=forms.RadioSelect,
                    required=q.required,
                )
            else:
                field = forms.CharField(
                    label=q.label,
                    widget=forms.Textarea(attrs={"rows": 4}),
                    max_length=2000,
                    required=q.required,
                )
            self.fields[q.code] = field


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))


class ComplaintForm(forms.Form):
    case = forms.CharField(
        label=_("Complaint case"), max_length=23, help_text=_("Its number, e.g. SL-000123.")
    )
    about_case = forms.CharField(
        label=_("About case"),
        max_length=23,
        required=False,
        help_text=_("The case complained about."),
    )
    root_cause = forms.ChoiceField(label=_("Root cause"), choices=RootCause.choices, required=False)

    def _case(self, field: str) -> Any:
        from serviceloop.cases.models import Case

        number = self.cleaned_data.get(field, "").strip().upper()
        if not number:
            return None
        case = Case.objects.filter(number=number).first()
        if case is None:
            raise forms.ValidationError(_("No case %(number)s.") % {"number": number})
        return case

    def clean_case(self) -> Any:
        return self._case("case")

    def clean_about_case(self) -> Any:
        return self._case("about_case")
