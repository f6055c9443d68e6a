"""The closed loop on the demo's history: the stage log ``serviceloop export-log --kind stage``
writes, mined by ``serviceloop analyze`` with its start timestamps, finds the planted bottleneck
where Insights finds it, with the same share of time, and the specialists own its visits.

The demo is loaded once for the module (a month, ten cases a weekday) inside a transaction that
is rolled back at the end, so other test modules never see it.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime

import polars as pl
import pytest
from django.db import transaction
from typer.testing import CliRunner

from serviceloop import analytics
from serviceloop.cli import app
from serviceloop.demo import demo_load
from serviceloop.demo.model import BOTTLENECK_STAGE
from serviceloop.insights import pages
from serviceloop.insights.formatting import format_share
from serviceloop.insights.selectors import LogFilters, event_log

# One worker runs the module, so its module-scoped demo load happens once, not on each worker.
pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("stage_log_agreement")]

END = datetime(2026, 3, 18, 8, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield demo_load(
                days=30,
                per_weekday=10,
                customers=40,
                seed=11,
                end=END,
                token_file=tmp_path_factory.mktemp("demo") / "token.txt",
            )
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture(scope="module")
def stage_log(demo, django_db_blocker, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "stages.csv"
    with django_db_blocker.unblock():
        result = CliRunner().invoke(app, ["export-log", str(out), "--kind", "stage"])
    assert result.exit_code == 0, result.output
    return out


def _insights_shares() -> dict[str, float]:
    """Insights' "Where time goes": time from entering each stage to the next, per stage."""
    log = event_log(LogFilters())
    assert log is not None
    times = analytics.activity_times(log)
    total = times["sojourn_total_seconds"].sum()
    return {
        row["activity"]: row["sojourn_total_seconds"] / total
        for row in times.iter_rows(named=True)
        if row["sojourn_total_seconds"]
    }


def test_analyze_on_the_exported_stage_log_ranks_what_insights_ranks(stage_log, tmp_path):
    out = tmp_path / "result.json"
    result = CliRunner().invoke(
        app,
        [
            "analyze",
            str(stage_log),
            "--start-timestamp-col",
            "start_timestamp",
            "--resource-col",
            "resource",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    # The one bottleneck ranking: the stage log's visits are processing time, back to back.
    ranked = [
        row
        for row in json.loads(out.read_text("utf-8"))["bottlenecks"]
        if row["kind"] == "activity" and row["total_seconds"]
    ]
    assert {row["time"] for row in ranked} == {"processing"}
    mined = {row["target"]: row["share"] for row in ranked}
    assert ranked[0]["target"] == BOTTLENECK_STAGE
    seen = _insights_shares()
    assert max(seen, key=seen.__getitem__) == BOTTLENECK_STAGE
    assert mined.keys() == seen.keys()
    for stage, share in seen.items():
        assert mined[stage] == pytest.approx(share, rel=1e-9), stage
    # The page shows the same figure.
    scope = pages.scope_build(LogFilters(), event_log(LogFilters()))
    *_, rows = pages.performance_context(scope)["bottleneck_tables"][0]
    assert rows[0]["what"] == BOTTLENECK_STAGE
    assert rows[0]["share"] == format_share(mined[BOTTLENECK_STAGE])


def test_the_specialists_own_the_solution_design_visits(stage_log):
    with stage_log.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    design = [row for row in rows if row["activity"] == BOTTLENECK_STAGE]
    assert design
    assert {row["team"] for row in design} == {"specialists"}
    assert all(row["resource"] for row in design if row["lifecycle"] == "complete")
    # The cases themselves mostly end with another team: the log does not take the current one.
    frame = pl.read_csv(stage_log)
    last_team = frame.group_by("case_id").agg(pl.col("team").last())
    assert (last_team["team"] != "specialists").sum() > last_team.height / 2
