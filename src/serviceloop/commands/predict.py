"""``serviceloop predict``: train, score and evaluate case predictions on an event-log file.

``train`` learns remaining time, next activity and SLA-breach risk from the closed cases of a
log and writes a model file; ``score`` predicts for the open cases of a log with that model;
``evaluate`` trains on the earlier cases, tests on the later ones and prints the model beside the
baselines. Django-free; the analytics library and LightGBM load inside the commands. Bad input
ends with one clear error and exit code 2, and writes nothing.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from serviceloop.commands._log_options import (
    ActivityCol,
    CaseCol,
    DayFirst,
    DuplicatesOpt,
    JsonOut,
    LogArg,
    ResourceCol,
    Separator,
    TimestampCol,
    TimestampFormat,
    TimeZone,
)
from serviceloop.commands.analyze import Duplicates, _load, duplicate_message

if TYPE_CHECKING:
    from serviceloop.analytics import EventLog

__all__ = ["app", "parse_duration"]

EXIT_BAD_INPUT = 2

app = typer.Typer(
    help="Predict remaining time, next activity and SLA-breach risk of open cases.",
    no_args_is_help=True,
    add_completion=False,
)


class SlaMeasure(StrEnum):
    total = "total"
    remaining = "remaining"


class Protocol(StrEnum):
    time_2_3 = "time_2_3"
    time_64_16_20 = "time_64_16_20"


_UNITS = {"s": 1, "min": 60, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|min|m|h|d|w)?\s*$")


def parse_duration(text: str) -> float:
    """Seconds in ``"36h"``, ``"5d"``, ``"90min"``, ``"2w"`` or a bare number of seconds."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a positive duration such as 36h, 5d or 90min")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def _human(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def _write_atomically(outputs: dict[Path, str]) -> None:
    """Write each output to ``NAME.partial``; rename them only when all are written."""
    partials = {path: path.with_name(path.name + ".partial") for path in outputs}
    try:
        for path, text in outputs.items():
            partials[path].write_text(text, encoding="utf-8")
        for path, partial in partials.items():
            partial.replace(path)
    finally:
        for partial in partials.values():
            partial.unlink(missing_ok=True)


def _fail(command: str, message: str) -> typer.Exit:
    typer.echo(f"serviceloop predict {command}: {message}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


# -- options of the three commands beside the log's (commands/_log_options.py) ---------------
Attribute = Annotated[
    list[str] | None,
    typer.Option(
        "--attribute",
        help="Attribute column to use as a feature (repeatable; default: every other column). "
        "Leave out columns known only once a case ends, such as a variant.",
    ),
]
NoAttributes = Annotated[bool, typer.Option(help="Use no attribute columns.")]
ClosedActivity = Annotated[
    list[str] | None,
    typer.Option(
        "--closed-activity",
        help="A case whose last activity is this one is closed (repeatable; default: the "
        "activities that end their case in at least 90 % of their occurrences).",
    ),
]
Sla = Annotated[
    str | None,
    typer.Option(help="SLA target for the breach risk, e.g. 5d, 36h, 90min."),
]
SlaMeasureOpt = Annotated[
    SlaMeasure,
    typer.Option(help="The SLA counts the case's total time, or its time left after now."),
]


def _mapping(
    *,
    case_col: str | None,
    activity_col: str | None,
    timestamp_col: str | None,
    resource_col: str | None,
    timestamp_format: str | None,
    day_first: bool,
    timezone: str,
    duplicates: Duplicates,
    attributes: list[str] | None,
    no_attributes: bool,
) -> dict[str, Any]:
    mapping: dict[str, Any] = {
        "case": case_col,
        "activity": activity_col,
        "timestamp": timestamp_col,
        "start_timestamp": None,
        "resource": resource_col,
        "lifecycle": None,
        "timestamp_format": timestamp_format,
        "day_first": day_first,
        "timezone": timezone,
        "duplicates": duplicates.value,
        "engine": "polars",
        "attributes": [] if no_attributes else attributes,
    }
    # unnamed columns take the library's defaults (XES keys for an XES log) in _load
    return mapping


def _check_output(command: str, path: Path | None, option: str) -> None:
    if path is None or str(path) == "-":
        return
    if not path.parent.is_dir():
        raise _fail(command, f"{option} {path}: directory {path.parent} does not exist")
    if path.is_dir():
        raise _fail(command, f"{option} {path}: is a directory")


@contextmanager
def _progress(title: str) -> Iterator[Callable[[str], None]]:
    """A Rich progress line on stderr (only on a terminal) fed by the library's step messages."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    )
    with progress:
        task = progress.add_task(title, total=None)
        yield lambda message: progress.update(task, description=message)


@contextmanager
def _errors(command: str, log: Path) -> Iterator[None]:
    from serviceloop.analytics import AnalyticsError
    from serviceloop.analytics.errors import DuplicateEventError

    try:
        yield
    except DuplicateEventError as exc:
        raise _fail(command, duplicate_message(exc)) from None
    except AnalyticsError as exc:
        raise _fail(command, str(exc)) from None
    except OSError as exc:
        raise _fail(command, f"{exc.filename or log}: {exc.strerror or exc}") from None


def _read(command: str, log: Path, mapping: dict[str, Any], separator: str | None) -> EventLog:
    if not log.is_file():
        raise _fail(command, f"{log}: no such file")
    return _load(log, mapping, {"separator": separator} if separator else {})


def _sla(command: str, sla: str | None) -> float | None:
    if sla is None:
        return None
    try:
        return parse_duration(sla)
    except ValueError as exc:
        raise _fail(command, f"--sla: {exc}") from None


@app.command()
def train(
    log: LogArg,
    model: Annotated[Path, typer.Option("--model", help="Write the trained model here.")],
    case_col: CaseCol = None,
    activity_col: ActivityCol = None,
    timestamp_col: TimestampCol = None,
    resource_col: ResourceCol = None,
    timestamp_format: TimestampFormat = None,
    day_first: DayFirst = False,
    timezone: TimeZone = "UTC",
    separator: Separator = None,
    duplicates: DuplicatesOpt = Duplicates.error,
    attribute: Attribute = None,
    no_attributes: NoAttributes = False,
    closed_activity: ClosedActivity = None,
    sla: Sla = None,
    sla_measure: SlaMeasureOpt = SlaMeasure.total,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same model).")] = 0,
) -> None:
    """Learn from the closed cases of LOG; write the model to --model."""
    from rich.console import Console

    _check_output("train", model, "--model")
    target = _sla("train", sla)
    mapping = _mapping(
        case_col=case_col,
        activity_col=activity_col,
        timestamp_col=timestamp_col,
        resource_col=resource_col,
        timestamp_format=timestamp_format,
        day_first=day_first,
        timezone=timezone,
        duplicates=duplicates,
        attributes=attribute,
        no_attributes=no_attributes,
    )
    with _errors("train", log), _progress(f"Loading {log.name}") as step:
        from serviceloop.analytics.prediction import train_predictor

        event_log = _read("train", log, mapping, separator)
        predictor = train_predictor(
            event_log,
            closed_activities=closed_activity,
            sla_seconds=target,
            sla_measure=sla_measure.value,
            timezone=timezone,
            seed=seed,
            on_step=step,
        )
        predictor.save(model)
    info = predictor.info
    out = Console()
    out.print(
        f"Trained on [bold]{info['closed_cases']}[/] closed cases ({info['prefixes']} prefixes, "
        f"{info['first_event']} .. {info['last_event']}); closing activities: "
        f"{', '.join(predictor.closed_activities)}"
    )
    if target is not None:
        out.print(f"Breach risk: {sla_measure.value} time over {_human(target)}")
    out.print(f"Wrote {model}")


@app.command()
def score(
    log: LogArg,
    model: Annotated[Path, typer.Option("--model", help="A model written by 'predict train'.")],
    case_col: CaseCol = None,
    activity_col: ActivityCol = None,
    timestamp_col: TimestampCol = None,
    resource_col: ResourceCol = None,
    timestamp_format: TimestampFormat = None,
    day_first: DayFirst = False,
    timezone: TimeZone = "UTC",
    separator: Separator = None,
    duplicates: DuplicatesOpt = Duplicates.error,
    json_out: JsonOut = None,
    csv_out: Annotated[
        Path | None, typer.Option("--csv", help="Write one row per open case here.")
    ] = None,
    top: Annotated[int, typer.Option(min=0, help="Open cases shown in the table.")] = 20,
) -> None:
    """Predict for the open cases of LOG with --model (most at risk first)."""
    from rich.console import Console

    _check_output("score", json_out, "--json")
    _check_output("score", csv_out, "--csv")
    if csv_out is not None and str(csv_out) == "-":
        raise _fail("score", "--csv needs a file name")
    with _errors("score", log), _progress(f"Loading {model.name}") as step:
        from serviceloop.analytics.prediction import load_predictor

        predictor = load_predictor(model)
        mapping = _mapping(
            case_col=case_col,
            activity_col=activity_col,
            timestamp_col=timestamp_col,
            resource_col=resource_col,
            timestamp_format=timestamp_format,
            day_first=day_first,
            timezone=timezone,
            duplicates=duplicates,
            attributes=None,
            no_attributes=False,
        )
        step(f"Loading {log.name}")
        event_log = _read("score", log, mapping, separator)
        missing = [a for a in predictor.vocab.attributes if a not in event_log.attributes]
        if missing:
            raise _fail(
                "score",
                f"{log}: the model uses attribute column(s) {', '.join(map(repr, missing))} "
                "that this log does not have",
            )
        if predictor.vocab.resources is not None and not event_log.has_resource:
            raise _fail("score", f"{log}: the model uses resources; pass --resource-col")
        scores = predictor.score(event_log, on_step=step)
        order = "breach_probability" if "breach_probability" in scores.columns else None
        scores = scores.sort(order or "remaining_seconds", descending=True, nulls_last=True)
        outputs: dict[Path, str] = {}
        rows = scores.with_columns(
            scores[c].dt.to_string("%Y-%m-%dT%H:%M:%SZ") for c in ("last_timestamp", "expected_end")
        )
        if csv_out is not None:
            outputs[csv_out] = rows.write_csv()
        text = json.dumps(
            {"model": predictor.info, "cases": rows.to_dicts()}, ensure_ascii=False, indent=1
        )
        if json_out is not None and str(json_out) != "-":
            outputs[json_out] = text + "\n"
        _write_atomically(outputs)
    if json_out is not None and str(json_out) == "-":
        sys.stdout.write(text + "\n")
        return
    _print_scores(scores, top, Console())
    for path in outputs:
        Console(stderr=True).print(f"Wrote {path}")


def _print_scores(scores: Any, top: int, console: Any) -> None:
    from rich.table import Table

    console.print(f"[bold]{scores.height}[/] open cases")
    if not top or not scores.height:
        return
    risk = "breach_probability" in scores.columns
    table = Table(title="Most at risk" if risk else "Longest expected remaining time")
    for col in ("case", "events", "last activity", "elapsed", "remaining", "next activity"):
        table.add_column(col, justify="left" if col in ("case", "last activity") else "right")
    if risk:
        table.add_column("breach risk", justify="right")
    for r in scores.head(top).iter_rows(named=True):
        cells = [
            str(r["case_id"]),
            str(r["events"]),
            str(r["last_activity"]),
            _human(r["elapsed_seconds"]),
            _human(r["remaining_seconds"]),
            f"{r['next_activity']} ({r['next_probability']:.0%})",
        ]
        if risk:
            cells.append(f"{r['breach_probability']:.0%}")
        table.add_row(*cells)
    console.print(table)


@app.command()
def evaluate(
    log: LogArg,
    case_col: CaseCol = None,
    activity_col: ActivityCol = None,
    timestamp_col: TimestampCol = None,
    resource_col: ResourceCol = None,
    timestamp_format: TimestampFormat = None,
    day_first: DayFirst = False,
    timezone: TimeZone = "UTC",
    separator: Separator = None,
    duplicates: DuplicatesOpt = Duplicates.error,
    attribute: Attribute = None,
    no_attributes: NoAttributes = False,
    closed_activity: ClosedActivity = None,
    sla: Sla = None,
    sla_measure: SlaMeasureOpt = SlaMeasure.total,
    protocol: Annotated[
        list[Protocol] | None,
        typer.Option(help="Split(s) to run (repeatable; default: both)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    json_out: JsonOut = None,
) -> None:
    """Train on the earlier closed cases of LOG, test on the later ones, compare with baselines."""
    from rich.console import Console

    _check_output("evaluate", json_out, "--json")
    target = _sla("evaluate", sla)
    mapping = _mapping(
        case_col=case_col,
        activity_col=activity_col,
        timestamp_col=timestamp_col,
        resource_col=resource_col,
        timestamp_format=timestamp_format,
        day_first=day_first,
        timezone=timezone,
        duplicates=duplicates,
        attributes=attribute,
        no_attributes=no_attributes,
    )
    with _errors("evaluate", log), _progress(f"Loading {log.name}") as step:
        from serviceloop.analytics.prediction import evaluate_predictor

        event_log = _read("evaluate", log, mapping, separator)
        result = evaluate_predictor(
            event_log,
            closed_activities=closed_activity,
            sla_seconds=target,
            sla_measure=sla_measure.value,
            timezone=timezone,
            protocols=[p.value for p in protocol] if protocol else ("time_2_3", "time_64_16_20"),
            seed=seed,
            on_step=step,
        )
        data = {"log": str(log), "attributes": list(event_log.attributes), **result.to_dict()}
        text = json.dumps(data, ensure_ascii=False, indent=1)
        if json_out is not None and str(json_out) != "-":
            _write_atomically({json_out: text + "\n"})
    if json_out is not None and str(json_out) == "-":
        sys.stdout.write(text + "\n")
        return
    _print_evaluation(result, list(event_log.attributes), Console())


def _print_evaluation(result: Any, attributes: list[str], console: Any) -> None:
    from rich.table import Table

    table = Table(title="Held-out cases (split by start time): model vs baseline")
    for col in ("protocol", "task", "metric", "prefixes", "model", "baseline", "better"):
        table.add_column(
            col, justify="right" if col in ("prefixes", "model", "baseline") else "left"
        )
    for r in result.summary.iter_rows(named=True):
        fmt = (
            (lambda v: "n/a" if v is None else f"{v:.3f}")
            if r["metric"] != "mae_days"
            else (lambda v: "n/a" if v is None else f"{v:.2f} d")
        )
        better = {True: "[green]yes[/]", False: "[red]no[/]", None: "n/a"}[r["better"]]
        table.add_row(
            r["protocol"],
            r["task"],
            r["metric"],
            str(r["prefixes"]),
            fmt(r["model"]),
            fmt(r["baseline"]),
            better,
        )
    console.print(table)
    for name, split in result.splits.items():
        console.print(
            f"{name}: {split['train_cases']} training cases (the latest "
            f"{split['validation_cases']} chose the boosting rounds), {split['test_cases']} test "
            f"cases from {split['test_starts_at']}"
        )
    console.print(f"Attributes used: {', '.join(attributes) or 'none'}")
