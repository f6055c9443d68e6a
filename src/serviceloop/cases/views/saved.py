"""Saved queue views: keep the current filters and sort under a name; forget one."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from serviceloop.cases.views._common import signed_in
from serviceloop.cases.views.workspace import staff_required
from serviceloop.core.exceptions import ApplicationError
from serviceloop.savedviews.services import saved_view_delete, saved_view_save

__all__ = ["saved_view_delete_view", "saved_view_save_view"]


@staff_required
@require_POST
def saved_view_save_view(request: HttpRequest) -> HttpResponse:
    # The filters change in place (htmx pushes the address), so the page's address is the truth.
    referer = urlsplit(request.headers.get("Referer", ""))
    query = referer.query if referer.path == "/work/" else request.POST.get("query", "")
    try:
        view = saved_view_save(
            user=signed_in(request), name=request.POST.get("name", ""), query=query
        )
    except ApplicationError as exc:
        reasons = [str(p) for problems in exc.fields.values() for p in problems]
        messages.error(request, " ".join(reasons) or exc.message)
        return redirect(f"/work/?{query}" if query else "workspace:queue")
    messages.success(request, _("Saved the view “%(name)s”.") % {"name": view.name})
    return redirect(f"/work/?{view.query}")


@staff_required
@require_POST
def saved_view_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    if saved_view_delete(user=signed_in(request), view_id=pk):
        messages.success(request, _("View removed."))
    return redirect("workspace:queue")
