"""Real concurrency: threads with their own database connections act on the same rows at once.

On SQLite the IMMEDIATE transactions queue writers; on PostgreSQL ``SELECT ... FOR UPDATE`` on the
case row (and on the candidate agents while routing) does. Either way exactly one of two identical
transitions wins, the loser gets a 409, and the log has one event.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from serviceloop.accounts.models import AgentProfile
from serviceloop.cases.choices import CaseStatus, EventKind
from serviceloop.cases.exceptions import ConflictError, StaleVersionError
from serviceloop.cases.models import Case, CaseEvent
from serviceloop.cases.services import case_create, case_transition, case_update
from tests.cases.helpers import agent_loads
from tests.factories import (
    AgentFactory,
    CaseFactory,
    CustomerFactory,
    ManagerFactory,
    TeamFactory,
    build_process_version,
    stage_of,
)

pytestmark = pytest.mark.django_db(transaction=True)


def run_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released together; return each result or raised exception."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def worker(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = call()
        except Exception as exc:  # collected for the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    return results


@pytest.fixture
def setup(db):
    version = build_process_version(is_default=True)
    manager = ManagerFactory()
    return version, manager


def test_same_transition_twice_at_once_one_wins_one_event(setup):
    version, manager = setup
    case = CaseFactory()
    target = stage_of(version, "analysis")
    before = CaseEvent.objects.filter(case=case).count()
    results = run_at_once(
        [lambda: case_transition(case=case, to_stage=target, actor=manager) for _ in range(2)]
    )
    winners = [r for r in results if isinstance(r, Case)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert isinstance(losers[0], ConflictError)
    fresh = Case.objects.get(pk=case.pk)
    assert fresh.stage.code == "analysis" and fresh.version == case.version + 1
    new = CaseEvent.objects.filter(case=case).count() - before
    assert new == 1


def test_many_threads_racing_on_one_case_leave_a_consistent_log(setup):
    version, manager = setup
    case = CaseFactory()
    escalate = stage_of(version, "delivery")  # intake -> delivery (escalation edge)
    forward = stage_of(version, "analysis")
    v = case.version
    calls = [
        (lambda s=stage: case_transition(case=case, to_stage=s, actor=manager, expected_version=v))
        for stage in [escalate, forward] * 3
    ]
    results = run_at_once(calls)
    assert sum(isinstance(r, Case) for r in results) == 1, results
    assert all(isinstance(r, StaleVersionError) for r in results if not isinstance(r, Case))
    fresh = Case.objects.get(pk=case.pk)
    last = CaseEvent.objects.filter(case=case).order_by("-id").first()
    assert last.kind == EventKind.STAGE_ENTERED and last.attributes["to_stage"] == fresh.stage.code
    assert CaseEvent.objects.filter(case=case, kind=EventKind.STAGE_ENTERED).count() == 2


def test_expected_version_lets_only_the_first_of_two_edits_through(setup):
    version, manager = setup
    case = CaseFactory()
    v = case.version
    results = run_at_once(
        [
            lambda: case_update(
                case=case, actor=manager, changes={"priority": "urgent"}, expected_version=v
            ),
            lambda: case_transition(
                case=case, to_stage=stage_of(version, "analysis"), actor=manager, expected_version=v
            ),
        ]
    )
    assert sum(isinstance(r, Case) for r in results) == 1, results
    assert sum(isinstance(r, StaleVersionError) for r in results) == 1, results
    assert Case.objects.get(pk=case.pk).version == v + 1


def test_concurrent_creations_spread_over_agents_and_respect_capacity(db):
    team = TeamFactory()
    build_process_version(is_default=True, front_team=team)
    agents = [AgentFactory(team=team, capacity=1) for _ in range(3)]
    customers = [CustomerFactory() for _ in range(5)]
    results = run_at_once(
        [
            (
                lambda c=c: case_create(
                    actor=c.user, customer=c, title="At once", description="d", channel="api"
                )
            )
            for c in customers
        ]
    )
    assert all(isinstance(r, Case) for r in results), results
    cases = list(Case.objects.all())
    assert len({c.number for c in cases}) == 5
    assigned = [c.assignee_id for c in cases if c.assignee_id is not None]
    assert sorted(assigned) == sorted(a.pk for a in agents)  # one each, nobody over capacity
    assert agent_loads([a.pk for a in agents]) == {a.pk: 1 for a in agents}
    assert sum(c.assignee_id is None and c.status == CaseStatus.OPEN for c in cases) == 2
    assert AgentProfile.objects.filter(last_routed_at__isnull=False).count() == 3


def test_more_concurrent_creations_than_agents_all_get_routed(db):
    team = TeamFactory()
    build_process_version(is_default=True, front_team=team)
    agents = [AgentFactory(team=team, capacity=5) for _ in range(3)]
    customers = [CustomerFactory() for _ in range(12)]
    results = run_at_once(
        [
            (
                lambda c=c: case_create(
                    actor=c.user, customer=c, title="Rush hour", description="d", channel="api"
                )
            )
            for c in customers
        ]
    )
    assert all(isinstance(r, Case) for r in results), results
    loads = agent_loads([a.pk for a in agents])
    assert sum(loads.values()) == 12  # nobody left in the queue while agents had room
    assert all(0 < n <= 5 for n in loads.values()), loads
    assert CaseEvent.objects.filter(kind=EventKind.ASSIGNED).count() == 12
