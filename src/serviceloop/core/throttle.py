"""Fixed-window rate limits on attempts from one client address (or on one target).

Counters live in Django's cache, so a check costs no database query. With the default per-process
cache each server process counts on its own (a limit of N allows N per process); point ``CACHES``
at a shared cache (``SERVICELOOP_CACHE_URL``) to count across processes and machines.

The address is the one django-axes also uses (``client_address``, ``AXES_CLIENT_IP_CALLABLE``), so
login lockouts and these limits agree.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from serviceloop.core.messages import Problem

__all__ = [
    "Rate",
    "RateLimitedError",
    "client_address",
    "client_ip",
    "throttle_hit",
    "throttle_wait",
]


@dataclass(frozen=True)
class Rate:
    """At most ``count`` attempts per ``seconds``."""

    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"5/3600"``: five per hour."""
        count, _, seconds = text.partition("/")
        return cls(int(count), int(seconds or 60))


class RateLimitedError(Exception):
    """Too many attempts; ``retry_after`` seconds until the window ends (HTTP 429)."""

    def __init__(self, problem: Problem, retry_after: int) -> None:
        super().__init__(problem.render("en"))
        self.problem = problem
        self.retry_after = max(1, retry_after)

    @property
    def message(self) -> str:
        """The message in the active language."""
        return self.problem.render()


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address: ``REMOTE_ADDR``, or behind ``TRUSTED_PROXY_COUNT`` proxies the
    entry of ``X-Forwarded-For`` that the outermost trusted proxy appended; None if there is no
    valid one (django-axes stores it in an IP address column)."""
    candidate = request.META.get("REMOTE_ADDR")
    proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0))
    if proxies > 0:
        chain = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(chain) >= proxies:
            candidate = chain[-proxies]
    try:
        return str(ipaddress.ip_address(str(candidate or "").strip()))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str:
    """``client_ip`` as a counter key (requests without one share the key ``unknown``)."""
    return client_ip(request) or "unknown"


def _key(scope: str, key: str, rate: Rate, now: float) -> tuple[str, int]:
    window = int(now // rate.seconds)
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    retry_after = math.ceil((window + 1) * rate.seconds - now)
    return f"throttle:{scope}:{digest}:{window}", retry_after


def throttle_wait(scope: str, key: str, rate: Rate) -> int:
    """Seconds to wait before another attempt is allowed (0: go ahead). Counts nothing."""
    name, retry_after = _key(scope, key, rate, time.time())
    return retry_after if int(cache.get(name, 0)) >= rate.count else 0


def throttle_hit(scope: str, key: str, rate: Rate) -> int:
    """Count one attempt; seconds to wait if this one went over the limit, else 0."""
    name, retry_after = _key(scope, key, rate, time.time())
    cache.add(name, 0, timeout=rate.seconds + 1)
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.set(name, 1, timeout=rate.seconds + 1)
        count = 1
    return retry_after if count > rate.count else 0
