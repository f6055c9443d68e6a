"""``serviceloop export-log --process CODE`` keeps one process's cases (every version), so that
``serviceloop analyze`` looks at one process; without it the log holds every process."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from serviceloop.cases.choices import Channel
from serviceloop.cases.export import EventLogQuery, event_batches, event_count
from serviceloop.cases.services import case_create
from serviceloop.cases.services.intake import intake_defaults_install
from serviceloop.cli import app
from serviceloop.processes.services.shipped import (
    COMPLAINT_PROCESS_PATH,
    process_shipped_install,
)
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)


def flat(output: str) -> str:
    return " ".join(output.replace("│", " ").split())


@pytest.fixture
def cases():
    process_shipped_install(actor=None)
    intake_defaults_install(actor=None)
    opened = {"complaint": [], "standard-service": []}
    for request_type, process in (("complaint", "complaint"), ("service", "standard-service")):
        for n in range(2):
            case = case_create(
                actor=None,
                customer=CustomerFactory(),
                title=f"{request_type} {n}",
                description="Text.",
                channel=Channel.PORTAL,
                request_type=request_type,
            )
            opened[process].append(case.number)
    return opened


def test_the_query_keeps_one_process(cases):
    query = EventLogQuery(kind="stage", process="complaint")
    assert event_count(query) == 2
    numbers = {n for frame in event_batches(query) for n in frame["case_id"].to_list()}
    assert numbers == set(cases["complaint"])
    everything = {n for f in event_batches(EventLogQuery()) for n in f["case_id"].to_list()}
    assert everything == set(cases["complaint"]) | set(cases["standard-service"])


def test_export_one_process_then_analyze_it(cases, tmp_path):
    out = tmp_path / "complaints.csv"
    result = CliRunner().invoke(app, ["export-log", str(out), "--process", "complaint"])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["case_id"] for r in rows} == set(cases["complaint"])
    assert "Receive complaint" in {r["activity"] for r in rows}

    report = tmp_path / "out.json"
    result = CliRunner().invoke(
        app, ["analyze", str(out), "--process", str(COMPLAINT_PROCESS_PATH), "--json", str(report)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(report.read_text(encoding="utf-8"))["cases"]["count"] == 2


def test_an_unknown_process_is_refused_naming_the_option(cases, tmp_path):
    out = tmp_path / "none.csv"
    result = CliRunner().invoke(app, ["export-log", str(out), "--process", "nope"])
    assert result.exit_code != 0
    assert "--process" in flat(result.output) and "'nope'" in flat(result.output)
    assert "complaint" in flat(result.output)
    assert not out.exists()
