"""Notifications: who is told of a breach (only people who may see the case), in-app list and
read marks, email through a real SMTP server process (aiosmtpd), webhooks signed, retried with
backoff, logged, and refused for non-public addresses (checked on the address connected to)."""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from django.test import override_settings

from serviceloop.cases.models import CaseEvent
from serviceloop.sla import webhooks
from serviceloop.sla.models import (
    EscalationRule,
    Notification,
    OutboxMessage,
    WebhookDelivery,
    WebhookEndpoint,
)
from serviceloop.sla.outbox import MAX_ATTEMPTS, backoff, outbox_deliver
from serviceloop.sla.selectors import setup_forget
from serviceloop.sla.sweep import sla_sweep
from serviceloop.sla.webhooks import WebhookRefused, address_allowed, webhook_post
from tests.cases.api_client import Api
from tests.factories import AgentFactory, CaseFactory, ManagerFactory
from tests.sla.conftest import at

pytestmark = pytest.mark.django_db


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def breached(world, sla):
    """A case whose first response was breached, with a notify rule on breaches."""
    EscalationRule.objects.create(policy=sla.standard, trigger="breach", action="notify")
    setup_forget()
    case = CaseFactory(at=at(0, 9))
    sla_sweep(now=at(0, 11))
    return case


def test_breach_notifies_the_assignee_and_managers_only(world, breached):
    outsider = AgentFactory()  # another team
    told = set(Notification.objects.values_list("recipient__username", flat=True))
    expected = {world.manager.username}
    if breached.assignee is not None:
        expected.add(breached.assignee.username)
    assert told == expected
    assert outsider.username not in told
    assert breached.customer.user.username not in told
    event = CaseEvent.objects.get(case=breached, kind="escalated")
    assert sorted(event.attributes["notified"]) == sorted(expected)
    emails = OutboxMessage.objects.filter(channel="email")
    assert {m.recipient for m in emails} == {
        u.email for u in (world.manager, breached.assignee) if u is not None and u.email
    }
    assert all(breached.number in m.subject for m in emails)


def test_in_app_list_count_and_mark_read(world, breached):
    api = Api(world.manager)
    assert api.get("/api/sla/notifications/unread-count").json() == {"unread": 1}
    (note,) = api.get("/api/sla/notifications").json()
    assert note["case"] == breached.number and note["kind"] == "sla_breach"
    # Somebody else's notification is not found; one's own is marked once.
    assert (
        Api(ManagerFactory()).post(f"/api/sla/notifications/{note['id']}/read").status_code == 404
    )
    assert api.post(f"/api/sla/notifications/{note['id']}/read").json() == {"marked": 1}
    assert api.get("/api/sla/notifications/unread-count").json() == {"unread": 0}
    assert api.get("/api/sla/notifications", {"unread": "true"}).json() == []


@pytest.fixture
def smtp_server(tmp_path):
    """A real SMTP server process (aiosmtpd) storing what it receives in a maildir."""
    port = free_port()
    maildir = tmp_path / "mail"
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
         "-c", "aiosmtpd.handlers.Mailbox", str(maildir)],
    )  # fmt: skip
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield port, maildir
    proc.terminate()
    proc.wait(timeout=10)


def received(maildir: Path) -> list[email.message.Message]:
    return [email.message_from_bytes(p.read_bytes()) for p in sorted((maildir / "new").glob("*"))]


def test_email_goes_through_a_real_smtp_server_and_waits_when_it_is_down(breached, smtp_server):
    port, maildir = smtp_server
    smtp = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
    }
    queued = OutboxMessage.objects.filter(channel="email").count()
    assert queued >= 1
    with override_settings(**smtp, EMAIL_PORT=free_port()):  # nobody listens there
        counts = outbox_deliver(now=at(0, 11, 1))
    assert (counts.sent, counts.retrying) == (0, queued)
    waiting = OutboxMessage.objects.filter(channel="email").first()
    assert waiting.attempts == 1 and waiting.next_attempt_at == at(0, 11, 1) + backoff(1)
    assert CaseEvent.objects.filter(case=breached, kind="sla_breached").exists()  # change kept
    with override_settings(**smtp, EMAIL_PORT=port):
        assert outbox_deliver(now=at(0, 11, 1) + timedelta(seconds=10)).sent == 0  # not due yet
        assert outbox_deliver(now=at(0, 12)).sent == queued
    mails = received(maildir)
    assert len(mails) == queued
    assert breached.number in mails[0]["Subject"]
    assert not OutboxMessage.objects.filter(status="pending").exists()


class Recorder(BaseHTTPRequestHandler):
    replies: list[int] = []
    seen: list[tuple[str, dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append((self.path, dict(self.headers), body))
        status = self.replies.pop(0) if self.replies else 200
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook_server():
    Recorder.replies, Recorder.seen = [], []
    server = HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def test_webhook_signed_retried_with_backoff_and_logged(world, sla, hook_server):
    endpoint = WebhookEndpoint.objects.create(
        name="Ops", url=f"http://127.0.0.1:{hook_server}/hook", secret="s3cret",
        kinds=["sla_breached"], allow_private_network=True,
    )  # fmt: skip
    case = CaseFactory(at=at(0, 9))
    sla_sweep(now=at(0, 11))
    (message,) = OutboxMessage.objects.filter(channel="webhook")  # the warning is not subscribed
    Recorder.replies = [500]
    assert outbox_deliver(now=at(0, 11, 1)).retrying == 1
    message.refresh_from_db()
    assert message.next_attempt_at == at(0, 11, 1) + timedelta(seconds=30)
    assert outbox_deliver(now=at(0, 11, 40)).sent == 1
    (first, second) = Recorder.seen
    assert (
        first[1]["X-ServiceLoop-Delivery"] == second[1]["X-ServiceLoop-Delivery"] == str(message.pk)
    )
    _, headers, body = second
    stamp, mac = (part.split("=", 1)[1] for part in headers["X-ServiceLoop-Signature"].split(","))
    expected = hmac.new(b"s3cret", f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(mac, expected)
    payload = json.loads(body)
    assert (payload["event"], payload["case"], payload["attributes"]["metric"]) == (
        "sla_breached", case.number, "first_response",
    )  # fmt: skip
    log = list(WebhookDelivery.objects.filter(message__endpoint=endpoint).order_by("id"))
    assert [(d.status_code, d.address) for d in log] == [(500, "127.0.0.1"), (200, "127.0.0.1")]


def test_redirects_are_not_followed_and_attempts_give_up(world, sla, hook_server):
    WebhookEndpoint.objects.create(
        name="Ops",
        url=f"http://127.0.0.1:{hook_server}/hook",
        secret="x",
        allow_private_network=True,
    )
    message = OutboxMessage.objects.create(
        channel="webhook", endpoint=WebhookEndpoint.objects.get(), body="{}",
        next_attempt_at=at(0, 9), created_at=at(0, 9),
    )  # fmt: skip
    Recorder.replies = [302] * MAX_ATTEMPTS
    now = at(0, 9)
    for _ in range(MAX_ATTEMPTS):
        outbox_deliver(now=now)
        now += timedelta(hours=7)
    message.refresh_from_db()
    assert message.status == "failed" and "HTTP 302" in message.last_error
    assert [p for p, _, _ in Recorder.seen] == ["/hook"] * MAX_ATTEMPTS  # /elsewhere never asked


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/hook",
        "http://localhost:{port}/hook",  # a name that resolves to loopback
        "http://[::ffff:127.0.0.1]:{port}/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://0.0.0.0:{port}/hook",
    ],
)
def test_non_public_addresses_are_refused_before_connecting(world, hook_server, url):
    endpoint = WebhookEndpoint.objects.create(
        name="x", url=url.format(port=hook_server), secret="k"
    )
    OutboxMessage.objects.create(
        channel="webhook", endpoint=endpoint, body="{}", next_attempt_at=at(0, 9),
        created_at=at(0, 9),
    )  # fmt: skip
    assert outbox_deliver(now=at(0, 9)).failed == 1
    assert Recorder.seen == []
    (log,) = WebhookDelivery.objects.all()
    assert "not a public address" in log.error and log.status_code is None


def test_the_checked_address_is_the_one_connected_to(monkeypatch):
    """DNS rebinding: the name is resolved once; the connection goes to that checked address."""
    answers = iter([[(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80))],
                    [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80))]])  # fmt: skip
    monkeypatch.setattr(webhooks.socket, "getaddrinfo", lambda *a, **k: next(answers))
    connected = []

    def fake_connect(address, timeout=None):
        connected.append(address)
        raise OSError("stop here")

    monkeypatch.setattr(webhooks.socket, "create_connection", fake_connect)
    with pytest.raises(OSError, match="stop here"):
        webhook_post(url="http://rebind.example/hook", secret="k", body=b"{}", delivery="1")
    assert connected == [("93.184.216.34", 80)]


def test_address_rules():
    assert address_allowed("93.184.216.34", allow_private=False)
    for refused in ("127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                    "100.64.0.1", "::1", "fe80::1", "fc00::1", "::ffff:10.0.0.1", "0.0.0.0"):  # noqa: S104  # fmt: skip
        assert not address_allowed(refused, allow_private=False), refused
    assert address_allowed("127.0.0.1", allow_private=True)
    assert not address_allowed("0.0.0.0", allow_private=True)  # noqa: S104
    with pytest.raises(WebhookRefused, match="http"):
        webhook_post(url="ftp://example.com/x", secret="k", body=b"", delivery="1")
