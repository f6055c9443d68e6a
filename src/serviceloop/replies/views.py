"""Standard-reply pages: managers keep the list; agents pick one from a case's reply box."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from serviceloop.accounts.decorators import role_required
from serviceloop.accounts.models import User
from serviceloop.accounts.permissions import is_manager, is_staff_member
from serviceloop.cases.forms import add_application_error
from serviceloop.cases.models import Case
from serviceloop.cases.selectors import case_get_for_user
from serviceloop.core.exceptions import ApplicationError
from serviceloop.replies.forms import ReplyApplyForm, ReplyTemplateForm
from serviceloop.replies.models import ReplyTemplate
from serviceloop.replies.selectors import reply_templates_for
from serviceloop.replies.services import (
    PLACEHOLDERS,
    ReplyTemplateFields,
    reply_template_apply,
    reply_template_delete,
    reply_template_render,
    reply_template_save,
)

staff_only = role_required(is_staff_member)
managers_only = role_required(is_manager)


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _list_page(request: HttpRequest, form: ReplyTemplateForm, status: int = 200) -> HttpResponse:
    context = {
        "templates": reply_templates_for(request.user, active_only=False),
        "form": form,
        "can_edit": is_manager(request.user),
        "placeholders": PLACEHOLDERS,
    }
    return render(request, "replies/template_list.html", context, status=status)


@staff_only
@require_GET
def reply_template_list_view(request: HttpRequest) -> HttpResponse:
    return _list_page(request, ReplyTemplateForm())


def _save(request: HttpRequest, form: ReplyTemplateForm, row: ReplyTemplate | None) -> bool:
    if not form.is_valid():
        return False
    try:
        reply_template_save(
            actor=_actor(request), fields=ReplyTemplateFields(**form.cleaned_data), template=row
        )
    except ApplicationError as exc:
        add_application_error(form, exc)
        return False
    return True


@managers_only
@require_POST
def reply_template_create_view(request: HttpRequest) -> HttpResponse:
    form = ReplyTemplateForm(request.POST)
    if _save(request, form, None):
        messages.success(request, _("Standard reply saved."))
        return redirect("replies:list")
    return _list_page(request, form, status=422)


def _template(pk: int) -> ReplyTemplate:
    row = ReplyTemplate.objects.filter(pk=pk).first()
    if row is None:
        raise Http404
    return row


@managers_only
@require_http_methods(["GET", "POST"])
def reply_template_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    row = _template(pk)
    if request.method == "POST":
        form = ReplyTemplateForm(request.POST)
        if _save(request, form, row):
            messages.success(request, _("Standard reply saved."))
            return redirect("replies:list")
        status = 422
    else:
        form, status = ReplyTemplateForm(initial=ReplyTemplateForm.initial_from(row)), 200
    context = {"row": row, "form": form, "placeholders": PLACEHOLDERS}
    return render(request, "replies/template_edit.html", context, status=status)


@managers_only
@require_POST
def reply_template_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    reply_template_delete(actor=_actor(request), template=_template(pk))
    messages.success(request, _("Standard reply deleted."))
    return redirect("replies:list")


def _case(request: HttpRequest, number: str) -> Case:
    return case_get_for_user(user=request.user, number=number)


@staff_only
@require_GET
def reply_picker_view(request: HttpRequest, number: str) -> HttpResponse:
    case = _case(request, number)
    context = {"case": case, "templates": reply_templates_for(request.user)}
    return render(request, "replies/partials/picker.html", context)


@staff_only
@require_GET
def reply_preview_view(request: HttpRequest, number: str) -> HttpResponse:
    """The chosen reply filled in for this case, editable before it is sent."""
    case = _case(request, number)
    raw = request.GET.get("template", "")
    chosen = (
        reply_templates_for(request.user).filter(pk=int(raw)).first() if raw.isdigit() else None
    )
    context: dict[str, object] = {"case": case, "chosen": chosen}
    if chosen is not None:
        body = reply_template_render(template=chosen, case=case, language=get_language() or "en")
        context["form"] = ReplyApplyForm(initial={"template": chosen.pk, "body": body})
    template = (
        "replies/partials/preview.html"
        if request.headers.get("HX-Request")
        else "replies/preview_page.html"
    )
    return render(request, template, context)


@staff_only
@require_POST
def reply_apply_view(request: HttpRequest, number: str) -> HttpResponse:
    case = _case(request, number)
    form = ReplyApplyForm(request.POST)
    chosen = None
    if form.is_valid():
        chosen = reply_templates_for(request.user).filter(pk=form.cleaned_data["template"]).first()
    if chosen is None:
        messages.error(request, _("Choose a standard reply."))
        return redirect("workspace:case-detail", number=case.number)
    try:
        result = reply_template_apply(
            template=chosen, case=case, actor=_actor(request), body=form.cleaned_data["body"]
        )
    except ApplicationError as exc:
        add_application_error(form, exc)
        context = {"case": case, "chosen": chosen, "form": form}
        return render(request, "replies/preview_page.html", context, status=422)
    done = [_("Reply sent to the customer.")]
    if result.ticked:
        done.append(_("Ticked: %(items)s.") % {"items": ", ".join(result.ticked)})
    if chosen.set_status:
        done.append(_("Status: %(status)s.") % {"status": result.case.get_status_display()})
    messages.success(request, " ".join(done))
    if result.not_on_checklist:
        messages.warning(
            request,
            _("Not on this stage's checklist, so not ticked: %(items)s.")
            % {"items": ", ".join(result.not_on_checklist)},
        )
    return redirect("workspace:case-detail", number=case.number)
