"""``serviceloop predict train | score | evaluate``: happy paths and bad input (exit 2)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from serviceloop.cli import app
from serviceloop.commands.predict import parse_duration

from .test_prediction import HOUR, T0, branching_rows

runner = CliRunner()


def write_csv(path: Path, rows: list) -> Path:
    frame = pl.DataFrame(rows, schema=["case", "act", "at", "agent", "kind"], orient="row")
    frame.with_columns(pl.col("at").dt.strftime("%d/%m/%Y %H:%M")).write_csv(path)
    return path


MAPPING = [
    "--case-col", "case", "--activity-col", "act", "--timestamp-col", "at",
    "--timestamp-format", "%d/%m/%Y %H:%M", "--resource-col", "agent",
]  # fmt: skip


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    return write_csv(tmp_path_factory.mktemp("logs") / "history.csv", branching_rows(300))


@pytest.fixture(scope="module")
def trained(history, tmp_path_factory) -> Path:
    model = tmp_path_factory.mktemp("models") / "m.slpm"
    result = runner.invoke(
        app, ["predict", "train", str(history), "--model", str(model), *MAPPING, "--sla", "5h"]
    )
    assert result.exit_code == 0, result.output
    assert "Trained on 300 closed cases" in result.output
    assert "closing activities: Closed" in result.output
    return model


def live_rows() -> list:
    t = T0 + 1000 * HOUR
    return [
        ("slow-1", "Open", t, "agent1", "slow"),
        ("fast-1", "Open", t + HOUR, "agent2", "fast"),
        ("fast-1", "Answer", t + 2 * HOUR, "agent2", "fast"),
        ("done", "Open", t, "agent1", "fast"),
        ("done", "Answer", t + HOUR, "agent1", "fast"),
        ("done", "Closed", t + timedelta(hours=2), "agent1", "fast"),
    ]


def test_score_lists_open_cases_most_at_risk_first(trained, tmp_path):
    live = write_csv(tmp_path / "live.csv", live_rows())
    out_csv, out_json = tmp_path / "scores.csv", tmp_path / "scores.json"
    args = ["predict", "score", str(live), "--model", str(trained), *MAPPING]
    result = runner.invoke(app, [*args, "--csv", str(out_csv), "--json", str(out_json)])
    assert result.exit_code == 0, result.output
    assert "2 open cases" in result.output
    rows = pl.read_csv(out_csv)
    assert rows["case_id"].to_list() == ["slow-1", "fast-1"]
    assert rows["next_activity"].to_list() == ["Escalate", "Closed"]
    data = json.loads(out_json.read_text())
    assert [c["case_id"] for c in data["cases"]] == ["slow-1", "fast-1"]
    assert data["cases"][0]["breach_probability"] > 0.9
    assert data["model"]["closed_cases"] == 300


def test_score_json_to_stdout(trained, tmp_path):
    live = write_csv(tmp_path / "live.csv", live_rows())
    args = ["predict", "score", str(live), "--model", str(trained), *MAPPING, "--json", "-"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert {c["case_id"] for c in json.loads(result.stdout)["cases"]} == {"slow-1", "fast-1"}


def test_evaluate_prints_model_and_baseline(history, tmp_path):
    out = tmp_path / "eval.json"
    args = ["predict", "evaluate", str(history), *MAPPING, "--sla", "5h"]
    result = runner.invoke(app, [*args, "--protocol", "time_2_3", "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["attributes"] == ["kind"]
    tasks = {(r["task"], r["metric"]): r for r in data["summary"]}
    assert tasks["next_activity", "accuracy"]["model"] == pytest.approx(1.0)
    assert tasks["next_activity", "accuracy"]["better"] is True
    assert set(tasks) == {
        ("next_activity", "accuracy"),
        ("remaining_time", "mae_days"),
        ("breach_risk", "auc"),
        ("breach_risk", "brier"),
    }
    table = runner.invoke(app, [*args, "--protocol", "time_2_3", "--no-attributes"])
    assert table.exit_code == 0, table.output
    assert "model vs baseline" in table.output and "Attributes used: none" in table.output


def test_too_few_closed_cases_exits_2_and_writes_no_model(tmp_path):
    log = write_csv(tmp_path / "small.csv", branching_rows(10))
    model = tmp_path / "m.slpm"
    result = runner.invoke(app, ["predict", "train", str(log), "--model", str(model), *MAPPING])
    assert result.exit_code == 2
    assert "too few closed cases to learn from: 10" in result.output
    assert not model.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--sla", "soon"], "--sla: 'soon' is not a positive duration"),
        (["--attribute", "colour"], "column 'colour' not found"),
        (["--closed-activity", "Archive"], "too few closed cases to learn from: 0"),
    ],
)
def test_bad_train_options_exit_2(history, tmp_path, extra, message):
    model = tmp_path / "m.slpm"
    args = ["predict", "train", str(history), "--model", str(model), *MAPPING, *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not model.exists()


def test_bad_files_exit_2(trained, history, tmp_path):
    missing = runner.invoke(app, ["predict", "train", str(tmp_path / "nope.csv"), "--model", "m"])
    assert missing.exit_code == 2 and "no such file" in missing.output
    nowhere = tmp_path / "no" / "m.slpm"
    bad_dir = runner.invoke(app, ["predict", "train", str(history), "--model", str(nowhere)])
    assert bad_dir.exit_code == 2 and "does not exist" in bad_dir.output
    no_model = runner.invoke(
        app, ["predict", "score", str(history), "--model", str(tmp_path / "x.slpm"), *MAPPING]
    )
    assert no_model.exit_code == 2 and "no such model file" in no_model.output
    wrong_columns = runner.invoke(app, ["predict", "score", str(history), "--model", str(trained)])
    assert wrong_columns.exit_code == 2 and "column 'case_id' not found" in wrong_columns.output
    no_resource = [a for a in MAPPING if a not in ("--resource-col", "agent")]
    lacking = runner.invoke(
        app, ["predict", "score", str(history), "--model", str(trained), *no_resource]
    )
    assert lacking.exit_code == 2 and "pass --resource-col" in lacking.output


def test_a_log_without_the_models_attribute_exits_2(trained, tmp_path):
    rows = [r[:4] for r in live_rows()]
    frame = pl.DataFrame(rows, schema=["case", "act", "at", "agent"], orient="row")
    path = tmp_path / "live.csv"
    frame.with_columns(pl.col("at").dt.strftime("%d/%m/%Y %H:%M")).write_csv(path)
    result = runner.invoke(app, ["predict", "score", str(path), "--model", str(trained), *MAPPING])
    assert result.exit_code == 2
    assert "attribute column(s) 'kind' that this log does not have" in result.output


def test_evaluate_needs_enough_closed_cases(tmp_path):
    log = write_csv(tmp_path / "small.csv", branching_rows(60))
    result = runner.invoke(app, ["predict", "evaluate", str(log), *MAPPING])
    assert result.exit_code == 2
    assert "too few closed cases to evaluate: 60 (need at least 100)" in result.output


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("36h", 36 * 3600), ("5d", 5 * 86400), ("90min", 5400), ("2w", 14 * 86400), ("45", 45)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["0d", "-1h", "5 days", "", "h"])
def test_bad_durations(text):
    with pytest.raises(ValueError, match="not a positive duration"):
        parse_duration(text)
