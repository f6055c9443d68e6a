"""Numbers, durations and activity names as the manager reads them, in the active language."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from serviceloop.cases.choices import Channel, EventKind, Priority

__all__ = [
    "activity_labeller",
    "choice_label",
    "format_count",
    "format_duration",
    "format_share",
]


def format_duration(seconds: float | None) -> str:
    """``93784`` -> ``1 d 2 h``: the two largest units, enough to compare stages at a glance."""
    if seconds is None or (isinstance(seconds, float) and not math.isfinite(seconds)):
        return "—"
    total = round(seconds)
    if total < 60:
        return _("%(n)d s") % {"n": total}
    units = [(86400, _("%(n)d d")), (3600, _("%(n)d h")), (60, _("%(n)d min"))]
    values = []
    rest = total
    for size, template in units:
        value, rest = divmod(rest, size)
        values.append((value, template))
    first = next(i for i, (value, _t) in enumerate(values) if value)
    shown = [t % {"n": v} for v, t in values[first : first + 2] if v]
    return " ".join(shown)


def format_count(value: int | float | None) -> str:
    if value is None:
        return "—"
    return number_format(value, force_grouping=True)


def format_share(value: float | None) -> str:
    """``0.257`` -> ``25.7%``."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return number_format(value * 100, decimal_pos=1) + "%"


def choice_label(
    attribute: str, value: object, names: Mapping[str, Mapping[str, str]] | None = None
) -> str:
    """Display label of a priority or channel code, or of a team or category name the log
    holds (through ``names``: attribute -> stored name -> name in the active language)."""
    choices = {"priority": Priority, "channel": Channel}.get(attribute)
    if choices is not None and value in choices.values:
        return str(choices(value).label)
    if value is None:
        return "—"
    return (names or {}).get(attribute, {}).get(str(value), str(value))


def _event_labels() -> dict[str, str]:
    """English event labels (what the log stores) -> labels in the active language."""
    with translation.override("en"):
        english = {str(kind.label): kind for kind in EventKind}
    return {name: str(kind.label) for name, kind in english.items()}


def activity_labeller(stage_names: Iterable[tuple[str, str]]) -> Callable[[str], str]:
    """A function naming an activity in the active language.

    ``stage_names`` pairs each stage's canonical name (what the log stores) with its Chinese
    name; event labels of the all-events view are translated like the rest of the UI.
    """
    zh = (translation.get_language() or "").startswith("zh")
    names = dict(_event_labels())
    if zh:
        names.update({name: name_zh for name, name_zh in stage_names if name_zh})

    def label(activity: str) -> str:
        return names.get(activity, activity)

    return label
