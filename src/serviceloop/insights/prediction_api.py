"""``/api/predictions``: a case's prediction for staff who may see it (customers get 404, as for a
case they cannot see); the at-risk list for managers. Both read the scores the worker wrote."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema

from serviceloop.cases.schemas import ErrorOut
from serviceloop.cases.selectors import case_get_for_user
from serviceloop.core.auth import api_auth
from serviceloop.core.exceptions import PermissionDeniedError, Problem
from serviceloop.insights.prediction import at_risk_rows, case_prediction_row, sla_hours

__all__ = ["CasePredictionOut", "router"]

router = Router(auth=api_auth, tags=["predictions"])


class CasePredictionOut(Schema):
    """A case's latest prediction; the predicted fields are null until the worker scored it."""

    case: str
    scored_at: datetime | None = None
    last_activity: str | None = None
    next_activity: str | None = None
    next_probability: float | None = None
    remaining_seconds: float | None = None
    expected_end: datetime | None = None
    breach_probability: float | None = None
    sla_hours: float
    due_at: datetime | None = None
    expected_after_due: bool | None = None
    past_expected_end: bool | None = None


def _out(number: str, row: dict[str, Any] | None) -> CasePredictionOut:
    fields = (
        "scored_at",
        "last_activity",
        "next_activity",
        "next_probability",
        "remaining_seconds",
        "expected_end",
        "breach_probability",
        "due_at",
        "expected_after_due",
        "past_expected_end",
    )
    values = {f: row.get(f) for f in fields} if row is not None else {}
    return CasePredictionOut(case=number, sla_hours=sla_hours(), **values)


@router.get(
    "/cases/{number}",
    response={200: CasePredictionOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def case_prediction(request: HttpRequest, number: str) -> CasePredictionOut:
    """Expected end, next step and breach risk of an open case (nulls when closed or unscored)."""
    user = request.auth  # type: ignore[attr-defined]
    if not getattr(user, "is_staff_member", False):
        raise Http404("No such case.")
    case = case_get_for_user(user=user, number=number)
    return _out(case.number, case_prediction_row(case))


@router.get(
    "/at-risk",
    response={200: list[CasePredictionOut], 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
)
def at_risk(
    request: HttpRequest,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> list[CasePredictionOut]:
    """Managers: the scored cases not closed, most likely to breach first."""
    user = request.auth  # type: ignore[attr-defined]
    if not getattr(user, "is_manager", False):
        raise PermissionDeniedError(Problem("permission_denied"))
    found = at_risk_rows(offset=offset, limit=limit)
    rows = found[0] if found is not None else []
    return [_out(row["case"].number, row) for row in rows]
