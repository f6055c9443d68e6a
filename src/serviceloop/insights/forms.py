"""The filter bar shared by every Insights page (GET), and the process map's own controls."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from serviceloop.cases.choices import Channel, Priority
from serviceloop.insights.selectors import (
    LogFilters,
    filter_categories,
    filter_teams,
    filter_versions,
)

__all__ = ["FILTER_FIELDS", "InsightsFilterForm", "ProcessMapForm"]

FILTER_FIELDS = (
    "view",
    "start",
    "end",
    "time_mode",
    "team",
    "category",
    "priority",
    "channel",
    "process",
    "version",
    "min_hours",
    "max_hours",
    "top_variants",
)


class InsightsFilterForm(forms.Form):
    view = forms.ChoiceField(
        label=_("Events"),
        choices=[("stages", _("Stages only")), ("events", _("All events"))],
        required=False,
    )
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    time_mode = forms.ChoiceField(
        label=_("Cases"),
        choices=[
            ("started", _("opened in the period")),
            ("intersecting", _("active in the period")),
            ("completed", _("ended in the period")),
            ("contained", _("wholly in the period")),
        ],
        required=False,
    )
    team = forms.TypedMultipleChoiceField(label=_("Team"), coerce=int, required=False)
    category = forms.TypedMultipleChoiceField(label=_("Category"), coerce=int, required=False)
    priority = forms.MultipleChoiceField(
        label=_("Priority"), choices=Priority.choices, required=False
    )
    channel = forms.MultipleChoiceField(label=_("Channel"), choices=Channel.choices, required=False)
    process = forms.TypedChoiceField(
        label=_("Process"), coerce=int, empty_value=None, required=False
    )
    version = forms.TypedChoiceField(
        label=_("Process version"), coerce=int, empty_value=None, required=False
    )
    min_hours = forms.FloatField(label=_("Duration from (h)"), min_value=0, required=False)
    max_hours = forms.FloatField(label=_("Duration to (h)"), min_value=0, required=False)
    top_variants = forms.IntegerField(
        label=_("Top variants only"), min_value=1, max_value=10_000, required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields
        # named in the reader's language, sorted as read; the filter keeps the stable ids
        teams = sorted(((t.pk, t.display_name) for t in filter_teams()), key=lambda c: c[1])
        categories = sorted(
            ((c.pk, c.display_name) for c in filter_categories()), key=lambda c: c[1]
        )
        field["team"].choices = teams  # type: ignore[attr-defined]
        field["category"].choices = categories  # type: ignore[attr-defined]
        versions = list(filter_versions())
        # the processes cases may run on, from the same query (each version carries its process)
        processes = {v.process_id: v.process.display_name for v in versions}
        by_name = sorted(processes.items(), key=lambda item: item[1])
        field["process"].choices = [("", _("All processes")), *by_name]  # type: ignore[attr-defined]
        field["version"].choices = [("", _("All versions"))] + [  # type: ignore[attr-defined]
            (v.pk, str(v)) for v in versions
        ]
        for name in ("team", "category", "priority", "channel"):
            field[name].widget.attrs["size"] = 3

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The end date is before the start date."))
        low, high = data.get("min_hours"), data.get("max_hours")
        if low is not None and high is not None and high < low:
            self.add_error("max_hours", _("The longest duration is shorter than the shortest."))
        return data

    def filters(self) -> LogFilters:
        """The cleaned form as :class:`LogFilters` (call after ``is_valid()``)."""
        data = self.cleaned_data
        return LogFilters(
            view=data.get("view") or "stages",
            start=data.get("start"),
            end=data.get("end"),
            time_mode=data.get("time_mode") or "started",
            teams=tuple(sorted(data.get("team") or ())),
            categories=tuple(sorted(data.get("category") or ())),
            priorities=tuple(sorted(data.get("priority") or ())),
            channels=tuple(sorted(data.get("channel") or ())),
            process=data.get("process"),
            version=data.get("version"),
            min_hours=data.get("min_hours"),
            max_hours=data.get("max_hours"),
            top_variants=data.get("top_variants"),
        )


class ProcessMapForm(forms.Form):
    measure = forms.ChoiceField(
        label=_("Show"),
        choices=[("frequency", _("Frequency")), ("performance", _("Performance"))],
        required=False,
    )
    activities = forms.IntegerField(
        label=_("Activities"), min_value=0, max_value=100, required=False
    )
    paths = forms.IntegerField(label=_("Paths"), min_value=0, max_value=100, required=False)

    def options(self) -> dict[str, Any]:
        """measure, activities and paths (shares 0..1) for the map; defaults show everything."""
        data = self.cleaned_data
        activities = data.get("activities")
        paths = data.get("paths")
        return {
            "measure": data.get("measure") or "frequency",
            "activities": 1.0 if activities is None else activities / 100,
            "paths": 1.0 if paths is None else paths / 100,
        }
