"""Process-design errors, as children of the shared domain errors (mapped once by the API)."""

from __future__ import annotations

from serviceloop.core.exceptions import ConflictError, InvalidInputError

__all__ = [
    "PROCESS_CHANGE_FORBIDDEN",
    "PROCESS_CHECKLIST_ZH_COUNT",
    "PROCESS_DEFINITION_INVALID",
    "PROCESS_DEFINITION_PROBLEM",
    "PROCESS_STAFF_ONLY",
    "VERSION_IMMUTABLE",
    "VERSION_NOT_DRAFT",
    "VERSION_NOT_PUBLISHED_TO_RETIRE",
    "ProcessDefinitionInvalid",
    "VersionImmutableError",
    "VersionStateError",
]

# Codes of serviceloop.core.messages.MESSAGES (parameters in the comments).
PROCESS_CHANGE_FORBIDDEN = "process_change_forbidden"
PROCESS_STAFF_ONLY = "process_staff_only"
PROCESS_DEFINITION_INVALID = "process_definition_invalid"  # count
PROCESS_DEFINITION_PROBLEM = "process_definition_problem"  # count, problem
PROCESS_CHECKLIST_ZH_COUNT = "process_checklist_zh_count"  # count
VERSION_IMMUTABLE = "version_immutable"  # version, status
VERSION_NOT_DRAFT = "version_not_draft"  # version, status
VERSION_NOT_PUBLISHED_TO_RETIRE = "version_not_published_to_retire"  # version, status


class VersionImmutableError(ConflictError):
    """A published or retired version (or one of its stages/transitions) was about to change."""


class VersionStateError(ConflictError):
    """The version's status does not allow this step (e.g. publishing a retired version)."""


class ProcessDefinitionInvalid(InvalidInputError):
    """A process definition was refused; ``extra["problems"]`` lists ``{"path", "message"}``."""
