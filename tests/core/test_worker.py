"""``serviceloop worker``: one round deletes old orphaned uploads and expired idempotency keys."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from typer.testing import CliRunner

from serviceloop.cases.models import CaseEvent
from serviceloop.cli import app
from serviceloop.core.idempotency import RETENTION
from serviceloop.core.models import IdempotencyRecord
from tests.factories import CaseFactory, ManagerFactory

pytestmark = pytest.mark.django_db


def _record(user, key, age):
    record = IdempotencyRecord.objects.create(
        user=user,
        key=key,
        method="POST",
        path="/api/cases/",
        request_hash="",
        status_code=201,
        body={},
    )
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - age)


def test_worker_once_sweeps_old_orphans_and_expired_keys(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    case = CaseFactory()
    folder = tmp_path / "cases" / str(case.pk)
    folder.mkdir(parents=True)
    old, fresh = folder / "0123456789abcdef", folder / "fedcba9876543210"
    for path in (old, fresh):
        path.write_bytes(b"left by a rolled-back upload")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    manager = ManagerFactory()
    _record(manager, "expired", RETENTION + timedelta(hours=1))
    _record(manager, "recent", timedelta(hours=1))

    result = CliRunner().invoke(app, ["worker", "--once"])

    assert result.exit_code == 0, result.output
    assert "swept: 1 orphaned upload file(s), 1 expired idempotency key(s)" in result.output
    assert not old.exists() and fresh.exists()
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent"]


def test_worker_refuses_a_too_short_interval():
    result = CliRunner().invoke(app, ["worker", "--every", "1"])
    assert result.exit_code == 2
    assert "--every" in result.output


def test_worker_runs_until_sigterm_and_then_exits_cleanly(tmp_path):
    """A real process on its own SQLite database: a round at start, then it waits; SIGTERM ends it."""
    env = {**os.environ, "SERVICELOOP_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    binary = Path(sys.executable).parent / "serviceloop"
    subprocess.run([binary, "manage", "migrate", "-v", "0"], env=env, check=True, timeout=120)  # noqa: S603
    proc = subprocess.Popen(  # noqa: S603
        [binary, "worker", "--every", "3600"], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("swept: 0 orphaned upload file(s)")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()


def test_worker_keeps_the_insights_log_copy(settings, tmp_path):
    """A round writes Insights' columnar copy of the case log, so no page load has to."""
    from serviceloop.insights import logstore
    from serviceloop.insights.keptlogs import event_log_version

    settings.INSIGHTS_LOG_DIR = str(tmp_path / "insights-log")
    CaseFactory()
    CaseFactory()
    assert not (tmp_path / "insights-log" / "meta.json").exists()

    result = CliRunner().invoke(app, ["worker", "--once"])

    assert result.exit_code == 0, result.output
    state = logstore._read_state()
    assert state is not None and state.version == event_log_version()
    held = logstore.scan_rows(state, "events").collect()
    assert held.height == CaseEvent.objects.count() > 0
