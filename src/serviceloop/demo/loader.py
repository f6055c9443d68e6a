"""Load the demo operation once: the default process, people, and days of replayed history.

Idempotent: the demo admin (created last, with the API token) marks a complete load, so running
``serviceloop demo`` again changes nothing. A load that was interrupted is recognised (the demo
manager exists but the admin does not) and refused with what to do, instead of loading twice.
History is replayed one day per transaction: fast on SQLite, and a day is all-or-nothing.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import ApiToken, User
from serviceloop.accounts.services import api_token_create, user_create
from serviceloop.cases.services.intake import intake_defaults_install
from serviceloop.core.messages import Problem
from serviceloop.core.transactions import without_savepoints
from serviceloop.demo.errors import DemoError
from serviceloop.demo.history import Counters, ProcessMap, Replay
from serviceloop.demo.model import REFERENCE_PER_WEEKDAY
from serviceloop.demo.people import (
    ADMIN_USERNAME,
    AGENT_USERNAME,
    CUSTOMER_USERNAME,
    DEMO_PASSWORD,
    EMAIL_DOMAIN,
    MANAGER_USERNAME,
    TEAM_SIZES,
    cast_create,
)
from serviceloop.evaluation.demo import evaluation_demo_build
from serviceloop.processes.services.shipped import process_shipped_install
from serviceloop.sla.alerts import alerts_evaluate
from serviceloop.sla.demo import sla_demo_install
from serviceloop.sla.sweep import sla_sweep

__all__ = ["DemoError", "DemoResult", "demo_is_loaded", "demo_load"]

ADMIN_EMAIL = f"{ADMIN_USERNAME}@{EMAIL_DOMAIN}"
MANAGER_EMAIL = f"{MANAGER_USERNAME}@{EMAIL_DOMAIN}"
MAX_EXTRA_SPECIALISTS = 50
TOKEN_NAME = "demo"  # noqa: S105 - the token's label, not a secret

Progress = Callable[[str, int, int], None]  # (what, done, total)


@dataclass
class DemoResult:
    loaded: bool  # False when the demo was already there
    logins: dict[str, str]  # role -> username
    password: str
    api_token: str | None  # the demo agent's token, when known
    counters: Counters = field(default_factory=Counters)
    # Per stage: (queued at, seconds queued) before each visit's work began, as replayed.
    waits: dict[str, list[tuple[datetime, float]]] = field(default_factory=dict)


def demo_is_loaded() -> bool:
    return User.objects.filter(username=ADMIN_USERNAME, email=ADMIN_EMAIL).exists()


def _logins() -> dict[str, str]:
    return {
        Role.ADMIN.value: ADMIN_USERNAME,
        Role.MANAGER.value: MANAGER_USERNAME,
        Role.AGENT.value: AGENT_USERNAME,
        Role.CUSTOMER.value: CUSTOMER_USERNAME,
    }


def _check_empty() -> None:
    if User.objects.filter(username=MANAGER_USERNAME, email=MANAGER_EMAIL).exists():
        raise DemoError(
            Problem("demo_interrupted", {"database": str(settings.DATABASES["default"]["NAME"])})
        )
    if User.objects.filter(username__iexact=ADMIN_USERNAME).exists():
        raise DemoError(Problem("demo_admin_taken", {"username": ADMIN_USERNAME}))


def _check_same_staff(extra_specialists: int) -> None:
    """Asking a loaded demo for more specialists than it has is refused: it loads only once."""
    if not extra_specialists:
        return
    wanted = TEAM_SIZES["specialists"] + extra_specialists
    have = User.objects.filter(agent_profile__team__code="specialists").count()
    if have != wanted:
        raise DemoError(
            Problem(
                "demo_specialists_differ",
                {
                    "database": str(settings.DATABASES["default"]["NAME"]),
                    "have": have,
                    "wanted": wanted,
                },
            )
        )


def _read_token(path: Path | None) -> str | None:
    if path is None or not path.exists():
        return None
    key = path.read_text(encoding="utf-8").strip()
    live = ApiToken.objects.filter(
        key_hash=ApiToken.hash_key(key), revoked=False, user__username=AGENT_USERNAME
    )
    return key if live.exists() else None


def demo_load(
    *,
    days: int = 90,
    per_weekday: float = 24.0,
    customers: int = 300,
    seed: int = 2024,
    end: datetime | None = None,
    extra_specialists: int = 0,
    token_file: Path | None = None,
    progress: Progress | None = None,
) -> DemoResult:
    """Load the demo unless it is there; ``end`` (default now) is when the history stops.

    ``per_weekday`` is the expected number of new cases on a weekday (weekends are quieter);
    ``extra_specialists`` staffs the understaffed specialists team with more people: the same
    seed then replays the same cases, customers and work, only with more hands for Solution
    design; ``token_file`` keeps the demo agent's API token so later runs can print it again.
    """
    if days < 1 or per_weekday <= 0 or customers < 1:
        raise DemoError(Problem("demo_sizes_invalid"))
    if not 0 <= extra_specialists <= MAX_EXTRA_SPECIALISTS:
        raise DemoError(
            Problem(
                "demo_extra_specialists_range",
                {"max": MAX_EXTRA_SPECIALISTS, "value": extra_specialists},
            )
        )
    if demo_is_loaded():
        _check_same_staff(extra_specialists)
        return DemoResult(
            loaded=False,
            logins=_logins(),
            password=DEMO_PASSWORD,
            api_token=_read_token(token_file),
        )
    _check_empty()
    report = progress or (lambda what, done, total: None)
    rng = random.Random(seed)
    end = end or timezone.now()
    tz = ZoneInfo(settings.TIME_ZONE)
    local_end = end.astimezone(tz)
    first_day = (local_end - timedelta(days=days - 1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )

    with without_savepoints():  # no subtransaction per service call of the replay
        report("Setting up the process and people", 0, days)
        with transaction.atomic():
            # the standard process (the replay's), the complaint and technical-support processes, and
            # the request types and rules that pick them for new cases
            version = process_shipped_install(actor=None)["standard-service"]
            cast = cast_create(
                rng,
                customers=customers,
                extra_specialists=extra_specialists,
                customer_rng=random.Random(f"{seed}:customers"),
            )
            intake_defaults_install(actor=None)
            sla_demo_install(process=version.process, time_zone=settings.TIME_ZONE)
            replay = Replay(
                rng=random.Random(f"{seed}:dispatch"),
                arrivals_rng=random.Random(f"{seed}:arrivals"),
                seed=seed,
                cast=cast,
                process=ProcessMap.of(version),
                tz=tz,
                end=end,
                per_weekday=per_weekday,
                load=REFERENCE_PER_WEEKDAY / per_weekday,
            )
        for day in range(days):
            day_start = first_day + timedelta(days=day)
            trend = 0.85 + 0.3 * day / max(1, days - 1)  # the operation grows a little
            with transaction.atomic():
                replay.arrivals(day_start, trend)
                replay.run_until(
                    min(day_start + timedelta(days=1), end + timedelta(microseconds=1))
                )
            sla_sweep(now=min(day_start + timedelta(days=1), end))  # the SLA worker's rounds
            report("Replaying history", day + 1, days)
        alerts_evaluate(now=end)

        with transaction.atomic():
            user_create(
                username=ADMIN_USERNAME,
                password=DEMO_PASSWORD,
                role=Role.ADMIN,
                email=ADMIN_EMAIL,
                first_name="Ada",
                last_name="Admin",
            )
            _, key = api_token_create(user=cast.demo_agent, name=TOKEN_NAME)
        # quality reviews and evaluations (the replay's customers answered their surveys)
        report("Quality reviews and evaluations", days, days)
        evaluation_demo_build(
            actor=User.objects.get(username=MANAGER_USERNAME),
            seed=seed,
            now=end,
            answer_surveys=False,
        )
    if token_file is not None:
        token_file.parent.mkdir(parents=True, exist_ok=True)
        token_file.write_text(key + "\n", encoding="utf-8")
        token_file.chmod(0o600)
    return DemoResult(
        loaded=True,
        logins=_logins(),
        password=DEMO_PASSWORD,
        api_token=key,
        counters=replay.counters,
        waits=dict(replay.waits),
    )
