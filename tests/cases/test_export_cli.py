"""``serviceloop export-log``: writes complete files, refuses bad options with a clear message."""

from __future__ import annotations

import csv
import re

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from serviceloop.cases.models import CaseEvent
from serviceloop.cli import app
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db(transaction=True)


def flat(output: str) -> str:
    """Typer's error box wraps long lines; compare the words only."""
    return " ".join(output.replace("│", " ").split())


@pytest.fixture
def events(world):
    for _ in range(3):
        CaseFactory()
    return CaseEvent.objects.count()


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xes"])
def test_export_log_writes_every_event(events, tmp_path, fmt):
    out = tmp_path / f"log.{fmt}"
    result = CliRunner().invoke(app, ["export-log", "--format", fmt, str(out)])
    assert result.exit_code == 0, result.output
    assert f"Wrote {events} events" in result.output
    assert not (tmp_path / f"log.{fmt}.partial").exists()
    if fmt == "csv":
        with out.open(encoding="utf-8") as handle:
            assert len(list(csv.DictReader(handle))) == events
    elif fmt == "parquet":
        assert pq.read_table(out).num_rows == events
    else:
        assert out.read_text("utf-8").count("<event>") == events


def test_export_log_stage_kind_and_window(events, tmp_path):
    out = tmp_path / "stages.csv"
    result = CliRunner().invoke(
        app, ["export-log", str(out), "--kind", "stage", "--since", "2000-01-01"]
    )
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3
    assert {r["kind"] for r in rows} == {"stage_entered"}
    assert {r["lifecycle"] for r in rows} == {"start"}  # each case is still in its first stage
    assert "Wrote 3 stage visits" in result.output


def test_export_log_to_stdout(events):
    result = CliRunner().invoke(app, ["export-log", "-", "--format", "xes"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("<trace>") == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "not an ISO-8601 date"),
        (["--since", "2026-02-01", "--until", "2026-01-01"], "--since must be before --until"),
        (["--format", "json"], "json"),
    ],
)
def test_export_log_refuses_bad_options(tmp_path, args, message):
    out = tmp_path / "log.csv"
    result = CliRunner().invoke(app, ["export-log", str(out), *args])
    assert result.exit_code == 2
    assert message in flat(result.output)
    assert not out.exists()


def test_export_log_takes_its_format_from_the_file_name(events, tmp_path):
    out = tmp_path / "log.parquet"
    result = CliRunner().invoke(app, ["export-log", str(out)])
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).num_rows == events
    named_xes = tmp_path / "log.XES"
    assert CliRunner().invoke(app, ["export-log", str(named_xes)]).exit_code == 0
    assert named_xes.read_text("utf-8").count("<event>") == events
    plain = tmp_path / "log.txt"  # no format in the name: csv
    assert CliRunner().invoke(app, ["export-log", str(plain)]).exit_code == 0
    assert plain.read_text("utf-8").startswith("case_id,")


def test_export_log_refuses_a_file_name_naming_another_format(events, tmp_path):
    out = tmp_path / "log.parquet"
    result = CliRunner().invoke(app, ["export-log", str(out), "--format", "csv"])
    assert result.exit_code == 2
    assert "log.parquet names parquet but --format is csv" in flat(result.output)
    assert not out.exists()


def test_export_log_refuses_missing_directory_and_parquet_to_stdout(tmp_path):
    result = CliRunner().invoke(app, ["export-log", str(tmp_path / "no" / "log.csv")])
    assert result.exit_code == 2 and "does not exist" in flat(result.output)
    result = CliRunner().invoke(app, ["export-log", "-", "--format", "parquet"])
    assert result.exit_code == 2 and "standard output" in flat(result.output)


def test_export_log_shows_its_progress_in_cases_on_a_terminal(events, tmp_path, monkeypatch):
    monkeypatch.setattr("rich.console.Console.is_terminal", property(lambda self: True))
    out = tmp_path / "log.parquet"
    result = CliRunner().invoke(
        app, ["export-log", "--format", "parquet", "--batch-cases", "100", str(out)]
    )
    assert result.exit_code == 0, result.output
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", result.output)  # colours and cursor moves
    assert "Exporting parquet" in shown
    assert "0/3 cases" in shown and "3/3 cases" in shown
