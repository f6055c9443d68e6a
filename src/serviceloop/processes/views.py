"""Process design pages: the list of processes and versions, a version as a flow chart, YAML
import/export, publish/retire/new draft. Staff read; managers and admins change; customers never."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from serviceloop.accounts.decorators import role_required
from serviceloop.accounts.permissions import can_design_processes, can_view_processes
from serviceloop.core.exceptions import ApplicationError
from serviceloop.processes.choices import VersionStatus
from serviceloop.processes.flowchart import format_minutes, version_dot
from serviceloop.processes.forms import ProcessCreateForm, ProcessImportForm
from serviceloop.processes.models import ProcessVersion
from serviceloop.processes.selectors import process_list, process_version_get
from serviceloop.processes.services import (
    process_set_default,
    process_version_export,
    process_version_import,
    process_version_new_draft,
    process_version_publish,
    process_version_retire,
)
from serviceloop.processes.views_designer import version_diff_against

staff_only = role_required(can_view_processes)
designers_only = role_required(can_design_processes)


def _version(pk: int) -> ProcessVersion:
    try:
        return process_version_get(pk)
    except ProcessVersion.DoesNotExist as exc:
        raise Http404 from exc


def _list_page(
    request: HttpRequest, form: ProcessImportForm, problems: list[dict[str, str]], status: int = 200
) -> HttpResponse:
    context = {
        "processes": process_list(),
        "form": form,
        "problems": problems,
        "can_design": can_design_processes(request.user),
        "create_form": ProcessCreateForm(prefix="new-process"),
    }
    return render(request, "processes/process_list.html", context, status=status)


@staff_only
@require_GET
def process_list_view(request: HttpRequest) -> HttpResponse:
    return _list_page(request, ProcessImportForm(), [])


@designers_only
@require_http_methods(["GET", "POST"])
def process_import_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return redirect("processes:list")
    form = ProcessImportForm(request.POST, request.FILES)
    problems: list[dict[str, str]] = []
    if form.is_valid():
        try:
            version = process_version_import(
                text=form.cleaned_data["text"],
                actor=request.user,  # type: ignore[arg-type]
                source=form.cleaned_data["source"],
            )
        except ApplicationError as exc:
            problems = exc.extra.get("problems") or []
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Imported %(version)s as a draft.") % {"version": version})
            return redirect("processes:version", pk=version.pk)
    return _list_page(request, form, problems, status=422)


@staff_only
@require_GET
def version_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version(pk)
    stages = list(version.stages.all())
    transitions = list(version.transitions.all())
    siblings = list(
        version.process.versions.order_by("-number").only("pk", "number", "status", "process")
    )
    context = {
        "version": version,
        "stage_rows": [(s, format_minutes(s.time_standard_minutes)) for s in stages],
        "transitions": transitions,
        "siblings": siblings,
        "dot": version_dot(version, stages=stages, transitions=transitions),
        "can_design": can_design_processes(request.user),
    }
    other = _compared_version(request, version, siblings)
    context["other"] = other
    if other is not None:
        context["diff"] = version_diff_against(version, other)
    return render(request, "processes/version_detail.html", context)


def _compared_version(
    request: HttpRequest, version: ProcessVersion, siblings: list[ProcessVersion]
) -> ProcessVersion | None:
    """The version named by ``?compare=`` (same process), else the live one for a draft, else
    the one before; picked from the siblings already loaded, so no extra query."""
    others = [v for v in siblings if v.pk != version.pk]
    raw = request.GET.get("compare", "")
    chosen = next((v for v in others if raw.isdigit() and v.pk == int(raw)), None)
    if chosen is None and version.status == VersionStatus.DRAFT:
        chosen = next((v for v in others if v.status == VersionStatus.PUBLISHED), None)
    if chosen is None:
        chosen = next((v for v in others if v.number < version.number), None)
    return chosen


@staff_only
@require_GET
def version_export_view(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version(pk)
    response = HttpResponse(
        process_version_export(version), content_type="application/yaml; charset=utf-8"
    )
    filename = f"{version.process.code}-v{version.number}.yaml"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _version_action(
    request: HttpRequest, pk: int, action: Callable[[ProcessVersion], ProcessVersion], done: str
) -> HttpResponse:
    version = _version(pk)
    try:
        result = action(version)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        for problem in exc.extra.get("problems") or []:
            messages.error(request, f"{problem['path']}: {problem['message']}")
        return redirect("processes:version", pk=version.pk)
    messages.success(request, done % {"version": result})
    return redirect("processes:version", pk=result.pk)


@designers_only
@require_POST
def version_publish_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _version_action(
        request,
        pk,
        lambda v: process_version_publish(version=v, actor=request.user),  # type: ignore[arg-type]
        _("Published %(version)s; new cases start on it."),
    )


@designers_only
@require_POST
def version_retire_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _version_action(
        request,
        pk,
        lambda v: process_version_retire(version=v, actor=request.user),  # type: ignore[arg-type]
        _("Retired %(version)s; its open cases continue on it."),
    )


@designers_only
@require_POST
def version_new_draft_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _version_action(
        request,
        pk,
        lambda v: process_version_new_draft(from_version=v, actor=request.user),  # type: ignore[arg-type]
        _("Created draft %(version)s."),
    )


@designers_only
@require_POST
def process_set_default_view(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version(pk)
    try:
        process_set_default(process=version.process, actor=request.user)  # type: ignore[arg-type]
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("New cases now start on %(process)s.") % {"process": version.process}
        )
    return redirect("processes:version", pk=version.pk)
