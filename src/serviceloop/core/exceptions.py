"""Domain errors shared by every app.

ApplicationError            a business rule refused the request (HTTP 409 or 422)
 ├── PermissionDeniedError  the actor may not do this to this object (HTTP 403)
 ├── ConflictError          the object changed or the state forbids it (HTTP 409)
 └── InvalidInputError      the input is wrong; ``extra["fields"]`` maps field -> messages (HTTP 422)
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    status_code = 422

    def __init__(self, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class PermissionDeniedError(ApplicationError):
    status_code = 403


class ConflictError(ApplicationError):
    status_code = 409


class InvalidInputError(ApplicationError):
    status_code = 422

    @classmethod
    def for_field(cls, field: str, message: str) -> InvalidInputError:
        return cls(message, {"fields": {field: [message]}})
