"""The customer portal: sign up, my requests, submit a request, follow and answer it.

Customers only ever see their own cases and public messages: the selectors enforce it, so a case
or attachment of someone else is simply not found (404).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
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
from serviceloop.cases.forms import (
    CaseSubmitForm,
    MessageForm,
    SignUpConfirmForm,
    SignUpForm,
    add_application_error,
)
from serviceloop.cases.selectors import case_get_for_user, case_list
from serviceloop.cases.services import attachment_add, case_create, message_add
from serviceloop.cases.views._common import paginate, signed_in, timeline_rows
from serviceloop.core.exceptions import ApplicationError
from serviceloop.core.idempotency import JsonResult, KeyReusedError, run_once
from serviceloop.core.throttle import Rate, client_address, throttle_hit
from serviceloop.customers.signup import signup_complete, signup_read, signup_request

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


def _too_many(request: HttpRequest, retry_after: int) -> HttpResponse:
    response = render(
        request,
        "portal/signup.html",
        {"form": SignUpForm(), "too_many": True, "retry_minutes": -(-retry_after // 60)},
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Ask for an account. A valid request answers the same whether the address is new or known
    (the mail says which); requests per address and per mailbox are rate-limited."""
    if request.user.is_authenticated:
        return redirect("home")
    if request.method != "POST":
        return render(request, "portal/signup.html", {"form": SignUpForm()})
    address = client_address(request)
    wait = throttle_hit("signup-address", address, Rate.parse(settings.RATE_SIGNUPS_PER_ADDRESS))
    if wait:
        return _too_many(request, wait)
    form = SignUpForm(request.POST)
    if not form.is_valid():
        return render(request, "portal/signup.html", {"form": form}, status=422)
    data = form.cleaned_data
    # Past the per-mailbox limit nothing more is sent, and the answer stays the same.
    if not throttle_hit("signup-email", data["email"], Rate.parse(settings.RATE_SIGNUPS_PER_EMAIL)):
        signup_request(
            name=data["name"],
            email=data["email"],
            password=data["password"],
            link_for=lambda token: request.build_absolute_uri(
                reverse("portal:signup-confirm", args=[token])
            ),
        )
    return redirect("portal:signup-sent")


def signup_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/signup_sent.html")


@require_http_methods(["GET", "POST"])
def signup_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Finish a sign-up from the mailed link; the password chosen then must be entered again."""
    try:
        pending = signup_read(token)
    except ApplicationError as exc:
        return render(request, "portal/signup_confirm.html", {"invalid": exc.message}, status=404)
    form = SignUpConfirmForm(request.POST or None)
    if request.method == "POST":
        address = client_address(request)
        wait = throttle_hit(
            "signup-address", address, Rate.parse(settings.RATE_SIGNUPS_PER_ADDRESS)
        )
        if wait:
            return _too_many(request, wait)
        if form.is_valid():
            try:
                customer = signup_complete(token=token, password=form.cleaned_data["password"])
            except ApplicationError as exc:
                add_application_error(form, exc)
            else:
                login(request, customer.user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, _("Welcome! Your account is ready."))
                return redirect("portal:case-list")
        context = {"form": form, "email": pending.email}
        return render(request, "portal/signup_confirm.html", context, status=422)
    return render(request, "portal/signup_confirm.html", {"form": form, "email": pending.email})


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
                request_type=data["request_type"].code if data["request_type"] else None,
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
