"""Process-design errors, as children of the shared domain errors (mapped once by the API)."""

from __future__ import annotations

from serviceloop.core.exceptions import ConflictError, InvalidInputError

__all__ = [
    "MSG_VERSION_IMMUTABLE",
    "ProcessDefinitionInvalid",
    "VersionImmutableError",
    "VersionStateError",
]

MSG_VERSION_IMMUTABLE = (
    "Version %(version)s is %(status)s and cannot be changed; create a new draft from it instead."
)


class VersionImmutableError(ConflictError):
    """A published or retired version (or one of its stages/transitions) was about to change."""


class VersionStateError(ConflictError):
    """The version's status does not allow this step (e.g. publishing a retired version)."""


class ProcessDefinitionInvalid(InvalidInputError):
    """A process definition was refused; ``extra["problems"]`` lists ``{"path", "message"}``."""
