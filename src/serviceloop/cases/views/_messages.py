"""Service messages in the user's language.

The services raise English messages built from constants (tests import them, logs and the API stay
stable). The pages show them translated: each known constant is matched, its values are captured,
and the translated template is filled with them. Unknown messages pass through unchanged.
"""

from __future__ import annotations

import re
from functools import cache

from django.utils.translation import gettext, gettext_noop

from serviceloop.cases import exceptions as case_msgs
from serviceloop.customers import services as customer_msgs

__all__ = ["translate_service_message"]

# English constant -> the msgid of its translation (same {placeholders}).
_TEMPLATES: tuple[tuple[str, str], ...] = (
    (case_msgs.MSG_TITLE_REQUIRED, gettext_noop("Enter a title.")),
    (case_msgs.MSG_TITLE_TOO_LONG, gettext_noop("The title has at most {max} characters.")),
    (case_msgs.MSG_DESCRIPTION_REQUIRED, gettext_noop("Describe the request.")),
    (case_msgs.MSG_CASE_CLOSED, gettext_noop("The case is closed.")),
    (
        case_msgs.MSG_STALE_VERSION,
        gettext_noop(
            "The case changed meanwhile (version {actual}, expected {expected}); reload it."
        ),
    ),
    (case_msgs.MSG_GUARDS_FAILED, gettext_noop("The case cannot leave stage {stage} yet.")),
    (case_msgs.MSG_CHECKLIST_OPEN, gettext_noop("Tick {item} first.")),
    (case_msgs.MSG_FIELD_REQUIRED, gettext_noop("Required before leaving this stage.")),
    (
        case_msgs.MSG_TRANSITION_NOT_ALLOWED,
        gettext_noop("No transition leads from {source} to {target} in this process version."),
    ),
    (
        case_msgs.MSG_NOT_A_CHECKLIST_ITEM,
        gettext_noop("{item} is not a checklist item of stage {stage}."),
    ),
    (case_msgs.MSG_BODY_REQUIRED, gettext_noop("Write a message.")),
    (case_msgs.MSG_CUSTOMER_NOTE, gettext_noop("Customers can only write public replies.")),
    (
        case_msgs.MSG_ASSIGNEE_NOT_STAFF,
        gettext_noop("Cases can only be assigned to agents or managers."),
    ),
    (
        case_msgs.MSG_AGENT_SELF_ONLY,
        gettext_noop("Agents can only take unassigned cases of their own team for themselves."),
    ),
    (case_msgs.MSG_FILE_EMPTY, gettext_noop("The file is empty.")),
    (case_msgs.MSG_FILE_TOO_LARGE, gettext_noop("The file is larger than {max} bytes.")),
    (case_msgs.MSG_FILE_TYPE, gettext_noop("Files of this type are not accepted ({detail}).")),
    (
        case_msgs.MSG_FILE_MISMATCH,
        gettext_noop("The file's content ({sniffed}) does not match its name ({name})."),
    ),
    (case_msgs.MSG_PERMISSION, gettext_noop("You may not {action} this case.")),
    (
        customer_msgs.MSG_EMAIL_TAKEN,
        gettext_noop("An account with this email address already exists."),
    ),
    (customer_msgs.MSG_EMAIL_INVALID, gettext_noop("Enter a valid email address.")),
    (customer_msgs.MSG_NAME_REQUIRED, gettext_noop("Enter your name.")),
)

# Words the permission message puts in {action}.
_ACTIONS = {
    "move": gettext_noop("move"),
    "change": gettext_noop("change"),
    "write to": gettext_noop("write to"),
    "add files to": gettext_noop("add files to"),
    "assign": gettext_noop("assign"),
    "reopen": gettext_noop("reopen"),
    "escalate": gettext_noop("escalate"),
    "create": gettext_noop("create"),
}

_FIELD = re.compile(r"\{(\w+)(?:![rsa])?\}")


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    compiled = []
    for english, msgid in _TEMPLATES:
        parts = _FIELD.split(english)
        regex = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts)
        )
        compiled.append((re.compile(f"^{regex}$", re.DOTALL), msgid))
    return tuple(compiled)


def translate_service_message(message: str) -> str:
    """``message`` in the active language when it comes from a known constant, else unchanged."""
    text = str(message)
    for pattern, msgid in _patterns():
        match = pattern.match(text)
        if match is None:
            continue
        values = match.groupdict()
        if "action" in values and values["action"] in _ACTIONS:
            values["action"] = gettext(_ACTIONS[values["action"]])
        return gettext(msgid).format(**values)
    return text
