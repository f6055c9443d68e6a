"""What a refusal says, in one table: error code -> message, translated when it is shown.

Services raise errors that carry a code and parameters (:class:`Problem`), never finished
sentences. The API, the pages and the command line turn a problem into text here, in the language
active at that moment (the request's, the user's, or ``--language``): the English template of the
code is looked up in :data:`MESSAGES`, translated by gettext (``locale/*/django.po``) and filled
with the parameters. Nothing parses a message back into its parts.

Parameters are plain values or :class:`Named` things (a stage, a team): those show as their name
in the active language and travel to API clients as their code.

Adding a refusal: add its code and English template below (``{name}`` placeholders), raise it with
``Problem(CODE, {...})``, then run ``makemessages``/``compilemessages`` (docs/portal-and-workspace.md)
and translate the new msgid; ``tests/core/test_messages.py`` checks every code is translated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import translation
from django.utils.translation import gettext, gettext_noop

__all__ = ["MESSAGES", "Named", "Problem", "render_fields"]

MESSAGES: dict[str, str] = {
    # --- any app ----------------------------------------------------------------------------------
    "invalid_input": gettext_noop("Invalid input."),
    "conflict": gettext_noop("The request conflicts with the current state."),
    "permission_denied": gettext_noop("You may not do this."),
    "bad_choice": gettext_noop("“{value}” is not one of: {choices}."),
    # --- cases: input -----------------------------------------------------------------------------
    "case_invalid": gettext_noop("The case is not valid."),
    "changes_invalid": gettext_noop("The changes are not valid."),
    "message_invalid": gettext_noop("The message is not valid."),
    "filter_invalid": gettext_noop("The filter is not valid."),
    "title_required": gettext_noop("Enter a title."),
    "title_too_long": gettext_noop("The title has at most {max} characters."),
    "description_required": gettext_noop("Describe the request."),
    "attributes_not_object": gettext_noop("Custom attributes must be an object of name -> value."),
    "attribute_value": gettext_noop(
        "Attribute values must be text, numbers, true/false, lists or objects."
    ),
    "attribute_name": gettext_noop(
        "Attribute names are non-empty strings of at most 50 characters."
    ),
    "category_unknown": gettext_noop("Unknown category “{value}”."),
    "no_default_process": gettext_noop(
        "No published version of the default service process exists."
    ),
    "version_not_published": gettext_noop("Cases start only on a published process version."),
    "no_start_stage": gettext_noop("The process version has no start stage."),
    "request_type_unknown": gettext_noop("Unknown request type “{value}”."),
    "request_type_staff_only": gettext_noop(
        "Only service staff may open a case of request type “{value}”."
    ),
    "field_not_updatable": gettext_noop("This field cannot be changed here."),
    "status_not_settable": gettext_noop(
        "Status can be set to open, pending or resolved; cases close by entering an end stage."
    ),
    "escalation_reason_required": gettext_noop("Say why the case is escalated."),
    "body_required": gettext_noop("Write a message."),
    "customer_public_only": gettext_noop("Customers can only write public replies."),
    "assignee_not_staff": gettext_noop("Cases can only be assigned to agents or managers."),
    "agent_self_only": gettext_noop(
        "Agents can only take unassigned cases of their own team for themselves."
    ),
    "file_empty": gettext_noop("The file is empty."),
    "file_too_large": gettext_noop("The file is larger than {max} bytes."),
    "file_type": gettext_noop("Files of this type are not accepted ({detail})."),
    "file_type_unrecognised": gettext_noop(
        "Files of this type are not accepted (unrecognised content)."
    ),
    "file_mismatch": gettext_noop(
        "The file's content ({sniffed}) does not match its name ({name})."
    ),
    "attachment_message": gettext_noop(
        "Files can only be added to a message of this case that you can see."
    ),
    # --- cases: state -----------------------------------------------------------------------------
    "case_closed": gettext_noop("The case is closed."),
    "case_not_reopenable": gettext_noop("Only resolved or closed cases can be reopened."),
    "stale_version": gettext_noop(
        "The case changed meanwhile (version {actual}, expected {expected}); reload it."
    ),
    "transition_not_allowed": gettext_noop(
        "No transition leads from “{source}” to “{target}” in this process version."
    ),
    "guards_failed": gettext_noop("The case cannot leave stage “{stage}” yet."),
    "checklist_open": gettext_noop("Tick “{item}” first."),
    "field_required": gettext_noop("Required before leaving this stage."),
    "not_a_checklist_item": gettext_noop("“{item}” is not a checklist item of stage “{stage}”."),
    # --- cases: who may --------------------------------------------------------------------------
    "case_create_forbidden": gettext_noop("You may not create this case."),
    "case_view_forbidden": gettext_noop("You may not see this case."),
    "case_move_forbidden": gettext_noop("You may not move this case."),
    "case_change_forbidden": gettext_noop("You may not change this case."),
    "case_write_forbidden": gettext_noop("You may not write to this case."),
    "case_files_forbidden": gettext_noop("You may not add files to this case."),
    "case_assign_forbidden": gettext_noop("You may not assign this case."),
    "case_reopen_forbidden": gettext_noop("You may not reopen this case."),
    "case_escalate_forbidden": gettext_noop("You may not escalate this case."),
    # --- cases: the API's own checks ------------------------------------------------------------
    "no_customer_profile": gettext_noop(
        "Your account has no customer profile; ask the service desk."
    ),
    "customer_required": gettext_noop(
        "Give customer_id or customer_email of the customer the case is for."
    ),
    "no_customer_with_id": gettext_noop("No customer has this id."),
    "no_customer_with_email": gettext_noop("No customer has this email."),
    "customer_self_only": gettext_noop("Customers open cases for themselves only."),
    "no_such_stage": gettext_noop("The case's process version has no stage “{code}”."),
    "no_such_user": gettext_noop("No user is called “{username}”."),
    "no_such_message": gettext_noop("This case has no message {pk} that you can see."),
    "export_forbidden": gettext_noop("Only managers and administrators may export the event log."),
    "customer_channel": gettext_noop(
        "A customer's case comes in through the API channel; leave channel out."
    ),
    "staff_attributes": gettext_noop("Customers may not set these attributes: {names}."),
    # --- accounts ---------------------------------------------------------------------------------
    "admin_only": gettext_noop("Only an administrator may do this."),
    "role_invalid": gettext_noop("Unknown role."),
    "username_taken": gettext_noop("This username is already taken."),
    "capacity_invalid": gettext_noop("Capacity must be between 1 and 1000 open cases."),
    "token_name_required": gettext_noop("Give the token a name."),
    "token_expiry_past": gettext_noop("The expiry must lie in the future."),
    # --- processes --------------------------------------------------------------------------------
    "process_change_forbidden": gettext_noop(
        "Only service managers and administrators may change process definitions."
    ),
    "process_staff_only": gettext_noop("Process definitions are visible to service staff only."),
    "version_not_draft": gettext_noop(
        "Only a draft can be published; version {version} is {status}."
    ),
    "version_not_published_to_retire": gettext_noop(
        "Only a published version can be retired; version {version} is {status}."
    ),
    "version_immutable": gettext_noop(
        "Version {version} is {status} and cannot be changed; create a new draft from it instead."
    ),
    "process_definition_invalid": gettext_noop(
        "The process definition is invalid: {count} problem(s)."
    ),
    "process_definition_problem": gettext_noop(
        "The process definition is invalid: {count} problem(s). {problem}"
    ),
    "process_checklist_zh_count": gettext_noop(
        "Give one Chinese line per checklist item ({count}), in the same order."
    ),
    # --- processes: the YAML sections of other apps (sla.process_yaml) -------------------------
    "yaml_not_list": gettext_noop("Give a list here."),
    "yaml_not_mapping": gettext_noop("Give a mapping with the keys {keys}."),
    "yaml_unknown_key": gettext_noop("Unknown key “{key}”; allowed: {keys}."),
    "yaml_required": gettext_noop("Required."),
    "yaml_text": gettext_noop("Give a text of at most {max} characters."),
    "yaml_whole_number": gettext_noop("Give a whole number from {min} to {max}."),
    "yaml_share_range": gettext_noop("Give a share between 0 and 1, e.g. 0.05."),
    "yaml_warn_share_range": gettext_noop("Give a share above 0 and at most 1, e.g. 0.75."),
    "yaml_flag": gettext_noop("Give true or false."),
    "yaml_duplicate": gettext_noop("“{value}” is listed twice."),
    "yaml_priority": gettext_noop("Unknown priority “{value}”."),
    "yaml_channel": gettext_noop("Unknown channel “{value}”."),
    "yaml_policy_name_twice": gettext_noop("Another policy is also called “{name}”."),
    "yaml_calendar_unknown": gettext_noop("No business calendar is called “{value}”."),
    "yaml_targets_required": gettext_noop(
        "Give at least one target in business minutes: {metrics}."
    ),
    "yaml_team_unknown": gettext_noop("Unknown team “{value}”."),
    "yaml_stage_unknown": gettext_noop("The definition has no stage “{value}”."),
    "yaml_escalation_team_required": gettext_noop("Say which team the case goes to."),
    "yaml_escalation_stage_required": gettext_noop("Say which stage the case moves to."),
    "yaml_quality_stage_rework_only": gettext_noop("Only the rework rate is measured per stage."),
    "yaml_quality_twice": gettext_noop("The standard “{indicator}” is listed twice here."),
    # --- customers --------------------------------------------------------------------------------
    "email_taken": gettext_noop("An account with this email address already exists."),
    "email_invalid": gettext_noop("Enter a valid email address."),
    "name_required": gettext_noop("Enter your name."),
}


@dataclass(frozen=True)
class Named:
    """Something a message names (a stage, a team): shown by its name in the active language,
    sent to API clients by its code."""

    code: str
    name: str
    name_zh: str = ""

    @classmethod
    def of(cls, obj: Any) -> Named:
        """From a model with ``code``, ``name`` and optionally ``name_zh``."""
        return cls(
            code=str(obj.code), name=str(obj.name), name_zh=getattr(obj, "name_zh", "") or ""
        )

    def __str__(self) -> str:
        language = translation.get_language() or ""
        return self.name_zh if language.startswith("zh") and self.name_zh else self.name


def _plain(value: Any) -> Any:
    """A parameter as API clients get it: codes for named things, JSON values otherwise."""
    if isinstance(value, Named):
        return value.code
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


@dataclass(frozen=True)
class Problem:
    """One refusal: a code of :data:`MESSAGES` and the values its message shows.

    ``text`` is for errors raised with a finished sentence by code that has no code yet; it is
    shown as it is.
    """

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)
    text: str | None = None

    def __post_init__(self) -> None:
        if self.text is None and self.code not in MESSAGES:
            raise KeyError(f"unknown message code {self.code!r} (add it to core/messages.py)")

    def render(self, language: str | None = None) -> str:
        """The message in ``language`` (default: the active language)."""
        if language is not None:
            with translation.override(language):
                return self.render()
        if self.text is not None:
            return self.text
        values = {key: str(value) for key, value in self.params.items()}
        return gettext(MESSAGES[self.code]).format(**values)

    def __str__(self) -> str:
        return self.render()

    def as_json(self) -> dict[str, Any]:
        """``{"code", "params"}`` for API clients (names as codes)."""
        return {"code": self.code, "params": {k: _plain(v) for k, v in self.params.items()}}


def render_fields(fields: Mapping[str, Iterable[Problem | str]]) -> dict[str, list[str]]:
    """Field -> messages in the active language."""
    return {name: [str(p) for p in problems] for name, problems in fields.items()}
