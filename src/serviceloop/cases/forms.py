"""Forms of the customer portal and the agent workspace.

They check the shape of the input only (required, lengths, choices, passwords); the business rules
(who may do what, attachment limits, transition guards) live in the services, whose errors the views
copy back onto these forms.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.core.files.uploadedfile import UploadedFile
from django.utils.functional import Promise
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from serviceloop.accounts.models import Team, User
from serviceloop.cases.choices import CaseStatus, Priority
from serviceloop.cases.models import Category, RequestType
from serviceloop.core.exceptions import ApplicationError
from serviceloop.core.limits import limit, text_problem
from serviceloop.processes.choices import VersionStatus
from serviceloop.processes.models import Stage

__all__ = [
    "QUEUES",
    "AssignForm",
    "CaseSubmitForm",
    "ChecklistItemForm",
    "MessageForm",
    "QueueFilterForm",
    "SignUpConfirmForm",
    "SignUpForm",
    "StatusForm",
    "TransitionForm",
    "add_application_error",
    "localized_name",
    "stage_filter_choices",
]

QUEUES = (
    ("mine", _("Mine")),
    ("team", _("My team")),
    ("unassigned", _("Unassigned")),
    ("overdue", _("Overdue")),
    ("all", _("All")),
)


def localized_name(obj: Any) -> str:
    """``name_zh`` when the active language is Chinese and it is set, else ``name``."""
    if (get_language() or "").startswith("zh") and getattr(obj, "name_zh", None):
        return str(obj.name_zh)
    return str(obj.name)


def add_application_error(form: forms.Form, error: ApplicationError) -> None:
    """Copy a service's error onto the form, translated: per-field messages where the field
    exists (``file`` errors go to ``attachments``), the rest as form-wide errors."""
    placed = False
    for name, problems in error.fields.items():
        shown = "attachments" if name == "file" else name
        target = shown if shown in form.fields else None
        for problem in problems:
            form.add_error(target, str(problem))
            placed = True
    if not placed:
        form.add_error(None, error.message)


def _within(value: str, name: str, what: str | Promise) -> str:
    """``value`` if it is within the text limit ``name`` (core.limits), else a form error."""
    if text_problem(value, name=name):
        raise forms.ValidationError(
            _("The %(what)s has %(length)d characters; at most %(max)d are allowed."),
            params={"what": what, "length": len(value), "max": limit(name)},
        )
    return value


def stage_filter_choices() -> list[tuple[str, str]]:
    """Stage codes of the versions cases run on, in process order, named in the active language."""
    rows = (
        Stage.objects.filter(version__status__in=[VersionStatus.PUBLISHED, VersionStatus.RETIRED])
        .order_by("order", "code")
        .only("code", "name", "name_zh", "order")
    )
    seen: dict[str, str] = {}
    for stage in rows:
        seen.setdefault(stage.code, localized_name(stage))
    return list(seen.items())


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Zero or more uploaded files (Django's documented pattern for ``multiple``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        items = [item for item in data if item] if isinstance(data, list | tuple) else [data]
        files: list[UploadedFile] = []
        problems: list[forms.ValidationError] = []
        for item in items:
            if not item:
                continue
            try:
                files.append(super().clean(item, initial))
            except forms.ValidationError as exc:
                name = getattr(item, "name", "")
                problems += [forms.ValidationError(f"{name}: {m}") for m in exc.messages]
        if problems:
            raise forms.ValidationError(problems)
        most = limit("FILES_PER_REQUEST")
        if len(files) > most:
            raise forms.ValidationError(
                _("Attach at most %(max)d files at once."), params={"max": most}
            )
        # The attachment rules (size, sniffed type, name) are the service's: ask it before
        # anything is written, so a bad file refuses the whole form.
        from serviceloop.cases.services.files import check_upload

        errors = []
        for upload in files:
            try:
                check_upload(upload)
            except ApplicationError as exc:
                reason = exc.message
                errors.append(forms.ValidationError(f"{upload.name}: {reason}"))
        if errors:
            raise forms.ValidationError(errors)
        return [f for f in files if f]


class LocalizedModelChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return localized_name(obj)


class SignUpForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(label=_("Email"), max_length=254)
    password = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(render_value=False)
    )
    password_confirm = forms.CharField(
        label=_("Repeat the password"), strip=False, widget=forms.PasswordInput()
    )

    def clean_email(self) -> str:
        """The address becomes the login name, so it must also pass the username rules (an
        address such as ``=1+1@example.net`` is a valid email but not a valid login)."""
        email = str(self.cleaned_data["email"]).strip().lower()
        most = User._meta.get_field("username").max_length or 150
        try:
            User.username_validator(email)
        except forms.ValidationError:
            raise forms.ValidationError(
                _(
                    "This address cannot be used to sign in: use one made of letters, digits "
                    "and @ . + - _ only."
                )
            ) from None
        if len(email) > most:
            raise forms.ValidationError(
                _("Use an address of at most %(max)d characters."), params={"max": most}
            )
        return email

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        password, confirm = data.get("password"), data.get("password_confirm")
        if password and confirm and password != confirm:
            self.add_error("password_confirm", _("The two passwords differ."))
        elif password:
            probe = User(username=data.get("email", ""), email=data.get("email", ""))
            probe.first_name = data.get("name", "")
            try:
                password_validation.validate_password(password, probe)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data


class SignUpConfirmForm(forms.Form):
    """Finishing a sign-up from the mailed link: the password chosen when asking for it."""

    password = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(render_value=False)
    )


class CaseSubmitForm(forms.Form):
    title = forms.CharField(label=_("Subject"), max_length=200)
    description = forms.CharField(
        label=_("Describe your request"), widget=forms.Textarea(attrs={"rows": 8})
    )
    category = LocalizedModelChoiceField(
        label=_("Category"),
        queryset=Category.objects.order_by("name"),
        required=False,
        empty_label=_("— not sure —"),
    )
    priority = forms.ChoiceField(
        label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL
    )
    # Picks the process the request runs on; customers see the types that are not staff only.
    request_type = LocalizedModelChoiceField(
        label=_("Type of request"),
        queryset=RequestType.objects.filter(is_active=True, staff_only=False),
        to_field_name="code",
        required=False,
        empty_label=_("— not sure —"),
    )
    attachments = MultipleFileField(label=_("Attachments"))
    # A new key each time the form is shown: the same form sent twice (a double click, a retry
    # after a lost answer) opens one case. Optional, so a page cached before it still works.
    submission_key = forms.CharField(
        widget=forms.HiddenInput, initial=lambda: uuid.uuid4().hex, max_length=64, required=False
    )

    def clean_title(self) -> str:
        return _within(str(self.cleaned_data["title"]), "CASE_TITLE_CHARS", _("subject"))

    def clean_description(self) -> str:
        return _within(str(self.cleaned_data["description"]), "CASE_DESCRIPTION_CHARS", _("text"))


class MessageForm(forms.Form):
    """A public reply or (staff only) an internal note, with attachments."""

    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 5}))
    attachments = MultipleFileField(label=_("Attachments"))

    def clean_body(self) -> str:
        body = str(self.cleaned_data["body"]).strip()
        if not body:
            raise forms.ValidationError(_("Write a message."))
        return _within(body, "MESSAGE_BODY_CHARS", _("message"))


class QueueFilterForm(forms.Form):
    """The query string of the queue page; unknown or bad values fall back to no filter."""

    queue = forms.ChoiceField(choices=QUEUES, required=False)
    q = forms.CharField(label=_("Search"), max_length=100, required=False)
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("Any status")), *CaseStatus.choices], required=False
    )
    priority = forms.ChoiceField(
        label=_("Priority"), choices=[("", _("Any priority")), *Priority.choices], required=False
    )
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.order_by("name"), required=False
    )
    stage = forms.ChoiceField(label=_("Stage"), required=False)
    category = LocalizedModelChoiceField(
        label=_("Category"), queryset=Category.objects.order_by("name"), required=False
    )

    def __init__(self, *args: Any, stage_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stage_field = self.fields["stage"]
        assert isinstance(stage_field, forms.ChoiceField)
        stage_field.choices = [("", _("Any stage")), *stage_choices]
        team_field = self.fields["team"]
        assert isinstance(team_field, forms.ModelChoiceField)
        team_field.empty_label = _("Any team")
        category_field = self.fields["category"]
        assert isinstance(category_field, forms.ModelChoiceField)
        category_field.empty_label = _("Any category")


class TransitionForm(forms.Form):
    to_stage = forms.IntegerField(min_value=1)
    expected_version = forms.IntegerField(min_value=1, required=False)


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (CaseStatus.OPEN, CaseStatus.OPEN.label),
            (CaseStatus.PENDING, CaseStatus.PENDING.label),
            (CaseStatus.RESOLVED, CaseStatus.RESOLVED.label),
            ("reopen", _("Reopen")),
        ]
    )
    expected_version = forms.IntegerField(min_value=1, required=False)


class ChecklistItemForm(forms.Form):
    item = forms.CharField(max_length=500)
    done = forms.BooleanField(required=False)


def _person_label(user: Any) -> str:
    from serviceloop.cases.templatetags.case_ui import person

    return person(user)


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("Assignee"),
        queryset=User.objects.none(),
        empty_label=_("— choose an agent —"),
    )

    def __init__(self, *args: Any, assignees: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = assignees
        field.label_from_instance = _person_label  # type: ignore[method-assign,assignment]
