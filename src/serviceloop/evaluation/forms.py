"""Forms of the evaluation pages; the rules themselves live in the services."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from fractions import Fraction
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import User
from serviceloop.evaluation.choices import Method, Source, UnitKind, Weighting
from serviceloop.evaluation.models import Indicator, IndicatorSystem

__all__ = [
    "SAATY_SCALE",
    "ComparisonForm",
    "EvaluationRunForm",
    "ManualScoreForm",
    "QAReviewForm",
    "QASampleForm",
    "WeightsForm",
]

#: Saaty's 1-9 scale and its reciprocals, strongest preference for the row first.
SAATY_SCALE = [str(n) for n in range(9, 1, -1)] + ["1"] + [f"1/{n}" for n in range(2, 10)]
_SCALE_LABELS = {
    "9": _("9 · extremely more important"),
    "7": _("7 · very strongly more important"),
    "5": _("5 · strongly more important"),
    "3": _("3 · moderately more important"),
    "1": _("1 · equally important"),
    "1/3": _("1/3 · moderately less important"),
    "1/5": _("1/5 · strongly less important"),
    "1/7": _("1/7 · very strongly less important"),
    "1/9": _("1/9 · extremely less important"),
}


def _month_start() -> dt.date:
    today = timezone.localdate()
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


class EvaluationRunForm(forms.Form):
    system = forms.ModelChoiceField(IndicatorSystem.objects.all(), label=_("Indicator system"))
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    unit_kind = forms.ChoiceField(label=_("Compare"), choices=UnitKind.choices)
    period_start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    method = forms.ChoiceField(label=_("Method"), choices=Method.choices, initial=Method.TOPSIS)
    weighting = forms.ChoiceField(
        label=_("Weights"), choices=Weighting.choices, initial=Weighting.MANUAL
    )
    alpha = forms.FloatField(
        label=_("Share of subjective weights (blend)"), min_value=0, max_value=1, initial=0.5
    )
    tiers = forms.IntegerField(label=_("RSR tiers"), min_value=2, max_value=7, initial=3)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        start = _month_start()
        self.fields["period_start"].initial = start
        self.fields["period_end"].initial = (start + dt.timedelta(days=32)).replace(
            day=1
        ) - dt.timedelta(days=1)
        first = IndicatorSystem.objects.first()
        if first is not None:
            self.fields["system"].initial = first.pk


class WeightsForm(forms.Form):
    """Manual weights of one group of sibling indicators."""

    def __init__(self, *args: Any, children: list[Indicator], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for child in children:
            self.fields[child.code] = forms.FloatField(
                label=child.label, min_value=0, initial=child.weight
            )


def _scale_value(value: float) -> str:
    """The point of Saaty's scale nearest to ``value`` (on a log scale)."""
    return min(SAATY_SCALE, key=lambda v: abs(math.log(float(Fraction(v))) - math.log(value)))


def _previous_judgements(rows: list[list[Any]]) -> dict[tuple[str, str], str]:
    """The last saved judgements as form values, for both orders of each pair."""
    out: dict[tuple[str, str], str] = {}
    for row in rows:
        a, b, value = str(row[0]), str(row[1]), float(row[2])
        if value > 0:
            out[(a, b)] = _scale_value(value)
            out[(b, a)] = _scale_value(1 / value)
    return out


class ComparisonForm(forms.Form):
    """One judgement per pair of siblings on Saaty's scale."""

    def __init__(
        self,
        *args: Any,
        children: list[Indicator],
        previous: list[list[Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [(v, _SCALE_LABELS.get(v, v)) for v in SAATY_SCALE]
        self.pairs = list(itertools.combinations(children, 2))
        known = _previous_judgements(previous or [])
        for a, b in self.pairs:
            self.fields[f"{a.code}__{b.code}"] = forms.ChoiceField(
                label=_("%(a)s compared with %(b)s") % {"a": a.label, "b": b.label},
                choices=choices,
                initial=known.get((a.code, b.code), "1"),
            )

    def judgements(self) -> dict[tuple[str, str], float]:
        return {
            (a.code, b.code): float(Fraction(self.cleaned_data[f"{a.code}__{b.code}"]))
            for a, b in self.pairs
        }


class ManualScoreForm(forms.Form):
    indicator = forms.ModelChoiceField(
        Indicator.objects.filter(source=Source.MANUAL, children__isnull=True),
        label=_("Indicator"),
    )
    unit_kind = forms.ChoiceField(label=_("Unit kind"), choices=UnitKind.choices)
    unit_key = forms.CharField(
        label=_("Unit"),
        max_length=64,
        help_text=_("Team code, agent user name or month (YYYY-MM)."),
    )
    period_start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    value = forms.FloatField(label=_("Value"))
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class QASampleForm(forms.Form):
    period_start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    per_agent = forms.IntegerField(label=_("Cases per agent"), min_value=1, max_value=50, initial=2)
    reviewers = forms.ModelMultipleChoiceField(
        queryset=User.objects.filter(role__in=[Role.MANAGER, Role.ADMIN], is_active=True).order_by(
            "username"
        ),
        label=_("Reviewers"),
        help_text=_("Two or more reviewers review the same cases: a calibration set."),
    )


class QAReviewForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=2000,
    )

    def __init__(self, *args: Any, criteria: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for c in criteria:
            self.fields[c.code] = forms.TypedChoiceField(
                label=c.label,
                choices=[(str(v), str(v)) for v in range(1, 6)],
                coerce=int,
                widget=forms.RadioSelect,
            )
        self.order_fields([c.code for c in criteria] + ["comment"])
