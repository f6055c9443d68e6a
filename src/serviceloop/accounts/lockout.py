"""Sign-in refusals that say when to try again: 429 with ``Retry-After``.

Two limits apply. django-axes locks one username from one address after
``SERVICELOOP_LOGIN_FAILURE_LIMIT`` failures (for ``AXES_COOLOFF_TIME``); and failures from one
address over all usernames (``RATE_LOGIN_FAILURES_PER_ADDRESS``) stop an address that tries one
password on many usernames ("spraying"), which the per-username lockout never sees.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from serviceloop.core.throttle import Rate, client_address, throttle_hit, throttle_wait

__all__ = ["AddressThrottleBackend", "LoginView", "lockout_response"]

SCOPE = "login-address"


def _rate() -> Rate:
    return Rate.parse(settings.RATE_LOGIN_FAILURES_PER_ADDRESS)


def _refused(request: HttpRequest, retry_after: int) -> HttpResponse:
    minutes = max(1, math.ceil(retry_after / 60))
    refused = _("Too many failed sign-ins. Try again in %(minutes)d minutes.") % {
        "minutes": minutes
    }
    context = {"form": AuthenticationForm(request), "refused": refused}
    response = render(request, "registration/login.html", context, status=429)
    response["Retry-After"] = str(max(1, int(retry_after)))
    return response


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' answer for a locked username (``AXES_LOCKOUT_CALLABLE``)."""
    cool_off = settings.AXES_COOLOFF_TIME
    seconds = cool_off.total_seconds() if hasattr(cool_off, "total_seconds") else cool_off * 3600
    return _refused(request, int(seconds))


@receiver(user_login_failed)
def _count_failure(
    sender: Any, credentials: Any = None, request: Any = None, **kwargs: Any
) -> None:
    if request is not None:
        throttle_hit(SCOPE, client_address(request), _rate())


class AddressThrottleBackend:
    """An authentication backend before the one that checks passwords: an address over its
    failure limit signs in nowhere (the admin's sign-in included), whatever the credentials.
    It never signs anybody in, so it has no ``get_user`` (and is never a session's backend)."""

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> None:
        if request is not None and throttle_wait(SCOPE, client_address(request), _rate()):
            raise PermissionDenied("Too many failed sign-ins from this address.")
        return None


class LoginView(auth_views.LoginView):
    """Django's sign-in page, refusing addresses with too many recent failures."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        wait = throttle_wait(SCOPE, client_address(request), _rate())
        if wait:
            return _refused(request, wait)
        return super().post(request, *args, **kwargs)
