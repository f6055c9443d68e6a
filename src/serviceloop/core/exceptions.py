"""Domain errors shared by every app.

ApplicationError            a business rule refused the request (HTTP 409 or 422)
 ├── PermissionDeniedError  the actor may not do this to this object (HTTP 403)
 ├── ConflictError          the object changed or the state forbids it (HTTP 409)
 └── InvalidInputError      the input is wrong; ``fields`` maps field -> problems (HTTP 422)

An error carries a :class:`~serviceloop.core.messages.Problem` (a code and its parameters) and,
for bad input, the problems per field. The text is made from the code where it is shown (API,
pages, CLI) in that reader's language: ``exc.message`` is the text in the active language,
``str(exc)`` the English one for logs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from serviceloop.core.messages import Problem

__all__ = [
    "ApplicationError",
    "ConflictError",
    "InvalidInputError",
    "PermissionDeniedError",
    "Problem",
]


def _problem(value: Problem | str, default_code: str) -> Problem:
    # Text that is already a sentence (Django's own validation messages, e.g. the password
    # validators', translated by Django) keeps its class's generic code.
    return value if isinstance(value, Problem) else Problem(default_code, text=str(value))


class ApplicationError(Exception):
    status_code = 422
    default_code = "invalid_input"

    def __init__(
        self,
        problem: Problem | str,
        extra: dict[str, Any] | None = None,
        *,
        fields: Mapping[str, Iterable[Problem | str]] | None = None,
    ) -> None:
        extra = dict(extra or {})
        # Django's validation messages may also come per field in ``extra["fields"]``.
        legacy_fields = extra.get("fields") or {}
        self.problem = _problem(problem, self.default_code)
        self.fields: dict[str, list[Problem]] = {
            name: [_problem(p, self.default_code) for p in problems]
            for name, problems in {**legacy_fields, **(fields or {})}.items()
        }
        self.extra = extra
        super().__init__(self.problem.render("en"))

    @property
    def code(self) -> str:
        return self.problem.code

    @property
    def params(self) -> Mapping[str, Any]:
        return self.problem.params

    @property
    def message(self) -> str:
        """The message in the active language."""
        return self.problem.render()

    def field_codes(self) -> dict[str, list[str]]:
        """Field -> the codes of its problems (what tests and clients compare)."""
        return {name: [p.code for p in problems] for name, problems in self.fields.items()}


class PermissionDeniedError(ApplicationError):
    status_code = 403
    default_code = "permission_denied"


class ConflictError(ApplicationError):
    status_code = 409
    default_code = "conflict"


class InvalidInputError(ApplicationError):
    status_code = 422
    default_code = "invalid_input"

    @classmethod
    def for_field(cls, field: str, problem: Problem | str) -> InvalidInputError:
        """The input is wrong in one field; the field's problem is also the error's."""
        if isinstance(problem, str):  # a finished sentence: kept where such callers look
            return cls(problem, {"fields": {field: [problem]}})
        return cls(problem, fields={field: [problem]})
