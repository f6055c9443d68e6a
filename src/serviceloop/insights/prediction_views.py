"""The "at risk" queue (managers) and a case's prediction fragment (staff who may see the case).

Both read the scores the worker wrote (:mod:`serviceloop.insights.prediction`); neither trains
nor scores. The queue shows one page of cases at a time with one query for their rows.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from serviceloop.accounts.decorators import role_required
from serviceloop.accounts.permissions import is_manager, is_staff_member
from serviceloop.cases.choices import CaseStatus
from serviceloop.cases.models import Case
from serviceloop.cases.selectors import case_get_for_user
from serviceloop.insights.prediction import case_prediction, open_case_scores, sla_hours

__all__ = ["at_risk_view", "case_prediction_view"]

PAGE_SIZE = 50


def _row(score: dict[str, Any], case: Case | None) -> dict[str, Any]:
    due = case.due_at if case is not None else None
    late = due is not None and score["expected_end"] is not None and score["expected_end"] > due
    return {**score, "case": case, "due_at": due, "expected_after_due": late}


@role_required(is_manager)
@require_GET
def at_risk_view(request: HttpRequest) -> HttpResponse:
    """Cases not closed, most likely to breach first, with expected end, next step and due."""
    scores = open_case_scores()
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    context: dict[str, Any] = {"sla_hours": sla_hours(), "page": page, "rows": []}
    if scores is None:
        return render(request, "insights/at_risk.html", {**context, "no_scores": True})
    start = (page - 1) * PAGE_SIZE
    chunk = scores.slice(start, PAGE_SIZE)
    numbers = chunk["case_id"].to_list()
    cases = {
        c.number: c
        for c in Case.objects.filter(number__in=numbers)
        .exclude(status=CaseStatus.CLOSED)
        .select_related("team", "assignee")
    }
    context.update(
        rows=[
            _row(s, cases[s["case_id"]])
            for s in chunk.iter_rows(named=True)
            if s["case_id"] in cases
        ],
        total=scores.height,
        scored_at=scores["scored_at"].max() if scores.height else None,
        previous_page=page - 1 if page > 1 else None,
        next_page=page + 1 if start + PAGE_SIZE < scores.height else None,
        mean_risk=scores.select(pl.col("breach_probability").mean()).item()
        if "breach_probability" in scores.columns and scores.height
        else None,
    )
    return render(request, "insights/at_risk.html", context)


@role_required(is_staff_member)
@require_GET
def case_prediction_view(request: HttpRequest, number: str) -> HttpResponse:
    """The case page's prediction card (loaded by htmx); 404 for a case the user cannot see."""
    case = case_get_for_user(user=request.user, number=number)
    score = case_prediction(case.number) if case.status != CaseStatus.CLOSED else None
    row = _row(score, case) if score is not None else None
    return render(
        request,
        "insights/partials/case_prediction.html",
        {"case": case, "prediction": row, "sla_hours": sla_hours()},
    )
