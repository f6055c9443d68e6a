"""Event-log export at scale: time and peak memory of ``serviceloop export-log`` per format.

Fills a fresh database (``SERVICELOOP_DATA_DIR`` / ``DATABASE_URL``) with synthetic cases and
events inserted in bulk (20 events per case, five stages, three agents), then runs the real
command for CSV, Parquet and XES in a child process each and reports wall time, the child's CPU
time, the CPU time of the database backends it used (PostgreSQL on this machine), events/s, the
child's peak RSS, the file's size and the 1-minute load average. Memory flat means the peak stays
about the same when the log grows:

    SERVICELOOP_DATA_DIR=/tmp/sl-export python benchmarks/export_log.py --events 200000 1000000

``--as-is`` times the database as it is, e.g. the 1M-case scale database (``scale_fill.py``):

    DATABASE_URL=postgres://.../sl_h2_scale python benchmarks/export_log.py --as-is --out /tmp

Rows are inserted directly (not through the services): this measures the export, not intake.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import threading
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


class ServerCpu:
    """CPU seconds of the PostgreSQL backends an export opens (named ``serviceloop-export``),
    sampled from /proc while the child runs: the server's side of the work, which the child's
    own CPU time leaves out. Needs the server on this machine and /proc readable (root)."""

    def __init__(self) -> None:
        self.seen: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        from django.db import connection

        from serviceloop.cases.export.reader import APPLICATION_NAME

        tick = os.sysconf("SC_CLK_TCK")
        with connection.cursor() as cursor:
            while not self.stop.wait(0.2):
                cursor.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                    [APPLICATION_NAME],
                )
                for (pid,) in cursor.fetchall():
                    try:
                        with open(f"/proc/{pid}/stat") as handle:
                            fields = handle.read().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    self.seen[pid] = (int(fields[11]) + int(fields[12])) / tick

    def __enter__(self) -> ServerCpu:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    @property
    def seconds(self) -> float:
        return sum(self.seen.values())


def run_export(fmt: str, out: Path, kind: str = "all") -> dict[str, float]:
    """Wall and CPU seconds, peak RSS (MiB) of one ``serviceloop export-log`` child process, and
    the CPU seconds of the database backends it used (0 when they cannot be seen)."""
    command = [
        sys.executable, "-m", "serviceloop.cli", "export-log", "--format", fmt, "--kind", kind,
        str(out),
    ]  # fmt: skip
    from django.db import connection

    watch = connection.vendor == "postgresql"
    load = os.getloadavg()[0]
    began = time.perf_counter()
    with ServerCpu() if watch else contextlib.nullcontext() as server:
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - began
    if status != 0:
        raise SystemExit(f"export-log --format {fmt} failed with status {status}")
    return {
        "wall": elapsed,
        "cpu": usage.ru_utime + usage.ru_stime,
        "server": server.seconds if server is not None else 0.0,
        "peak": usage.ru_maxrss / 1024,
        "load": max(load, os.getloadavg()[0]),
    }


def _report(rows: int, fmt: str, kind: str, run: dict[str, float], out: Path) -> None:
    print(
        f"{rows:>10} {fmt:>8} {kind:>6} {run['wall']:>7.1f} {run['cpu']:>7.1f} "
        f"{run['server']:>7.1f} {rows / run['wall']:>10,.0f} {run['peak']:>8.0f} "
        f"{out.stat().st_size / 2**20:>7.0f} {run['load']:>5.1f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument(
        "--as-is",
        action="store_true",
        help="time the database as it is (e.g. the scale database), adding nothing",
    )
    parser.add_argument("--formats", nargs="+", default=["csv", "parquet", "xes"])
    parser.add_argument("--kind", choices=["all", "stage"], default="all")
    parser.add_argument(
        "--out", type=Path, help="directory for the files (default: a temporary one)"
    )
    args = parser.parse_args()
    _django()
    from django.db import connection

    from serviceloop.cases.models import CaseEvent

    print(f"database: {connection.vendor}; machine: {os.cpu_count()} cores")
    print(
        f"{'events':>10} {'format':>8} {'kind':>6} {'wall s':>7} {'cpu s':>7} {'db cpu':>7} "
        f"{'events/s':>10} {'peak MiB':>8} {'MiB':>7} {'load':>5}"
    )
    with tempfile.TemporaryDirectory(dir=args.out) as tmp:
        targets = [None] if args.as_is else sorted(args.events)
        for target in targets:
            total = CaseEvent.objects.count() if target is None else fill(target)
            connection.close()
            for fmt in args.formats:
                out = Path(tmp) / f"log.{fmt}"
                run = run_export(fmt, out, args.kind)
                _report(total, fmt, args.kind, run, out)
                out.unlink()


if __name__ == "__main__":
    main()
