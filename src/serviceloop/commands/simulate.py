"""``serviceloop simulate`` and ``serviceloop staffing``: what-if runs and staff per hour.

Reads the log exactly as ``serviceloop analyze`` does (same column, timestamp and duplicate
options), discovers the model, simulates as-is and every scenario with replications, and prints
the comparison; ``--json`` and ``--report`` write it. What-if options given directly form one
scenario called "what-if"; ``--scenario "NAME: change; change"`` adds named ones. Bad input
ends with one clear error (exit code 2) and writes nothing.

``staffing`` forecasts new cases per weekday and hour (backtested) and turns them into agents
needed for a service-level target with Erlang C, and Erlang A when a patience is given.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from serviceloop.commands._log_options import (
    ActivityCol,
    CaseCol,
    DayFirst,
    DuplicatesOpt,
    JsonOut,
    LifecycleCol,
    LogArg,
    ResourceCol,
    Separator,
    StartCol,
    TimestampCol,
    TimestampFormat,
    TimeZone,
)
from serviceloop.commands.analyze import Duplicates, _load, duplicate_message

if TYPE_CHECKING:
    from serviceloop.analytics.simulation import Scenario, SimulationResult

__all__ = ["simulate", "staffing"]

EXIT_BAD_INPUT = 2
_UNITS = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class _BadInput(Exception):
    pass


def _fail(message: str, command: str = "simulate") -> typer.Exit:
    typer.echo(f"serviceloop {command}: {message}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


def parse_duration(text: str, option: str = "--sla") -> float:
    """``5d``, ``36h``, ``90min``, ``3600s`` or plain seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", text.lower())
    if not m or (m.group(2) and m.group(2) not in _UNITS):
        raise _BadInput(f"{option} {text!r}: write a duration such as 5d, 36h, 90min or 3600")
    value = float(m.group(1)) * _UNITS.get(m.group(2) or "s", 1)
    if value <= 0:
        raise _BadInput(f"{option} must be longer than zero")
    return value


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    out = {}
    for v in values or []:
        key, sep, value = v.rpartition("=")
        if not sep or not key.strip() or not value.strip():
            raise _BadInput(f"{option} {v!r}: expected NAME=VALUE")
        out[key.strip()] = value.strip()
    return out


def _scenarios(what_if: list[str], named: list[str] | None) -> list[Scenario]:
    from serviceloop.analytics.simulation import Scenario, parse_change, parse_scenario

    scenarios = []
    if what_if:
        scenarios.append(Scenario("what-if", tuple(parse_change(c) for c in what_if)))
    scenarios.extend(parse_scenario(s) for s in named or [])
    return scenarios


def _human(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds):
        return "n/a"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def _print(result: SimulationResult, console: Any) -> None:
    from rich.table import Table

    model = result.model
    pools = Table(title="As-is model: pools")
    for col in ("pool", "staff", "multitasking", "working hours", "stages"):
        pools.add_column(col, justify="right" if col in ("staff", "multitasking") else "left")
    for p in model.pools:
        stages = ", ".join(a.name for a in model.activities if a.pool == p.name)
        pools.add_row(p.name, str(p.staff), f"{p.multitasking:.2f}", p.describe_hours(), stages)
    console.print(pools)
    for name, load in model.offered_load().items():
        if load >= 1.0:
            console.print(
                f"[bold]Pool {name} cannot keep up:[/bold] its work is {load:.0%} of its hours "
                "at this rate of new cases, so its queue grows for as long as the simulation "
                "runs and the as-is figures grow with --weeks."
            )
    rule = model.info.get("arrivals")
    if rule:
        console.print(
            f"New cases: {model.cases_per_week:.1f} a week, {rule['rule']} "
            f"(the whole log: {rule['cases_per_week_whole_log']:.1f} a week)"
        )
    runs = [result.as_is, *result.scenarios]
    table = Table(title="As-is and scenarios (mean over replications, 95 % CI, change vs as-is)")
    table.add_column("measure")
    for r in runs:
        table.add_column(r.name, justify="right")
    rows = [
        ("cycle time mean", "cycle_time_mean_seconds", _human),
        ("cycle time median", "cycle_time_median_seconds", _human),
        ("cycle time p90", "cycle_time_p90_seconds", _human),
        ("SLA attainment", "sla_attainment", lambda x: "n/a" if math.isnan(x) else f"{x:.1%}"),
        ("throughput / week", "throughput_per_week", lambda x: f"{x:.1f}"),
    ]
    for label, key, fmt in rows:
        cells = []
        for i, r in enumerate(runs):
            e = r.measures[key]
            text = f"{fmt(e.mean)} [{fmt(e.low)}, {fmt(e.high)}]"
            if i:
                d = r.difference[key]
                sign = "+" if d.mean >= 0 else "-"
                text += f"\n{sign}{fmt(abs(d.mean))}"
            cells.append(text)
        table.add_row(label, *cells)
    console.print(table)
    util = Table(title="Utilisation per pool")
    util.add_column("pool")
    for r in runs:
        util.add_column(r.name, justify="right")
    for pool in result.as_is.utilisation:
        util.add_row(
            pool,
            *(
                f"{r.utilisation[pool].mean:.0%}" if pool in r.utilisation else "removed"
                for r in runs
            ),
        )
    console.print(util)


ArrivalWeeks = Annotated[
    float,
    typer.Option(
        min=0.0,
        help="New cases at the rate of the log's last N weeks (0: the whole log's mean rate).",
    ),
]


def _mapping(**given: Any) -> dict[str, Any]:
    """The options as given: unnamed columns take the library's defaults (XES keys for an XES
    log) in ``_load``."""
    return {**given, "engine": "polars"}


def _check_paths(log: Path, outputs: dict[str, Path | None], command: str = "simulate") -> None:
    for option, path in outputs.items():
        if path is None or str(path) == "-":
            continue
        if option == "--report" and str(path) == "-":
            raise _fail("--report needs a file name")
        if not path.parent.is_dir():
            raise _fail(f"{option} {path}: directory {path.parent} does not exist", command)
        if path.is_dir():
            raise _fail(f"{option} {path}: is a directory", command)
    if not log.is_file():
        raise _fail(f"{log}: no such file", command)


def simulate(
    log: LogArg,
    case_col: CaseCol = None,
    activity_col: ActivityCol = None,
    timestamp_col: TimestampCol = None,
    start_timestamp_col: StartCol = None,
    resource_col: ResourceCol = None,
    lifecycle_col: LifecycleCol = None,
    timestamp_format: TimestampFormat = None,
    day_first: DayFirst = False,
    timezone: TimeZone = "UTC",
    separator: Separator = None,
    duplicates: DuplicatesOpt = Duplicates.error,
    pool_attribute: Annotated[
        str | None, typer.Option(help="Event attribute naming the team or role (the pools).")
    ] = None,
    pool: Annotated[
        list[str] | None, typer.Option(help="ACTIVITY=POOL: put an activity in a pool.")
    ] = None,
    staff_count: Annotated[
        list[str] | None, typer.Option(help="POOL=N: the as-is head count, if not discovered.")
    ] = None,
    working_hours: Annotated[
        list[str] | None,
        typer.Option(help="As-is working hours: 'Mon-Fri 08-18' or 'POOL=Mon-Fri 08-18'."),
    ] = None,
    staff: Annotated[
        list[str] | None, typer.Option(help="What-if: POOL=+2, POOL=-1 or POOL=5.")
    ] = None,
    duration: Annotated[
        list[str] | None, typer.Option(help="What-if: ACTIVITY=-20% or ACTIVITY=x0.8.")
    ] = None,
    route: Annotated[
        list[str] | None, typer.Option(help="What-if: 'SOURCE->TARGET=0.1' (TARGET may be END).")
    ] = None,
    rework: Annotated[
        list[str] | None, typer.Option(help="What-if: 'SOURCE->TARGET=0.05' on a rework edge.")
    ] = None,
    no_rework: Annotated[bool, typer.Option(help="What-if: drop every rework edge.")] = False,
    remove_stage: Annotated[
        list[str] | None, typer.Option(help="What-if: remove a stage (cases go on).")
    ] = None,
    merge: Annotated[
        list[str] | None, typer.Option(help="What-if: 'KEEP+OTHER' merges OTHER into KEEP.")
    ] = None,
    arrivals: Annotated[
        list[str] | None, typer.Option(help="What-if: '+20%' or 'Mon-Fri 09-12=x1.5'.")
    ] = None,
    pattern: Annotated[
        list[str] | None,
        typer.Option(help="What-if: reshape the week, same total: 'Sat-Sun 00-24=x0'."),
    ] = None,
    hours: Annotated[
        list[str] | None,
        typer.Option(help="What-if: working hours 'Mon-Sat 08-20' or 'POOL=Mon-Sat 08-20'."),
    ] = None,
    scenario: Annotated[
        list[str] | None,
        typer.Option(help="A named scenario: 'NAME: staff X=+1; duration Y=-10%' (repeatable)."),
    ] = None,
    replications: Annotated[int, typer.Option(min=1, help="Runs per scenario.")] = 10,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed, the same numbers.")] = 0,
    workers: Annotated[
        int, typer.Option(min=1, help="Processes running replications side by side.")
    ] = 1,
    weeks: Annotated[float, typer.Option(min=0.1, help="Weeks measured per run.")] = 52.0,
    warmup_weeks: Annotated[
        float, typer.Option(min=0.0, help="Weeks simulated first and discarded.")
    ] = 4.0,
    sla: Annotated[
        str | None,
        typer.Option(help="Cycle-time standard, e.g. 5d or 36h (default: the log's p80)."),
    ] = None,
    min_cases: Annotated[
        int, typer.Option(min=2, help="Fewer cases than this: refuse to discover a model.")
    ] = 30,
    arrival_weeks: ArrivalWeeks = 8.0,
    report: Annotated[Path | None, typer.Option(help="Write an offline HTML report here.")] = None,
    json_out: JsonOut = None,
) -> None:
    """Simulate the process of a log as-is and under what-if changes (staff, durations, ...)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from serviceloop.analytics import AnalyticsError
    from serviceloop.analytics.errors import DuplicateEventError

    if report is not None and str(report) == "-":
        raise _fail("--report needs a file name")
    _check_paths(log, {"--report": report, "--json": json_out})
    mapping = _mapping(
        case=case_col,
        activity=activity_col,
        timestamp=timestamp_col,
        start_timestamp=start_timestamp_col,
        resource=resource_col,
        lifecycle=lifecycle_col,
        timestamp_format=timestamp_format,
        day_first=day_first,
        timezone=timezone,
        duplicates=duplicates.value,
    )
    csv_options = {"separator": separator} if separator else {}
    what_if: list[str] = []
    what_if += [f"staff {v}" for v in staff or []]
    what_if += [f"duration {v}" for v in duration or []]
    what_if += [f"route {v}" for v in route or []]
    what_if += [f"rework {v}" for v in rework or []]
    what_if += ["no-rework"] if no_rework else []
    what_if += [f"remove {v}" for v in remove_stage or []]
    what_if += [f"merge {v}" for v in merge or []]
    what_if += [f"arrivals {v}" for v in arrivals or []]
    what_if += [f"pattern {v}" for v in pattern or []]
    what_if += [f"hours {v}" for v in hours or []]
    console = Console(stderr=True)
    to_stdout = json_out is not None and str(json_out) == "-"
    try:
        sla_seconds = parse_duration(sla) if sla else None
        pools = _pairs(pool, "--pool")
        heads = {}
        for name, value in _pairs(staff_count, "--staff-count").items():
            if not value.isdigit():
                raise _BadInput(f"--staff-count {name}={value}: expected a whole number")
            heads[name] = int(value)
        hours_given: str | dict[str, str] | None = None
        if working_hours:
            per_pool = [w for w in working_hours if "=" in w]
            if per_pool and len(per_pool) != len(working_hours):
                raise _BadInput("--working-hours: give one for all pools or POOL=HOURS each")
            hours_given = _pairs(per_pool, "--working-hours") if per_pool else working_hours[0]
        from serviceloop.analytics.simulation import discover_model
        from serviceloop.analytics.simulation import simulate as run_simulation

        scenarios = _scenarios(what_if, scenario)
        progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not console.is_terminal,
            transient=True,
        )
        with progress:
            task = progress.add_task(f"Loading {log.name}", total=None)
            event_log = _load(log, mapping, csv_options)
            progress.update(task, description="Discovering the simulation model")
            model = discover_model(
                event_log,
                pools=pools or None,
                pool_attribute=pool_attribute,
                staff=heads or None,
                working_hours=hours_given,
                time_zone=timezone,
                min_cases=min_cases,
                arrival_weeks=arrival_weeks or None,
            )
            for s in scenarios:
                s.apply(model)  # a bad change fails here, before the long work
            total = replications * (1 + len(scenarios))
            progress.update(task, description="Simulating", total=total, completed=0)
            result = run_simulation(
                model,
                scenarios,
                replications=replications,
                seed=seed,
                weeks=weeks,
                warmup_weeks=warmup_weeks,
                sla_seconds=sla_seconds,
                workers=workers,
                progress=lambda done, _total: progress.update(task, completed=done),
            )
        data = result.to_dict()
        text = json.dumps(data, ensure_ascii=False, indent=1, allow_nan=False)
        outputs: dict[Path, str] = {}
        if json_out is not None and not to_stdout:
            outputs[json_out] = text + "\n"
        if report is not None:
            from serviceloop.analytics.simulation.report import render_simulation_report

            outputs[report] = render_simulation_report(result, title=f"Simulation of {log.name}")
        _write_atomically(outputs)
    except DuplicateEventError as exc:
        raise _fail(duplicate_message(exc)) from None
    except (AnalyticsError, _BadInput) as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"{exc.filename or log}: {exc.strerror or exc}") from None
    if to_stdout:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
        return
    _print(result, Console())
    for path in outputs:
        console.print(f"Wrote {path}")


def _write_atomically(outputs: dict[Path, str]) -> None:
    """Write every output to ``NAME.partial`` first; rename all only when all are written."""
    partials = {path: path.with_name(path.name + ".partial") for path in outputs}
    try:
        for path, text in outputs.items():
            partials[path].write_text(text, encoding="utf-8")
        for path, partial in partials.items():
            os.replace(partial, path)
    finally:
        for partial in partials.values():
            partial.unlink(missing_ok=True)


def _percent(value: float, option: str) -> float:
    if not 0 < value < 100:
        raise _BadInput(f"{option} is a percentage between 0 and 100, not {value:g}")
    return value / 100.0


def staffing(
    log: LogArg,
    case_col: CaseCol = None,
    activity_col: ActivityCol = None,
    timestamp_col: TimestampCol = None,
    start_timestamp_col: StartCol = None,
    resource_col: ResourceCol = None,
    lifecycle_col: LifecycleCol = None,
    timestamp_format: TimestampFormat = None,
    day_first: DayFirst = False,
    timezone: TimeZone = "UTC",
    separator: Separator = None,
    duplicates: DuplicatesOpt = Duplicates.error,
    service_level: Annotated[
        float, typer.Option(help="Share answered within the target, in percent.")
    ] = 80.0,
    target: Annotated[
        str, typer.Option(help="Answer-time target, e.g. 20s, 4h (new cases picked up within).")
    ] = "4h",
    handle: Annotated[
        str | None,
        typer.Option(help="Work per case, e.g. 15min (default: the log's processing per case)."),
    ] = None,
    patience: Annotated[
        str | None, typer.Option(help="Mean patience: adds Erlang A (with abandonment).")
    ] = None,
    max_occupancy: Annotated[
        float, typer.Option(help="Highest share of time an agent may be busy, in percent.")
    ] = 85.0,
    shrinkage: Annotated[
        float, typer.Option(min=0.0, max=99.0, help="Paid time off the queue, in percent.")
    ] = 30.0,
    weeks: Annotated[int, typer.Option(min=1, help="Weeks to forecast.")] = 4,
    test_weeks: Annotated[int, typer.Option(min=1, help="Last weeks of the log backtested.")] = 4,
    json_out: JsonOut = None,
) -> None:
    """Staff per weekday and hour: a backtested volume forecast fed to Erlang C (and A)."""
    from rich.console import Console
    from rich.table import Table

    from serviceloop.analytics import AnalyticsError

    _check_paths(log, {"--json": json_out}, "staffing")
    mapping = _mapping(
        case=case_col,
        activity=activity_col,
        timestamp=timestamp_col,
        start_timestamp=start_timestamp_col,
        resource=resource_col,
        lifecycle=lifecycle_col,
        timestamp_format=timestamp_format,
        day_first=day_first,
        timezone=timezone,
        duplicates=duplicates.value,
    )
    to_stdout = json_out is not None and str(json_out) == "-"
    try:
        level = _percent(service_level, "--service-level")
        occupancy = _percent(max_occupancy, "--max-occupancy") if max_occupancy < 100 else 1.0
        target_seconds = parse_duration(target, "--target")
        patience_seconds = parse_duration(patience, "--patience") if patience else None
        from serviceloop.analytics.simulation import discover_model
        from serviceloop.analytics.staffing import forecast_volume, staffing_table

        event_log = _load(log, mapping, {"separator": separator} if separator else {})
        if handle:
            handle_seconds = parse_duration(handle, "--handle")
            handle_source = "given"
        else:
            model = discover_model(event_log, time_zone=timezone)
            handle_seconds = _work_per_case(model)
            handle_source = "processing time per case in the log"
        forecast = forecast_volume(
            event_log, weeks=weeks, time_zone=timezone, test_weeks=test_weeks
        )
        table = staffing_table(
            forecast,
            handle_seconds=handle_seconds,
            target_seconds=target_seconds,
            service_level=level,
            patience_seconds=patience_seconds,
            max_occupancy=occupancy,
            shrinkage=shrinkage / 100.0,
        )
    except (AnalyticsError, _BadInput) as exc:
        raise _fail(str(exc), "staffing") from None
    except OSError as exc:
        raise _fail(f"{exc.filename or log}: {exc.strerror or exc}", "staffing") from None
    data = {
        "settings": {
            "service_level": level,
            "target_seconds": target_seconds,
            "handle_seconds": handle_seconds,
            "handle_source": handle_source,
            "patience_seconds": patience_seconds,
            "max_occupancy": occupancy,
            "shrinkage": shrinkage / 100.0,
            "time_zone": timezone,
        },
        "forecast": forecast.to_dict(),
        "staffing": table.to_dicts(),
    }
    text = json.dumps(data, ensure_ascii=False, indent=1, allow_nan=False)
    if to_stdout:
        sys.stdout.write(text + "\n")
        return
    if json_out is not None:
        _write_atomically({json_out: text + "\n"})
    console = Console()
    bt = forecast.backtest
    hw, naive = bt["holt_winters"], bt["seasonal_naive"]

    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.0%}"

    console.print(
        f"Forecast backtest on the last {bt['test_weeks']} weeks: MAPE {pct(hw['mape'])}, "
        f"WAPE {pct(hw['wape'])} (seasonal naive: MAPE {pct(naive['mape'])}, "
        f"WAPE {pct(naive['wape'])}); handling {_human(handle_seconds)} per case "
        f"({handle_source})."
    )
    grid = Table(
        title="Agents on the queue per hour (Erlang C" + (", Erlang A)" if patience else ")")
    )
    grid.add_column("hour")
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    for d in days:
        grid.add_column(d, justify="right")
    col = "agents_erlang_a" if patience else "agents_erlang_c"
    cells = {(r["weekday"], r["hour"]): r for r in table.to_dicts()}
    for hour in range(24):
        row = [cells[(d, hour)] for d in days]
        if not any(r[col] for r in row):
            continue
        grid.add_row(f"{hour:02d}", *(str(r[col]) if r[col] else "" for r in row))
    console.print(grid)
    if json_out is not None:
        Console(stderr=True).print(f"Wrote {json_out}")


def _work_per_case(model: Any) -> float:
    """Expected processing seconds per case: visits of each activity x its mean time."""
    visits = model.visits_per_case()
    return float(sum(v * a.mean_seconds for v, a in zip(visits, model.activities, strict=True)))
