"""The customer portal: sign up, my requests, submit a request, follow and answer it.

Customers only ever see their own cases and public messages: the selectors enforce it, so a case
or attachment of someone else is simply not found (404).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from serviceloop.cases.choices import Channel, MessageKind
from serviceloop.cases.forms import CaseSubmitForm, MessageForm, SignUpForm, add_application_error
from serviceloop.cases.selectors import case_get_for_user, case_list
from serviceloop.cases.services import attachment_add, case_create, message_add
from serviceloop.cases.views._common import paginate, signed_in, timeline_rows
from serviceloop.core.exceptions import ApplicationError
from serviceloop.core.idempotency import JsonResult, KeyReusedError, run_once
from serviceloop.customers.services import customer_register

View = Callable[..., HttpResponse]


def customer_required(view: View) -> View:
    """Signed-in customers only; staff are sent to their workspace."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not getattr(request.user, "is_customer", False):
            return redirect("workspace:queue")
        return view(request, *args, **kwargs)

    return wrapper


def _customer_of(request: HttpRequest) -> Any:
    return getattr(request.user, "customer", None)


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = customer_register(
                name=form.cleaned_data["name"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            login(request, customer.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome! Your account is ready."))
            return redirect("portal:case-list")
    return render(request, "portal/signup.html", {"form": form})


@customer_required
def case_list_view(request: HttpRequest) -> HttpResponse:
    page = paginate(request, case_list(user=request.user))
    return render(request, "portal/case_list.html", {"page": page, "cases": page.object_list})


@customer_required
@require_http_methods(["GET", "POST"])
def case_new(request: HttpRequest) -> HttpResponse:
    customer = _customer_of(request)
    form = CaseSubmitForm(request.POST or None, request.FILES or None)
    if customer is None:
        messages.error(request, _("Your account is not linked to a customer record yet."))
    elif request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = signed_in(request)

        def submit() -> JsonResult:
            # The case and its files stand or fall together (the form already checked the files).
            case = case_create(
                actor=user,
                customer=customer,
                title=data["title"],
                description=data["description"],
                channel=Channel.PORTAL,
                category=data["category"],
                priority=data["priority"],
            )
            for upload in data["attachments"]:
                attachment_add(case=case, uploaded_by=user, file=upload)
            url = reverse("portal:case-detail", args=[case.number])
            return JsonResult(status=303, body={"number": case.number}, location=url)

        try:
            if data["submission_key"]:
                result = run_once(request, user, data["submission_key"], submit)
            else:
                with transaction.atomic():
                    result = submit()
        except KeyReusedError:
            form = _with_new_key(form)
            messages.warning(
                request,
                _("This form was sent before. Check it and send it again for a new request."),
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(
                request,
                _("Thank you. Your request %(number)s is registered.")
                % {"number": result.body["number"]},
            )
            return redirect(result.location)
    return render(request, "portal/case_new.html", {"form": form})


def _with_new_key(form: CaseSubmitForm) -> CaseSubmitForm:
    """The same answers under a fresh submission key (files must be chosen again)."""
    data = {name: form.data.get(name) for name in form.fields}
    return CaseSubmitForm({**data, "submission_key": uuid.uuid4().hex})


def _detail_context(request: HttpRequest, case: Any, reply_form: MessageForm) -> dict[str, Any]:
    return {
        "case": case,
        "timeline": timeline_rows(case=case, user=request.user),
        "stages": list(case.process_version.stages.all()),
        "reply_form": reply_form,
    }


@customer_required
def case_detail(request: HttpRequest, number: str) -> HttpResponse:
    case = case_get_for_user(user=request.user, number=number)
    return render(request, "portal/case_detail.html", _detail_context(request, case, MessageForm()))


@customer_required
@require_POST
def case_reply(request: HttpRequest, number: str) -> HttpResponse:
    case = case_get_for_user(user=request.user, number=number)
    form = MessageForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            message_add(
                case=case,
                author=signed_in(request),
                body=form.cleaned_data["body"],
                kind=MessageKind.PUBLIC,
                channel=Channel.PORTAL,
                files=form.cleaned_data["attachments"],
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, _("Your reply was sent."))
            return redirect("portal:case-detail", number=case.number)
    context = _detail_context(request, case, form)
    return render(request, "portal/case_detail.html", context, status=422)
