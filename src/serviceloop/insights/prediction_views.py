"""The "at risk" queue (managers) and a case's prediction fragment (staff who may see the case).

Both read the scores the worker wrote (:mod:`serviceloop.insights.prediction`); neither trains
nor scores. The queue shows one page of cases at a time with one query for their rows.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from serviceloop.accounts.decorators import role_required
from serviceloop.accounts.permissions import is_manager, is_staff_member
from serviceloop.cases.selectors import case_get_for_user
from serviceloop.insights.prediction import at_risk_rows, case_prediction_row, sla_hours

__all__ = ["at_risk_view", "case_prediction_view"]

PAGE_SIZE = 50


@role_required(is_manager)
@require_GET
def at_risk_view(request: HttpRequest) -> HttpResponse:
    """Cases not closed, most likely to breach first, with expected end, next step and due."""
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    context: dict[str, Any] = {"sla_hours": sla_hours(), "page": page, "rows": []}
    found = at_risk_rows(offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    if found is None:
        return render(request, "insights/at_risk.html", {**context, "no_scores": True})
    rows, total = found
    context.update(
        rows=rows,
        total=total,
        scored_at=rows[0]["scored_at"] if rows else None,
        previous_page=page - 1 if page > 1 else None,
        next_page=page + 1 if page * PAGE_SIZE < total else None,
    )
    return render(request, "insights/at_risk.html", context)


@role_required(is_staff_member)
@require_GET
def case_prediction_view(request: HttpRequest, number: str) -> HttpResponse:
    """The case page's prediction card (loaded by htmx); 404 for a case the user cannot see."""
    case = case_get_for_user(user=request.user, number=number)
    return render(
        request,
        "insights/partials/case_prediction.html",
        {"case": case, "prediction": case_prediction_row(case), "sla_hours": sla_hours()},
    )
