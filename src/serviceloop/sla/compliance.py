"""Compliance with the designed process per agent and per team, for the live page (selectors).

The cases of the scope opened in the last :data:`DAYS` days, at most the :data:`SAMPLE` newest
(one index-ordered read), are checked against their process version by the conformance checker
of the analytics library (``check_conformance``, the one Insights uses), over their stage visits
(``cases.eventlog``). Per case:

- **forced moves**: moves that are not a designed transition (a wrong first stage included);
- **skipped stages**: stages on every designed path that a finished case never visited;
- **rework**: re-entries into a stage the case had visited before;
- **over standard**: stage visits that took longer than the stage's time standard (elapsed time,
  as the checker measures it; the open cases past their standard in working time are the panel
  "past the stage's time standard").

A case counts for its current team and its current assignee. The result is kept a minute per
scope in the process (the page polls every 15 s).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from django.db import transaction
from django.utils.translation import get_language

from serviceloop.accounts.models import Team, User
from serviceloop.analytics.conformance import check_conformance
from serviceloop.cases.eventlog import ENTRY_KINDS, read_events, stage_visits
from serviceloop.processes.models import ProcessVersion
from serviceloop.processes.services import process_spec_from_version
from serviceloop.sla.live import LiveScope

__all__ = ["DAYS", "SAMPLE", "Compliance", "ComplianceRow", "compliance", "compliance_option"]

DAYS = 30
SAMPLE = 1_000
KEEP_SECONDS = 60

# by scope and language (teams are named in the reader's language)
_kept: dict[tuple[tuple[int, ...] | None, str], tuple[datetime, Compliance]] = {}


@dataclass
class ComplianceRow:
    name: str
    cases: int = 0
    conforming: int = 0
    forced: int = 0
    skipped: int = 0
    rework: int = 0
    over_standard: int = 0

    @property
    def share(self) -> float | None:
        return self.conforming / self.cases if self.cases else None


@dataclass
class Compliance:
    teams: list[ComplianceRow] = field(default_factory=list)
    agents: list[ComplianceRow] = field(default_factory=list)
    cases: int = 0


def _per_case(versions: dict[int, list[int]], visits: pl.DataFrame) -> dict[int, dict[str, Any]]:
    """case id -> its forced moves, skipped stages, over-standard visits, conformity, rework."""
    found: dict[int, dict[str, Any]] = {}
    if visits.is_empty():
        return found
    rework = visits.group_by("case").agg((pl.len() - pl.col("activity").n_unique()).alias("rework"))
    reworked = dict(zip(rework["case"].to_list(), rework["rework"].to_list(), strict=True))
    for version in ProcessVersion.objects.filter(pk__in=list(versions)).select_related("process"):
        ids = versions[version.pk]
        log = visits.filter(pl.col("case").is_in(ids)).select(
            pl.col("case").alias("case_id"),
            "activity",
            pl.col("start").alias("timestamp"),
        )
        if log.is_empty():
            continue
        result = check_conformance(log, process_spec_from_version(version))
        for row in result.cases.iter_rows(named=True):
            case_id = int(row["case_id"])
            found[case_id] = {
                "forced": row["moves"] - row["allowed_moves"],
                "skipped": len(row["skipped"] or []),
                "over_standard": row["over_standard"],
                "conforming": bool(row["conforming"]),
                "rework": reworked.get(case_id, 0),
            }
    return found


def compliance(scope: LiveScope, *, now: datetime) -> Compliance:
    """Per team and per agent: cases checked, conforming, and each kind of departure. Kept for
    :data:`KEEP_SECONDS` per scope in this process: a 30-day measure needs no 15-second refresh."""
    key = (scope.team_ids, get_language() or "")
    kept = _kept.get(key)
    if kept is not None and timedelta(0) <= now - kept[0] < timedelta(seconds=KEEP_SECONDS):
        return kept[1]
    found = _compliance(scope, now)
    _kept[key] = (now, found)
    return found


def _compliance(scope: LiveScope, now: datetime) -> Compliance:
    cases = list(
        scope.cases()
        .filter(created_at__gte=now - timedelta(days=DAYS))
        .order_by("-created_at", "-id")
        .values_list("id", "process_version_id", "team_id", "assignee_id")[:SAMPLE]
    )
    if not cases:
        return Compliance()
    versions: dict[int, list[int]] = {}
    for case_id, version_id, *_ in cases:
        versions.setdefault(version_id, []).append(case_id)
    # A few thousand rows: read inside a transaction, the event log comes through Django's own
    # connection (COPY) rather than a new ADBC connection, which takes half a second to open.
    with transaction.atomic():
        events = read_events(kinds=ENTRY_KINDS, case_lookups={"id__in": [c[0] for c in cases]})
    checked = _per_case(versions, stage_visits(events))
    teams: dict[int, ComplianceRow] = {}
    agents: dict[int, ComplianceRow] = {}
    for case_id, _, team_id, agent_id in cases:
        result = checked.get(case_id)
        if result is None:
            continue  # no stage event yet
        for rows, key in ((teams, team_id), (agents, agent_id)):
            if key is None:
                continue
            row = rows.setdefault(key, ComplianceRow(""))
            row.cases += 1
            row.conforming += result["conforming"]
            row.forced += result["forced"]
            row.skipped += result["skipped"]
            row.rework += result["rework"]
            row.over_standard += result["over_standard"]
    for team in Team.objects.filter(pk__in=list(teams)).only("pk", "name", "name_zh"):
        teams[team.pk].name = team.display_name
    for pk, name in User.objects.filter(pk__in=list(agents)).values_list("pk", "username"):
        agents[pk].name = name
    return Compliance(
        teams=sorted(teams.values(), key=lambda r: r.name),
        agents=sorted(agents.values(), key=lambda r: r.name),
        cases=len(checked),
    )


def compliance_option(rows: list[ComplianceRow], labels: dict[str, str]) -> dict[str, object]:
    """An ECharts option: per agent, each kind of departure as a stacked horizontal bar."""
    names = [r.name for r in rows]
    colours = {
        "forced": "#c0392b",
        "skipped": "#e67e22",
        "rework": "#8e44ad",
        "over_standard": "#f1c40f",
    }
    return {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"bottom": 0},
        "grid": {"left": 110, "right": 20, "top": 10, "bottom": 50},
        "xAxis": {"type": "value", "minInterval": 1},
        "yAxis": {"type": "category", "data": names},
        "series": [
            {
                "name": labels[key],
                "type": "bar",
                "stack": "departures",
                "data": [getattr(r, key) for r in rows],
                "itemStyle": {"color": colour},
            }
            for key, colour in colours.items()
        ],
    }
