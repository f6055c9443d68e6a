"""The what-if page: managers pick changes to the live process and see the simulated effect.

GET shows the as-is model (its teams and stages) with a form of changes and the past runs; POST
starts a run and goes to its page, which follows the run (htmx, once a second) until the
results stand beside as-is. Managers only; the work itself is :mod:`serviceloop.insights.whatif`.
"""

from __future__ import annotations

import math
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, pgettext
from django.views.decorators.http import require_GET, require_http_methods

from serviceloop.accounts.decorators import role_required
from serviceloop.accounts.permissions import is_manager
from serviceloop.core.messages import Problem
from serviceloop.insights.whatif import (
    ARRIVAL_WEEKS,
    WhatIfError,
    whatif_as_is_model,
    whatif_get,
    whatif_list,
    whatif_start,
)

__all__ = ["whatif_run_view", "whatif_view"]

MEASURES = (
    ("cycle_time_mean_seconds", gettext_noop("Cycle time, mean"), "time"),
    ("cycle_time_median_seconds", gettext_noop("Cycle time, median"), "time"),
    ("cycle_time_p90_seconds", gettext_noop("Cycle time, p90"), "time"),
    ("sla_attainment", gettext_noop("SLA attainment"), "share"),
    ("throughput_per_week", gettext_noop("Throughput per week"), "number"),
)
# How the simulation chose the SLA it measures attainment against (``settings.sla_source``).
SLA_SOURCES = {
    "80th percentile of the log's cycle times": gettext_noop(
        "80th percentile of the log's cycle times"
    ),
    "given": gettext_noop("given"),
    "mean cycle time of the first as-is replication": gettext_noop(
        "mean cycle time of the first as-is replication"
    ),
}
STATUSES = {
    "queued": gettext_noop("queued"),
    "running": gettext_noop("running"),
    "done": gettext_noop("done"),
    "failed": gettext_noop("failed"),
    "interrupted": gettext_noop("interrupted"),
}


def _status_label(status: str) -> str:
    return _(STATUSES[status]) if status in STATUSES else status


def _int(post: Any, name: str, low: int, high: int, errors: list[str], label: str) -> int:
    raw = (post.get(name) or "").strip()
    if not raw:
        return 0
    try:
        value = int(raw)
    except ValueError:
        errors.append(
            _("%(field)s: %(value)s is not a whole number.") % {"field": label, "value": raw}
        )
        return 0
    if not low <= value <= high:
        errors.append(
            _("%(field)s: %(value)s is outside %(low)s to %(high)s.")
            % {"field": label, "value": value, "low": low, "high": high}
        )
        return 0
    return value


def _changes(post: Any, model: Any, errors: list[str]) -> list[str]:
    changes = []
    for i, pool in enumerate(model.pools):
        delta = _int(post, f"staff-{i}", -pool.staff + 1, 100, errors, pool.name)
        if delta:
            changes.append(f"staff {pool.name}={delta:+d}")
    for i, act in enumerate(model.activities):
        pct = _int(post, f"duration-{i}", -90, 300, errors, act.name)
        if pct:
            changes.append(f"duration {act.name}={pct:+d}%")
    if post.get("no_rework"):
        changes.append("no-rework")
    arrivals = _int(post, "arrivals", -90, 300, errors, _("Arrivals"))
    if arrivals:
        changes.append(f"arrivals {arrivals:+d}%")
    hours = (post.get("hours") or "").strip()
    if hours:
        changes.append(f"hours {hours}")
    return changes


@role_required(is_manager)
@require_http_methods(["GET", "POST"])
def whatif_view(request: HttpRequest) -> HttpResponse:
    """The form of changes over the as-is model, and the latest runs."""
    runs = [{**run, "status_label": _status_label(run["status"])} for run in whatif_list()]
    context: dict[str, Any] = {"runs": runs, "errors": [], "posted": request.POST}
    try:
        model = whatif_as_is_model()
    except WhatIfError as exc:
        return render(request, "insights/whatif.html", {**context, "no_model": exc.message})
    context["model"] = model
    context["arrival_weeks"] = request.POST.get("arrival_weeks") or ARRIVAL_WEEKS
    # A team offered more work than its hours hold has no steady state: say so before a run.
    context["overloaded"] = [
        {"team": name, "load": f"{load:.0%}"}
        for name, load in model.offered_load().items()
        if load >= 1.0
    ]
    rule = model.info.get("arrivals", {})
    recent = rule.get("cases_per_week", model.cases_per_week)
    context["arrivals"] = {
        "now": f"{recent:.1f}",
        "whole": f"{rule.get('cases_per_week_whole_log', recent):.1f}",
        # None: the log is shorter than the window, its mean rate is all there is
        "weeks": int(rule["weeks"]) if str(rule.get("rule", "")).startswith("the rate") else None,
    }
    context["pools"] = list(enumerate(model.pools))
    context["stages"] = [(i, a, _duration(a.mean_seconds)) for i, a in enumerate(model.activities)]
    if request.method == "POST":
        errors: list[str] = []
        changes = _changes(request.POST, model, errors)
        replications = _int(request.POST, "replications", 2, 30, errors, _("Replications")) or 5
        weeks = _int(request.POST, "weeks", 1, 104, errors, _("Weeks")) or 26
        arrival_weeks = ARRIVAL_WEEKS
        if (request.POST.get("arrival_weeks") or "").strip():
            arrival_weeks = _int(request.POST, "arrival_weeks", 0, 104, errors, _("Arrival weeks"))
        if not errors:
            try:
                run_id = whatif_start(
                    actor=request.user,
                    changes=changes,
                    replications=replications,
                    weeks=weeks,
                    arrival_weeks=arrival_weeks,
                )
            except WhatIfError as exc:
                errors.append(exc.message)
            else:
                return redirect("insights:what-if-run", run_id=run_id)
        context["errors"] = errors
        return render(request, "insights/whatif.html", context, status=422)
    return render(request, "insights/whatif.html", context)


def _duration(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds):
        return "—"
    units = (
        (pgettext("duration unit", "d"), 86400),
        (pgettext("duration unit", "h"), 3600),
        (pgettext("duration unit", "min"), 60),
    )
    for unit, size in units:
        if abs(seconds) >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} {pgettext('duration unit', 's')}"


def _fmt(value: float | None, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "time":
        return _duration(value)
    if kind == "share":
        return f"{value:.1%}"
    return f"{value:,.1f}"


def _rows(result: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    as_is, what_if = result["as_is"], result["scenarios"][0]
    diff = what_if["difference_to_as_is"]

    def row(
        label: str, a: dict[str, Any], b: dict[str, Any], d: dict[str, Any], kind: str
    ) -> dict[str, Any]:
        significant = d["ci_low"] is not None and (d["ci_low"] > 0 or d["ci_high"] < 0)
        sign = "+" if (d["mean"] or 0) >= 0 else "−"
        return {
            "label": label,
            "as_is": _fmt(a["mean"], kind),
            "as_is_ci": f"{_fmt(a['ci_low'], kind)} – {_fmt(a['ci_high'], kind)}",
            "what_if": _fmt(b["mean"], kind),
            "what_if_ci": f"{_fmt(b['ci_low'], kind)} – {_fmt(b['ci_high'], kind)}",
            "difference": f"{sign}{_fmt(abs(d['mean'] or 0), kind)}",
            "significant": significant,
        }

    measures = [
        row(_(label), as_is["measures"][key], what_if["measures"][key], diff["measures"][key], kind)
        for key, label, kind in MEASURES
    ]
    waiting = [
        row(name, as_is["waiting_seconds"][name], what_if["waiting_seconds"][name], d, "time")
        for name, d in diff["waiting_seconds"].items()
        if name in as_is["waiting_seconds"] and as_is["waiting_seconds"][name]["mean"] is not None
    ]
    utilisation = [
        row(name, as_is["utilisation"][name], what_if["utilisation"][name], d, "share")
        for name, d in diff["utilisation"].items()
        if name in as_is["utilisation"]
    ]
    return {"measures": measures, "waiting": waiting, "utilisation": utilisation}


@role_required(is_manager)
@require_GET
def whatif_run_view(request: HttpRequest, run_id: str) -> HttpResponse:
    """One run: its progress while it runs (the fragment htmx polls), then the comparison."""
    try:
        run = whatif_get(run_id)
    except WhatIfError:
        raise Http404("no such what-if run") from None
    context: dict[str, Any] = {"run": run, "status_label": _status_label(run["status"])}
    if run["status"] == "failed":
        # A refusal is said in the reader's language; a bug's message as it was.
        problem = run.get("problem")
        context["error"] = (
            Problem(problem["code"], problem["params"]).render() if problem else run.get("error")
        )
    if run["status"] == "done":
        context["tables"] = _rows(run["result"])
        context["settings"] = run["result"]["settings"]
        source = str(context["settings"].get("sla_source", ""))
        context["sla_source"] = _(SLA_SOURCES[source]) if source in SLA_SOURCES else source
    total = run.get("total") or 1
    context["percent"] = round(100 * run.get("done", 0) / total)
    template = (
        "insights/partials/whatif_run.html"
        if request.headers.get("HX-Request")
        else "insights/whatif_run.html"
    )
    return render(request, template, context)
