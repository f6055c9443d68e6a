"""The in-app notifications page of a staff member: newest first, mark one or all read."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from serviceloop.accounts.decorators import role_required
from serviceloop.accounts.permissions import is_staff_member
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
