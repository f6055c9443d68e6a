"""``serviceloop worker`` as real processes on the test database: two workers at once, a worker
killed with SIGKILL mid-sweep and then restarted, and a running worker that notices a breach within
seconds. Every warning and breach ends up in the log exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from serviceloop.cases.choices import EventKind
from serviceloop.cases.models import Case, CaseEvent
from serviceloop.sla.models import SlaClock
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db(transaction=True)

BINARY = Path(sys.executable).parent / "serviceloop"
SLA_KINDS = [EventKind.SLA_WARNING, EventKind.SLA_BREACHED]


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def worker(*args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "SERVICELOOP_SECRET_KEY": "test-only-secret-key-for-worker-processes",
        "SERVICELOOP_HTTPS": "0",
    }
    return subprocess.Popen(  # noqa: S603
        [str(BINARY), "worker", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def overdue_cases(n: int, sla) -> list[int]:
    """``n`` open cases, each with a first-response and a resolution clock whose warning and due
    time have passed: 4n thresholds to record."""
    template = CaseFactory()
    now = timezone.now()
    cases = Case.objects.bulk_create(
        [
            Case(
                title=f"Overdue {i}",
                description="x",
                customer=template.customer,
                channel=template.channel,
                priority=template.priority,
                process_version=template.process_version,
                stage=template.stage,
                team=template.team,
                stage_entered_at=now,
                created_at=now,
                updated_at=now,
            )
            for i in range(n)
        ]
    )
    clocks = [
        SlaClock(
            case=case,
            metric=metric,
            policy=sla.standard,
            calendar=sla.calendar,
            target_seconds=3600,
            warn_seconds=2700,
            since=now - timedelta(hours=3),
            started_at=now - timedelta(hours=3),
            running=True,
            warn_at=now - timedelta(minutes=40),
            due_at=now - timedelta(minutes=30),
        )
        for case in cases
        for metric in ("first_response", "resolution")
    ]
    SlaClock.objects.bulk_create(clocks)
    return [c.pk for c in cases]


def assert_exactly_once(case_ids: list[int]) -> None:
    per_threshold = (
        CaseEvent.objects.filter(case_id__in=case_ids, kind__in=SLA_KINDS)
        .values("case_id", "kind", "attributes__metric")
        .annotate(n=Count("id"))
    )
    counts = [row["n"] for row in per_threshold]
    assert len(counts) == 4 * len(case_ids)
    assert set(counts) == {1}
    clocks = SlaClock.objects.filter(case_id__in=case_ids)
    assert not clocks.filter(warned_at=None).exists()
    assert not clocks.filter(breached_at=None).exists()


def recorded(output: str) -> int:
    total = 0
    for line in output.splitlines():
        if line.startswith("sla: "):
            parts = line.split()
            total += int(parts[1]) + int(parts[3])
    return total


def test_two_workers_at_once_record_every_threshold_once(world, sla):
    ids = overdue_cases(400, sla)
    procs = [worker("--once", "--sla-batch", "10") for _ in range(2)]
    outputs = [p.communicate(timeout=240) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    assert_exactly_once(ids)
    # What the two reported adds up to what was recorded: neither counted a row twice.
    shares = [recorded(out) for out, _ in outputs]
    assert sum(shares) == 4 * len(ids)


def test_worker_killed_mid_sweep_then_restarted_records_each_once(world, sla):
    ids = overdue_cases(1500, sla)
    proc = worker("--once", "--sla-batch", "5")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = CaseEvent.objects.filter(case_id__in=ids, kind__in=SLA_KINDS).count()
        if done > 0:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    partial = CaseEvent.objects.filter(case_id__in=ids, kind__in=SLA_KINDS).count()
    assert 0 < partial < 4 * len(ids), "the kill did not land mid-sweep"
    # What was committed is whole: a mark for every event and an event for every mark.
    marks = SlaClock.objects.filter(case_id__in=ids).exclude(warned_at=None).count()
    marks += SlaClock.objects.filter(case_id__in=ids).exclude(breached_at=None).count()
    assert marks == partial

    out, err = worker("--once").communicate(timeout=240)
    assert err == "" or "Traceback" not in err, err
    assert_exactly_once(ids)
    assert recorded(out) == 4 * len(ids) - partial


def test_running_worker_notices_a_breach_within_seconds(world, sla):
    case = CaseFactory()
    clock = SlaClock.objects.get(case=case, metric="first_response")
    due = timezone.now() + timedelta(seconds=2)
    SlaClock.objects.filter(pk=clock.pk).update(warn_at=due, due_at=due)
    proc = worker("--sla-every", "1")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if CaseEvent.objects.filter(case=case, kind=EventKind.SLA_BREACHED).exists():
                break
            time.sleep(0.2)
        breach = CaseEvent.objects.get(case=case, kind=EventKind.SLA_BREACHED)
        detected = breach.attributes["detected_at"]
        lag = timezone.datetime.fromisoformat(detected) - breach.timestamp
        assert breach.timestamp == due
        assert timedelta(0) <= lag < timedelta(seconds=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    # Restarted: nothing is recorded again.
    out, _ = worker("--once").communicate(timeout=120)
    assert recorded(out) == 0
    assert CaseEvent.objects.filter(case=case, kind__in=SLA_KINDS).count() == 2
