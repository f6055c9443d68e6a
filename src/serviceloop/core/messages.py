"""What a refusal says, in one table: error code -> message, translated when it is shown.

Services raise errors that carry a code and parameters (:class:`Problem`), never finished
sentences. The API, the pages and the command line turn a problem into text here, in the language
active at that moment (the request's, the user's, or ``--language``): the English template of the
code is looked up in :data:`MESSAGES`, translated by gettext (``locale/*/django.po``) and filled
with the parameters. Nothing parses a message back into its parts.

Parameters are plain values, :class:`Named` things (a stage, a team, an indicator): those show
as their name in the active language and travel to API clients as their code, lists of either
(shown joined), or a quoted :class:`Problem` (shown as its sentence, sent as its code and params).

Adding a refusal: add its code and English template below (``{name}`` placeholders), raise it with
``Problem(CODE, {...})``, then run ``makemessages``/``compilemessages`` (docs/portal-and-workspace.md)
and translate the new msgid; ``tests/core/test_messages.py`` checks every code is translated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_noop

__all__ = ["MESSAGES", "Named", "Problem", "render_fields", "validation_error"]

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
    "search_no_words": gettext_noop(
        "Type a word, a case number or an e-mail address to search for."
    ),
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
    "process_unpublished": gettext_noop(
        "This process has no published version; publish one first."
    ),
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
    "process_text_too_long": gettext_noop(
        "This text has {length} characters; at most {max} are allowed."
    ),
    "process_item_empty": gettext_noop("Leave no item of the list empty."),
    "process_item_twice": gettext_noop("“{item}” is listed twice."),
    "process_stage_key_taken": gettext_noop(
        "“{value}” already names stage “{stage}”: codes and names must identify one stage."
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
    "signup_link_invalid": gettext_noop(
        "This sign-up link is invalid or has expired. Please sign up again."
    ),
    "signup_password_mismatch": gettext_noop("This is not the password chosen when signing up."),
    # --- the API's shared checks (sign-in, request body, idempotency keys, list pages) -----------
    "unauthenticated": gettext_noop(
        "Authentication required: sign in, or send 'Authorization: Bearer <token>'."
    ),
    "token_sign_in_throttled": gettext_noop(
        "Too many failed token sign-ins from your address; retry later."
    ),
    "csrf_failed": gettext_noop("CSRF check failed: send the X-CSRFToken header with the session."),
    "not_found": gettext_noop("Not found."),
    "body_unparsable": gettext_noop(
        "The request body could not be read: send valid JSON (multipart for files)."
    ),
    "body_too_large": gettext_noop(
        "The request has {size} bytes; at most {most} are allowed ({hint})."
    ),
    "body_too_large_unsized": gettext_noop(
        "The request has more than {most} bytes, the most allowed ({hint})."
    ),
    "too_many_files": gettext_noop("At most {most} files per request ({hint})."),
    "too_many_fields": gettext_noop("Too many form fields."),
    "idempotency_key_chars": gettext_noop(
        "Use visible ASCII characters only (letters, digits, punctuation), e.g. a UUID."
    ),
    "idempotency_key_reused": gettext_noop(
        "The {header} “{key}” was already used for a different request ({method} {path}); "
        "send a new key for a new request."
    ),
    "idempotency_in_progress": gettext_noop(
        "A request with {header} “{key}” was in progress; retry it."
    ),
    "cursor_invalid": gettext_noop(
        "This cursor is not valid for this list; start again without a cursor."
    ),
    "limit_range": gettext_noop("Use a limit between 1 and {max}."),
    "period_reversed": gettext_noop("The period ends before it starts."),
    "form_invalid": gettext_noop("Please correct the errors below."),
    # --- feedback ---------------------------------------------------------------------------------
    "survey_already_invited": gettext_noop("This case's customer has already been invited."),
    "survey_link_invalid": gettext_noop("This survey link is not valid."),
    "survey_answered": gettext_noop("This survey has already been answered. Thank you!"),
    "survey_link_expired": gettext_noop("This survey link has expired."),
    "survey_other_customer": gettext_noop("This survey belongs to another customer's request."),
    "survey_customer_only": gettext_noop("Only the customer answers the survey of a request."),
    "answer_required": gettext_noop("Please answer this question."),
    "answer_scale": gettext_noop("Choose a number from {low} to {high}."),
    "answer_choice": gettext_noop("Choose one of the options."),
    "answer_too_long": gettext_noop("Write at most {max} characters."),
    "answers_invalid": gettext_noop("Some answers are missing or not valid."),
    "complaint_staff_only": gettext_noop("Only service staff record complaints."),
    "root_cause_unknown": gettext_noop("Unknown root cause."),
    "complaint_about_itself": gettext_noop("A complaint cannot be about itself."),
    "complaint_exists": gettext_noop("This case is already recorded as a complaint."),
    # --- evaluation -------------------------------------------------------------------------------
    "evaluation_managers_only": gettext_noop(
        "Only service managers can change or run evaluations."
    ),
    "evaluation_view_forbidden": gettext_noop(
        "Evaluations are visible to service managers and administrators only."
    ),
    "weights_incomplete": gettext_noop("Give a weight to each of: {indicators}."),
    "weight_invalid": gettext_noop("A weight is a number of 0 or more."),
    "weights_invalid": gettext_noop("Some weights are not valid."),
    "weights_all_zero": gettext_noop("At least one weight must be above 0."),
    "group_too_small": gettext_noop("A group needs at least two indicators to compare."),
    "judgement_off": gettext_noop(
        "{row} vs {column}: judged {given}, the other judgements imply {implied} "
        "(off by x{factor})."
    ),
    "judgements_inconsistent": gettext_noop(
        "The judgements are inconsistent (consistency ratio {ratio}, at most 0.10 is accepted). "
        "Revise first: {worst}"
    ),
    "judgement_value": gettext_noop(
        "Judge “{row}” against “{column}” with a number above 0, not {value}."
    ),
    "judgement_missing": gettext_noop(
        "Judge “{row}” against “{column}” too: every pair needs one judgement."
    ),
    "group_too_large": gettext_noop(
        "At most {max} indicators can be compared in one group; split the group."
    ),
    "judgement_unknown": gettext_noop("“{value}” is not an indicator of this group."),
    "judgement_self": gettext_noop("“{row}” cannot be compared with itself."),
    "judgement_twice": gettext_noop(
        "“{row}” and “{column}” are compared twice; keep one judgement."
    ),
    "ahp_missing": gettext_noop("No consistent comparison matrix has been entered for “{group}”."),
    "ahp_missing_top": gettext_noop(
        "No consistent comparison matrix has been entered for the first level."
    ),
    "manual_leaf_only": gettext_noop(
        "Only leaf indicators with a manual source take entered values."
    ),
    "unit_kind_unknown": gettext_noop("Unknown unit kind."),
    "unit_key_required": gettext_noop("Name the unit."),
    "number_required": gettext_noop("Enter a number."),
    "method_unknown": gettext_noop("Unknown method."),
    "weighting_unknown": gettext_noop("Unknown weighting."),
    "alpha_range": gettext_noop("The share of subjective weights lies between 0 and 1."),
    "tiers_range": gettext_noop("Choose between {low} and {high} tiers."),
    "evaluation_settings_invalid": gettext_noop("The evaluation settings are not valid."),
    "system_empty": gettext_noop("The indicator system has no indicators."),
    "too_few_units": gettext_noop(
        "At least {min} units with cases in the period are needed; found {found}."
    ),
    "nothing_to_evaluate": gettext_noop(
        "No indicator has a value for every unit in this period: nothing to evaluate."
    ),
    "weights_left_zero": gettext_noop("The indicators left all have weight 0."),
    "entropy_no_variation": gettext_noop(
        "No indicator varies between the units: entropy weights cannot be derived."
    ),
    "evaluation_demo_exists": gettext_noop("The demo evaluations exist already."),
    "qa_managers_only": gettext_noop("Only service managers review quality."),
    "qa_sample_size": gettext_noop("Sample between 1 and {max} cases per agent."),
    "qa_reviewers": gettext_noop("Choose reviewers among the managers."),
    "qa_reviewer_only": gettext_noop("Only the assigned reviewer submits this review."),
    "qa_review_submitted": gettext_noop("This review has already been submitted."),
    "qa_no_criteria": gettext_noop("There are no active quality criteria."),
    "qa_score_range": gettext_noop("Score from 1 to 5."),
    "qa_scores_invalid": gettext_noop("Some scores are missing or not valid."),
    # --- replies (standard replies) ---------------------------------------------------------------
    "reply_placeholder_unknown": gettext_noop(
        "Unknown placeholder {{{name}}}; use one of: {known}."
    ),
    "reply_status_invalid": gettext_noop("Choose open, pending or resolved."),
    "reply_name_required": gettext_noop("Give the reply a name."),
    "reply_body_required": gettext_noop("Write the English text."),
    "reply_not_saved": gettext_noop("The standard reply was not saved."),
    "reply_managers_only": gettext_noop("Only managers write standard replies."),
    "reply_not_yours": gettext_noop("This standard reply is not available to you."),
    # --- sla ----------------------------------------------------------------------------------------
    "quality_managers_only": gettext_noop("Only service managers see the quality standards."),
    "charts_forbidden": gettext_noop("The control charts are for service managers and team leads."),
    # --- sla: what model validation says (calendars, policies, standards) ----------------------
    "time_zone_unknown": gettext_noop("Unknown time zone “{zone}”."),
    "country_unknown": gettext_noop("“{code}” is not a country the holidays library knows."),
    "hours_time_format": gettext_noop("“{value}” is not a time like 09:00."),
    "hours_time_range": gettext_noop("“{value}” is not a time between 00:00 and 24:00."),
    "hours_range_format": gettext_noop("“{value}” is not a range like 09:00-18:00."),
    "hours_range_order": gettext_noop("The range {value} must end after it starts."),
    "hours_overlap": gettext_noop("The ranges of “{value}” overlap or touch; merge them."),
    "calendar_no_hours": gettext_noop("A calendar needs working hours on at least one weekday."),
    "region_needs_country": gettext_noop("A region needs a country."),
    "list_of_choices": gettext_noop("A list of: {allowed}."),
    "list_of_texts": gettext_noop("A list of texts."),
    "escalation_team_required": gettext_noop("Say which team the case goes to."),
    "escalation_stage_required": gettext_noop("Say which stage the case moves to."),
    "per_stage_rework_only": gettext_noop("Only the rework rate is measured per stage."),
    "alert_stage_required": gettext_noop("Say which stage's backlog is watched."),
    # --- insights: what-if runs ------------------------------------------------------------------
    "whatif_no_run": gettext_noop("No such what-if run."),
    "whatif_log_empty": gettext_noop(
        "The event log is empty: there is no process to simulate yet."
    ),
    "whatif_log_too_small": gettext_noop(
        "The event log is too small to simulate: {cases} case(s) with a finished stage, at "
        "least {needed} needed."
    ),
    "whatif_log_too_short": gettext_noop(
        "The event log is too short to simulate: its cases started within {hours} hours, at "
        "least one day needed."
    ),
    "whatif_model_failed": gettext_noop(
        "The event log cannot give a simulation model; the server log says why."
    ),
    "whatif_pick_change": gettext_noop("Pick at least one change."),
    "whatif_hours_invalid": gettext_noop(
        "“{value}” are not working hours such as Mon-Fri 08-18 (days Mon to Sun, hours 00 to 24)."
    ),
    "whatif_change_refused": gettext_noop(
        "The simulation cannot make these changes; the server log says why."
    ),
    # --- demo -------------------------------------------------------------------------------------
    "demo_interrupted": gettext_noop(
        "An earlier demo load was interrupted: the database holds part of the demo. Delete "
        "{database} (or drop the PostgreSQL database) and run `serviceloop demo` again."
    ),
    "demo_admin_taken": gettext_noop(
        "A user “{username}” exists that the demo did not create; the demo loads into a database "
        "without it (set SERVICELOOP_DATA_DIR or DATABASE_URL to a new one)."
    ),
    "demo_specialists_differ": gettext_noop(
        "The demo in {database} is loaded with {have} specialists, not {wanted}; load the demo "
        "with more specialists into a new database (set SERVICELOOP_DATA_DIR or DATABASE_URL to "
        "a new one)."
    ),
    "demo_sizes_invalid": gettext_noop("days, per_weekday and customers must be positive."),
    "demo_extra_specialists_range": gettext_noop(
        "extra_specialists must be between 0 and {max}, not {value}."
    ),
    "demo_stages_missing": gettext_noop("The default process has no stages named {stages}."),
    "demo_edge_missing": gettext_noop("The default process has no edge {source} -> {target}."),
    "demo_teams_missing": gettext_noop("The default process did not create the teams {teams}."),
    "demo_no_log": gettext_noop("The demo has no event log to measure."),
    "demo_too_few_closed": gettext_noop("Too few closed cases in the window to measure the demo."),
    "demo_no_stage": gettext_noop("The live log has no {stage} to staff."),
    # --- saved views ------------------------------------------------------------------------------
    "view_name_required": gettext_noop("Give the view a name."),
    "view_name_too_long": gettext_noop("Use at most {max} characters."),
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
    """A parameter as API clients get it: codes for named things, ``{"code", "params"}`` for a
    problem quoted in another, JSON values otherwise."""
    if isinstance(value, Named):
        return value.code
    if isinstance(value, Problem):
        return value.as_json()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


@dataclass(frozen=True)
class Problem:
    """One refusal: a code of :data:`MESSAGES` and the values its message shows.

    ``text`` is for a sentence Django already wrote (its validators' messages, in the active
    language); it is shown as it is. Project code raises codes (tests/core/test_coded_errors.py).
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
        values = {key: _shown(value) for key, value in self.params.items()}
        return gettext(MESSAGES[self.code]).format(**values)

    def __str__(self) -> str:
        return self.render()

    def as_json(self) -> dict[str, Any]:
        """``{"code", "params"}`` for API clients (names as codes)."""
        return {"code": self.code, "params": {k: _plain(v) for k, v in self.params.items()}}


def _shown(value: Any) -> str:
    """A parameter in a message: lists joined (quoted problems, being sentences, by "; ")."""
    if isinstance(value, list | tuple):
        sentences = any(isinstance(v, Problem) for v in value)
        return ("; " if sentences else ", ").join(_shown(v) for v in value)
    return str(value)


def render_fields(fields: Mapping[str, Iterable[Problem | str]]) -> dict[str, list[str]]:
    """Field -> messages in the active language."""
    return {name: [str(p) for p in problems] for name, problems in fields.items()}


def validation_error(code: str, params: Mapping[str, Any] | None = None) -> ValidationError:
    """A Django ``ValidationError`` (model ``clean``, field validators) saying the table's message
    for ``code``, rendered when a form or the admin shows it, in that reader's language."""
    problem = Problem(code, dict(params or {}))
    return ValidationError(lazy(problem.render, str)(), code=code)
