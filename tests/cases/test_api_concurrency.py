"""Two agents move the same case at the same moment through the API with the version they read:
exactly one move wins, the other gets 409, and the log holds one stage event (real threads)."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from serviceloop.cases.choices import EventKind
from serviceloop.cases.models import Case, CaseEvent
from tests.cases.api_client import Api
from tests.factories import AgentFactory, CaseFactory, CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_moves_with_same_expected_version_one_wins(world):
    case = CaseFactory(customer=CustomerFactory())
    agents = [world.front_agent, AgentFactory(team=world.front), world.manager]
    apis = [Api(agent) for agent in agents]
    version = case.version
    # All three aim at a stage of the same team: a move into another team's stage would take the
    # case out of the losing agents' sight, and they would rightly get 404 instead of 409.
    targets = ["analysis", "analysis", "analysis"]
    barrier = threading.Barrier(len(apis))
    statuses: list[int] = []
    lock = threading.Lock()

    def move(api: Api, target: str) -> None:
        try:
            barrier.wait(timeout=10)
            response = api.post(
                f"/api/cases/{case.number}/transitions",
                {"to_stage": target, "expected_version": version},
            )
            with lock:
                statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=move, args=pair) for pair in zip(apis, targets, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(statuses) == [200, 409, 409]
    moved = Case.objects.get(pk=case.pk)
    assert moved.version == version + 1
    stage_events = CaseEvent.objects.filter(case=case, kind=EventKind.STAGE_ENTERED)
    assert stage_events.count() == 2  # the start stage and the one winning move
