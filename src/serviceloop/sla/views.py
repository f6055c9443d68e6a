"""The in-app notifications page of a staff member: newest first, mark one or all read."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from serviceloop.accounts.decorators import role_required
from serviceloop.accounts.permissions import is_staff_member
from serviceloop.sla.live import LiveScope
from serviceloop.sla.models import Notification
from serviceloop.sla.notify import notification_mark_read


@role_required(is_staff_member)
def notifications_view(request: HttpRequest) -> HttpResponse:
    rows = Notification.objects.filter(recipient=request.user.pk).select_related("case")
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "sla/notifications.html", {"page": page})


@require_POST
@role_required(is_staff_member)
def notifications_read_view(request: HttpRequest) -> HttpResponseRedirect:
    raw = request.POST.get("id")
    pk = int(raw) if raw and raw.isdigit() else None
    notification_mark_read(actor=request.user, pk=pk, at=timezone.now())  # type: ignore[arg-type]
    return HttpResponseRedirect(reverse("sla:notifications"))


def _live_context(request: HttpRequest) -> dict[str, object]:
    from django.core.exceptions import PermissionDenied

    from serviceloop.sla.live import live_panels, live_scope

    scope = live_scope(request.user)  # type: ignore[arg-type]
    if scope is None:
        raise PermissionDenied
    refresh = int(getattr(settings, "SLA_LIVE_REFRESH_SECONDS", 15))
    now = timezone.now()
    return (
        live_panels(scope, now=now)
        | _load_and_compliance(scope, now)
        | {
            "everyone": scope.team_ids is None,
            "refresh": refresh,
        }
    )


def _load_and_compliance(scope: LiveScope, now: datetime) -> dict[str, object]:
    """Arrivals against capacity by hour and compliance with the process, with their charts."""
    from serviceloop.sla.capacity import arrivals_capacity, arrivals_option
    from serviceloop.sla.compliance import DAYS, SAMPLE, compliance, compliance_option

    hours = arrivals_capacity(scope, now=now)
    checked = compliance(scope, now=now)
    departures = {
        "forced": gettext("Forced moves"),
        "skipped": gettext("Skipped stages"),
        "rework": gettext("Rework"),
        "over_standard": gettext("Over the time standard"),
    }
    return {
        "hours": hours,
        "arrivals_chart": arrivals_option(
            hours,
            {
                "arrived": gettext("Arrived today"),
                "usual": gettext("Usual (same weekday, last 4 weeks)"),
                "capacity": gettext("Capacity"),
            },
        ),
        "compliance": checked,
        "compliance_days": DAYS,
        "compliance_sample": SAMPLE,
        "compliance_chart": compliance_option(checked.agents, departures)
        if checked.agents
        else None,
    }


@role_required(is_staff_member)
def live_view(request: HttpRequest) -> HttpResponse:
    """The live monitoring page; its panels reload themselves every ``SLA_LIVE_REFRESH_SECONDS``
    (default 15) through htmx."""
    from datetime import timedelta

    from serviceloop.sla.charts import control_charts, echarts_option
    from serviceloop.sla.live import live_scope

    context = _live_context(request)
    scope = live_scope(request.user)  # type: ignore[arg-type]
    assert scope is not None  # _live_context refused the others
    now = timezone.now()
    charts = control_charts(scope, since=now - timedelta(days=60), until=now, baseline=20)
    context["breach_chart"] = (
        echarts_option(
            "Daily breach rate (p chart)", charts.breach_days, charts.breach_rate, percent=True
        )
        if charts.breach_rate
        else None
    )
    context["resolution_chart"] = (
        echarts_option(
            "Daily mean resolution time (XmR)",
            charts.resolution_days,
            charts.resolution_minutes,
            percent=False,
        )
        if charts.resolution_minutes
        else None
    )
    return render(request, "sla/live.html", context)


@role_required(is_staff_member)
def live_panels_view(request: HttpRequest) -> HttpResponse:
    return render(request, "sla/partials/live_panels.html", _live_context(request))
