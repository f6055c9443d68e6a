"""Survey pages: the customer's answer page behind a signed link (no sign-in needed), the
customer's open surveys, and the managers' results."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from serviceloop.accounts.decorators import role_required
from serviceloop.accounts.permissions import is_customer, is_manager
from serviceloop.core.exceptions import ApplicationError
from serviceloop.feedback import selectors
from serviceloop.feedback.choices import RootCause
from serviceloop.feedback.forms import ComplaintForm, PeriodForm, SurveyAnswerForm
from serviceloop.feedback.models import Complaint
from serviceloop.feedback.services import (
    SurveyLinkError,
    complaint_record,
    complaint_set_root_cause,
    survey_answer,
    survey_link,
    survey_open,
)


@require_http_methods(["GET", "POST"])
def answer_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = survey_open(token, user=request.user)
    except SurveyLinkError as error:
        status = 410 if error.reason in ("expired", "used") else 403
        return render(
            request, "feedback/link_refused.html", {"message": error.message}, status=status
        )
    questions = list(invitation.template.questions.order_by("order", "id"))
    form = SurveyAnswerForm(request.POST or None, questions=questions)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                survey_answer(invitation=invitation, answers=form.cleaned_data, user=request.user)
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                return render(request, "feedback/thanks.html", {"invitation": invitation})
        status = 422
    return render(
        request,
        "feedback/answer.html",
        {"invitation": invitation, "form": form},
        status=status,
    )


@login_required
@require_GET
def my_surveys_view(request: HttpRequest) -> HttpResponse:
    if not is_customer(request.user):
        raise PermissionDenied
    invitations = selectors.open_invitations_for(request.user)
    return render(
        request,
        "feedback/mine.html",
        {"rows": [(i, survey_link(i)) for i in invitations]},
    )


@role_required(is_manager)
@require_GET
def results_view(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    form = PeriodForm(request.GET or {"start": today - dt.timedelta(days=90), "end": today})
    if not form.is_valid():
        return render(request, "feedback/results.html", {"form": form}, status=422)
    summary = selectors.survey_summary(form.cleaned_data["start"], form.cleaned_data["end"])
    return render(request, "feedback/results.html", {"form": form, "summary": summary})


@role_required(is_manager)
@require_GET
def complaints_view(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    form = PeriodForm(request.GET or {"start": today - dt.timedelta(days=90), "end": today})
    if not form.is_valid():
        return render(request, "feedback/complaints.html", {"form": form}, status=422)
    summary = selectors.complaint_summary(form.cleaned_data["start"], form.cleaned_data["end"])
    return render(
        request,
        "feedback/complaints.html",
        {
            "form": form,
            "summary": summary,
            "root_causes": RootCause.choices,
            "record_form": ComplaintForm(prefix="r"),
        },
    )


@role_required(is_manager)
@require_POST
def complaint_record_view(request: HttpRequest) -> HttpResponse:
    form = ComplaintForm(request.POST, prefix="r")
    if form.is_valid():
        try:
            complaint_record(
                case=form.cleaned_data["case"],
                about_case=form.cleaned_data["about_case"],
                root_cause=form.cleaned_data["root_cause"] or "",
                actor=request.user,
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            return redirect("feedback:complaints")
    today = timezone.localdate()
    period = PeriodForm({"start": today - dt.timedelta(days=90), "end": today})
    period.is_valid()
    summary = selectors.complaint_summary(period.cleaned_data["start"], period.cleaned_data["end"])
    return render(
        request,
        "feedback/complaints.html",
        {"form": period, "summary": summary, "root_causes": RootCause.choices, "record_form": form},
        status=422,
    )


@role_required(is_manager)
@require_POST
def complaint_root_cause_view(request: HttpRequest, pk: int) -> HttpResponse:
    complaint = get_object_or_404(Complaint, pk=pk)
    try:
        complaint_set_root_cause(
            complaint=complaint, root_cause=request.POST.get("root_cause", ""), actor=request.user
        )
    except ApplicationError as error:
        return HttpResponse(error.message, status=422, content_type="text/plain; charset=utf-8")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("feedback:complaints")
    return redirect(target)
