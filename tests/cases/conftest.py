"""Fixtures for the case tests: one published default process with its two teams and agents."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from serviceloop.accounts.models import Team, User
from serviceloop.processes.models import ProcessVersion
from tests.factories import AgentFactory, ManagerFactory, build_process_version


@dataclass
class World:
    version: ProcessVersion
    front: Team
    back: Team
    front_agent: User
    back_agent: User
    manager: User


@pytest.fixture
def world(db: None) -> World:
    version = build_process_version(is_default=True)
    stages = {s.code: s for s in version.stages.select_related("responsible_team")}
    front = stages["intake"].responsible_team
    back = stages["delivery"].responsible_team
    assert front is not None and back is not None
    return World(
        version=version,
        front=front,
        back=back,
        front_agent=AgentFactory(team=front),
        back_agent=AgentFactory(team=back),
        manager=ManagerFactory(),
    )
