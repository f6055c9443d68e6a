"""Domain errors of the cases app and the codes they carry (tests import the constants).

ConflictError (409)
 ├── TransitionNotAllowedError   no transition of the case's process version leads there
 └── StaleVersionError           the case changed since the client read it (``expected_version``)
InvalidInputError (422)
 └── GuardFailedError            the current stage's checklist / required fields are not complete
PermissionDeniedError (403)      re-exported: the actor may not do this to this case

Each constant below is a code of :data:`serviceloop.core.messages.MESSAGES`, where its message
lives (once, in English, translated when shown); the comment names its parameters.
"""

from __future__ import annotations

from serviceloop.core.exceptions import (
    ConflictError,
    InvalidInputError,
    PermissionDeniedError,
    Problem,
)

__all__ = [
    "ConflictError",
    "GuardFailedError",
    "InvalidInputError",
    "PermissionDeniedError",
    "Problem",
    "StaleVersionError",
    "TransitionNotAllowedError",
]

# Input
CASE_INVALID = "case_invalid"
CHANGES_INVALID = "changes_invalid"
MESSAGE_INVALID = "message_invalid"
FILTER_INVALID = "filter_invalid"
SEARCH_NO_WORDS = "search_no_words"
TITLE_REQUIRED = "title_required"
TITLE_TOO_LONG = "title_too_long"  # max
DESCRIPTION_REQUIRED = "description_required"
BAD_CHOICE = "bad_choice"  # value, choices
ATTRIBUTES_NOT_OBJECT = "attributes_not_object"
ATTRIBUTE_VALUE = "attribute_value"
ATTRIBUTE_NAME = "attribute_name"
CATEGORY_UNKNOWN = "category_unknown"  # value
NO_DEFAULT_PROCESS = "no_default_process"
VERSION_NOT_PUBLISHED = "version_not_published"
NO_START_STAGE = "no_start_stage"
REQUEST_TYPE_UNKNOWN = "request_type_unknown"  # value
REQUEST_TYPE_STAFF_ONLY = "request_type_staff_only"  # value
FIELD_NOT_UPDATABLE = "field_not_updatable"
STATUS_NOT_SETTABLE = "status_not_settable"
ESCALATION_REASON_REQUIRED = "escalation_reason_required"
BODY_REQUIRED = "body_required"
CUSTOMER_PUBLIC_ONLY = "customer_public_only"
ASSIGNEE_NOT_STAFF = "assignee_not_staff"
AGENT_SELF_ONLY = "agent_self_only"
FILE_EMPTY = "file_empty"
FILE_TOO_LARGE = "file_too_large"  # max
FILE_TYPE = "file_type"  # detail: the sniffed type or the extension
FILE_TYPE_UNRECOGNISED = "file_type_unrecognised"
FILE_MISMATCH = "file_mismatch"  # sniffed, name
ATTACHMENT_MESSAGE = "attachment_message"
# State
CASE_CLOSED = "case_closed"
CASE_NOT_REOPENABLE = "case_not_reopenable"
STALE_VERSION = "stale_version"  # actual, expected
TRANSITION_NOT_ALLOWED = "transition_not_allowed"  # source, target: Named stages
GUARDS_FAILED = "guards_failed"  # stage: Named
CHECKLIST_OPEN = "checklist_open"  # item
FIELD_REQUIRED = "field_required"
NOT_A_CHECKLIST_ITEM = "not_a_checklist_item"  # item, stage: Named
# Who may: one code per action, so each reads naturally in every language.
FORBIDDEN = {
    "create": "case_create_forbidden",
    "view": "case_view_forbidden",
    "move": "case_move_forbidden",
    "change": "case_change_forbidden",
    "write to": "case_write_forbidden",
    "add files to": "case_files_forbidden",
    "assign": "case_assign_forbidden",
    "reopen": "case_reopen_forbidden",
    "escalate": "case_escalate_forbidden",
}


class TransitionNotAllowedError(ConflictError):
    """The case's current stage has no transition to the requested stage."""

    default_code = TRANSITION_NOT_ALLOWED


class StaleVersionError(ConflictError):
    """Optimistic concurrency: the client's ``expected_version`` is not the case's version."""

    default_code = STALE_VERSION


class GuardFailedError(InvalidInputError):
    """The current stage's guards (checklist, required fields) do not hold."""

    default_code = GUARDS_FAILED
