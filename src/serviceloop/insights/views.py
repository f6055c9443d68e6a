"""Insights pages over the live case log: managers and admins only (agents and customers: 403).

Every page shares the filter bar (GET); invalid filters answer 422 with the form's messages and
no analysis. The process map's controls reload only the map, through htmx.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.timezone import get_current_timezone_name
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from serviceloop.accounts.decorators import role_required
from serviceloop.accounts.permissions import is_manager
from serviceloop.analytics import EmptyLogError
from serviceloop.insights import answers, pages
from serviceloop.insights.forms import FILTER_FIELDS, InsightsFilterForm, ProcessMapForm
from serviceloop.insights.selectors import LogFilters

Builder = Callable[[pages.Scope], dict[str, Any]]

TABS = (
    ("dashboard", _("Overview")),
    ("process", _("Process map")),
    ("performance", _("Bottlenecks")),
    ("rework", _("Rework")),
    ("variants", _("Variants")),
    ("handovers", _("Handovers")),
    ("at-risk", _("At risk")),  # predictions for open cases (prediction_views, no filters)
    ("what-if", _("What-if")),  # simulation of changes (whatif_views, no filters)
)


managers_only = role_required(is_manager)


def _filter_query(params: QueryDict) -> str:
    """The filter part of the query string, carried from tab to tab."""
    kept = QueryDict(mutable=True)
    for name in FILTER_FIELDS:
        values = [v for v in params.getlist(name) if v != ""]
        if values:
            kept.setlist(name, values)
    return kept.urlencode()


def _filter_items(params: QueryDict) -> list[tuple[str, str]]:
    """The filters as (name, value) pairs, for hidden inputs of the process map's controls."""
    return [(name, v) for name in FILTER_FIELDS for v in params.getlist(name) if v != ""]


def _page(
    request: HttpRequest,
    page: str,
    build: Builder,
    *,
    extra: dict[str, Any] | None = None,
    valid: bool = True,
) -> HttpResponse:
    form = InsightsFilterForm(request.GET)
    query = _filter_query(request.GET)
    context: dict[str, Any] = {
        "form": form,
        "page": page,
        "tabs": [(name, label, reverse(f"insights:{name}")) for name, label in TABS],
        "query": query,
        "filter_items": _filter_items(request.GET),
    }
    context.update(extra or {})
    template = f"insights/{page}.html"
    if not form.is_valid() or not valid:
        return render(request, template, context, status=422)
    filters = form.filters()
    context["filters"] = filters
    try:
        answer, stale = _answer(page, request, filters, build)
    except EmptyLogError:
        answer, stale = None, False
    if answer is None:
        context["empty"] = True
        return render(request, template, context)
    context["scope"] = answer.scope
    _shown(context, answer, stale)
    return render(request, template, context)


def _answer(
    name: str, request: HttpRequest, filters: LogFilters, build: Builder
) -> tuple[answers.Answer | None, bool]:
    """Page ``name`` for this query (:func:`serviceloop.insights.answers.page_answer`) and
    whether it is an older version's being updated."""
    key = (name, request.GET.urlencode(), get_language(), get_current_timezone_name())
    return answers.page_answer(key, filters, build)


def _shown(context: dict[str, Any], answer: answers.Answer, stale: bool) -> None:
    context.update(answer.context)
    if stale:
        context["stale_at"] = answer.computed_at


@managers_only
@require_GET
def overview_view(request: HttpRequest) -> HttpResponse:
    return _page(request, "dashboard", pages.overview_context)


def _map_options(request: HttpRequest) -> tuple[ProcessMapForm, dict[str, Any]]:
    form = ProcessMapForm(request.GET)
    if not form.is_valid():
        return form, {}
    return form, form.options()


@managers_only
@require_GET
def process_view(request: HttpRequest) -> HttpResponse:
    map_form, options = _map_options(request)
    return _page(
        request,
        "process",
        lambda scope: pages.process_context(scope, **options),
        extra={
            "map_form": map_form,
            "map_hidden": [
                (name, v)
                for name in ("measure", "activities", "paths")
                for v in request.GET.getlist(name)
                if v != ""
            ],
        },
        valid=bool(options),
    )


@managers_only
@require_GET
def process_map_view(request: HttpRequest) -> HttpResponse:
    """The discovered map alone (htmx target of the measure toggle and threshold sliders)."""
    map_form, options = _map_options(request)
    form = InsightsFilterForm(request.GET)
    context: dict[str, Any] = {"map_form": map_form, "filter_items": _filter_items(request.GET)}
    if not options or not form.is_valid():
        context["errors"] = [*form.errors.values(), *map_form.errors.values()]
        return render(request, "insights/partials/process_map.html", context, status=422)
    filters = form.filters()
    answer, stale = _answer(
        "map", request, filters, lambda scope: {"map": pages.process_map_dot(scope, **options)}
    )
    if answer is None:
        context["empty"] = True
        return render(request, "insights/partials/process_map.html", context)
    _shown(context, answer, stale)
    return render(request, "insights/partials/process_map.html", context)


@managers_only
@require_GET
def performance_view(request: HttpRequest) -> HttpResponse:
    return _page(request, "performance", pages.performance_context)


@managers_only
@require_GET
def rework_view(request: HttpRequest) -> HttpResponse:
    return _page(request, "rework", pages.rework_context)


@managers_only
@require_GET
def variants_view(request: HttpRequest) -> HttpResponse:
    return _page(request, "variants", pages.variants_context)


@managers_only
@require_GET
def handovers_view(request: HttpRequest) -> HttpResponse:
    return _page(request, "handovers", pages.handovers_context)
