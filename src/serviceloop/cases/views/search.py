"""Search pages: the workspace's (staff, every case they may see) and the portal's (a customer's
own cases and public replies). Both call one selector, which applies the lists' visibility."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from serviceloop.cases.search import CANDIDATES, case_text_search
from serviceloop.cases.views.portal import customer_required
from serviceloop.cases.views.workspace import staff_required
from serviceloop.core.exceptions import ApplicationError

__all__ = ["portal_search", "workspace_search"]

MAX_QUERY = 200


def _search(request: HttpRequest, template: str, detail_view: str) -> HttpResponse:
    query = (request.GET.get("q") or "")[:MAX_QUERY]
    context: dict[str, Any] = {
        "q": query,
        "detail_view": detail_view,
        "candidates": CANDIDATES,
    }
    if not query.strip():
        return render(request, template, context)
    try:
        context["result"] = case_text_search(user=request.user, query=query)
    except ApplicationError as exc:
        context["error"] = " ".join(str(p) for problems in exc.fields.values() for p in problems)
        return render(request, template, context, status=422)
    return render(request, template, context)


@staff_required
@require_GET
def workspace_search(request: HttpRequest) -> HttpResponse:
    return _search(request, "workspace/search.html", "workspace:case-detail")


@customer_required
@require_GET
def portal_search(request: HttpRequest) -> HttpResponse:
    return _search(request, "portal/search.html", "portal:case-detail")
