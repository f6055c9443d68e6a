"""REST API for evaluations, mounted at /api/evaluations: managers and admins read stored
evaluations with every unit's score and the measures behind it. Runs happen in the pages."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from ninja import Router

from serviceloop.cases.schemas import ErrorOut
from serviceloop.core.auth import api_auth
from serviceloop.core.exceptions import PermissionDeniedError, Problem
from serviceloop.evaluation.models import Evaluation
from serviceloop.evaluation.permissions import can_manage_evaluations
from serviceloop.evaluation.schemas import EvaluationDetailOut, EvaluationOut
from serviceloop.evaluation.selectors import evaluation_get, evaluation_list

router = Router(auth=api_auth, tags=["evaluations"])


def _manager(request: HttpRequest) -> None:
    if not can_manage_evaluations(request.user):
        raise PermissionDeniedError(Problem("evaluation_view_forbidden"))


def _summary(e: Evaluation) -> dict[str, Any]:
    return {
        "id": e.pk,
        "name": e.name,
        "system": e.system.code,
        "unit_kind": e.unit_kind,
        "period_start": e.period_start,
        "period_end": e.period_end,
        "method": e.method,
        "weighting": e.weighting,
        "weights": e.weights,
        "excluded": e.excluded,
        "created_at": e.created_at,
    }


@router.get("/", response={200: list[EvaluationOut], 403: ErrorOut})
def list_evaluations(request: HttpRequest) -> list[dict[str, Any]]:
    _manager(request)
    return [_summary(e) for e in evaluation_list()[:200]]


@router.get("/{evaluation_id}", response={200: EvaluationDetailOut, 403: ErrorOut, 404: ErrorOut})
def get_evaluation(request: HttpRequest, evaluation_id: int) -> dict[str, Any]:
    _manager(request)
    try:
        view = evaluation_get(evaluation_id)
    except Evaluation.DoesNotExist as exc:
        raise Http404 from exc
    return {
        **_summary(view.evaluation),
        "details": view.evaluation.details,
        "results": [
            {
                "unit_key": r.unit_key,
                "unit_label": r.unit_label,
                "score": r.score,
                "rank": r.rank,
                "tier": r.tier,
                "dimensions": r.dimensions,
                "measures": [
                    {
                        "indicator": m.indicator.code,
                        "raw_value": m.raw_value,
                        "normalised": m.normalised,
                        "weight": m.weight,
                        "contribution": m.contribution,
                        "basis": m.basis,
                    }
                    for m in view.measures_of(r.unit_key)
                ],
            }
            for r in view.results
        ],
    }
