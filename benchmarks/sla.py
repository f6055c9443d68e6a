"""SLA speed: due times for a million cases, and one worker sweep over a million open cases.

    python benchmarks/sla.py due [--cases 1000000]
    DATABASE_URL=postgres://user:pw@127.0.0.1:5432/serviceloop_sla_bench \\
        python benchmarks/sla.py sweep [--cases 1000000 --breaches 10000]

``due``: a business calendar like a Chinese service desk's (Asia/Shanghai, 09:00-12:00 and
13:30-18:00 on weekdays, public holidays and 调休 make-up working days from ``holidays``); per case
a clock state (last change, target, working time already used) drawn at random over 2025-2026;
the due time of every case computed by ``Clock.add_many`` (NumPy over the compiled timeline), then
a sample checked against the minute-by-minute oracle of the tests. Targets: >= 200,000 cases/s.

``sweep``: drops and re-creates the database named in ``DATABASE_URL`` (its name must end in
``_bench``), loads the default process, a calendar and a policy, ``--cases`` open cases with a
stopped first-response clock and a running resolution clock each, ``--breaches`` of them past due,
then times one ``sla_sweep()`` (what ``serviceloop worker`` runs every round) and checks it recorded
exactly those breaches. Target: < 10 s.

``live`` (after ``sweep``, same ``DATABASE_URL``; or over any migrated database such as the 1M-case
scale database): each panel of the live monitoring page, for a manager (every team) and for the
team with the most open cases, the first run and the median. Target: < 300 ms each.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]


def china_calendar():  # type: ignore[no-untyped-def]
    import holidays

    from serviceloop.sla.business_time import BusinessCalendar

    china = holidays.China(years=range(2024, 2028))
    day = [(540, 720), (810, 1080)]
    return BusinessCalendar.build(
        time_zone="Asia/Shanghai",
        weekly={d: day for d in range(5)},
        closed=set(china),
        working=set(china.weekend_workdays),
    )


def bench_due(cases: int, seed: int) -> None:
    from tests.sla.oracle import OracleCalendar, oracle_threshold

    from serviceloop.sla.business_time import Clock

    rng = np.random.default_rng(seed)
    t0 = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
    t1 = int(datetime(2026, 12, 1, tzinfo=UTC).timestamp())
    since = rng.integers(t0, t1, cases, dtype=np.int64)
    targets = rng.choice(np.array([30, 120, 240, 480, 960, 2400, 4800]) * 60, cases)
    used = (targets * rng.random(cases) * 0.9).astype(np.int64)
    remaining = targets - used

    started = time.perf_counter()
    calendar = china_calendar()
    clock = Clock(calendar)
    clock.timeline(t0, t1 + 90 * 86400)
    compiled = time.perf_counter() - started

    runs = []
    for _ in range(3):
        started = time.perf_counter()
        due = clock.add_many(since, remaining)
        runs.append(time.perf_counter() - started)
    best = min(runs)
    print(f"calendar compiled (library holidays, 2023-2027 timeline): {compiled * 1000:.0f} ms")
    print(
        f"due times for {cases:,} cases: best of 3 {best:.3f} s "
        f"-> {cases / best:,.0f} cases/s (target >= 200,000/s)"
    )

    # Check a sample against the independent minute walk (minute-aligned starts).
    china_days = {d: h for d, h in enumerate(calendar.weekly)}
    oracle = OracleCalendar(
        "Asia/Shanghai", china_days, set(calendar.closed), set(calendar.working)
    )
    sample = rng.choice(cases, 40, replace=False)
    starts = since[sample] // 60 * 60
    minutes = remaining[sample] // 60
    got = clock.add_many(starts, minutes * 60)
    for start, minute, answer in zip(starts, minutes, got, strict=True):
        expected = oracle_threshold(oracle, int(start), [], int(minute)) if minute else int(start)
        assert answer == expected, (int(start), int(minute), int(answer), expected)
    print(f"sample of {len(sample)} checked against the minute-by-minute oracle: equal")
    assert due.shape == (cases,)


def _recreate_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if not name.endswith("_bench"):
        raise SystemExit(
            f"refusing to drop {name!r}: the benchmark database name must end in _bench"
        )
    admin = parsed._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def bench_sweep(cases: int, breaches: int) -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(
            "sweep: set DATABASE_URL to a PostgreSQL database whose name ends in _bench"
        )
    _recreate_database(url)
    os.environ.setdefault("SERVICELOOP_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("SERVICELOOP_HTTPS", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serviceloop.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from serviceloop.cases.models import Case, CaseEvent
    from serviceloop.customers.models import Customer
    from serviceloop.processes.services import process_default_install
    from serviceloop.sla.models import BusinessCalendar, SlaClock, SlaPolicy, SlaTarget
    from serviceloop.sla.sweep import sla_sweep

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    version = process_default_install(actor=None)
    stage = version.stages.get(is_start=True)
    customer = Customer.objects.create(name="Bench", email="bench@example.com")
    calendar = BusinessCalendar.objects.create(name="Organisation", country="CN")
    policy = SlaPolicy.objects.create(name="Standard")
    SlaTarget.objects.create(policy=policy, metric="first_response", minutes=240)
    SlaTarget.objects.create(policy=policy, metric="resolution", minutes=4800)
    now = timezone.now()
    case, clock = Case._meta.db_table, SlaClock._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {case} (title, description, customer_id, channel, priority, "  # noqa: S608
            "process_version_id, stage_id, status, team_id, attributes, checklist_done, "
            "stage_entered_at, created_at, updated_at, version) "
            "SELECT 'Case ' || g, 'Generated for the SLA benchmark', %s, 'portal', 'normal', "
            "%s, %s, 'open', %s, '{}', '[]', %s - g * interval '1 second', "
            "%s - g * interval '1 second', %s, 1 FROM generate_series(1, %s) g",
            [customer.pk, version.pk, stage.pk, stage.responsible_team_id, now, now, now, cases],
        )
        common = (
            f"INSERT INTO {clock} (case_id, metric, cycle, policy_id, calendar_id, "
            "target_seconds, warn_seconds, used_seconds, since, running, started_at, due_at, "
            "warn_at, warned_at, breached_at, stopped_at) "
        )
        # First response given long ago: stopped clocks (no due time).
        cur.execute(
            common + "SELECT id, 'first_response', 1, %s, %s, 14400, 10800, 3600, created_at, "  # noqa: S608
            f"false, created_at, NULL, NULL, NULL, NULL, created_at FROM {case}",
            [policy.pk, calendar.pk],
        )
        # Resolution running: the first ``breaches`` cases past due (warned already), the rest
        # due in the next 30 days.
        cur.execute(
            common + "SELECT id, 'resolution', 1, %s, %s, 288000, 216000, 1000, created_at, "  # noqa: S608
            "true, created_at, "
            "CASE WHEN rn <= %s THEN %s - interval '10 seconds' "
            "ELSE %s + (1 + rn %% 43200) * interval '1 minute' END, "
            "CASE WHEN rn <= %s THEN %s - interval '1 hour' "
            "ELSE %s + (1 + rn %% 43200) * interval '45 seconds' END, "
            "CASE WHEN rn <= %s THEN %s - interval '1 hour' END, NULL, NULL "
            f"FROM (SELECT id, created_at, row_number() OVER (ORDER BY random()) rn FROM {case}) c",
            [policy.pk, calendar.pk, breaches, now, now, breaches, now, now, breaches, now],
        )
        cur.execute("ANALYZE")
    print(
        f"loaded {cases:,} open cases with {2 * cases:,} clocks ({breaches:,} past due) "
        f"in {time.perf_counter() - started:.0f} s"
    )

    before = CaseEvent.objects.count()
    started = time.perf_counter()
    counts = sla_sweep(now=now)
    took = time.perf_counter() - started
    recorded = CaseEvent.objects.count() - before
    print(
        f"one sweep over {cases:,} open cases recorded {counts.breaches:,} breaches in {took:.2f} s "
        f"(target < 10 s)"
    )
    assert (counts.breaches, counts.warnings, recorded) == (breaches, 0, breaches), counts
    assert SlaClock.objects.exclude(breached_at=None).count() == breaches
    started = time.perf_counter()
    again = sla_sweep(now=now)
    print(
        f"the next sweep (nothing due) found {again.breaches} in "
        f"{(time.perf_counter() - started) * 1000:.0f} ms"
    )


def bench_live(repeat: int) -> None:
    """Time each panel query of the live page over the database ``sweep`` loaded (run it first)."""
    import statistics

    os.environ.setdefault("SERVICELOOP_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("SERVICELOOP_HTTPS", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serviceloop.settings")
    import django

    django.setup()
    from django.db.models import Count
    from django.utils import timezone

    from serviceloop.cases.models import Case
    from serviceloop.sla import live
    from serviceloop.sla.capacity import arrivals_capacity
    from serviceloop.sla.compliance import _kept as compliance_kept
    from serviceloop.sla.compliance import compliance
    from serviceloop.sla.counters import live_counts_fold

    now = timezone.now()
    team_id = (
        Case.objects.filter(status="open")
        .exclude(team_id=None)
        .values_list("team_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("team_id", flat=True)
        .first()
    )
    print(f"cases: {Case.objects.count():,}, open: {Case.objects.filter(status='open').count():,}")
    started = time.perf_counter()
    live_counts_fold()
    print(f"folding the counters' fresh rows: {(time.perf_counter() - started) * 1000:.0f} ms")
    for who, scope in (("manager", live.LiveScope(None)), ("one team", live.LiveScope((team_id,)))):
        panels = {
            "at-risk list": lambda scope=scope: live._at_risk(scope, now),
            "attainment (30 days)": lambda scope=scope: live._attainment(
                scope, live.local_midnight(now, days_back=29)
            ),
            "resolution p50/p90": lambda scope=scope: live._percentiles(
                scope, "resolution", live.local_midnight(now, days_back=29)
            ),
            "first response p50/p90": lambda scope=scope: live._percentiles(
                scope, "first_response", live.local_midnight(now, days_back=29)
            ),
            "work in progress": lambda scope=scope: live._wip(scope),
            "ageing": lambda scope=scope: live._ageing(scope, now),
            "load per agent": lambda scope=scope: live._load(scope),
            "past stage standard": lambda scope=scope: live._overdue_stages(scope, now),
            "arrivals vs capacity": lambda scope=scope: arrivals_capacity(scope, now=now),
            "process compliance": lambda scope=scope: (
                compliance_kept.clear(),  # time the computation, not the minute it is kept
                compliance(scope, now=now),
            ),
        }
        for name, run in panels.items():
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                run()
                times.append(time.perf_counter() - started)
            print(
                f"{who:9} {name:22} first {times[0] * 1000:7.1f} ms, median "
                f"{statistics.median(times) * 1000:7.1f} ms (target < 300 ms)"
            )


def _explain(sql: str, params: list[object]) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return [row[0] for row in cursor.fetchall()]


def explain_live() -> None:
    """EXPLAIN ANALYZE of each aggregate panel's query: counting the tables (before) and summing
    the counters (after), for every team."""
    os.environ.setdefault("SERVICELOOP_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("SERVICELOOP_HTTPS", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serviceloop.settings")
    import django

    django.setup()
    from django.db.models import Count, Q, Sum
    from django.utils import timezone

    from serviceloop.cases.models import Case
    from serviceloop.sla.live import ACTIVE, local_midnight
    from serviceloop.sla.models import CaseHourCount, ClockHourCount, SlaClock

    now = timezone.now()
    since = local_midnight(now, days_back=29)
    queries = {
        "work in progress, counting cases": Case.objects.filter(status__in=ACTIVE)
        .values("team_id", "stage_id", "status")
        .annotate(n=Count("id")),
        "work in progress, summing counters": CaseHourCount.objects.filter(status__in=ACTIVE)
        .values("team_id", "stage_id", "status")
        .annotate(n=Sum("n")),
        "attainment 30 days, counting clocks": SlaClock.objects.aggregate,
        "attainment 30 days, summing counters": ClockHourCount.objects.filter(hour__gte=since)
        .values("metric")
        .annotate(met=Sum("met"), breached=Sum("breached")),
        "resolution p50/p90 sample, latest stopped clocks": SlaClock.objects.filter(
            metric="first_response", stopped_at__gte=since
        )
        .order_by("-stopped_at")
        .values("used_seconds")[:5_000],
    }
    clocks = (
        SlaClock.objects.filter(
            Q(stopped_at__gte=since, breached_at=None) | Q(breached_at__gte=since)
        )
        .order_by()
        .values("metric")
    )
    queries["attainment 30 days, counting clocks"] = clocks.annotate(
        met=Count("id", filter=Q(stopped_at__gte=since, breached_at=None)),
        breached=Count("id", filter=Q(breached_at__gte=since)),
    )
    for name, query in queries.items():
        sql, params = query.query.sql_with_params()  # type: ignore[union-attr]
        shown = sql % tuple(f"'{p.isoformat() if hasattr(p, 'isoformat') else p}'" for p in params)
        print(f"\n== {name}\n{shown}")
        print("\n".join(_explain(sql, list(params))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    due = sub.add_parser("due", help="due times for many cases (no database)")
    due.add_argument("--cases", type=int, default=1_000_000)
    due.add_argument("--seed", type=int, default=14)
    sweep = sub.add_parser("sweep", help="one worker sweep in PostgreSQL")
    sweep.add_argument("--cases", type=int, default=1_000_000)
    sweep.add_argument("--breaches", type=int, default=10_000)
    live = sub.add_parser("live", help="the live page's queries over the sweep's database")
    live.add_argument("--repeat", type=int, default=3)
    live.add_argument(
        "--explain", action="store_true", help="print EXPLAIN ANALYZE, before and after"
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, NumPy {np.__version__}"
    )
    if args.what == "due":
        bench_due(args.cases, args.seed)
    elif args.what == "live" and args.explain:
        explain_live()
    elif args.what == "live":
        bench_live(args.repeat)
    else:
        bench_sweep(args.cases, args.breaches)


if __name__ == "__main__":
    main()
