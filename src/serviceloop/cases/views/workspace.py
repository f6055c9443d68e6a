"""The agent workspace: queues with filters and search, and the case page where work happens.

Every change goes through a service; the views only read the form, call it, and turn a refusal
(unmet checklist items, missing fields, a concurrent change) into a message on the page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from serviceloop.accounts.choices import STAFF_ROLES
from serviceloop.accounts.models import User
from serviceloop.cases.choices import CaseStatus, Channel, MessageKind, Priority
from serviceloop.cases.exceptions import GuardFailedError, StaleVersionError
from serviceloop.cases.forms import (
    QUEUES,
    AssignForm,
    ChecklistItemForm,
    MessageForm,
    QueueFilterForm,
    StatusForm,
    TransitionForm,
    add_application_error,
    stage_filter_choices,
)
from serviceloop.cases.models import Case
from serviceloop.cases.selectors import (
    case_allowed_transitions,
    case_get_for_user,
    case_guard_problems,
    case_list,
)
from serviceloop.cases.services import (
    case_assign,
    case_check_item,
    case_reopen,
    case_set_status,
    case_transition,
    message_add,
)
from serviceloop.cases.templatetags.case_ui import person
from serviceloop.cases.views._common import (
    field_label,
    is_htmx,
    signed_in,
    timeline_rows,
)
from serviceloop.cases.views.queue_order import QUEUE_SORTS, mark_unread, queue_page
from serviceloop.cases.views.reassign import reassign_candidates, reassign_label
from serviceloop.core.exceptions import ApplicationError
from serviceloop.processes.models import Stage
from serviceloop.savedviews.models import SavedView

View = Callable[..., HttpResponse]
QUEUE_ORDER = ("-created_at", "-id")


def staff_required(view: View) -> View:
    """Agents, managers and admins; customers get 403."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not getattr(request.user, "is_staff_member", False):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _guard_lines(problems: Mapping[str, object], case: Case) -> list[str]:
    """Unmet guards of the current stage as sentences in the user's language."""
    lines: list[str] = []
    done = set(case.checklist_done or [])
    for name in problems:
        if name == "checklist":
            lines += [
                _("Tick the checklist item “%(item)s”.")
                % {"item": case.stage.checklist_label(item)}
                for item in case.stage.checklist or []
                if item not in done
            ]
        else:
            lines.append(_("Fill in “%(field)s”.") % {"field": field_label(name)})
    return lines


def _error_text(exc: ApplicationError, case: Case) -> str:
    """The refusal in the user's language, with its specific reasons."""
    if isinstance(exc, GuardFailedError):
        fresh = Case.objects.select_related("stage").get(pk=case.pk)
        lines = _guard_lines(exc.fields, fresh)
        return " ".join(
            [
                _("Before the case can leave “%(stage)s”:") % {"stage": fresh.stage.display_name},
                *lines,
            ]
        )
    if isinstance(exc, StaleVersionError):
        return _(
            "Someone else changed this case meanwhile. The page shows the latest state; try again."
        )
    reasons = [exc.message]
    for problems in exc.fields.values():
        reasons += [str(problem) for problem in problems]
    return " ".join(dict.fromkeys(reasons))


@staff_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    stage_choices = stage_filter_choices()
    form = QueueFilterForm(request.GET or None, stage_choices=stage_choices)
    filters: dict[str, Any] = {}
    if form.is_bound:
        form.is_valid()
        # Keep the valid filters, drop broken ones: a stale bookmark still shows a queue.
        filters = {k: v for k, v in form.cleaned_data.items() if k not in form.errors}
    # Agents start on their own cases; managers, who rarely hold cases, on every team's open ones.
    default_queue = "team" if getattr(request.user, "is_manager", False) else "mine"
    queue_name = filters.get("queue") or default_queue
    cases = case_list(
        user=request.user,
        queue=None if queue_name == "all" else queue_name,
        status=filters.get("status") or None,
        priority=filters.get("priority") or None,
        team=filters.get("team"),
        stage=filters.get("stage") or None,
        search=(filters.get("q") or "").strip() or None,
    )
    if filters.get("category") is not None:
        cases = cases.filter(category=filters["category"])
    sort = request.GET.get("sort", "")
    if sort not in QUEUE_SORTS:
        sort = "due" if queue_name == "overdue" else "created"  # most overdue first
    cursor = request.GET.get("cursor") or None
    items, next_cursor, cursor = queue_page(cases, sort=sort, cursor=cursor)
    mark_unread(items)
    query = request.GET.copy()
    query.pop("cursor", None)
    unsorted = query.copy()
    unsorted.pop("sort", None)
    context = {
        "form": form,
        "queue_name": queue_name,
        "queues": QUEUES,
        "cases": items,
        "next_cursor": next_cursor,
        "is_first_page": cursor is None,
        "query": query.urlencode(),
        "unsorted_query": unsorted.urlencode(),
        "sort": sort,
        "priorities": Priority.choices,
        "stage_choices": stage_choices,
        "bulk_assignees": _assignees() if getattr(request.user, "is_manager", False) else None,
        "saved_views": SavedView.objects.filter(user=request.user.pk),
    }
    template = (
        "workspace/partials/queue_results.html" if is_htmx(request) else "workspace/queue.html"
    )
    response = render(request, template, context)
    # Same URL, two bodies: caches must not hand the fragment to a plain page load.
    patch_vary_headers(response, ("HX-Request", "HX-History-Restore-Request"))
    return response


def _assignees() -> Any:
    """People a manager can hand a case to: active agents and managers."""
    return User.objects.filter(is_active=True, role__in=STAFF_ROLES).order_by(
        "first_name", "last_name", "username"
    )


def _checklist(case: Case) -> list[dict[str, Any]]:
    done = set(case.checklist_done or [])
    return [
        {"item": item, "label": case.stage.checklist_label(item), "done": item in done}
        for item in case.stage.checklist or []
    ]


def _case_page(request: HttpRequest, case: Case, **forms: Any) -> dict[str, Any]:
    user = request.user
    can_reassign = bool(getattr(user, "is_manager", False))
    context: dict[str, Any] = {
        "case": case,
        "stage": case.stage,
        "checklist": _checklist(case),
        "transitions": case_allowed_transitions(case),
        "guard_lines": _guard_lines(case_guard_problems(case), case),
        "required_labels": [field_label(name) for name in case.stage.required_fields or []],
        "timeline": timeline_rows(case=case, user=user),
        "reply_form": forms.get("reply_form") or MessageForm(prefix="reply"),
        "note_form": forms.get("note_form") or MessageForm(prefix="note"),
        "can_reassign": can_reassign,
    }
    if can_reassign:
        form = forms.get("assign_form") or AssignForm(
            assignees=reassign_candidates(case), initial={"assignee": case.assignee_id}
        )
        field = form.fields["assignee"]
        field.label_from_instance = reassign_label  # type: ignore[union-attr]
        context["assign_form"] = form
    return context


def _get_case(request: HttpRequest, number: str) -> Case:
    return case_get_for_user(user=request.user, number=number)


@staff_required
@require_GET
def case_detail(request: HttpRequest, number: str) -> HttpResponse:
    case = _get_case(request, number)
    return render(request, "workspace/case_detail.html", _case_page(request, case))


@staff_required
@require_POST
def case_transition_view(request: HttpRequest, number: str) -> HttpResponse:
    case = _get_case(request, number)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a stage to move the case to."))
        return redirect("workspace:case-detail", number=case.number)
    target = get_object_or_404(
        Stage, pk=form.cleaned_data["to_stage"], version_id=case.process_version_id
    )
    try:
        case_transition(
            case=case,
            to_stage=target,
            actor=signed_in(request),
            expected_version=form.cleaned_data["expected_version"],
        )
    except ApplicationError as exc:
        messages.error(
            request,
            _("The case cannot move to “%(stage)s”. %(reason)s")
            % {"stage": target.display_name, "reason": _error_text(exc, case)},
        )
    else:
        messages.success(request, _("Moved to “%(stage)s”.") % {"stage": target.display_name})
    return redirect("workspace:case-detail", number=case.number)


@staff_required
@require_POST
def case_checklist(request: HttpRequest, number: str) -> HttpResponse:
    case = _get_case(request, number)
    form = ChecklistItemForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            case = case_check_item(
                case=case,
                item=form.cleaned_data["item"],
                checked=form.cleaned_data["done"],
                actor=signed_in(request),
            )
        except ApplicationError as exc:
            error = _error_text(exc, case)
    else:
        error = _("Pick a checklist item.")
    if is_htmx(request):
        context = {
            "case": case,
            "checklist": _checklist(case),
            "checklist_error": error,
            "transitions": case_allowed_transitions(case),
            "guard_lines": _guard_lines(case_guard_problems(case), case),
            "oob": True,  # also refresh the transitions: new case version, fewer unmet guards
            "timeline": timeline_rows(case=case, user=request.user),  # and show the tick
        }
        return render(request, "workspace/partials/checklist.html", context)
    if error:
        messages.error(request, error)
    return redirect("workspace:case-detail", number=case.number)


@staff_required
@require_POST
def case_message(request: HttpRequest, number: str, kind: str) -> HttpResponse:
    case = _get_case(request, number)
    internal = kind == "note"
    prefix = "note" if internal else "reply"
    form = MessageForm(request.POST, request.FILES, prefix=prefix)
    if form.is_valid():
        try:
            message_add(
                case=case,
                author=signed_in(request),
                body=form.cleaned_data["body"],
                kind=MessageKind.INTERNAL if internal else MessageKind.PUBLIC,
                channel=Channel.AGENT,
                files=form.cleaned_data["attachments"],
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            if internal:
                messages.success(request, _("Internal note added."))
            else:
                messages.success(request, _("Reply sent to the customer."))
            return redirect("workspace:case-detail", number=case.number)
    context = _case_page(request, case, **{f"{prefix}_form": form})
    return render(request, "workspace/case_detail.html", context, status=422)


@staff_required
@require_POST
def case_assign_view(request: HttpRequest, number: str) -> HttpResponse:
    case = _get_case(request, number)
    user = signed_in(request)
    assignee: Any
    if request.POST.get("assignee") == "me":
        assignee = user
    else:
        if not getattr(user, "is_manager", False):
            raise PermissionDenied
        form = AssignForm(request.POST, assignees=_assignees())
        if not form.is_valid():
            messages.error(request, _("Choose an agent to assign the case to."))
            return redirect("workspace:case-detail", number=case.number)
        assignee = form.cleaned_data["assignee"]
    try:
        case_assign(case=case, assignee=assignee, actor=user)
    except ApplicationError as exc:
        messages.error(request, _error_text(exc, case))
    else:
        name = person(assignee)
        messages.success(request, _("Assigned to %(name)s.") % {"name": name})
    return redirect("workspace:case-detail", number=case.number)


@staff_required
@require_POST
def case_status_view(request: HttpRequest, number: str) -> HttpResponse:
    """Open / pending (waiting for the customer) / resolved, or reopen a resolved or closed case."""
    case = _get_case(request, number)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a status."))
        return redirect("workspace:case-detail", number=case.number)
    status = form.cleaned_data["status"]
    try:
        if status == "reopen":
            case = case_reopen(
                case=case,
                actor=signed_in(request),
                expected_version=form.cleaned_data["expected_version"],
            )
        else:
            case = case_set_status(
                case=case,
                actor=signed_in(request),
                status=status,
                expected_version=form.cleaned_data["expected_version"],
            )
    except ApplicationError as exc:
        messages.error(request, _error_text(exc, case))
    else:
        messages.success(
            request, _("Status: %(status)s.") % {"status": CaseStatus(case.status).label}
        )
    return redirect("workspace:case-detail", number=case.number)
