"""``serviceloop simulate``: the analyze reader and options, what-if scenarios, JSON and an
offline report, clear errors with exit code 2 and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from serviceloop.analytics.simulation import (
    ActivityModel,
    PoolModel,
    SimulationModel,
    simulate_log,
)
from serviceloop.cli import app

DATA = Path(__file__).resolve().parent / "data"
HELPDESK = DATA / "helpdesk_full.csv"
HELPDESK_ARGS = [
    "--case-col",
    "Case ID",
    "--activity-col",
    "Activity",
    "--timestamp-col",
    "Complete Timestamp",
    "--resource-col",
    "Resource",
    "--duplicates",
    "keep",
]
FAST = ["--replications", "3", "--weeks", "6", "--warmup-weeks", "1", "--seed", "5"]

runner = CliRunner()


def test_simulate_writes_json_and_report_with_a_what_if_and_a_named_scenario(tmp_path):
    out, page = tmp_path / "sim.json", tmp_path / "sim.html"
    result = runner.invoke(
        app,
        [
            "simulate",
            str(HELPDESK),
            *HELPDESK_ARGS,
            *FAST,
            "--staff",
            "Take in charge ticket=+2",
            "--duration",
            "Resolve ticket=-20%",
            "--scenario",
            "tidy: no-rework",
            "--sla",
            "30d",
            "--json",
            str(out),
            "--report",
            str(page),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["settings"]["replications"] == 3
    assert data["settings"]["sla_seconds"] == 30 * 86400
    assert [s["name"] for s in data["scenarios"]] == ["what-if", "tidy"]
    what_if = data["scenarios"][0]
    assert what_if["changes"] == [
        "staff Take in charge ticket: +2",
        "duration Resolve ticket: -20%",
    ]
    ct = data["as_is"]["measures"]["cycle_time_mean_seconds"]
    assert ct["ci_low"] <= ct["mean"] <= ct["ci_high"]
    assert "cycle_time_p90_seconds" in what_if["difference_to_as_is"]["measures"]
    assert "Take in charge ticket" in data["as_is"]["utilisation"]
    html = page.read_text()
    assert "<script" not in html and "http" not in html.split("</title>", 1)[1]
    assert "what-if" in html and "tidy" in html


def test_simulate_json_to_stdout_is_reproducible():
    args = ["simulate", str(HELPDESK), *HELPDESK_ARGS, *FAST, "--json", "-"]
    first = runner.invoke(app, args)
    second = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["as_is"] == json.loads(second.stdout)["as_is"]


def test_simulate_takes_new_cases_at_the_recent_rate_or_the_whole_logs():
    def model(*extra: str) -> dict:  # type: ignore[type-arg]
        args = ["simulate", str(HELPDESK), *HELPDESK_ARGS, *FAST, *extra, "--json", "-"]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["model"]  # type: ignore[no-any-return]

    eight, whole, four = model(), model("--arrival-weeks", "0"), model("--arrival-weeks", "4")
    assert eight["info"]["arrivals"]["rule"] == "the rate of the last 8 weeks"
    assert four["info"]["arrivals"]["rule"] == "the rate of the last 4 weeks"
    assert whole["info"]["arrivals"]["rule"] == "the whole log's mean rate"
    assert whole["cases_per_week"] == pytest.approx(
        eight["info"]["arrivals"]["cases_per_week_whole_log"]
    )
    # the help desk's volume fell to about two new cases a day in its last months
    assert max(four["cases_per_week"], eight["cases_per_week"]) < whole["cases_per_week"] / 1.5
    assert four["cases_per_week"] != eight["cases_per_week"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--staff", "Nobody=+1"], "unknown pool 'Nobody'"),
        (["--duration", "Resolve ticket=faster"], "not a change such as -20%"),
        (["--sla", "soon"], "--sla 'soon'"),
        (["--scenario", "no colon here"], "expected 'NAME: change; change'"),
        (["--pool-attribute", "team"], "pool attribute 'team' is not in the log"),
        (["--working-hours", "Mon-Fri 18-08"], "hours must run 00-24"),
        (["--arrival-weeks", "0.5"], "arrival_weeks must be at least 1 week"),
    ],
)
def test_bad_options_exit_2_with_a_clear_message_and_write_nothing(tmp_path, extra, message):
    out = tmp_path / "sim.json"
    result = runner.invoke(
        app, ["simulate", str(HELPDESK), *HELPDESK_ARGS, *FAST, *extra, "--json", str(out)]
    )
    assert result.exit_code == 2
    assert message in result.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_log_too_small_exits_2(tmp_path):
    log = tmp_path / "tiny.csv"
    log.write_text(
        "case_id,activity,timestamp\n"
        "a,Open,2024-01-01 09:00\na,Close,2024-01-01 10:00\n"
        "b,Open,2024-01-02 09:00\nb,Close,2024-01-03 09:00\n"
    )
    result = runner.invoke(app, ["simulate", str(log)])
    assert result.exit_code == 2
    assert (
        "too small to discover a simulation model: 2 case(s), at least 30 needed" in result.stderr
    )


def test_a_missing_column_names_the_file_and_columns(tmp_path):
    result = runner.invoke(app, ["simulate", str(HELPDESK)])
    assert result.exit_code == 2
    assert "column 'case_id' not found" in result.stderr


def test_staffing_forecasts_backtests_and_staffs_every_hour(tmp_path):
    out = tmp_path / "staff.json"
    result = runner.invoke(
        app,
        [
            "staffing",
            str(HELPDESK),
            *HELPDESK_ARGS,
            "--handle",
            "30min",
            "--target",
            "4h",
            "--patience",
            "1d",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["settings"]["handle_seconds"] == 1800
    assert len(data["staffing"]) == 168
    assert {"agents_erlang_c", "agents_erlang_a", "abandon_erlang_a"} <= set(data["staffing"][0])
    assert data["forecast"]["backtest"]["holt_winters"]["wape"] is not None
    busiest = max(data["staffing"], key=lambda r: r["arrivals"])
    assert busiest["agents_erlang_c"] >= 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--service-level", "120"], "--service-level is a percentage"),
        (["--target", "soon"], "--target 'soon'"),
        (["--test-weeks", "400"], "needs at least"),
    ],
)
def test_staffing_bad_input_exits_2(tmp_path, extra, message):
    out = tmp_path / "staff.json"
    result = runner.invoke(
        app,
        [
            "staffing",
            str(HELPDESK),
            *HELPDESK_ARGS,
            "--handle",
            "30min",
            *extra,
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 2
    assert message in result.stderr and "serviceloop staffing:" in result.stderr
    assert not out.exists()


def test_a_log_with_start_and_complete_rows_uses_both(tmp_path):
    """Lifecycle rows (start / complete), read as analyze reads them: processing comes from
    the log's own starts, and the pools from who shares the work."""
    rng = np.random.default_rng(4)
    truth = SimulationModel(
        activities=(
            ActivityModel("Triage", "Front", np.sort(rng.exponential(600, 501))),
            ActivityModel("Fix", "Experts", np.sort(rng.exponential(3600, 501))),
        ),
        routing=np.array([[0.0, 0.9, 0.1], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]),
        arrivals=np.full(168, 1.0),
        pools=(
            PoolModel("Front", np.full(168, 1, dtype=np.int64)),
            PoolModel("Experts", np.full(168, 2, dtype=np.int64)),
        ),
    )
    frame = simulate_log(truth, weeks=4, warmup_weeks=1, seed=2)
    rows = pl.concat(
        [
            frame.select("case_id", "activity", pl.col(col).alias("time"), "resource").with_columns(
                pl.lit(kind).alias("lifecycle")
            )
            for col, kind in (("start_timestamp", "start"), ("timestamp", "complete"))
        ]
    ).sort("time")
    log = tmp_path / "lifecycle.csv"
    rows.with_columns(pl.col("time").dt.strftime("%Y-%m-%d %H:%M:%S%.6f")).write_csv(log)
    result = runner.invoke(
        app,
        [
            "simulate",
            str(log),
            "--timestamp-col",
            "time",
            "--lifecycle-col",
            "lifecycle",
            "--resource-col",
            "resource",
            *FAST,
            "--json",
            "-",
        ],
    )
    assert result.exit_code == 0, result.output
    model = json.loads(result.stdout)["model"]
    assert model["info"]["has_start"] is True and model["info"]["starts"] == "from the log"
    staff = {p["name"]: p["staff"] for p in model["pools"]}
    assert staff == {"Triage": 1, "Fix": 2}
    fix = next(a for a in model["activities"] if a["name"] == "Fix")
    assert fix["mean_seconds"] == pytest.approx(truth.activities[1].mean_seconds, rel=0.15)


def test_a_pool_that_cannot_keep_up_is_named():
    """An M/M/2 queue offered 1.25 servers' work a moment: no steady state, and the output says
    so; the JSON carries every pool's offered load."""
    import io

    from rich.console import Console

    from serviceloop.analytics.simulation import mmc_model, simulate
    from serviceloop.commands.simulate import _print

    def shown(servers: int) -> str:
        model = mmc_model(arrivals_per_hour=5, mean_service_seconds=1800, servers=servers)
        result = simulate(model, replications=2, seed=1, weeks=1, warmup_weeks=0)
        out = io.StringIO()
        _print(result, Console(file=out, width=120))
        assert result.to_dict()["model"]["offered_load"]["Servers"] == pytest.approx(
            2.5 / servers, rel=0.01
        )
        return out.getvalue()

    assert "Pool Servers cannot keep up: its work is 125% of its hours" in shown(2)
    assert "cannot keep up" not in shown(3)
