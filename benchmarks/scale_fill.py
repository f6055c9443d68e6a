"""Fill a database with N cases with realistic histories, fast: the scale the pages are timed at.

Every case runs the shipped standard process (Intake, Needs analysis, Confirmation, Solution
design, Delivery, Follow-up, Closed) along one of its common paths (rework and escalation edges
included), with the events the services would append (created, stage_entered with the team
re-route in its attributes, assigned, checklist_checked, replied, customer_replied, status_changed,
closed), messages, customers and agents of the three teams. Cases are spread over ``--years`` up to
now; the newest are still under way. Solution design waits longest (the specialists are few).

Rows are generated column-wise (NumPy, Polars) and written with ``COPY ... FROM STDIN`` on
PostgreSQL (``executemany`` on SQLite): about 30 events and 6 messages per case.

    DATABASE_URL=postgres://.../sl_scale python benchmarks/scale_fill.py --cases 1000000

The database must be empty of cases (a fresh one: the script migrates it). Prints the time taken.
This writes rows directly, not through the services: it measures reading at scale, not intake.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

STAGES = ["intake", "analysis", "confirmation", "design", "delivery", "follow-up", "closed"]
# Paths through the process (stage codes) and how often each is taken.
PATHS: list[tuple[float, list[str]]] = [
    (0.70, ["intake", "analysis", "confirmation", "design", "delivery", "follow-up", "closed"]),
    (0.07, ["intake", "analysis", "confirmation", "design", "delivery", "follow-up", "delivery",
            "follow-up", "closed"]),
    (0.07, ["intake", "analysis", "confirmation", "design", "delivery", "design", "delivery",
            "follow-up", "closed"]),
    (0.06, ["intake", "analysis", "confirmation", "analysis", "confirmation", "design",
            "delivery", "follow-up", "closed"]),
    (0.05, ["intake", "design", "delivery", "follow-up", "closed"]),
    (0.05, ["intake", "analysis", "design", "delivery", "follow-up", "closed"]),
]  # fmt: skip
# Median hours in each stage (lognormal, sigma 0.7); Solution design is the planted bottleneck.
HOURS = {"intake": 1.0, "analysis": 3.0, "confirmation": 10.0, "design": 30.0, "delivery": 8.0,
         "follow-up": 6.0, "closed": 0.0}  # fmt: skip
TEAMS = {"frontline": 60, "specialists": 12, "field": 30}
CATEGORIES = [("installation", "Installation"), ("fault", "Fault report"),
              ("billing", "Billing question"), ("complaint", "Complaint"),
              ("consulting", "Consulting")]  # fmt: skip
WORDS = ["printer", "scanner", "router", "invoice", "contract", "delivery", "installation", "outage", "login", "password", "refund", "upgrade", "warranty", "meeting-room", "projector", "network", "cable", "laptop", "badge", "parking", "license", "mailbox", "backup", "firewall", "telephone", "headset", "monitor", "elevator", "air-conditioning", "heating", "water", "leak", "noise", "access", "card", "server", "database", "report", "payroll"]  # fmt: skip
FIRST = [
    "Wei",
    "Jing",
    "Li",
    "Na",
    "Min",
    "Hua",
    "Lei",
    "Yan",
    "Ming",
    "Jun",
    "Anna",
    "Peter",
    "Maria",
    "John",
    "Laura",
    "David",
    "Sara",
    "Tom",
    "Emma",
    "Lucas",
    "Olivia",
    "Noah",
    "Chen",
    "Zhang",
    "Wang",
    "Liu",
    "Yang",
    "Zhao",
    "Huang",
    "Zhou",
    "Wu",
    "Xu",
    "Sun",
]
LAST = [
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Huang",
    "Zhao",
    "Wu",
    "Zhou",
    "Smith",
    "Brown",
    "Miller",
    "Davis",
    "Garcia",
    "Wilson",
    "Taylor",
    "Moore",
    "Martin",
    "Lee",
    "Clark",
    "Lewis",
    "Walker",
    "Hall",
    "Young",
    "King",
    "Wright",
    "Scott",
    "Green",
]
CHANNELS = ["portal", "api", "email", "phone", "agent"]
PRIORITIES = ["low", "normal", "high", "urgent"]
EVENT_COLUMNS = ["case_id", "kind", "activity", "timestamp", "actor_id", "lifecycle", "attributes"]


def _django() -> None:
    # A throw-away key, as the other benchmark scripts use: it signs nothing this script keeps.
    os.environ.setdefault("SERVICELOOP_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serviceloop.settings")
    import django

    django.setup()


def _setup(rng: np.random.Generator) -> dict[str, Any]:
    """Migrate; install the process; create teams' agents, a manager and categories."""
    from django.core.management import call_command
    from django.db import transaction

    from serviceloop.accounts.models import AgentProfile, Team, User
    from serviceloop.cases.models import Case, Category
    from serviceloop.processes.services import process_default_install

    call_command("migrate", interactive=False, verbosity=0)
    if Case.objects.exists():
        raise SystemExit("the database already has cases: fill a fresh one")
    with transaction.atomic():
        version = process_default_install(actor=None)
        stages = {s.code: s for s in version.stages.select_related("responsible_team")}
        agents: dict[str, list[tuple[int, str]]] = {}
        for code, count in TEAMS.items():
            team, _ = Team.objects.get_or_create(code=code, defaults={"name": code.title()})
            users = User.objects.bulk_create(
                [
                    User(username=f"{code}-{i:03d}", role="agent", first_name=code.title())
                    for i in range(count)
                ]
            )
            AgentProfile.objects.bulk_create(
                [AgentProfile(user=u, team=team, capacity=50) for u in users]
            )
            agents[code] = [(u.pk, u.username) for u in users]
        manager = User.objects.create_user(username="manager", role="manager", password=None)
        categories = [
            Category.objects.get_or_create(code=code, defaults={"name": name})[0].pk
            for code, name in CATEGORIES
        ]
    return {
        "version": version.pk,
        "stage_ids": {code: stages[code].pk for code in STAGES},
        "names": {code: stages[code].name for code in STAGES},
        "teams": {
            code: (stages[code].responsible_team.code if stages[code].responsible_team else None)
            for code in STAGES
        },
        "team_ids": dict(Team.objects.values_list("code", "id")),
        "agents": agents,
        "manager": manager.pk,
        "categories": categories,
    }


def _copy(table: str, columns: list[str], frame: pl.DataFrame) -> None:
    """Append ``frame`` (columns in order) to ``table``: COPY on PostgreSQL, else executemany."""
    from django.db import connection

    if connection.vendor == "postgresql":
        data = frame.write_csv(include_header=False).encode()
        with connection.cursor() as wrapper:
            # Generated rows are consistent by construction: skip the per-row foreign-key
            # triggers for this load (the checks are constraint triggers, off in replica mode).
            wrapper.execute("SET LOCAL session_replication_role = replica")
            wrapper.execute("SET LOCAL synchronous_commit = off")
            cols = ", ".join(f'"{c}"' for c in columns)
            with wrapper.cursor.copy(f'COPY "{table}" ({cols}) FROM STDIN (FORMAT csv)') as copy:
                step = 8 << 20
                for start in range(0, len(data), step):
                    copy.write(data[start : start + step])
        return
    marks = ", ".join(["%s"] * len(columns))
    cols = ", ".join(f'"{c}"' for c in columns)
    rows = frame.with_columns(pl.col(pl.Datetime).dt.strftime("%Y-%m-%d %H:%M:%S%.6f")).rows()
    with connection.cursor() as cursor:
        sql = f'INSERT INTO "{table}" ({cols}) VALUES ({marks})'  # noqa: S608 (our table names)
        cursor.executemany(sql, rows)


def _customers(count: int, rng: np.random.Generator, now: datetime) -> None:
    first = rng.choice(FIRST, count)
    last = rng.choice(LAST, count)
    ids = np.arange(count)
    frame = pl.DataFrame(
        {
            "name": [f"{a} {b}" for a, b in zip(first, last, strict=True)],
            "email": [
                f"{a.lower()}.{b.lower()}.{i}@example.com"
                for a, b, i in zip(first, last, ids, strict=True)
            ],
            "phone": "",
            "segment": "",
            "created_at": pl.Series([now] * count, dtype=pl.Datetime("us", "UTC")),
        }
    )
    _copy("customers_customer", frame.columns, frame)


def _histories(
    first_id: int,
    count: int,
    ctx: dict[str, Any],
    rng: np.random.Generator,
    span: tuple[datetime, datetime],
    customers: tuple[int, int],
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Cases, events and messages for case ids ``first_id .. first_id + count - 1``."""
    begin, now = span
    span_us = int((now - begin).total_seconds() * 1e6)
    created = np.sort(rng.integers(0, span_us, count)) + int(begin.timestamp() * 1e6)
    path_of = rng.choice(len(PATHS), count, p=[p for p, _ in PATHS])
    lengths = np.array([len(PATHS[i][1]) for i in path_of])
    visit_case = np.repeat(np.arange(count), lengths)
    stage_code = np.concatenate([np.array(PATHS[i][1]) for i in path_of]) if count else np.array([])
    median = np.vectorize(HOURS.get)(stage_code).astype(float)
    hours = median * rng.lognormal(0.0, 0.7, len(stage_code))
    dur_us = (hours * 3600e6).astype(np.int64)
    visits = (
        pl.DataFrame({"c": visit_case, "stage": stage_code, "dur": dur_us})
        .with_columns(
            pl.col("dur").cum_sum().over("c").alias("end_off"),
            pl.int_range(pl.len()).over("c").alias("n"),
        )
        .with_columns(
            (pl.col("end_off") - pl.col("dur")).alias("start_off"),
            pl.lit(created).gather(pl.col("c")).alias("created"),
        )
        .with_columns(
            (pl.col("created") + pl.col("start_off")).alias("start"),
            (pl.col("created") + pl.col("end_off")).alias("end"),
        )
    )
    now_us = int(now.timestamp() * 1e6)
    visits = visits.filter(pl.col("start") < now_us)
    team_of = pl.col("stage").replace_strict(ctx["teams"], default=None)
    agents = ctx["agents"]
    pick = {t: rng.integers(0, len(agents[t]), visits.height) for t in agents}
    agent_idx = np.select(
        [visits["stage"].to_numpy() == s for s in STAGES if ctx["teams"][s]],
        [pick[ctx["teams"][s]] for s in STAGES if ctx["teams"][s]],
        default=0,
    )
    visits = visits.with_columns(team_of.alias("team"), pl.Series("ai", agent_idx))
    ids = {t: np.array([a[0] for a in agents[t]]) for t in agents}
    names = {t: np.array([a[1] for a in agents[t]]) for t in agents}
    team_arr = visits["team"].to_numpy()
    agent_id = np.zeros(visits.height, dtype=np.int64)
    agent_name = np.full(visits.height, "", dtype=object)
    for t in agents:
        sel = team_arr == t
        agent_id[sel] = ids[t][agent_idx[sel]]
        agent_name[sel] = names[t][agent_idx[sel]]
    visits = visits.with_columns(
        pl.Series("agent", agent_id).replace(0, None),
        pl.Series("agent_name", agent_name, dtype=pl.String).replace("", None),
    ).with_columns(
        pl.col("team").shift(1).over("c").alias("prev_team"),
        pl.col("agent_name").shift(1).over("c").alias("prev_agent"),
        pl.col("stage").shift(1).over("c").alias("prev_stage"),
        pl.col("agent").shift(1).over("c").alias("prev_agent_id"),
    )
    case_id = pl.col("c") + first_id
    stage_name = pl.col("stage").replace_strict(ctx["names"])
    is_end = pl.col("stage") == "closed"
    rerouted = (pl.col("team") != pl.col("prev_team")) & pl.col("team").is_not_null()
    entry_attrs = pl.concat_str(
        [
            pl.lit('{"from_stage": '),
            pl.when(pl.col("prev_stage").is_null())
            .then(pl.lit("null"))
            .otherwise(pl.lit('"') + pl.col("prev_stage") + pl.lit('"')),
            pl.lit(', "to_stage": "'),
            pl.col("stage"),
            pl.lit('", "transition_kind": "'),
            pl.when(pl.col("n") == 0).then(pl.lit("start")).otherwise(pl.lit("forward")),
            pl.lit('"'),
            pl.when(rerouted)
            .then(
                pl.lit(', "team": {"from": "')
                + pl.col("prev_team").fill_null("")
                + pl.lit('", "to": "')
                + pl.col("team")
                + pl.lit('"}, "assignee": {"from": ')
                + pl.when(pl.col("prev_agent").is_null())
                .then(pl.lit("null"))
                .otherwise(pl.lit('"') + pl.col("prev_agent") + pl.lit('"'))
                + pl.lit(', "to": null}')
            )
            .otherwise(pl.lit("")),
            pl.when(is_end).then(pl.lit(', "from_status": "resolved"')).otherwise(pl.lit("")),
            pl.lit("}"),
        ]
    )
    mover = pl.col("prev_agent_id").fill_null(pl.col("agent"))
    minute = 60_000_000
    entered = visits.select(
        case_id.alias("case_id"),
        pl.when(is_end).then(pl.lit("closed")).otherwise(pl.lit("stage_entered")).alias("kind"),
        stage_name.alias("activity"),
        pl.col("start").alias("ts"),
        mover.alias("actor_id"),
        entry_attrs.alias("attributes"),
    )
    work = visits.filter(~is_end)
    pickup = (pl.col("start") + pl.col("dur") // 3).alias("ts")
    assigned = work.select(
        case_id.alias("case_id"),
        pl.lit("assigned").alias("kind"),
        pl.lit("Assigned").alias("activity"),
        pickup,
        pl.col("agent").alias("actor_id"),
        (
            pl.lit('{"assignee": "')
            + pl.col("agent_name")
            + pl.lit('", "from_assignee": null, "team": "')
            + pl.col("team")
            + pl.lit('", "by": "manual"}')
        ).alias("attributes"),
    )
    replied = work.select(
        case_id.alias("case_id"),
        pl.lit("replied").alias("kind"),
        pl.lit("Replied").alias("activity"),
        (pl.col("start") + pl.col("dur") // 2).alias("ts"),
        pl.col("agent").alias("actor_id"),
        pl.lit('{"message": 0}').alias("attributes"),
    )
    checked = work.select(
        case_id.alias("case_id"),
        pl.lit("checklist_checked").alias("kind"),
        pl.lit("Checklist item checked").alias("activity"),
        (pl.col("end") - 2 * minute).alias("ts"),
        pl.col("agent").alias("actor_id"),
        (
            pl.lit('{"item": "done", "checked": true, "stage": "') + pl.col("stage") + pl.lit('"}')
        ).alias("attributes"),
    )
    customer_replied = work.filter(pl.col("stage").is_in(["confirmation", "follow-up"])).select(
        case_id.alias("case_id"),
        pl.lit("customer_replied").alias("kind"),
        pl.lit("Customer replied").alias("activity"),
        (pl.col("start") + (pl.col("dur") * 3) // 4).alias("ts"),
        pl.lit(None, pl.Int64).alias("actor_id"),
        pl.lit('{"message": 0}').alias("attributes"),
    )
    noted = work.filter(pl.col("stage").is_in(["analysis", "design", "delivery"])).select(
        case_id.alias("case_id"),
        pl.lit("note_added").alias("kind"),
        pl.lit("Internal note added").alias("activity"),
        (pl.col("start") + (pl.col("dur") * 2) // 3).alias("ts"),
        pl.col("agent").alias("actor_id"),
        pl.lit('{"message": 0}').alias("attributes"),
    )
    first_visit = visits.filter(pl.col("n") == 0)
    created_ev = first_visit.select(
        case_id.alias("case_id"),
        pl.lit("created").alias("kind"),
        pl.lit("Case created").alias("activity"),
        (pl.col("start") - 1).alias("ts"),
        pl.lit(None, pl.Int64).alias("actor_id"),
        pl.lit('{"channel": "portal"}').alias("attributes"),
    )
    events = (
        pl.concat([created_ev, entered, assigned, replied, checked, customer_replied, noted])
        .filter(pl.col("ts") < now_us)
        .sort("case_id", "ts")
        .select(
            "case_id",
            "kind",
            "activity",
            pl.col("ts").cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias("timestamp"),
            "actor_id",
            pl.lit("complete").alias("lifecycle"),
            "attributes",
        )
    )
    last = visits.group_by("c").agg(pl.all().sort_by("start").last()).sort("c")
    last_event = events.group_by("case_id").agg(pl.col("timestamp").max().alias("updated"))
    n = last.height
    words = rng.choice(WORDS, (n, 3))
    closed = last["stage"] == "closed"
    stamp = lambda col: pl.col(col).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")  # noqa: E731
    cases = (
        last.with_columns(
            (pl.col("c") + first_id).alias("id"),
            pl.Series("title", [f"{a} {b} {c}" for a, b, c in words]),
            pl.lit("Generated by benchmarks/scale_fill.py.").alias("description"),
            pl.Series("customer_id", rng.integers(customers[0], customers[1] + 1, n)),
            pl.Series("channel", rng.choice(CHANNELS, n, p=[0.35, 0.15, 0.25, 0.2, 0.05])),
            pl.Series("category_id", rng.choice(ctx["categories"], n)),
            pl.Series("priority", rng.choice(PRIORITIES, n, p=[0.15, 0.6, 0.2, 0.05])),
            pl.lit(ctx["version"]).alias("process_version_id"),
            pl.col("stage").replace_strict(ctx["stage_ids"]).alias("stage_id"),
            pl.when(closed).then(pl.lit("closed")).otherwise(pl.lit("open")).alias("status"),
            pl.col("team").replace_strict(ctx["team_ids"], default=None).alias("team_id"),
            pl.col("agent").alias("assignee_id"),
            pl.lit("{}").alias("attributes"),
            pl.lit("[]").alias("checklist_done"),
            stamp("start").alias("stage_entered_at"),
            pl.lit(None, pl.Datetime("us", "UTC")).alias("due_at"),
            stamp("created").alias("created_at"),
            pl.when(closed).then(stamp("start")).alias("closed_at"),
            pl.lit(1).alias("version"),
        )
        .join(last_event, left_on="id", right_on="case_id", how="left")
        .with_columns(pl.col("updated").fill_null(pl.col("created_at")).alias("updated_at"))
        .select(CASE_COLUMNS)
    )
    messages = events.filter(
        pl.col("kind").is_in(["replied", "customer_replied", "note_added"])
    ).select(
        "case_id",
        pl.col("actor_id").alias("author_id"),
        pl.col("kind")
        .replace_strict(
            {"replied": "public", "customer_replied": "public", "note_added": "internal"}
        )
        .alias("kind"),
        pl.lit("Thanks, we are on it. Details follow in the next message.").alias("body"),
        pl.lit("portal").alias("channel"),
        pl.col("timestamp").alias("created_at"),
    )
    return cases, events, messages


CASE_COLUMNS = [
    "id", "title", "description", "customer_id", "channel", "category_id", "priority",
    "process_version_id", "stage_id", "status", "team_id", "assignee_id", "attributes",
    "checklist_done", "stage_entered_at", "due_at", "created_at", "updated_at", "closed_at",
    "version",
]  # fmt: skip


BULK_TABLES = ("cases_caseevent", "cases_message")


def _drop_indexes(tables: tuple[str, ...]) -> list[str]:
    """Drop the secondary indexes of ``tables`` (rebuilt at the end: one sort per index is far
    cheaper than updating it row by row); returns the statements that create them again."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "JOIN pg_class c ON c.relname = i.indexname JOIN pg_index x ON x.indexrelid = c.oid "
            "WHERE i.tablename = ANY(%s) AND NOT x.indisprimary AND NOT x.indisunique",
            [list(tables)],
        )
        found = cursor.fetchall()
        for name, _ in found:
            cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in found]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, required=True)
    parser.add_argument("--years", type=float, default=3.0)
    parser.add_argument("--chunk", type=int, default=50_000, help="cases generated at a time")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    _django()
    from django.db import connection, transaction

    rng = np.random.default_rng(args.seed)
    began = time.perf_counter()
    ctx = _setup(rng)
    now = datetime.now(UTC).replace(microsecond=0)
    span = (now - timedelta(days=365 * args.years), now)
    n_customers = max(1, args.cases // 8)
    with transaction.atomic():
        _customers(n_customers, rng, now)
    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id), MAX(id) FROM customers_customer")
        low, high = cursor.fetchone()
    totals = [0, 0, 0]
    dropped = _drop_indexes(BULK_TABLES) if connection.vendor == "postgresql" else []
    for first in range(0, args.cases, args.chunk):
        count = min(args.chunk, args.cases - first)
        cases, events, messages = _histories(first + 1, count, ctx, rng, span, (low, high))
        with transaction.atomic():
            _copy("cases_case", CASE_COLUMNS, cases)
            _copy("cases_caseevent", EVENT_COLUMNS, events)
            _copy("cases_message", messages.columns, messages)
        totals = [totals[0] + cases.height, totals[1] + events.height, totals[2] + messages.height]
        print(
            f"  {totals[0]:>9,} cases {totals[1]:>11,} events {totals[2]:>10,} messages "
            f"({time.perf_counter() - began:6.0f} s)",
            file=sys.stderr,
        )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            indexed = time.perf_counter()
            for statement in dropped:
                cursor.execute(statement)
            print(f"  indexes rebuilt in {time.perf_counter() - indexed:.0f} s", file=sys.stderr)
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('cases_case', 'id'), "
                "(SELECT MAX(id) FROM cases_case))"
            )
            cursor.execute("ANALYZE")
        else:
            cursor.execute("ANALYZE")
    print(
        json.dumps(
            {
                "cases": totals[0],
                "events": totals[1],
                "messages": totals[2],
                "customers": n_customers,
                "seconds": round(time.perf_counter() - began, 1),
                "database": connection.vendor,
            }
        )
    )


if __name__ == "__main__":
    main()
