"""``/api/sla``: a case's SLA clocks for staff (customers get 404, as for a case they cannot see)."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Router

from serviceloop.cases.selectors import case_get_for_user
from serviceloop.core.auth import api_auth
from serviceloop.sla.schemas import ClockOut
from serviceloop.sla.selectors import case_clock_views

router = Router(auth=api_auth, tags=["sla"])


@router.get("/cases/{number}/clocks", response={200: list[ClockOut]})
def case_clocks(request: HttpRequest, number: str) -> list[ClockOut]:
    """The case's clocks: target, working time used, due and warning times, what was recorded."""
    user = request.auth  # type: ignore[attr-defined]
    if not getattr(user, "is_staff_member", False):
        raise Http404("No such case.")
    case = case_get_for_user(user=user, number=number)
    return [ClockOut(**view) for view in case_clock_views(case, now=timezone.now())]
