"""Event-log export at scale: time and peak memory of ``serviceloop export-log`` per format.

Fills a fresh database (``SERVICELOOP_DATA_DIR`` / ``DATABASE_URL``) with synthetic cases and
events inserted in bulk (20 events per case, five stages, three agents), then runs the real
command for CSV, Parquet and XES in a child process each and reports wall time, events/s and the
child's peak RSS. Memory flat means the peak stays about the same when the log grows:

    SERVICELOOP_DATA_DIR=/tmp/sl-export python benchmarks/export_log.py --events 200000 1000000

Rows are inserted directly (not through the services): this measures the export, not intake.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

EVENTS_PER_CASE = 20
STAGES = ["Intake", "Needs analysis", "Confirmation", "Solution design", "Delivery"]


def _django() -> None:
    # Local runs over plain HTTP with a throw-away key (production refuses to start without one).
    os.environ.setdefault("SERVICELOOP_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("SERVICELOOP_HTTPS", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serviceloop.settings")
    import django

    django.setup()


def fill(events: int) -> int:
    """Top the database up to ``events`` case events; returns the count."""
    from django.core.management import call_command
    from django.db import transaction

    from serviceloop.accounts.models import Team, User
    from serviceloop.cases.models import Case, CaseEvent
    from serviceloop.customers.models import Customer
    from serviceloop.processes.models import ProcessVersion, ServiceProcess, Stage

    call_command("migrate", interactive=False, verbosity=0)
    have = CaseEvent.objects.count()
    if have >= events:
        return have
    team, _ = Team.objects.get_or_create(code="bench", defaults={"name": "Bench"})
    agents = [
        User.objects.get_or_create(username=f"bench-agent-{i}", defaults={"role": "agent"})[0]
        for i in range(3)
    ]
    customer, _ = Customer.objects.get_or_create(
        email="bench@example.com", defaults={"name": "Bench & Co <test>"}
    )
    process, _ = ServiceProcess.objects.get_or_create(code="bench", defaults={"name": "Bench"})
    version, _ = ProcessVersion.objects.get_or_create(process=process, number=1)
    stage = version.stages.filter(code="intake").first()
    if stage is None:  # stages are added while the version is a draft, then it is published
        stage = Stage.objects.create(
            version=version, code="intake", name="Intake", order=1, is_start=True
        )
        version.status = "published"
        version.save()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    cases_needed = (events - have + EVENTS_PER_CASE - 1) // EVENTS_PER_CASE
    offset = Case.objects.count()
    for first in range(0, cases_needed, 2000):
        with transaction.atomic():
            batch = [
                Case(
                    number=f"B-{offset + i:08d}",
                    title="Synthetic",
                    description="",
                    customer=customer,
                    channel=("portal", "api", "email")[i % 3],
                    priority=("low", "normal", "high")[i % 3],
                    process_version=version,
                    stage=stage,
                    team=team,
                    stage_entered_at=start,
                    created_at=start + timedelta(minutes=offset + i),
                    updated_at=start,
                )
                for i in range(first, min(first + 2000, cases_needed))
            ]
            Case.objects.bulk_create(batch)
            created = Case.objects.filter(number__in=[c.number for c in batch]).values_list(
                "pk", "created_at"
            )
            CaseEvent.objects.bulk_create(
                [
                    CaseEvent(
                        case_id=pk,
                        kind="stage_entered" if step % 4 == 0 else "replied",
                        activity=STAGES[step % len(STAGES)] if step % 4 == 0 else "Replied",
                        timestamp=created_at + timedelta(hours=step),
                        actor=agents[step % 3],
                        attributes={},
                    )
                    for pk, created_at in created
                    for step in range(EVENTS_PER_CASE)
                ],
                batch_size=5000,
            )
        print(f"  filled {min(first + 2000, cases_needed)}/{cases_needed} cases", file=sys.stderr)
    return CaseEvent.objects.count()


def run_export(fmt: str, out: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one ``serviceloop export-log`` child process."""
    command = [sys.executable, "-m", "serviceloop.cli", "export-log", "--format", fmt, str(out)]
    began = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - began
    if status != 0:
        raise SystemExit(f"export-log --format {fmt} failed with status {status}")
    return elapsed, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[200_000, 1_000_000])
    args = parser.parse_args()
    _django()
    from django.db import connection

    print(f"database: {connection.vendor}; machine: {os.cpu_count()} cores")
    print(
        f"{'events':>10} {'format':>8} {'seconds':>8} {'events/s':>10} {'peak MiB':>9} {'MiB':>7}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for target in sorted(args.events):
            total = fill(target)
            connection.close()
            for fmt in ("csv", "parquet", "xes"):
                out = Path(tmp) / f"log.{fmt}"
                seconds, peak_kib = run_export(fmt, out)
                print(
                    f"{total:>10} {fmt:>8} {seconds:>8.1f} {total / seconds:>10,.0f} "
                    f"{peak_kib / 1024:>9.0f} {out.stat().st_size / 2**20:>7.0f}"
                )


if __name__ == "__main__":
    main()
