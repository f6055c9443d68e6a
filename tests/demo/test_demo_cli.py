"""``serviceloop demo --no-serve``: loads once, prints the URL, the logins and the API token,
refuses a database that holds half a demo, and replays the same history for the same seed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import transaction
from typer.testing import CliRunner

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import ApiToken
from serviceloop.accounts.services import user_create
from serviceloop.cases.models import Case, CaseEvent
from serviceloop.cli import app
from serviceloop.demo import DemoError, demo_load
from serviceloop.demo.history import ProcessMap
from serviceloop.demo.people import DEMO_PASSWORD, MANAGER_USERNAME
from tests.factories import build_process_version

pytestmark = pytest.mark.django_db

TINY = ["--days", "2", "--per-weekday", "6", "--customers", "5", "--seed", "3"]


def test_demo_command_loads_once_and_prints_url_logins_and_token(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    runner = CliRunner()

    first = runner.invoke(app, ["demo", "--no-serve", *TINY])

    assert first.exit_code == 0, first.output
    assert "http://127.0.0.1:8000/" in first.output
    for username in ("admin", "manager", "agent", "customer@example.net"):
        assert username in first.output
    assert DEMO_PASSWORD in first.output
    token = (tmp_path / "demo-api-token.txt").read_text().strip()
    assert token in first.output
    assert ApiToken.objects.get(key_hash=ApiToken.hash_key(token)).user.username == "agent"
    cases, events = Case.objects.count(), CaseEvent.objects.count()

    second = runner.invoke(app, ["demo", "--no-serve", *TINY])

    assert second.exit_code == 0, second.output
    assert "already loaded" in second.output
    assert token in second.output
    assert (Case.objects.count(), CaseEvent.objects.count()) == (cases, events)


def test_demo_refuses_a_database_with_an_interrupted_load():
    user_create(
        username=MANAGER_USERNAME,
        password=DEMO_PASSWORD,
        role=Role.MANAGER,
        email=f"{MANAGER_USERNAME}@example.com",
    )

    with pytest.raises(DemoError, match="interrupted"):
        demo_load(days=1, per_weekday=2, customers=2)

    assert Case.objects.count() == 0


def test_demo_refuses_an_admin_it_did_not_create():
    user_create(username="admin", password=DEMO_PASSWORD, role=Role.ADMIN, email="boss@corp.cn")

    with pytest.raises(DemoError, match="did not create"):
        demo_load(days=1, per_weekday=2, customers=2)

    assert Case.objects.count() == 0


@pytest.mark.parametrize(("option", "value"), [("days", 0), ("per_weekday", 0.0), ("customers", 0)])
def test_demo_refuses_non_positive_scale(option, value):
    with pytest.raises(DemoError, match="positive"):
        demo_load(**{option: value})
    assert Case.objects.count() == 0


def _history() -> list[tuple[str, str, str, str, str | None]]:
    """The whole event log, without ids (those differ between databases)."""
    events = CaseEvent.objects.select_related("case", "actor").order_by("timestamp", "id")
    return [
        (
            e.case.title,
            e.kind,
            e.activity,
            e.timestamp.isoformat(),
            e.actor.username if e.actor else None,
        )
        for e in events
    ]


def test_demo_is_deterministic_for_a_seed_and_end():
    end = datetime(2026, 5, 6, 7, 0, tzinfo=UTC)
    runs = []
    for _ in range(2):
        with transaction.atomic():
            demo_load(days=4, per_weekday=8, customers=8, seed=11, end=end)
            runs.append(_history())
            transaction.set_rollback(True)

    assert runs[0] == runs[1]
    assert len(runs[0]) > 50


def test_demo_refuses_a_process_without_the_stages_of_its_story():
    version = build_process_version(is_default=True)  # Intake, Needs analysis, Delivery, Closed

    with pytest.raises(DemoError, match="Confirmation"):
        ProcessMap.of(version)
