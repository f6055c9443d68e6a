"""Evaluation pages: managers run and read evaluations and shape the indicator system; an agent
reads their own scorecard; customers get 403 everywhere."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from serviceloop.accounts.decorators import role_required
from serviceloop.core.exceptions import ApplicationError
from serviceloop.evaluation import charts, export, qa, selectors, services
from serviceloop.evaluation.forms import (
    ComparisonForm,
    EvaluationRunForm,
    ManualScoreForm,
    QAReviewForm,
    QASampleForm,
    WeightsForm,
)
from serviceloop.evaluation.measures import Period
from serviceloop.evaluation.models import (
    Evaluation,
    EvaluationMeasure,
    Indicator,
    IndicatorSystem,
    ManualScore,
    QACriterion,
    QAReview,
)
from serviceloop.evaluation.permissions import can_manage_evaluations, can_view_scorecard

managers_only = role_required(can_manage_evaluations)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _apply_error(form: Any, error: ApplicationError) -> None:
    """Put a service's refusal on the form: field problems on their fields, the rest on top."""
    form.add_error(None, error.message)
    for name, problems in error.fields.items():
        target = name if name in form.fields else None
        for problem in problems:
            if target is not None or problem != error.problem:  # for_field repeats it
                form.add_error(target, str(problem))


def _list_page(request: HttpRequest, form: EvaluationRunForm, status: int = 200) -> HttpResponse:
    page = Paginator(selectors.evaluation_list(), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "evaluation/list.html",
        {"page": page, "form": form, "systems": selectors.system_list(), "section": "list"},
        status=status,
    )


@managers_only
@require_GET
def evaluation_list_view(request: HttpRequest) -> HttpResponse:
    return _list_page(request, EvaluationRunForm())


@managers_only
@require_POST
def evaluation_run_view(request: HttpRequest) -> HttpResponse:
    form = EvaluationRunForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            evaluation = services.evaluation_run(
                system=data["system"],
                name=data["name"],
                unit_kind=data["unit_kind"],
                period_start=data["period_start"],
                period_end=data["period_end"],
                method=data["method"],
                weighting=data["weighting"],
                alpha=data["alpha"],
                tiers=data["tiers"],
                actor=request.user,
            )
        except ApplicationError as error:
            _apply_error(form, error)
        else:
            return redirect("evaluation:detail", pk=evaluation.pk)
    return _list_page(request, form, status=422)


def _view_or_404(pk: int) -> selectors.EvaluationView:
    try:
        return selectors.evaluation_get(pk)
    except Evaluation.DoesNotExist as exc:
        raise Http404 from exc


@managers_only
@require_GET
def evaluation_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    view = _view_or_404(pk)
    trend = selectors.evaluation_trend(view.evaluation)
    leaves = [
        {"leaf": leaf, "weight": view.evaluation.weights.get(leaf.code)} for leaf in view.leaves
    ]
    return render(
        request,
        "evaluation/detail.html",
        {
            "section": "list",
            "view": view,
            "evaluation": view.evaluation,
            "leaves": leaves,
            "radar": charts.radar_chart(view.top, view.results),
            "trend": charts.trend_chart(trend),
            "trend_evaluations": trend,
            "dimensions": [(r, [r.dimensions.get(t.code) for t in view.top]) for r in view.results],
        },
    )


@managers_only
@require_GET
def evaluation_unit_view(request: HttpRequest, pk: int, unit_key: str) -> HttpResponse:
    view = _view_or_404(pk)
    result = next((r for r in view.results if r.unit_key == unit_key), None)
    if result is None:
        raise Http404
    return render(
        request,
        "evaluation/unit.html",
        {
            "section": "list",
            "view": view,
            "evaluation": view.evaluation,
            "result": result,
            "measures": view.measures_of(unit_key),
            "radar": charts.radar_chart(view.top, [result]),
        },
    )


@managers_only
@require_GET
def evaluation_export_view(request: HttpRequest, pk: int) -> HttpResponse:
    view = _view_or_404(pk)
    body = export.workbook_bytes(view)
    name = slugify(view.evaluation.name) or f"evaluation-{pk}"
    response = HttpResponse(body, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response


@managers_only
@require_GET
def system_list_view(request: HttpRequest) -> HttpResponse:
    systems = list(selectors.system_list())
    if len(systems) == 1:
        return redirect("evaluation:system", pk=systems[0].pk)
    return render(request, "evaluation/systems.html", {"systems": systems, "section": "system"})


@managers_only
@require_POST
def system_create_default_view(request: HttpRequest) -> HttpResponse:
    system = services.indicator_system_create_default(actor=request.user)
    return redirect("evaluation:system", pk=system.pk)


@managers_only
@require_GET
def system_view(request: HttpRequest, pk: int) -> HttpResponse:
    system = get_object_or_404(IndicatorSystem, pk=pk)
    return render(
        request,
        "evaluation/system.html",
        {"system": system, "tree": selectors.indicator_tree(system)[0], "section": "system"},
    )


def _group(system: IndicatorSystem, parent_id: str) -> tuple[Indicator | None, list[Indicator]]:
    parent = None
    if parent_id != "root":
        if not parent_id.isdigit():
            raise Http404
        parent = get_object_or_404(Indicator, pk=int(parent_id), system=system)
    children = list(system.indicators.filter(parent=parent).order_by("order", "id"))
    if not children:
        raise Http404
    return parent, children


@managers_only
@require_http_methods(["GET", "POST"])
def group_view(request: HttpRequest, pk: int, parent_id: str) -> HttpResponse:
    """Weights of one group of siblings: manual weights, or AHP judgements with their CR."""
    system = get_object_or_404(IndicatorSystem, pk=pk)
    parent, children = _group(system, parent_id)
    latest = system.matrices.filter(parent=parent).select_related("entered_by").first()
    previous = latest.judgements if latest is not None else None
    weights_form = WeightsForm(children=children, prefix="w")
    comparison_form = ComparisonForm(children=children, prefix="c", previous=previous)
    status = 200
    if request.method == "POST":
        try:
            if "save_weights" in request.POST:
                weights_form = WeightsForm(request.POST, children=children, prefix="w")
                if weights_form.is_valid():
                    services.indicator_weights_set(
                        system=system,
                        parent=parent,
                        weights=weights_form.cleaned_data,
                        actor=request.user,
                    )
                    messages.success(request, _("Manual weights saved."))
                    return redirect(request.path)
            else:
                comparison_form = ComparisonForm(
                    request.POST, children=children, prefix="c", previous=previous
                )
                if comparison_form.is_valid():
                    matrix = services.comparison_matrix_save(
                        system=system,
                        parent=parent,
                        judgements=comparison_form.judgements(),
                        actor=request.user,
                    )
                    messages.success(
                        request,
                        _("Judgements saved: consistency ratio %(cr)s.")
                        % {"cr": f"{matrix.consistency_ratio:.3f}"},
                    )
                    return redirect(request.path)
        except ApplicationError as error:
            _apply_error(
                comparison_form if "save_weights" not in request.POST else weights_form, error
            )
        status = 422
    return render(
        request,
        "evaluation/group.html",
        {
            "system": system,
            "parent": parent,
            "children": children,
            "weights_form": weights_form,
            "comparison_form": comparison_form,
            "latest": latest,
            "section": "system",
        },
        status=status,
    )


@managers_only
@require_http_methods(["GET", "POST"])
def manual_score_view(request: HttpRequest) -> HttpResponse:
    form = ManualScoreForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.manual_score_record(actor=request.user, **data)
            except ApplicationError as error:
                _apply_error(form, error)
            else:
                messages.success(request, _("Value saved."))
                return redirect("evaluation:manual-scores")
        status = 422
    scores = ManualScore.objects.select_related("indicator", "entered_by")[:100]
    return render(
        request,
        "evaluation/manual_scores.html",
        {"form": form, "scores": scores, "section": "manual"},
        status=status,
    )


@login_required
@require_GET
def scorecard_view(request: HttpRequest, username: str | None = None) -> HttpResponse:
    """An agent's own scorecard (``/evaluation/me/``); managers may open any agent's."""
    username = username or request.user.get_username()
    if not can_view_scorecard(request.user, username):
        raise PermissionDenied
    results = selectors.scorecard_results(username)
    measures: dict[int, list[EvaluationMeasure]] = {}
    for m in (
        EvaluationMeasure.objects.filter(
            evaluation__in=[r.evaluation_id for r in results], unit_key=username
        )
        .select_related("indicator")
        .order_by("evaluation", "indicator__parent__order", "indicator__order")
    ):
        measures.setdefault(m.evaluation_id, []).append(m)
    reviews = list(
        QAReview.objects.filter(agent__username=username, submitted_at__isnull=False)
        .select_related("case")
        .order_by("-submitted_at")[:20]
    )
    return render(
        request,
        "evaluation/scorecard.html",
        {
            "username": username,
            "rows": [(r, measures.get(r.evaluation_id, [])) for r in results],
            "reviews": reviews,
            "criteria": {c.code: c.label for c in QACriterion.objects.all()},
            "now": timezone.now(),
        },
    )


@managers_only
@require_http_methods(["GET", "POST"])
def qa_view(request: HttpRequest) -> HttpResponse:
    """Criteria, sampling cases for review, the reviewer's pending reviews and calibration."""
    form = QASampleForm(request.POST or None, prefix="s")
    status = 200
    if request.method == "POST":
        if "create_criteria" in request.POST:
            qa.qa_criteria_create_default(actor=request.user)
            return redirect("evaluation:qa")
        if form.is_valid():
            data = form.cleaned_data
            try:
                created = qa.qa_sample(
                    period=Period(data["period_start"], data["period_end"]),
                    per_agent=data["per_agent"],
                    reviewers=list(data["reviewers"]),
                    actor=request.user,
                )
            except ApplicationError as error:
                _apply_error(form, error)
            else:
                messages.success(request, _("%(n)d reviews assigned.") % {"n": len(created)})
                return redirect("evaluation:qa")
        status = 422
    pending = list(
        QAReview.objects.filter(reviewer_id=request.user.pk, submitted_at__isnull=True)
        .select_related("case", "agent")
        .order_by("assigned_at")[:100]
    )
    return render(
        request,
        "evaluation/qa.html",
        {
            "section": "qa",
            "form": form,
            "criteria": list(QACriterion.objects.all()),
            "pending": pending,
            "calibration": qa.qa_calibration(),
        },
        status=status,
    )


@managers_only
@require_http_methods(["GET", "POST"])
def qa_review_view(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_object_or_404(QAReview.objects.select_related("case", "agent"), pk=pk)
    if review.reviewer_id != request.user.pk:
        raise PermissionDenied
    criteria = list(QACriterion.objects.filter(is_active=True))
    form = QAReviewForm(request.POST or None, criteria=criteria)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = dict(form.cleaned_data)
            comment = data.pop("comment", "")
            try:
                qa.qa_review_submit(review=review, scores=data, comment=comment, actor=request.user)
            except ApplicationError as error:
                _apply_error(form, error)
            else:
                messages.success(request, _("Review submitted."))
                return redirect("evaluation:qa")
        status = 422
    return render(
        request,
        "evaluation/qa_review.html",
        {"section": "qa", "review": review, "form": form},
        status=status,
    )
