"""``/api/sla``: a case's SLA clocks for staff (customers get 404, as for a case they cannot
see); quality standards measured on the event log, for managers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Query, Router

from serviceloop.cases.schemas import ErrorOut
from serviceloop.cases.selectors import case_get_for_user
from serviceloop.core.auth import api_auth
from serviceloop.core.exceptions import InvalidInputError, PermissionDeniedError, Problem
from serviceloop.processes.models import ServiceProcess
from serviceloop.sla.models import Notification
from serviceloop.sla.notify import notification_mark_read
from serviceloop.sla.quality import quality_results
from serviceloop.sla.schemas import (
    ChartPointOut,
    ClockOut,
    ControlChartsOut,
    MarkedOut,
    NotificationOut,
    QualityOut,
    UnreadOut,
)
from serviceloop.sla.selectors import case_clock_views

router = Router(auth=api_auth, tags=["sla"])


@router.get(
    "/cases/{number}/clocks",
    response={200: list[ClockOut], 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def case_clocks(request: HttpRequest, number: str) -> list[ClockOut]:
    """The case's clocks: target, working time used, due and warning times, what was recorded."""
    user = request.auth  # type: ignore[attr-defined]
    if not getattr(user, "is_staff_member", False):
        raise Http404("No such case.")
    case = case_get_for_user(user=user, number=number)
    return [ClockOut(**view) for view in case_clock_views(case, now=timezone.now())]


@router.get(
    "/quality", response={200: list[QualityOut], 401: ErrorOut, 403: ErrorOut, 422: ErrorOut}
)
def quality(
    request: HttpRequest, process: str | None = None, days: int = Query(30, ge=1, le=366)
) -> list[QualityOut]:
    """Managers: each quality standard measured over the cases opened in the last ``days``."""
    user = request.auth  # type: ignore[attr-defined]
    if not getattr(user, "is_manager", False):
        raise PermissionDeniedError(Problem("quality_managers_only"))
    process_id = None
    if process is not None:
        found = ServiceProcess.objects.filter(code=process).values_list("pk", flat=True).first()
        if found is None:
            codes = ", ".join(ServiceProcess.objects.values_list("code", flat=True))
            raise InvalidInputError.for_field(
                "process", Problem("bad_choice", {"value": process, "choices": codes})
            )
        process_id = found
    until = timezone.now()
    results = quality_results(
        since=until - timedelta(days=days), until=until, process_id=process_id
    )
    return [
        QualityOut(
            process=r.standard.process.code,
            stage=r.standard.stage_code or None,
            indicator=r.standard.indicator,
            target=r.standard.target,
            at_least=r.standard.at_least,
            cases=r.denominator,
            hits=r.numerator,
            value=r.value,
            met=r.met,
        )
        for r in results
    ]


@router.get("/notifications", response={200: list[NotificationOut]})
def notifications(
    request: HttpRequest, unread: bool = False, limit: int = Query(50, ge=1, le=200)
) -> list[NotificationOut]:
    """The caller's own notifications, newest first."""
    rows = Notification.objects.filter(recipient=request.auth).select_related("case")  # type: ignore[attr-defined]
    if unread:
        rows = rows.filter(read_at=None)
    return [
        NotificationOut(
            id=n.pk,
            kind=n.kind,
            title=n.title,
            case=n.case.number if n.case else None,
            created_at=n.created_at,
            read_at=n.read_at,
        )
        for n in rows[:limit]
    ]


@router.get("/notifications/unread-count", response={200: UnreadOut})
def notifications_unread(request: HttpRequest) -> UnreadOut:
    user = request.auth  # type: ignore[attr-defined]
    return UnreadOut(unread=Notification.objects.filter(recipient=user, read_at=None).count())


@router.post("/notifications/{pk}/read", response={200: MarkedOut, 404: dict})
def notification_read(request: HttpRequest, pk: int) -> MarkedOut:
    marked = notification_mark_read(actor=request.auth, pk=pk, at=timezone.now())  # type: ignore[attr-defined]
    if not marked and not Notification.objects.filter(pk=pk, recipient=request.auth).exists():  # type: ignore[attr-defined]
        raise Http404("No such notification.")
    return MarkedOut(marked=marked)


@router.post("/notifications/read-all", response={200: MarkedOut})
def notifications_read_all(request: HttpRequest) -> MarkedOut:
    return MarkedOut(marked=notification_mark_read(actor=request.auth, at=timezone.now()))  # type: ignore[attr-defined]


@router.get(
    "/control-charts",
    response={200: ControlChartsOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
)
def control_charts_view(
    request: HttpRequest,
    days: int = Query(60, ge=2, le=366),
    baseline: int = Query(20, ge=2, le=366),
) -> ControlChartsOut:
    """Managers (every team) and team leads (their team): the daily breach-rate p chart and the
    resolution-time XmR chart, limits from the first ``baseline`` days, rules broken per point."""
    from serviceloop.sla.charts import control_charts
    from serviceloop.sla.live import live_scope

    scope = live_scope(request.auth)  # type: ignore[arg-type, attr-defined]
    if scope is None:
        raise PermissionDeniedError(Problem("charts_forbidden"))
    until = timezone.now()
    charts = control_charts(
        scope, since=until - timedelta(days=days), until=until, baseline=baseline
    )

    def out(points: list[Any], labels: list[Any]) -> list[ChartPointOut]:
        return [
            ChartPointOut(
                day=day, value=p.value, center=p.center, lcl=p.lcl, ucl=p.ucl, rules=list(p.rules)
            )
            for p, day in zip(points, labels, strict=False)
        ]

    return ControlChartsOut(
        breach_rate=out(charts.breach_rate, charts.breach_days),
        resolution_minutes=out(charts.resolution_minutes, charts.resolution_days),
        moving_ranges=out(charts.moving_ranges, charts.resolution_days[1:]),
    )
