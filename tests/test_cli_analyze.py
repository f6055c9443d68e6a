"""``serviceloop analyze``: JSON equal to pm4py's numbers on the real helpdesk log, precise errors,
no partial output, no Django on the path."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from serviceloop.analytics import report as report_module
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
PROCESS = """\
process: {code: helpdesk, name: Helpdesk}
stages:
  - {code: assign, name: Assign seriousness, start: true}
  - {code: take, name: Take in charge ticket, time_standard_minutes: 1440}
  - {code: resolve, name: Resolve ticket}
  - {code: closed, name: Closed, end: true}
transitions:
  - {from: assign, to: take}
  - {from: take, to: resolve}
  - {from: resolve, to: closed}
  - {from: resolve, to: take, kind: rework}
"""

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, ["analyze", *args])


@pytest.fixture(scope="module")
def helpdesk_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("analyze")
    (out / "process.yaml").write_text(PROCESS, encoding="utf-8")
    result = _run(
        str(HELPDESK),
        *HELPDESK_ARGS,
        "--process",
        str(out / "process.yaml"),
        "--json",
        str(out / "out.json"),
        "--report",
        str(out / "report.html"),
    )
    assert result.exit_code == 0, result.output
    return out, result, json.loads((out / "out.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def pm4py_numbers():
    from tests.analytics._pm4py_ref import pm4py_reference

    frame = pl.read_csv(HELPDESK, columns=["Case ID", "Activity", "Complete Timestamp"])
    frame = frame.with_columns(
        pl.col("Complete Timestamp").str.to_datetime("%Y/%m/%d %H:%M:%S%.3f", time_zone="UTC")
    )
    return pm4py_reference(
        frame, case="Case ID", activity="Activity", timestamp="Complete Timestamp"
    )


def test_json_has_the_documented_shape(helpdesk_run):
    _, _, data = helpdesk_run
    assert data["events"] == 21348 and data["cases"]["count"] == 4580
    assert set(data["cases"]["duration_seconds"]) >= {"mean", "median", "p90"}
    edge = data["dfg"][0]
    assert set(edge) >= {"source", "target", "count", "mean_seconds", "median_seconds"}
    assert "p90_seconds" in edge
    counts = [v["count"] for v in data["variants"]]
    assert counts == sorted(counts, reverse=True) and sum(counts) == 4580
    waits = [b["total_seconds"] for b in data["bottlenecks"]]
    assert waits == sorted(waits, reverse=True)
    assert data["rework"] and {"activity", "repeats"} <= set(data["rework"][0])
    assert data["conformance"]["summary"]["cases"] == 4580


def test_json_matches_pm4py(helpdesk_run, pm4py_numbers):
    _, _, data = helpdesk_run
    ref = pm4py_numbers
    assert {(e["source"], e["target"]): e["count"] for e in data["dfg"]} == ref["dfg"]
    for e in data["dfg"]:
        assert e["mean_seconds"] == pytest.approx(ref["perf"][(e["source"], e["target"])]["mean"])
    assert data["start_activities"] == ref["start"]
    assert data["end_activities"] == ref["end"]
    assert {tuple(v["activities"]): v["count"] for v in data["variants"]} == ref["variants"]
    durations = data["cases"]["duration_seconds"]
    assert durations["mean"] == pytest.approx(statistics.fmean(ref["durations"]))
    assert durations["median"] == pytest.approx(statistics.median(ref["durations"]))


def test_report_is_written_and_summary_printed(helpdesk_run):
    out, result, _ = helpdesk_run
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "helpdesk_full.csv" in page
    assert "21348 events, 4580 cases" in result.stdout
    assert "Conformance to 'helpdesk'" in result.stdout
    assert not list(out.glob("*.partial"))


def test_json_to_stdout_with_top_variants(tmp_path):
    result = _run(str(HELPDESK), *HELPDESK_ARGS, "--json", "-", "--top-variants", "3")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["events"] == 21348
    assert [v["count"] for v in data["variants"]] == [2366, 552, 228]


def _assert_failed_cleanly(result, out_dir: Path, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert message.startswith("serviceloop analyze: ")
    for fragment in fragments:
        assert fragment in message, message
    assert (
        sorted(p.name for p in out_dir.iterdir() if p.suffix != ".csv" and p.suffix != ".yaml")
        == []
    )


def _outputs(tmp_path: Path) -> list[str]:
    return ["--json", str(tmp_path / "out.json"), "--report", str(tmp_path / "r.html")]


def test_unparsable_timestamp_names_file_row_column_and_value(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "case,act,ts\n1,a,2024-01-01 10:00\n1,b,2024-01-01 11:00\n2,a,yesterday\n",
        encoding="utf-8",
    )
    result = _run(
        str(bad), "--case-col", "case", "--activity-col", "act", "--timestamp-col", "ts",
        "--timestamp-format", "%Y-%m-%d %H:%M", *_outputs(tmp_path),
    )  # fmt: skip
    _assert_failed_cleanly(result, tmp_path, str(bad), "row 4", "'ts'", "'yesterday'")
    assert len(result.stderr.strip().splitlines()) == 1


def test_wrong_timestamp_format_is_refused(tmp_path):
    bad = tmp_path / "fmt.csv"
    bad.write_text("case_id,activity,timestamp\n1,a,01/02/2024\n", encoding="utf-8")
    result = _run(str(bad), "--timestamp-format", "%Y-%m-%d", *_outputs(tmp_path))
    _assert_failed_cleanly(result, tmp_path, "row 2", "'01/02/2024'", "%Y-%m-%d")


def test_missing_column_is_named(tmp_path):
    bad = tmp_path / "cols.csv"
    bad.write_text("case_id,activity,time\n1,a,2024-01-01\n", encoding="utf-8")
    result = _run(str(bad), *_outputs(tmp_path))
    _assert_failed_cleanly(result, tmp_path, "column 'timestamp' not found", "'time'")


def test_duplicate_events_point_to_the_cli_option(tmp_path):
    bad = tmp_path / "dup.csv"
    bad.write_text("case_id,activity,timestamp\n1,a,2024-01-01\n1,a,2024-01-01\n", encoding="utf-8")
    result = _run(str(bad), *_outputs(tmp_path))
    _assert_failed_cleanly(result, tmp_path, "row 3", "duplicate of row 2", "--duplicates keep")


def test_missing_log_file(tmp_path):
    result = _run(str(tmp_path / "nope.csv"), *_outputs(tmp_path))
    _assert_failed_cleanly(result, tmp_path, "nope.csv: no such file")


def test_invalid_process_definition_writes_nothing(tmp_path):
    (tmp_path / "p.yaml").write_text("process: {code: x, name: X}\nstages: []\n", encoding="utf-8")
    result = _run(
        str(HELPDESK), *HELPDESK_ARGS, "--process", str(tmp_path / "p.yaml"), *_outputs(tmp_path)
    )
    assert result.exit_code == 2
    assert "p.yaml: invalid process definition" in result.stderr
    assert "stages: must list at least one stage" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.yaml"]


def test_missing_report_assets_fail_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setattr(report_module, "_VENDOR", tmp_path / "vendor")
    monkeypatch.setattr(report_module, "_NODE_MODULES", tmp_path / "node_modules")
    result = _run(str(HELPDESK), *HELPDESK_ARGS, *_outputs(tmp_path))
    _assert_failed_cleanly(result, tmp_path, "echarts.min.js and viz-global.js", "make assets")


def test_output_directory_must_exist(tmp_path):
    result = _run(str(HELPDESK), *HELPDESK_ARGS, "--json", str(tmp_path / "no" / "out.json"))
    _assert_failed_cleanly(result, tmp_path, "directory", "does not exist")


def test_analyze_never_imports_django_or_pandas(tmp_path):
    code = (
        "import sys\n"
        "from serviceloop.cli import app\n"
        "try:\n"
        f"    app(['analyze', {str(HELPDESK)!r}, *{HELPDESK_ARGS!r}, '--json', "
        f"{str(tmp_path / 'o.json')!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('django', 'pandas', 'pm4py') if m in sys.modules))\n"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert json.loads((tmp_path / "o.json").read_text(encoding="utf-8"))["events"] == 21348


def test_large_mode_mines_parquet_part_by_part_with_the_same_answers(tmp_path):
    """The helpdesk log as Parquet, held three parts at a time at most: every key ``--large``
    writes equals the in-memory run's, and its bottlenecks are that run's slowest paths."""
    frame = pl.read_csv(HELPDESK).select(
        pl.col("Case ID").alias("case_id"),
        pl.col("Activity").alias("activity"),
        pl.col("Complete Timestamp").str.to_datetime("%Y/%m/%d %H:%M:%S.%3f").alias("timestamp"),
    )
    log = tmp_path / "helpdesk.parquet"
    frame.write_parquet(log)
    normal, large = tmp_path / "normal.json", tmp_path / "large.json"
    assert _run(str(log), "--duplicates", "keep", "--json", str(normal)).exit_code == 0
    part = str(frame.height // 3)
    args = [
        str(log),
        "--large",
        "--part-events",
        part,
        "--duplicates",
        "keep",
        "--json",
        str(large),
    ]
    result = _run(*args)
    assert result.exit_code == 0, result.output
    want, got = json.loads(normal.read_text()), json.loads(large.read_text())
    keys = ("cases", "events", "activities", "start_activities", "end_activities", "variants")
    for key in (*keys, "rework", "throughput"):
        assert got[key] == want[key], key
    assert _by_edge(got["dfg"]) == pytest.approx(_by_edge(want["dfg"]))
    paths = [b for b in want["bottlenecks"] if b["kind"] == "edge"]
    assert [(b["source"], b["target"]) for b in got["bottlenecks"]] == [
        (b["source"], b["target"]) for b in paths
    ]
    assert set(got) == {*want} - {
        "activity_times",
        "rework_by_attribute",
        "resources",
        "handovers",
    }


def _by_edge(rows):
    return {
        (r["source"], r["target"], k): v
        for r in rows
        for k, v in r.items()
        if k not in ("source", "target")
    }


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--report", "out.html"], "--large cannot be combined with --report"),
        (["--resource-col", "Resource"], "--large cannot be combined with --resource-col"),
    ],
)
def test_large_mode_refuses_what_it_cannot_do(tmp_path, extra, message):
    log = tmp_path / "log.parquet"
    pl.DataFrame({"case_id": ["a"], "activity": ["x"], "timestamp": [1]}).write_parquet(log)
    result = _run(
        str(log), "--large", *[str(tmp_path / a) if a.endswith(".html") else a for a in extra]
    )
    assert result.exit_code == 2
    assert message in result.output
    csv = _run(str(HELPDESK), "--large")
    assert csv.exit_code == 2 and "--large reads Parquet logs only" in csv.output


def test_json_equals_the_library_result(helpdesk_run):
    """The command writes from columns what ``AnalysisResult.to_dict`` says, key for key."""
    from serviceloop.analytics import analyze, read_csv

    _, _, data = helpdesk_run
    log = read_csv(
        HELPDESK,
        case="Case ID",
        activity="Activity",
        timestamp="Complete Timestamp",
        resource="Resource",
        duplicates="keep",
    )
    want = analyze(log).to_dict()
    assert list(data) == [*want, "conformance"]
    assert {k: data[k] for k in want} == want


def test_nothing_is_serialised_that_was_not_asked_for(tmp_path, monkeypatch):
    """Without --json no JSON is built; with it, no Python object per row (``to_dict``)."""
    from serviceloop.analytics import AnalysisResult, _json

    def refuse(*args, **kwargs):
        raise AssertionError("serialised without being asked")

    monkeypatch.setattr(AnalysisResult, "to_dict", refuse)
    monkeypatch.setattr(_json, "write_json", refuse)
    result = _run(str(HELPDESK), *HELPDESK_ARGS, "--report", str(tmp_path / "r.html"))
    assert result.exit_code == 0, result.output
    assert "21348 events, 4580 cases" in result.stdout
    monkeypatch.undo()
    monkeypatch.setattr(AnalysisResult, "to_dict", refuse)
    result = _run(str(HELPDESK), *HELPDESK_ARGS, "--json", str(tmp_path / "o.json"))
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "o.json").read_text(encoding="utf-8"))["events"] == 21348


def test_start_times_split_waiting_from_processing_in_json_summary_and_report(tmp_path):
    log = tmp_path / "stages.csv"
    log.write_text(
        "case_id,activity,start,timestamp\n"
        "1,intake,2024-01-01 09:00,2024-01-01 09:10\n"
        "1,design,2024-01-03 09:00,2024-01-03 10:00\n"
        "2,intake,2024-01-01 09:00,2024-01-01 09:05\n"
        "2,design,2024-01-04 09:00,2024-01-04 09:30\n",
        encoding="utf-8",
    )
    out, page = tmp_path / "o.json", tmp_path / "r.html"
    result = _run(
        str(log), "--start-timestamp-col", "start", "--json", str(out), "--report", str(page)
    )
    assert result.exit_code == 0, result.output
    ranked = json.loads(out.read_text(encoding="utf-8"))["bottlenecks"]
    assert (ranked[0]["target"], ranked[0]["time"]) == ("design", "waiting")
    assert {(b["target"], b["time"]) for b in ranked if b["kind"] == "activity"} == {
        ("design", "waiting"),
        ("design", "processing"),
        ("intake", "processing"),
    }
    assert "waiting" in result.stdout and "processing" in result.stdout
    assert "measured apart" in result.stdout
    assert "measured apart" in page.read_text(encoding="utf-8")
    plain = _run(str(log), "--json", str(out))
    assert "charged to the activity that completes" in plain.stdout
    assert {b["time"] for b in json.loads(out.read_text(encoding="utf-8"))["bottlenecks"]} == {
        "elapsed"
    }


def test_limits_refuse_before_loading_and_can_be_raised(tmp_path):
    log = tmp_path / "wide.csv"
    header = "case_id,activity,timestamp," + ",".join(f"x{i}" for i in range(20))
    log.write_text(header + "\n1,a,2024-01-01," + ",".join("v" * 20) + "\n", encoding="utf-8")
    refused = _run(str(log), "--limit", "max_columns=10", *_outputs(tmp_path))
    _assert_failed_cleanly(refused, tmp_path, "23 columns", "--limit max_columns=")
    assert _run(str(log), "--limit", "max_columns=30", "--json", "-").exit_code == 0
    unknown = _run(str(log), "--limit", "max_rows=3")
    assert unknown.exit_code == 2 and "unknown limit(s) 'max_rows'" in unknown.stderr


def _script(*args: str) -> subprocess.CompletedProcess[str]:
    """``serviceloop analyze ...`` as the installed script runs it (Click, without Typer)."""
    code = "import sys; from serviceloop.cli import main; sys.argv = sys.argv[1:]; main()"
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code, "serviceloop", "analyze", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_script_parses_like_typer_and_writes_the_same_json(tmp_path):
    args = [*HELPDESK_ARGS, "--rework-by", "seriousness", "--top-variants", "4"]
    by_script = _script(str(HELPDESK), *args, "--json", str(tmp_path / "script.json"))
    assert by_script.returncode == 0, by_script.stderr
    by_typer = _run(str(HELPDESK), *args, "--json", str(tmp_path / "typer.json"))
    assert by_typer.exit_code == 0, by_typer.output
    assert by_script.stdout == by_typer.stdout
    script_json = json.loads((tmp_path / "script.json").read_text(encoding="utf-8"))
    assert script_json == json.loads((tmp_path / "typer.json").read_text(encoding="utf-8"))
    assert len(script_json["variants"]) == 4 and "seriousness" in script_json["rework_by_attribute"]


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["--help"], 0, "--start-timestamp-col"),
        (["nope.csv"], 2, "nope.csv: no such file"),
        ([str(HELPDESK), "--duplicates", "maybe"], 2, "'maybe' is not one of"),
        ([str(HELPDESK), "--top-variants", "0"], 2, "--top-variants"),
        ([str(HELPDESK), "--no-such-option"], 2, "No such option"),
    ],
)
def test_the_script_reports_usage_errors_like_typer(args, code, fragment):
    out = _script(*args)
    assert out.returncode == code
    assert fragment in out.stdout + out.stderr


def test_polars_allocator_keeps_freed_memory_unless_the_user_said_otherwise(monkeypatch):
    from serviceloop.commands import analyze as command

    monkeypatch.delenv("_RJEM_MALLOC_CONF", raising=False)
    command._keep_freed_memory()
    assert os.environ["_RJEM_MALLOC_CONF"] == (
        "dirty_decay_ms:5000,muzzy_decay_ms:5000,narenas:1,oversize_threshold:0"
    )
    monkeypatch.setenv("_RJEM_MALLOC_CONF", "narenas:2")
    command._keep_freed_memory()
    assert os.environ["_RJEM_MALLOC_CONF"] == "narenas:2"


def test_the_script_imports_polars_only_once_the_command_runs():
    """Polars' allocator reads its settings when Polars is first imported: the ``serviceloop``
    script and its commands must not import it before ``analyze`` sets them (nor pay for it
    on ``--help``)."""
    code = (
        "import sys\n"
        "import serviceloop.cli\n"
        "print(sorted(m for m in ('polars', 'narwhals', 'numpy') if m in sys.modules))\n"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_the_script_runs_analyze_without_typer_and_writes_all_its_output(tmp_path):
    """The script parses ``analyze`` with Click alone (Typer's import costs 0.05-0.07 s) and
    ends the process without tearing the interpreter down: what it wrote must all be there."""
    code = "import sys\nfrom serviceloop.cli import main\nsys.argv = sys.argv[1:]\nmain()\n"
    args = [*HELPDESK_ARGS, "--json", "-"]
    out = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            code,
            "serviceloop",
            "analyze",
            str(HELPDESK),
            *args,
        ],
        capture_output=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    imported = [line.rsplit("|", 1)[-1].strip() for line in out.stderr.decode().splitlines()]
    assert "click" in imported and not [m for m in imported if m.split(".")[0] == "typer"]
    assert "polars" in imported and "importlib.metadata" not in imported  # see _defer_import
    by_typer = _run(str(HELPDESK), *args)
    assert json.loads(out.stdout) == json.loads(by_typer.stdout)


def test_the_script_imports_only_the_command_it_runs():
    """A command's module loads when that command runs; ``--help`` still lists them all."""
    code = (
        "import sys\n"
        "import serviceloop.cli\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('serviceloop.commands.'))\n"
        "sys.argv = ['serviceloop', 'staffing', '--help']\n"
        "try:\n"
        "    serviceloop.cli.main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(loaded, sorted(m for m in sys.modules if m.startswith('serviceloop.commands.')))\n"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == (
        "[] ['serviceloop.commands._log_options', 'serviceloop.commands.analyze', "
        "'serviceloop.commands.simulate']"
    )
    listed = subprocess.run(
        [sys.executable, "-c", "import sys; from serviceloop.cli import main; main()", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert listed.returncode == 0
    for command in ("manage", "demo", "export-log", "worker", "analyze", "simulate", "staffing",
                    "predict"):  # fmt: skip
        assert f" {command} " in listed.stdout


def test_outputs_replace_existing_files_removed_first(tmp_path, monkeypatch):
    """An existing output is removed before the new one is renamed over its name (renamed over
    an existing file, ext4 writes the new one out to disk before the rename returns); a
    symbolic link is replaced, not followed, as a rename replaces it; nothing else is left."""
    from serviceloop.commands import analyze as command

    out, page, elsewhere = tmp_path / "out.json", tmp_path / "report.html", tmp_path / "kept.html"
    out.write_bytes(b"old json")
    elsewhere.write_bytes(b"old page")
    page.symlink_to(elsewhere)
    renamed = []

    def replace(src, dst):
        renamed.append((Path(src).name, Path(dst).name, os.path.lexists(dst)))
        os.rename(src, dst)

    monkeypatch.setattr(command.os, "replace", replace)
    result = _run(str(HELPDESK), *HELPDESK_ARGS, "--json", str(out), "--report", str(page))
    assert result.exit_code == 0, result.output
    assert renamed == [("report.html.partial", "report.html", False),
                       ("out.json.partial", "out.json", False)]  # fmt: skip
    assert json.loads(out.read_bytes())["events"] > 0
    assert not page.is_symlink() and page.read_bytes().startswith(b"<!DOCTYPE html>")
    assert elsewhere.read_bytes() == b"old page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.html", "out.json", "report.html"]


def test_the_report_is_rendered_while_the_json_is_written(tmp_path, monkeypatch):
    """The report's page (Python, holding the GIL) is rendered while the JSON's writer runs in
    a thread beside it, not after it; both are complete when renamed into place."""
    import threading

    from serviceloop.commands import analyze as command

    json_started = threading.Event()
    write_json = command._json_writer

    def json_writer(document):
        write = write_json(document)

        def started_then_write(fh):
            json_started.set()
            write(fh)

        return started_then_write

    render = report_module.render_page

    def render_beside_json(*args, **kwargs):
        assert json_started.wait(10), "the JSON was not being written beside the report"
        return render(*args, **kwargs)

    monkeypatch.setattr(command, "_json_writer", json_writer)
    monkeypatch.setattr(report_module, "render_page", render_beside_json)
    out, page = tmp_path / "out.json", tmp_path / "report.html"
    result = _run(str(HELPDESK), *HELPDESK_ARGS, "--json", str(out), "--report", str(page))
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_bytes())["events"] > 0
    assert page.read_bytes().rstrip().endswith(b"</html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json", "report.html"]


@pytest.mark.parametrize("failing", ["json", "report"])
def test_a_failing_output_waits_for_the_other_and_replaces_nothing(tmp_path, failing):
    """Written at once, either output failing leaves both old files as they were and no
    ``.partial`` behind, only after the other writer has finished; its error is raised."""
    import threading
    import time

    from serviceloop.commands import analyze as command

    out, page = tmp_path / "out.json", tmp_path / "report.html"
    out.write_bytes(b"old json")
    page.write_bytes(b"old page")
    finished = threading.Event()

    def slow(fh):
        time.sleep(0.2)
        fh.write(b"new")
        finished.set()

    def broken(fh):
        fh.write(b"half")
        raise OSError(28, "No space left on device")

    writers = {page: slow, out: broken} if failing == "json" else {page: broken, out: slow}
    with pytest.raises(OSError, match="No space left"):
        command._write_atomically(writers)
    assert finished.is_set()
    assert out.read_bytes() == b"old json" and page.read_bytes() == b"old page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json", "report.html"]


def test_a_deferred_module_is_imported_on_first_use():
    """The stand-in ``analyze`` puts in place of ``importlib.metadata`` (which ``import polars``
    would load for nothing) gives the real module's answers by every way of asking, then is
    replaced by it; a module already imported is left as it is."""
    code = """
import importlib, sys
from serviceloop.commands.analyze import _defer_import
_defer_import("importlib.metadata")
stand_in = sys.modules["importlib.metadata"]
import polars
assert sys.modules["importlib.metadata"] is stand_in, "polars used it"
import importlib.metadata as md
from importlib import metadata
assert md is stand_in and metadata is stand_in and "zipfile" not in sys.modules
from importlib.metadata import version
real = sys.modules["importlib.metadata"]
assert real is not stand_in and importlib.metadata is real and "zipfile" in sys.modules
assert version("polars") == polars.__version__ == md.version("polars")
assert md.distributions is real.distributions
_defer_import("importlib.metadata")
assert sys.modules["importlib.metadata"] is real
print("ok")
"""
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
