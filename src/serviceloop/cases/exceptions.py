"""Domain errors of the cases app and the messages they carry (tests import the constants).

ConflictError (409)
 ├── TransitionNotAllowedError   no transition of the case's process version leads there
 └── StaleVersionError           the case changed since the client read it (``expected_version``)
InvalidInputError (422)
 └── GuardFailedError            the current stage's checklist / required fields are not complete
PermissionDeniedError (403)      re-exported: the actor may not do this to this case
"""

from __future__ import annotations

from serviceloop.core.exceptions import ConflictError, InvalidInputError, PermissionDeniedError

__all__ = [
    "ConflictError",
    "GuardFailedError",
    "InvalidInputError",
    "PermissionDeniedError",
    "StaleVersionError",
    "TransitionNotAllowedError",
]

MSG_TITLE_REQUIRED = "Enter a title."
MSG_TITLE_TOO_LONG = "The title has at most {max} characters."
MSG_DESCRIPTION_REQUIRED = "Describe the request."
MSG_BAD_CHOICE = "{value!r} is not one of: {choices}."
MSG_ATTRIBUTES_NOT_OBJECT = "Custom attributes must be an object of name -> value."
MSG_ATTRIBUTE_VALUE = "Attribute values must be text, numbers, true/false, lists or objects."
MSG_ATTRIBUTE_NAME = "Attribute names are non-empty strings of at most 50 characters."
MSG_NO_DEFAULT_PROCESS = "No published version of the default service process exists."
MSG_VERSION_NOT_PUBLISHED = "Cases start only on a published process version."
MSG_NO_START_STAGE = "The process version has no start stage."
MSG_TRANSITION_NOT_ALLOWED = (
    "No transition leads from {source!r} to {target!r} in this process version."
)
MSG_CASE_CLOSED = "The case is closed."
MSG_STALE_VERSION = "The case changed meanwhile (version {actual}, expected {expected}); reload it."
MSG_GUARDS_FAILED = "The case cannot leave stage {stage!r} yet."
MSG_CHECKLIST_OPEN = "Tick {item!r} first."
MSG_FIELD_REQUIRED = "Required before leaving this stage."
MSG_NOT_A_CHECKLIST_ITEM = "{item!r} is not a checklist item of stage {stage!r}."
MSG_UNKNOWN_FIELD = "This field cannot be changed here."
MSG_BAD_STATUS = (
    "Status can be set to open, pending or resolved; cases close by entering an end stage."
)
MSG_NOT_REOPENABLE = "Only resolved or closed cases can be reopened."
MSG_BODY_REQUIRED = "Write a message."
MSG_CUSTOMER_NOTE = "Customers can only write public replies."
MSG_ASSIGNEE_NOT_STAFF = "Cases can only be assigned to agents or managers."
MSG_AGENT_SELF_ONLY = "Agents can only take unassigned cases of their own team for themselves."
MSG_FILE_EMPTY = "The file is empty."
MSG_FILE_TOO_LARGE = "The file is larger than {max} bytes."
MSG_FILE_TYPE = "Files of this type are not accepted ({detail})."
MSG_FILE_MISMATCH = "The file's content ({sniffed}) does not match its name ({name!r})."
MSG_ATTACHMENT_MESSAGE = "Files can only be added to a message of this case that you can see."
MSG_PERMISSION = "You may not {action} this case."


class TransitionNotAllowedError(ConflictError):
    """The case's current stage has no transition to the requested stage."""


class StaleVersionError(ConflictError):
    """Optimistic concurrency: the client's ``expected_version`` is not the case's version."""


class GuardFailedError(InvalidInputError):
    """The current stage's guards (checklist, required fields) do not hold."""
