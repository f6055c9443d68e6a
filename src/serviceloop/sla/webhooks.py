"""Post one signed webhook, to a public address only (unless the endpoint allows private ones).

The host name is resolved once and the address is checked *before* connecting; the connection
then goes to that very address (TLS still verifies the certificate against the host name), so a
DNS answer that changes between check and connect (DNS rebinding) cannot redirect the request.
Loopback, private, link-local (cloud metadata at 169.254.169.254), shared, reserved, multicast and
unspecified addresses are refused, IPv4-mapped IPv6 included. Redirects are not followed: a 3xx
is a failed delivery.

Signature: ``X-ServiceLoop-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` with
the endpoint's secret; ``X-ServiceLoop-Delivery`` is the outbox message id (the same on a retry).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["WebhookRefused", "WebhookResult", "address_allowed", "sign", "webhook_post"]

TIMEOUT = 10.0


class WebhookRefused(Exception):
    """The URL or the address it resolves to may not be called."""


@dataclass(frozen=True)
class WebhookResult:
    address: str
    status: int


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def address_allowed(address: str, *, allow_private: bool) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified or ip.is_multicast:
        return False
    return allow_private or ip.is_global


def _resolve(host: str, port: int, *, allow_private: bool) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise WebhookRefused(f"cannot resolve {host}: {exc}") from exc
    for *_, sockaddr in infos:
        address = str(sockaddr[0]).split("%")[0]
        if address_allowed(address, allow_private=allow_private):
            return address
    found = ", ".join(sorted({str(i[4][0]) for i in infos}))
    raise WebhookRefused(f"{host} resolves to {found}: not a public address")


def webhook_post(
    *, url: str, secret: str, body: bytes, delivery: str, allow_private: bool = False
) -> WebhookResult:
    """POST ``body``; raises WebhookRefused before any connection, OSError on network errors."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise WebhookRefused(f"{url!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise WebhookRefused("credentials in the URL are not allowed")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = _resolve(parts.hostname, port, allow_private=allow_private)
    sock = socket.create_connection((address, port), timeout=TIMEOUT)
    try:
        if parts.scheme == "https":
            context = ssl.create_default_context()
            sock = context.wrap_socket(sock, server_hostname=parts.hostname)
        conn = http.client.HTTPConnection(parts.hostname, port, timeout=TIMEOUT)
        conn.sock = sock  # already connected to the checked address
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        stamp = int(time.time())
        conn.request(
            "POST",
            path,
            body=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "ServiceLoop-Webhook/1",
                "X-ServiceLoop-Delivery": delivery,
                "X-ServiceLoop-Signature": sign(secret, stamp, body),
            },
        )
        response = conn.getresponse()
        response.read(64 * 1024)
        return WebhookResult(address=address, status=response.status)
    finally:
        sock.close()
