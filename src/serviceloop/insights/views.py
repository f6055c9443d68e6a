"""Insights pages over the live case log: managers and admins only (agents and customers: 403).

Every page shares the filter bar (GET); invalid filters answer 422 with the form's messages and
no analysis. The process map's controls reload only the map, through htmx.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
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
from serviceloop.insights import logstore, pages
from serviceloop.insights.forms import FILTER_FIELDS, InsightsFilterForm, ProcessMapForm
from serviceloop.insights.selectors import (
    LogFilters,
    event_log_and_version,
    log_version_key,
    on_forget,
)
from serviceloop.processes.models import ProcessVersion

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
        answer = _answer(page, request, filters, build)
    except EmptyLogError:
        answer = None
    if answer is None:
        context["empty"] = True
        return render(request, template, context)
    context["scope"] = answer[0]
    context.update(answer[1])
    return render(request, template, context)


@dataclass(frozen=True)
class _LogShown:
    n_cases: int


@dataclass(frozen=True)
class _ScopeShown:
    """What the templates read of a scope, kept instead of the scope and its decoded log (which
    would hold millions of rows per kept page)."""

    version: ProcessVersion | None
    mixed_versions: bool
    log: _LogShown

    @classmethod
    def of(cls, scope: pages.Scope) -> _ScopeShown:
        return cls(scope.version, scope.mixed_versions, _LogShown(scope.log.n_cases))


Answer = tuple[_ScopeShown, dict[str, Any]]


class _Answers:
    """Computed pages by (page, query, language, time zone, log version): over unchanged data the
    same page is the same answer, so a repeat view only renders it. A few are kept in the process,
    and each is written beside the columnar log copy, so a fresh server process (another worker, a
    restart) finds it too instead of computing it over the whole history again. A new event
    changes the version, so nothing stale is ever served; the older version's file is deleted."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[tuple[Any, ...], Answer] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> Answer | None:
        with self.lock:
            found = self.items.get(key)
            if found is not None:
                self.items.move_to_end(key)
                return found
        found = _answer_read(key)
        if found is not None:
            self._keep(key, found)
        return found

    def put(self, key: tuple[Any, ...], answer: Answer) -> None:
        self._keep(key, answer)
        _answer_write(key, answer)

    def _keep(self, key: tuple[Any, ...], answer: Answer) -> None:
        with self.lock:
            stale = [k for k in self.items if k[:4] == key[:4] and k[4] != key[4]]
            for old in stale:
                del self.items[old]
            self.items[key] = answer
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


def _answer_path(key: tuple[Any, ...]) -> tuple[Path, str]:
    """The folder of answers and the file of ``key``: named by the page and filters, then by the
    log version, so the older versions of one page can be found and deleted."""
    page = hashlib.sha256(repr(key[:4]).encode()).hexdigest()[:24]
    version = hashlib.sha256(repr(key[4:]).encode()).hexdigest()[:16]
    return logstore.store_directory() / "answers", f"{page}-{version}.pickle"


def _answer_read(key: tuple[Any, ...]) -> Answer | None:
    folder, name = _answer_path(key)
    try:
        data = (folder / name).read_bytes()
    except FileNotFoundError:
        return None
    # Written by this application into its own data folder (as trusted as the database file).
    return pickle.loads(data)  # type: ignore[no-any-return]  # noqa: S301


def _answer_write(key: tuple[Any, ...], answer: Answer) -> None:
    folder, name = _answer_path(key)
    folder.mkdir(parents=True, exist_ok=True)
    for older in folder.glob(f"{name.split('-')[0]}-*.pickle"):
        older.unlink(missing_ok=True)
    tmp = folder / f"{name}.{uuid.uuid4().hex}.tmp"
    tmp.write_bytes(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
    os.replace(tmp, folder / name)


_answers = _Answers(size=32)
on_forget.append(_answers.clear)


def _answer(name: str, request: HttpRequest, filters: LogFilters, build: Builder) -> Answer | None:
    """Page ``name`` for this query: kept (in the process or beside the log copy) while the log
    is unchanged, else computed over the log and kept; None when the filters leave no log."""
    key = (name, request.GET.urlencode(), get_language(), get_current_timezone_name())
    now = log_version_key()
    answer = _answers.get((*key, now))
    if answer is None:
        log, version = event_log_and_version(filters, now)
        if log is None:
            return None
        scope = pages.scope_build(filters, log)
        answer = (_ScopeShown.of(scope), build(scope))
        _answers.put((*key, version), answer)
    return answer


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
    answer = _answer(
        "map", request, filters, lambda scope: {"map": pages.process_map_dot(scope, **options)}
    )
    if answer is None:
        context["empty"] = True
        return render(request, "insights/partials/process_map.html", context)
    context.update(answer[1])
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
