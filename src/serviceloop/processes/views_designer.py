"""The process designer: a manager edits a draft version's stages and transitions in the browser.

Every edit posts one small form; with htmx the answer is the designer block again (forms, problems
beside their elements, the flow chart's DOT), so the chart redraws as the manager edits; without
JavaScript the same URLs answer with the whole page. Publishing goes through a confirmation page
that shows what changes against the live version.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from serviceloop.accounts.decorators import role_required
from serviceloop.accounts.models import User
from serviceloop.accounts.permissions import can_design_processes
from serviceloop.core.exceptions import ApplicationError, Problem
from serviceloop.processes.choices import VersionStatus
from serviceloop.processes.diff import sections_diff, spec_diff
from serviceloop.processes.flowchart import version_dot
from serviceloop.processes.forms import (
    ProcessCreateForm,
    StageForm,
    TransitionEditForm,
    TransitionForm,
)
from serviceloop.processes.models import ProcessVersion, Stage, Transition
from serviceloop.processes.selectors import process_version_published
from serviceloop.processes.services import process_spec_from_version, version_sections
from serviceloop.processes.services.designer import (
    process_create,
    process_version_problems,
    stage_create,
    stage_delete,
    stage_fields_from,
    stage_move,
    stage_update,
    transition_create,
    transition_delete,
    transition_update,
)

designers_only = role_required(can_design_processes)


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _draft(pk: int) -> ProcessVersion:
    version = ProcessVersion.objects.select_related("process").filter(pk=pk).first()
    if version is None:
        raise Http404
    return version


def _apply_errors(form: forms.Form, exc: ApplicationError) -> None:
    fields: dict[str, list[str]] = exc.extra.get("fields") or {}
    if not fields:
        form.add_error(None, exc.message)
    for name, problems in fields.items():
        for problem in problems:
            form.add_error(name if name in form.fields else None, problem)


def _designer_context(version: ProcessVersion, **bound: Any) -> dict[str, Any]:
    """Forms for every element (a bound, failed form replaces its fresh one) and the problems."""
    stages = list(
        version.stages.select_related("responsible_team", "required_skill").order_by("order")
    )
    transitions = list(
        version.transitions.select_related("source", "target").order_by(
            "source__order", "target__order"
        )
    )
    problems = process_version_problems(version)
    failed_stage: StageForm | None = bound.get("stage_form")
    failed_stage_pk = bound.get("stage_pk")
    failed_edge: TransitionEditForm | None = bound.get("edge_form")
    failed_edge_pk = bound.get("edge_pk")
    stage_rows = [
        (
            stage,
            failed_stage
            if failed_stage is not None and failed_stage_pk == stage.pk
            else StageForm.for_stage(stage),
            problems.stages.get(stage.pk, []),
        )
        for stage in stages
    ]
    transition_rows = [
        (
            t,
            failed_edge
            if failed_edge is not None and failed_edge_pk == t.pk
            else TransitionEditForm.for_transition(t),
            problems.transitions.get(t.pk, []),
        )
        for t in transitions
    ]
    return {
        "version": version,
        "stage_rows": stage_rows,
        "transition_rows": transition_rows,
        "general_problems": problems.general,
        "new_stage_form": bound.get("new_stage_form") or StageForm(prefix="new-stage"),
        "new_transition_form": bound.get("new_transition_form") or TransitionForm(version=version),
        "dot": version_dot(version, stages=stages, transitions=transitions),
    }


def _render(
    request: HttpRequest, version: ProcessVersion, *, status: int = 200, **bound: Any
) -> HttpResponse:
    if version.status != VersionStatus.DRAFT:
        messages.error(request, _("Only a draft version can be edited; create a new draft."))
        url = reverse("processes:version", args=[version.pk])
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return redirect(url)
    context = _designer_context(version, **bound)
    if request.headers.get("HX-Request"):
        # htmx swaps only 2xx answers; the refused form and its errors are the answer here
        return render(request, "processes/partials/designer.html", context)
    return render(request, "processes/version_design.html", context, status=status)


def _after_edit(request: HttpRequest, version: ProcessVersion) -> HttpResponse:
    if request.headers.get("HX-Request"):
        return _render(request, version)
    return redirect("processes:design", pk=version.pk)


@designers_only
@require_GET
def version_design_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _render(request, _draft(pk))


@designers_only
@require_POST
def process_create_view(request: HttpRequest) -> HttpResponse:
    form = ProcessCreateForm(request.POST, prefix="new-process")
    if form.is_valid():
        try:
            version = process_create(
                code=form.cleaned_data["code"],
                name=form.cleaned_data["name"],
                name_zh=form.cleaned_data["name_zh"],
                actor=_actor(request),
            )
        except ApplicationError as exc:
            _apply_errors(form, exc)
        else:
            return redirect("processes:design", pk=version.pk)
    for name, problems in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for problem in problems:
            messages.error(request, f"{label}: {problem}" if label else str(problem))
    return redirect("processes:list")


def _guarded(form: forms.Form, run: Callable[[], Any]) -> ApplicationError | None:
    """Run the service when the form is valid; a refusal goes onto the form."""
    if not form.is_valid():
        return ApplicationError(Problem("form_invalid"))
    try:
        run()
    except ApplicationError as exc:
        _apply_errors(form, exc)
        return exc
    return None


@designers_only
@require_POST
def stage_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    version = _draft(pk)
    form = StageForm(request.POST, prefix="new-stage")
    failed = _guarded(
        form,
        lambda: stage_create(
            version=version, fields=stage_fields_from(form.cleaned_data), actor=_actor(request)
        ),
    )
    if failed is not None:
        return _render(request, version, status=422, new_stage_form=form)
    return _after_edit(request, version)


@designers_only
@require_POST
def stage_update_view(request: HttpRequest, pk: int) -> HttpResponse:
    stage = get_object_or_404(Stage.objects.select_related("version__process"), pk=pk)
    form = StageForm.for_stage(stage, request.POST)
    failed = _guarded(
        form,
        lambda: stage_update(
            stage=stage, fields=stage_fields_from(form.cleaned_data), actor=_actor(request)
        ),
    )
    if failed is not None:
        return _render(request, stage.version, status=422, stage_form=form, stage_pk=stage.pk)
    return _after_edit(request, stage.version)


def _simple(request: HttpRequest, version: ProcessVersion, run: Callable[[], Any]) -> HttpResponse:
    try:
        run()
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return _after_edit(request, version)


@designers_only
@require_POST
def stage_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    stage = get_object_or_404(Stage.objects.select_related("version__process"), pk=pk)
    return _simple(request, stage.version, lambda: stage_delete(stage=stage, actor=_actor(request)))


@designers_only
@require_POST
def stage_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    stage = get_object_or_404(Stage.objects.select_related("version__process"), pk=pk)
    offset = -1 if request.POST.get("direction") == "up" else 1
    return _simple(
        request,
        stage.version,
        lambda: stage_move(stage=stage, offset=offset, actor=_actor(request)),
    )


@designers_only
@require_POST
def transition_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    version = _draft(pk)
    form = TransitionForm(request.POST, version=version)
    failed = _guarded(
        form,
        lambda: transition_create(
            version=version,
            source=form.cleaned_data["source"],
            target=form.cleaned_data["target"],
            kind=form.cleaned_data["kind"],
            label=form.cleaned_data["label"],
            label_zh=form.cleaned_data["label_zh"],
            actor=_actor(request),
        ),
    )
    if failed is not None:
        return _render(request, version, status=422, new_transition_form=form)
    return _after_edit(request, version)


@designers_only
@require_POST
def transition_update_view(request: HttpRequest, pk: int) -> HttpResponse:
    transition = get_object_or_404(Transition.objects.select_related("version__process"), pk=pk)
    form = TransitionEditForm.for_transition(transition, request.POST)
    failed = _guarded(
        form,
        lambda: transition_update(
            transition=transition,
            kind=form.cleaned_data["kind"],
            label=form.cleaned_data["label"],
            label_zh=form.cleaned_data["label_zh"],
            actor=_actor(request),
        ),
    )
    if failed is not None:
        return _render(
            request, transition.version, status=422, edge_form=form, edge_pk=transition.pk
        )
    return _after_edit(request, transition.version)


@designers_only
@require_POST
def transition_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    transition = get_object_or_404(Transition.objects.select_related("version__process"), pk=pk)
    return _simple(
        request,
        transition.version,
        lambda: transition_delete(transition=transition, actor=_actor(request)),
    )


def version_diff_against(version: ProcessVersion, other: ProcessVersion | None) -> Any:
    """The changes from ``other`` (``None``: nothing) to ``version``."""
    before = process_spec_from_version(other) if other is not None else None
    diff = spec_diff(before, process_spec_from_version(version))
    old_sections = version_sections(other) if other is not None else {}
    return sections_diff(diff, old_sections, version_sections(version))


def previous_version(version: ProcessVersion) -> ProcessVersion | None:
    """What ``version`` is compared with: the live one for a draft, else the number before."""
    if version.status == VersionStatus.DRAFT:
        live = process_version_published(version.process)
        if live is not None:
            return live
    return (
        ProcessVersion.objects.filter(process=version.process, number__lt=version.number)
        .order_by("-number")
        .first()
    )


@designers_only
@require_http_methods(["GET"])
def version_publish_confirm_view(request: HttpRequest, pk: int) -> HttpResponse:
    version = _draft(pk)
    if version.status != VersionStatus.DRAFT:
        return redirect("processes:version", pk=version.pk)
    other = previous_version(version)
    context = {
        "version": version,
        "other": other,
        "diff": version_diff_against(version, other),
        "problems": process_version_problems(version),
    }
    return render(request, "processes/publish_confirm.html", context)
