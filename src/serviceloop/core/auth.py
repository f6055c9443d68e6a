"""API authentication: a browser session (with CSRF on unsafe methods) or a bearer token.

Integrations send ``Authorization: Bearer <token>``; only the token's SHA-256 is stored and checked
by ``accounts.services.api_token_authenticate``. A request that carries an ``Authorization`` header
is judged by that header alone, so a bad token is refused even when a session cookie rides along.
Inactive users and revoked or expired tokens are refused. Refusals become HTTP 401 in the API's
common error body; an address with too many failed tokens gets 429 with ``Retry-After``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from serviceloop.accounts.models import User
from serviceloop.accounts.services import api_token_authenticate
from serviceloop.core.exceptions import PermissionDeniedError
from serviceloop.core.messages import Problem
from serviceloop.core.throttle import (
    Rate,
    RateLimitedError,
    client_address,
    throttle_hit,
    throttle_wait,
)

__all__ = ["BearerTokenAuth", "SessionCsrfAuth", "api_auth"]

TOKEN_SCOPE = "token-address"  # noqa: S105  (a counter name)


class BearerTokenAuth(HttpBearer):
    """``Authorization: Bearer <token>`` for integrations and scripts."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        # Failed tokens are counted per client address; past the limit every token from that
        # address is refused with 429 before it is checked, so guessing gains nothing.
        address, rate = (
            client_address(request),
            Rate.parse(settings.RATE_TOKEN_FAILURES_PER_ADDRESS),
        )
        wait = throttle_wait(TOKEN_SCOPE, address, rate)
        if wait:
            raise RateLimitedError(Problem("token_sign_in_throttled"), wait)
        user = api_token_authenticate(token)
        if user is None:
            throttle_hit(TOKEN_SCOPE, address, rate)
            return None
        # Code that reads request.user (services called with it, templates) sees the token's owner.
        request.user = user
        return user


class SessionCsrfAuth(APIKeyCookie):
    """The signed-in browser session; unsafe methods must carry the CSRF token, as in Django views.

    The CSRF check runs only when a session user exists, so an anonymous request gets 401 (not a
    misleading CSRF 403) and token requests never need a CSRF token.
    """

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if "authorization" in request.headers:
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        if not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request) is not None:
            raise PermissionDeniedError(Problem("csrf_failed"))
        return user


api_auth = [BearerTokenAuth(), SessionCsrfAuth()]
