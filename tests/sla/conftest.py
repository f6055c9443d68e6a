"""SLA fixtures: an office calendar in UTC (Mon-Fri 09:00-17:00), a standard policy, and the case
world of ``tests/cases`` (published default process, two teams, agents, a manager).

The SLA set-up snapshot is per process: it is dropped before and after every test here so that no
policy of one test leaks into another (rolled-back rows send no signals)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from serviceloop.accounts.models import AgentProfile, Team, User
from serviceloop.sla.models import BusinessCalendar, SlaPolicy, SlaTarget
from serviceloop.sla.selectors import setup_forget
from tests.cases.conftest import World, world  # noqa: F401  (the fixture, re-exported)
from tests.factories import AgentFactory

MONDAY = datetime(2026, 5, 4, tzinfo=UTC)  # a Monday with no holiday (calendars here have none)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """``day`` days after Monday 4 May 2026, at hour:minute UTC."""
    return MONDAY.replace(day=MONDAY.day + day, hour=hour, minute=minute)


@pytest.fixture(autouse=True)
def _fresh_setup() -> Iterator[None]:
    from serviceloop.sla import compliance

    setup_forget()
    compliance._kept.clear()  # the compliance panel is kept a minute per scope
    yield
    setup_forget()
    compliance._kept.clear()


@dataclass
class Sla:
    calendar: BusinessCalendar
    standard: SlaPolicy
    urgent: SlaPolicy


@pytest.fixture
def sla(db: None) -> Sla:
    calendar = BusinessCalendar.objects.create(
        name="Office",
        time_zone="UTC",
        country="",
        **{d: "09:00-17:00" for d in ("monday", "tuesday", "wednesday", "thursday", "friday")},
        saturday="",
        sunday="",
    )
    urgent = SlaPolicy.objects.create(name="Urgent", order=1, priorities=["urgent", "high"])
    standard = SlaPolicy.objects.create(name="Standard", order=2)
    for policy, first, nxt, resolution in ((urgent, 30, 60, 240), (standard, 120, 240, 960)):
        SlaTarget.objects.bulk_create(
            [
                SlaTarget(policy=policy, metric="first_response", minutes=first),
                SlaTarget(policy=policy, metric="next_response", minutes=nxt),
                SlaTarget(policy=policy, metric="resolution", minutes=resolution),
            ]
        )
    setup_forget()  # bulk_create sends no signal
    return Sla(calendar=calendar, standard=standard, urgent=urgent)


@dataclass
class Leads:
    front: User
    back: User


def make_lead(team: Team) -> User:
    """A new agent of ``team`` who leads it."""
    user = AgentFactory(team=team)
    profile = AgentProfile.objects.get(user=user)
    profile.is_lead = True
    profile.save(update_fields=["is_lead"])
    return type(user).objects.get(pk=user.pk)  # as a request would load it


@pytest.fixture
def leads(world: World) -> Leads:  # noqa: F811  (the fixture re-exported above)
    """A lead of each team of the case world (``world.front_agent`` and ``back_agent`` lead
    nothing)."""
    return Leads(front=make_lead(world.front), back=make_lead(world.back))
