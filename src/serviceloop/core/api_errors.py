"""One error body for the whole API.

``{"detail": message, "code": code, "params": {...}, "fields": {field: [messages]}}``: ``detail``
and the field messages are made from the error's code in the request's language (``Accept-Language``,
English by default); ``code`` and ``params`` are stable for programs (named things by their code).
The framework's own refusals (no sign-in, unreadable or too large body, not found) carry codes of
the same table; only the schema checks' field messages are pydantic's, as it words them.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from serviceloop.core.exceptions import ApplicationError
from serviceloop.core.limits import limit
from serviceloop.core.messages import Problem, render_fields
from serviceloop.core.middleware import too_large_body
from serviceloop.core.throttle import RateLimitedError

# Where ninja found a parameter; the client names the field without it ("title", "Idempotency-Key").
_PARAM_SOURCES = {"body", "payload", "query", "header", "path", "form", "file", "cookie"}


def _ninja_fields(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Field paths as the client knows them: ninja's leading source ("body", "query", ...) and the
    body parameter's own name (endpoints call it ``payload``) are dropped."""
    fields: dict[str, list[str]] = {}
    for error in errors:
        loc = [str(part) for part in error.get("loc", [])]
        source = loc.pop(0) if loc and loc[0] in _PARAM_SOURCES else ""
        if source == "body" and loc and loc[0] == "payload":
            loc.pop(0)
        fields.setdefault(".".join(loc) or "__all__", []).append(str(error.get("msg", "invalid")))
    return fields


def coded_body(problem: Problem, field: str | None = None) -> dict[str, Any]:
    """The error body of ``problem`` in the active language; ``field`` repeats it as that field's."""
    detail = problem.render()
    body: dict[str, Any] = {"detail": detail, **problem.as_json()}
    if field is not None:
        body["fields"] = {field: [detail]}
    return body


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(ApplicationError)
    def application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
        body: dict[str, Any] = {"detail": exc.message, **exc.problem.as_json(), **exc.extra}
        if exc.fields:
            body["fields"] = render_fields(exc.fields)
        return api.create_response(request, body, status=exc.status_code)

    @api.exception_handler(NinjaValidationError)
    def validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        body = {**coded_body(Problem("invalid_input")), "fields": _ninja_fields(list(exc.errors))}
        return api.create_response(request, body, status=422)

    @api.exception_handler(DjangoValidationError)
    def django_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        body = {**coded_body(Problem("invalid_input")), "fields": fields}
        return api.create_response(request, body, status=422)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = api.create_response(request, coded_body(Problem("unauthenticated")), status=401)
        response["WWW-Authenticate"] = 'Bearer realm="serviceloop"'
        return response

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 400:  # ninja could not parse the body: bad input like any other
            body = coded_body(Problem("body_unparsable"), "__all__")
            return api.create_response(request, body, status=422)
        return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)

    @api.exception_handler(RateLimitedError)
    def rate_limited(request: HttpRequest, exc: RateLimitedError) -> HttpResponse:
        response = api.create_response(request, coded_body(exc.problem), status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response

    @api.exception_handler(RequestDataTooBig)
    def body_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return api.create_response(request, too_large_body(None, "BODY_BYTES"), status=413)

    @api.exception_handler(TooManyFilesSent)
    def too_many_files(request: HttpRequest, exc: TooManyFilesSent) -> HttpResponse:
        params = {"most": limit("FILES_PER_REQUEST"), "hint": "SERVICELOOP_LIMIT_FILES_PER_REQUEST"}
        body = coded_body(Problem("too_many_files", params), "file")
        return api.create_response(request, body, status=413)

    @api.exception_handler(TooManyFieldsSent)
    def too_many_fields(request: HttpRequest, exc: TooManyFieldsSent) -> HttpResponse:
        body = coded_body(Problem("too_many_fields"), "__all__")
        return api.create_response(request, body, status=413)

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return api.create_response(request, coded_body(Problem("not_found")), status=404)

    @api.exception_handler(PermissionDenied)
    def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        body = coded_body(Problem("permission_denied"))
        if str(exc):  # a refusal from Django's own machinery (sign-in backends) keeps its reason
            body["detail"] = str(exc)
        return api.create_response(request, body, status=403)
