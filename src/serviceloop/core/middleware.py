"""Refuse an over-long request from its ``Content-Length``, before any of it is read.

Django itself only stops reading a non-file body past ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (and then
answers a bare 400); uploads stream to disk whatever their total. Here the whole request,
files included, is held to ``REQUEST_BYTES`` and a body without files to ``BODY_BYTES``, with a
413 that names the limit.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from serviceloop.core.limits import limit
from serviceloop.core.messages import Problem

__all__ = ["RequestSizeLimitMiddleware", "too_large_body"]


def too_large_body(size: int | None, name: str) -> dict[str, object]:
    """The 413 body (coded like every API error); ``size`` None when only "too large" is known."""
    params: dict[str, object] = {"most": limit(name), "hint": f"SERVICELOOP_LIMIT_{name}"}
    if size is None:
        problem = Problem("body_too_large_unsized", params)
    else:
        problem = Problem("body_too_large", {**params, "size": size})
    message = problem.render()
    return {"detail": message, **problem.as_json(), "fields": {"__all__": [message]}}


class RequestSizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            size = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            size = 0
        multipart = (request.META.get("CONTENT_TYPE") or "").startswith("multipart/")
        name = "REQUEST_BYTES" if multipart else "BODY_BYTES"
        if size > limit(name):
            return JsonResponse(too_large_body(size, name), status=413)
        return self.get_response(request)
