"""A small live log for the Insights tests, made through the case services with set times.

Process (tests.factories): Intake -> Needs analysis -> Delivery -> Closed, rework Delivery ->
Needs analysis, escalation Intake -> Delivery; no checklist or required field guards here.

    standard  SL-a  high/email,  day 0: Intake, Needs analysis (+1 h), Delivery (+3 h), Closed (+6 h)
    again     SL-b  normal/portal, day 0: the same path, ten hours long
    detour    SL-c  normal/phone, day 1: Intake, Delivery (escalation), Needs analysis (rework),
              Delivery, Closed, then reopened: back in Delivery (a move the design does not allow)
    fresh     SL-d  low/portal,  day 3: Intake only, still open
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from django.core.cache import cache

from serviceloop.accounts.models import User
from serviceloop.cases.models import Case, Category
from serviceloop.cases.services import case_reopen, case_transition
from serviceloop.insights import logcoding, logstore, pages
from serviceloop.insights.keptlogs import forget_kept_logs
from serviceloop.insights.selectors import LogFilters
from serviceloop.processes.models import ProcessVersion
from tests.factories import (
    AgentFactory,
    CaseFactory,
    CategoryFactory,
    ManagerFactory,
    build_process_version,
    stage_of,
)

DAY0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday


@dataclass
class Log:
    version: ProcessVersion
    manager: User
    agent: User
    hardware: Category
    software: Category
    standard: Case
    again: Case
    detour: Case
    fresh: Case


#: Every page's context built from a scope (what the pages show), by page.
PAGE_CONTEXTS = {
    "overview": pages.overview_context,
    "process": lambda s: pages.process_context(s, measure="performance", activities=1, paths=1),
    "performance": pages.performance_context,
    "rework": pages.rework_context,
    "variants": pages.variants_context,
    "handovers": pages.handovers_context,
}


def whole_reads(monkeypatch: pytest.MonkeyPatch) -> list[LogFilters]:
    """The filters of every whole read of the log from the copy (read and coded) from now on."""
    reads: list[LogFilters] = []
    read = logcoding._read

    def counted(filters: LogFilters, state: logstore.StoreState) -> logcoding._Kept:
        reads.append(filters)
        return read(filters, state)

    monkeypatch.setattr(logcoding, "_read", counted)
    return reads


def walk(case: Case, version: ProcessVersion, actor: User, steps: list[tuple[str, float]]) -> Case:
    """Move ``case`` through stage codes, each at ``hours`` after the case was created."""
    for code, hours in steps:
        case = case_transition(
            case=case,
            to_stage=stage_of(version, code),
            actor=actor,
            at=case.created_at + timedelta(hours=hours),
        )
    return case


def rewrite_stored(folder: Path, name: str, frame: pl.DataFrame, description: str) -> None:
    """``frame`` written as the stored file ``name`` in ``folder`` with its size and rows
    recorded in the folder's ``description`` (a foreign frame that passes the size checks)."""
    path = folder / f"{name}.arrow"
    frame.write_ipc(path, compression="uncompressed")
    raw = json.loads((folder / description).read_text())
    raw["sizes"][name], raw["heights"][name] = path.stat().st_size, frame.height
    (folder / description).write_text(json.dumps(raw))


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Each test's database starts again from the same ids: no log kept from another test."""
    cache.clear()
    forget_kept_logs()


@pytest.fixture
def live_log(db: None) -> Log:
    version = build_process_version(is_default=True, analysis_checklist=(), analysis_required=())
    manager = ManagerFactory()
    agent = AgentFactory(team=stage_of(version, "intake").responsible_team)
    hardware = CategoryFactory(code="hardware", name="Hardware")
    software = CategoryFactory(code="software", name="Software")

    def open_case(day: float, **fields: object) -> Case:
        return CaseFactory(
            process_version=version, at=DAY0 + timedelta(days=day), actor=manager, **fields
        )

    path = [("analysis", 1), ("delivery", 3), ("closed", 6)]
    standard = walk(
        open_case(0, priority="high", channel="email", category=hardware), version, manager, path
    )
    again = walk(
        open_case(0.1, channel="portal", category=software),
        version,
        manager,
        [("analysis", 2), ("delivery", 5), ("closed", 10)],
    )
    detour = open_case(1, channel="phone", category=hardware)
    detour = walk(
        detour,
        version,
        manager,
        [("delivery", 1), ("analysis", 20), ("delivery", 30), ("closed", 40)],
    )
    detour = case_reopen(
        case=detour,
        actor=manager,
        reason="Still broken",
        at=detour.created_at + timedelta(hours=50),
    )
    fresh = open_case(3, priority="low", channel="portal")
    return Log(version, manager, agent, hardware, software, standard, again, detour, fresh)
