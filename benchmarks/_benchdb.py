"""Django side of ``api_load.py``: prepare a fresh database, and check it after the run.

Run in the server's environment (``DATABASE_URL`` / ``SERVICELOOP_DATA_DIR``):

    python benchmarks/_benchdb.py setup OUT.json --agents 8 --customers 200
    python benchmarks/_benchdb.py verify ACKED.json
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any


def _django() -> None:
    # Local runs over plain HTTP with a throw-away key (production refuses to start without one).
    os.environ.setdefault("SERVICELOOP_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("SERVICELOOP_HTTPS", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serviceloop.settings")
    import django

    django.setup()


def setup(out: Path, *, agents: int, customers: int) -> None:
    """Migrate, install the default process, create agents with API tokens and customers."""
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import transaction

    from serviceloop.accounts.models import Skill, Team, User
    from serviceloop.accounts.services import agent_create, api_token_create
    from serviceloop.cases.models import Category
    from serviceloop.customers.models import Customer
    from serviceloop.processes.services import process_default_install

    call_command("migrate", interactive=False, verbosity=0)
    with transaction.atomic():
        version = process_default_install(actor=None)
        start = version.stages.get(is_start=True)
        path = []
        stage = start
        while True:  # the main path: follow forward transitions
            nxt = (
                version.transitions.filter(source=stage, kind="forward")
                .select_related("target")
                .order_by("target__order")
                .first()
            )
            if nxt is None or nxt.target.is_end:
                break
            path.append({"code": nxt.target.code, "checklist": list(stage.checklist or [])})
            stage = nxt.target
        # The start stage requires a category before a case may leave it.
        category, _ = Category.objects.get_or_create(
            code="bench-fault", defaults={"name": "Fault report", "name_zh": "故障报修"}
        )
        team = start.responsible_team or Team.objects.get(code="frontline")
        skills = list(Skill.objects.all())
        password = "bench-" + os.urandom(8).hex()
        tokens = []
        for i in range(agents):
            profile = agent_create(
                username=f"bench-agent-{i}",
                password=password,
                team=team,
                skills=skills,
                capacity=25,
            )
            _, key = api_token_create(user=profile.user, name="api_load benchmark")
            tokens.append(key)
        User.objects.filter(username__startswith="bench-agent-").update(
            password=make_password(password)
        )
        made = Customer.objects.bulk_create(
            Customer(name=f"Bench customer {i}", email=f"bench-{i}@example.net")
            for i in range(customers)
        )
        customer_ids = [c.pk for c in made]
        if not all(customer_ids):  # backends without RETURNING on bulk insert
            customer_ids = list(
                Customer.objects.filter(email__startswith="bench-").values_list("pk", flat=True)
            )
    out.write_text(
        json.dumps(
            {
                "tokens": tokens,
                "customers": customer_ids,
                "category": category.code,
                "start_checklist": list(start.checklist or []),
                "path": path,
            }
        )
    )


def verify(acked_path: Path) -> dict[str, Any]:
    """Every case acknowledged with 201 exists, with its ``created`` event; every acknowledged
    transition left its ``stage_entered`` event."""
    from django.db.models import Count

    from serviceloop.cases.models import Case, CaseEvent

    acked = json.loads(acked_path.read_text())
    created: list[int] = acked["created"]
    found = set(Case.objects.filter(pk__in=created).values_list("pk", flat=True))
    missing = sorted(set(created) - found)
    created_events = dict(
        CaseEvent.objects.filter(case_id__in=created, kind="created")
        .values_list("case_id")
        .annotate(n=Count("id"))
        .values_list("case_id", "n")
    )
    bad_created = sum(1 for pk in found if created_events.get(pk) != 1)
    moves = {(int(pk), stage) for pk, stage in acked["transitions"]}
    logged = set(
        CaseEvent.objects.filter(
            case_id__in={pk for pk, _ in moves}, kind__in=("stage_entered", "closed")
        ).values_list("case_id", "attributes__to_stage")
    )
    return {
        "acknowledged": len(created),
        "duplicates_in_acks": len(created) - len(set(created)),
        "lost": len(missing),
        "missing_ids": missing[:20],
        "cases_in_db": Case.objects.count(),
        "cases_without_one_created_event": bad_created,
        "transitions_acknowledged": len(moves),
        "transitions_without_event": len(moves - logged),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_setup = sub.add_parser("setup")
    p_setup.add_argument("out", type=Path)
    p_setup.add_argument("--agents", type=int, default=8)
    p_setup.add_argument("--customers", type=int, default=200)
    p_verify = sub.add_parser("verify")
    p_verify.add_argument("acked", type=Path)
    args = parser.parse_args()
    _django()
    if args.cmd == "setup":
        setup(args.out, agents=args.agents, customers=args.customers)
    else:
        json.dump(verify(args.acked), sys.stdout)


if __name__ == "__main__":
    main()
