"""``serviceloop analyze``: mine an event log file into JSON and an offline HTML report.

Django-free and quick to start: the analytics library is imported inside the command. Bad
input ends with one error naming the file, row, column and value (exit code 2) and writes
nothing: outputs are rendered in memory, written to ``*.partial`` files and renamed at the end.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, NamedTuple

if TYPE_CHECKING:
    from serviceloop.analytics import ColumnMapping, EventLog, LargeLogResult, ReadLimits
    from serviceloop.analytics.errors import DuplicateEventError

__all__ = ["analyze"]

EXIT_BAD_INPUT = 2


class Duplicates(StrEnum):
    error = "error"
    keep = "keep"
    drop = "drop"


class Engine(StrEnum):
    polars = "polars"
    spark = "spark"


class Arg(NamedTuple):
    """The log argument's declaration, read by :func:`run_with_click` and :func:`typer_command`
    (Typer itself is not imported to run the command)."""

    help: str


class Opt(NamedTuple):
    """An option's declaration: its help, its lowest value, its names when not ``--<name>``."""

    help: str
    min: int | None = None
    decls: tuple[str, ...] = ()


def _fail(message: str) -> SystemExit:
    sys.stderr.write(f"serviceloop analyze: {message}\n")
    return SystemExit(EXIT_BAD_INPUT)


def _check_output(path: Path | None, option: str) -> None:
    if path is None or str(path) == "-":
        return
    if not path.parent.is_dir():
        raise _fail(f"{option} {path}: directory {path.parent} does not exist")
    if path.is_dir():
        raise _fail(f"{option} {path}: is a directory")


def _is_xes(path: Path) -> bool:
    return path.name.lower().endswith((".xes", ".xes.gz"))


def duplicate_message(exc: DuplicateEventError) -> str:
    """The library's advice names its keyword argument; the commands' names their option."""
    where = ", ".join(str(part) for part in (exc.path, f"row {exc.row}") if part)
    return (
        f"{where}: duplicate of row {exc.duplicate_of} ({exc.count} duplicate event(s)); "
        "pass --duplicates keep or drop to accept them"
    )


def _mapping(path: Path, given: dict[str, Any]) -> ColumnMapping:
    """The column mapping from the options given; XES logs start from the XES keys and carry
    their own time zones and formats."""
    from serviceloop.analytics import ColumnMapping

    options = {k: v for k, v in given.items() if v is not None}
    if _is_xes(path):
        for key in ("timestamp_format", "day_first", "timezone"):
            options.pop(key, None)
        return ColumnMapping.xes().with_options(**options)
    return ColumnMapping().with_options(**options)


def _load(
    path: Path,
    mapping: ColumnMapping | dict[str, Any],
    csv_options: dict[str, Any],
    engine: str = "polars",
    limits: ReadLimits | None = None,
) -> EventLog:
    """Read ``path`` by its suffix. ``mapping`` may also be the option dict of the other
    commands (``simulate``, ``predict``): field names, ``None`` for not given, and ``engine``."""
    from serviceloop.analytics import read_csv, read_parquet, read_xes

    if isinstance(mapping, dict):
        given = dict(mapping)
        engine = given.pop("engine", None) or engine
        mapping = _mapping(path, given)
    if _is_xes(path):
        return read_xes(path, mapping, engine=engine, limits=limits)
    if path.name.lower().endswith((".parquet", ".pq")):
        return read_parquet(path, mapping, engine=engine, limits=limits)
    return read_csv(path, mapping, engine=engine, limits=limits, **csv_options)


def _write_atomically(outputs: dict[Path, Callable[[IO[bytes]], None]]) -> None:
    """Write every output to ``NAME.partial`` first; rename all only when all are written.

    The outputs are written at once, each after the first in a thread of its own: the JSON's
    tables are rendered by Polars without the GIL while this thread renders the report's page
    (0.02 s of Python at a million events, which ran alone on one core after the analyses).
    All are waited for before anything is renamed or the first error is raised.
    """
    from serviceloop.analytics._threads import beside

    partials = {path: path.with_name(path.name + ".partial") for path in outputs}

    def writer(path: Path) -> Callable[[], None]:
        def write() -> None:
            with partials[path].open("wb") as fh:
                outputs[path](fh)

        return write

    paths = list(outputs)
    try:
        waits = [beside(writer(path)) for path in paths[1:]]
        errors: list[BaseException] = []
        for wait in [writer(path) for path in paths[:1]] + waits:
            try:
                wait()
            except BaseException as exc:  # every writer finished before any error is raised
                errors.append(exc)
        if errors:
            raise errors[0]
        for path, partial in partials.items():
            _replace(partial, path)
    finally:
        for partial in partials.values():
            partial.unlink(missing_ok=True)


def _replace(partial: Path, path: Path) -> None:
    """Put ``partial`` in place of ``path``, the file it replaces first removed.

    Renamed over an existing file, a new file is written out to disk before the rename
    returns (ext4's ``auto_da_alloc``, which guards editors' saves against a crash): 0.06-0.14 s
    for the 190 MiB of JSON of a ten-million-event log. Removed first, it is written out in
    the background like any new file; an output of this command is made again by running it.
    """
    if path.is_file():
        path.unlink(missing_ok=True)
    os.replace(partial, path)


def _page_writer(render: Callable[[], bytes]) -> Callable[[IO[bytes]], None]:
    """The report's page, rendered as it is written (beside the JSON: see _write_atomically)."""

    def write(fh: IO[bytes]) -> None:
        fh.write(render())

    return write


def _json_writer(document: dict[str, Any]) -> Callable[[IO[bytes]], None]:
    """The JSON written by the engine from the result's columns, never built as Python objects."""
    from serviceloop.analytics._json import write_json

    def write(fh: IO[bytes]) -> None:
        write_json(document, fh)
        fh.write(b"\n")

    return write


def _check_large(log: Path, given: dict[str, object]) -> None:
    """``--large`` mines Parquet part by part, for the analyses that allows; say what does not fit."""
    if not log.name.lower().endswith((".parquet", ".pq")):
        raise _fail(f"--large reads Parquet logs only, not {log.name}")
    refused = [option for option, value in given.items() if value]
    if refused:
        raise _fail(f"--large cannot be combined with {', '.join(refused)}")


def _mine_large(log: Path, mapping: ColumnMapping, part_events: int) -> LargeLogResult:
    from serviceloop.analytics import mine_large_parquet

    return mine_large_parquet(
        log,
        case=mapping.case,
        activity=mapping.activity,
        timestamp=mapping.timestamp,
        duplicates=mapping.duplicates,
        part_events=part_events,
        time_zone=mapping.timezone,
    )


def _summary(document: dict[str, Any]) -> dict[str, Any]:
    """What the terminal summary shows, as plain Python: only the first rows of the tables."""
    from serviceloop.analytics._json import to_python

    keys = ("events", "cases", "activities", "variants", "bottlenecks")
    shown = {k: document[k] for k in keys}
    shown["variants"] = shown["variants"].head(5)
    shown["bottlenecks"] = shown["bottlenecks"].head(5)
    data: dict[str, Any] = to_python(shown)
    if "conformance" in document:
        data["conformance"] = document["conformance"]
    return data


def _print_summary(data: dict[str, Any], *, basis: str) -> None:
    """The terminal summary, plain text (Rich would cost a fifth of a small run's time)."""
    durations = data["cases"]["duration_seconds"]
    lines = [
        f"{data['events']} events, {data['cases']['count']} cases, "
        f"{len(data['activities'])} activities; case duration median "
        f"{_human(durations.get('median'))}, mean {_human(durations.get('mean'))}, "
        f"p90 {_human(durations.get('p90'))}",
        "",
        *_table(
            "Top variants",
            ["cases", "share", "activities"],
            [
                [str(v["count"]), f"{v['share']:.1%}", " → ".join(v["activities"])]
                for v in data["variants"][:5]
            ],
        ),
        "",
        *_table(
            "Bottlenecks (most total time first)",
            ["where", "time", "count", "mean", "total"],
            [
                [
                    f"{b['source']} → {b['target']}" if b.get("source") else str(b["target"]),
                    b["time"],
                    str(b["count"]),
                    _human(b["mean_seconds"]),
                    _human(b["total_seconds"]),
                ]
                for b in data["bottlenecks"][:5]
            ],
        ),
        basis,
    ]
    conf = data.get("conformance")
    if conf:
        s = conf["summary"]
        fitness = s["move_fitness"]
        lines.append(
            f"Conformance to {conf['process']!r}: move fitness "
            f"{'n/a' if fitness is None else f'{fitness:.1%}'}, {s['conforming_cases']} of "
            f"{s['cases']} cases conform, {s['unmapped_activities']} unmapped activities"
        )
    sys.stdout.write("\n".join(lines) + "\n")


def _table(title: str, headers: list[str], rows: list[list[str]]) -> list[str]:
    """Aligned columns: text left, numbers right."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    numeric = [bool(rows) and all(r[i][:1].isdigit() for r in rows) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if num else c.ljust(w)
            for c, w, num in zip(cells, widths, numeric, strict=True)
        ).rstrip()

    return [title, line(headers), *(line(r) for r in rows)]


class _NoProgress:
    """Stands in for a Rich progress bar when nobody watches (no terminal): Rich's import
    alone costs a tenth of a second."""

    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, total: float | None = None) -> int:
        return 0

    def update(self, task: int, **fields: Any) -> None:
        return None


def _progress() -> Any:
    if not sys.stderr.isatty():
        return _NoProgress()
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def _human(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def analyze(
    log: Annotated[Path, Arg("Event log: .csv[.gz], .xes[.gz] or .parquet.")],
    case_col: Annotated[
        str | None, Opt("Case id column (default case_id; XES: case:concept:name).")
    ] = None,
    activity_col: Annotated[str | None, Opt("Activity column (default activity).")] = None,
    timestamp_col: Annotated[
        str | None, Opt("Completion timestamp column (default timestamp).")
    ] = None,
    start_timestamp_col: Annotated[
        str | None, Opt("Start timestamp column (waiting vs processing time).")
    ] = None,
    resource_col: Annotated[str | None, Opt("Resource column (workload, handovers).")] = None,
    lifecycle_col: Annotated[str | None, Opt("Lifecycle column (start/complete rows).")] = None,
    timestamp_format: Annotated[
        str | None, Opt("strftime format, e.g. '%d/%m/%Y %H:%M'; default: detect.")
    ] = None,
    day_first: Annotated[bool, Opt("When detecting, read 03/04/2024 as 3 April.")] = False,
    timezone: Annotated[
        str,
        Opt(
            "Time zone of timestamps written without an offset, and where days begin "
            "in the throughput."
        ),
    ] = "UTC",
    separator: Annotated[str | None, Opt("CSV separator; default: guess.")] = None,
    duplicates: Annotated[
        Duplicates,
        Opt("Repeated events: refuse them, keep them (as pm4py) or drop them."),
    ] = Duplicates.error,
    process: Annotated[
        Path | None, Opt("Process definition (YAML) to check conformance against.")
    ] = None,
    report: Annotated[Path | None, Opt("Write an offline HTML report here.")] = None,
    json_out: Annotated[
        Path | None, Opt("Write the results as JSON here ('-': stdout).", decls=("--json",))
    ] = None,
    rework_by: Annotated[
        list[str] | None, Opt("Attribute to break rework down by (repeatable).")
    ] = None,
    top_variants: Annotated[
        int | None, Opt("Only the N most frequent variants in the JSON.", min=1)
    ] = None,
    engine: Annotated[Engine, Opt("Analytics engine.")] = Engine.polars,
    large: Annotated[
        bool,
        Opt(
            "A Parquet log bigger than memory: mined part by part (DFG, start and end "
            "activities, variants, durations, rework, throughput, slowest paths)."
        ),
    ] = False,
    part_events: Annotated[
        int, Opt("With --large: events held in memory at a time.", min=1)
    ] = 8_000_000,
    limit: Annotated[
        list[str] | None,
        Opt(
            "Raise a limit the log file is checked against before loading, e.g. "
            "max_events=5e7 (also max_bytes, max_expansion, max_columns, max_field_bytes, "
            "max_prolog_bytes); repeatable."
        ),
    ] = None,
) -> None:
    """Mine an event log: process map, variants, durations, bottlenecks, rework, conformance."""
    _keep_freed_memory()
    from serviceloop.analytics import AnalyticsError
    from serviceloop.analytics.errors import DuplicateEventError

    _check_output(report, "--report")
    _check_output(json_out, "--json")
    if report is not None and str(report) == "-":
        raise _fail("--report needs a file name")
    if not log.is_file():
        raise _fail(f"{log}: no such file")
    if large:
        _check_large(
            log,
            {
                "--start-timestamp-col": start_timestamp_col,
                "--resource-col": resource_col,
                "--lifecycle-col": lifecycle_col,
                "--timestamp-format": timestamp_format,
                "--process": process,
                "--report": report,
                "--rework-by": rework_by,
                "--engine spark": engine == Engine.spark or None,
            },
        )

    given: dict[str, Any] = {
        "case": case_col,
        "activity": activity_col,
        "timestamp": timestamp_col,
        "start_timestamp": start_timestamp_col,
        "resource": resource_col,
        "lifecycle": lifecycle_col,
        "timestamp_format": timestamp_format,
        "day_first": day_first,
        "timezone": timezone,
        "duplicates": duplicates.value,
        # Only the attributes an analysis reads: the others would be loaded for nothing.
        "attributes": tuple(rework_by or ()),
    }
    csv_options = {"separator": separator} if separator else {}
    to_stdout = json_out is not None and str(json_out) == "-"
    steps = ["load", "discover", "conformance", "report"]
    progress = _progress()
    has_start = False
    try:
        mapping = _mapping(log, given)
        from serviceloop.analytics import ReadLimits

        limits = ReadLimits.parse(limit or [])
        spec = None
        if process is not None:
            from serviceloop.analytics import load_process_yaml

            spec = load_process_yaml(process)
        render: Callable[[], bytes] | None = None
        if report is not None:
            from serviceloop.analytics.report import load_assets, render_page

            assets = load_assets()  # fail before the long work when they are missing
        if large:
            with progress:
                progress.add_task(f"Mining {log.name} part by part", total=None)
                document = _mine_large(log, mapping, part_events).json_document(
                    top_variants=top_variants
                )
        else:
            with progress:
                task = progress.add_task(f"Loading {log.name}", total=len(steps))
                event_log = _load(log, mapping, csv_options, engine.value, limits)
                has_start = event_log.has_start
                progress.update(task, advance=1, description="Discovering the process, measuring")
                from serviceloop.analytics import analyze as run_analysis

                result = run_analysis(
                    event_log, rework_attributes=tuple(rework_by or ()), time_zone=timezone
                )
                document = result.json_document(top_variants=top_variants)
                progress.update(task, advance=1, description="Checking conformance")
                conformance = None
                if spec is not None:
                    from serviceloop.analytics import check_conformance

                    conformance = check_conformance(event_log, spec)
                    document["conformance"] = conformance.to_dict(top_variants=top_variants)
                progress.update(task, advance=1)
                if report is not None:
                    render = functools.partial(
                        render_page,
                        event_log,
                        result,
                        conformance=conformance,
                        spec=spec,
                        title=log.name,
                        assets=assets,
                    )
                progress.update(task, advance=1, description="Writing the outputs")
        outputs: dict[Path, Callable[[IO[bytes]], None]] = {}
        if report is not None and render is not None:
            outputs[report] = _page_writer(render)
        if json_out is not None and not to_stdout:
            outputs[json_out] = _json_writer(document)
        _write_atomically(outputs)
    except DuplicateEventError as exc:
        raise _fail(duplicate_message(exc)) from None
    except AnalyticsError as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"{exc.filename or log}: {exc.strerror or exc}") from None
    if to_stdout:
        sys.stdout.flush()
        _json_writer(document)(sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    from serviceloop.analytics.times import TIME_BASIS

    _print_summary(_summary(document), basis=TIME_BASIS[has_start])
    for path in outputs:
        sys.stderr.write(f"Wrote {path}\n")


def _keep_freed_memory() -> None:
    """Let Polars' allocator keep the memory it frees for a few seconds before handing it back,
    in one pool for all threads.

    A run of the command is short, and its steps free and allocate columns of the same sizes
    again and again; memory handed back and asked for again is a page fault per 4 KiB on first
    touch, which on a VM cost a third of the CPU of a ten-million-event run (925,000 faults).
    Keeping it five seconds takes 30 % fewer faults for about a fifth more peak memory. One
    arena instead of one per thread (the command's two and Polars' own) lets a thread reuse
    what another freed: a third fewer faults and 100 MB less peak at a million events, a tenth
    fewer at ten million. Blocks of 8 MiB and more (every column of a ten-million-event log)
    went to a pool of their own that hands freed memory back at once, whatever the delay:
    ``oversize_threshold:0`` keeps them in the one pool (a tenth fewer faults, 0.2 s less CPU
    and 280 MB less peak at ten million events). Set before Polars is first imported (its
    allocator reads it then); a value the user set wins.
    """
    os.environ.setdefault(
        "_RJEM_MALLOC_CONF",
        "dirty_decay_ms:5000,muzzy_decay_ms:5000,narenas:1,oversize_threshold:0",
    )


def _defer_import(name: str) -> None:
    """Put a stand-in for the module ``name`` where imports find it, imported on first use.

    ``import polars`` imports ``importlib.metadata`` (for its Iceberg plugin's version check),
    which brings ``zipfile``, ``email``, ``socket`` and ``csv`` with it: 0.025-0.03 s of CPU,
    a fifth of the Polars import, on one core before the log is read, for a module the command
    never uses. The stand-in is a module whose first attribute asked for (``from ... import``
    included) imports the real one, puts it in its place (``sys.modules`` and its package) and
    answers from it; later lookups through the stand-in are answered from the real module. Only
    the ``analyze`` script runs this (a fresh process); a module already imported is left.
    (``importlib.util.LazyLoader`` would not do: ``import importlib.metadata`` reads the
    module's ``__spec__``, which makes a lazy module run at once.)
    """
    if name in sys.modules:
        return
    import importlib
    import threading
    import types

    package, _, attribute = name.rpartition(".")
    stand_in = types.ModuleType(name, "Imported when first used.")
    lock = threading.RLock()  # reentrant, should the real import reach the stand-in

    def first_use(key: str) -> Any:
        with lock:
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]
            real = importlib.import_module(name)  # puts itself in sys.modules and its package
        return getattr(real, key)

    vars(stand_in)["__getattr__"] = first_use  # a module's __getattr__ (PEP 562)
    sys.modules[name] = stand_in
    if package:
        setattr(importlib.import_module(package), attribute, stand_in)


class _Parameter(NamedTuple):
    name: str
    hint: Any  # the type as written, ``None`` allowed
    kind: Any  # the type without ``None``
    info: Arg | Opt
    default: Any


def _parameters() -> list[_Parameter]:
    """Each parameter of :func:`analyze`, its type and its declaration."""
    import inspect
    import typing

    hints = typing.get_type_hints(analyze, include_extras=True)
    out = []
    for name, parameter in inspect.signature(analyze).parameters.items():
        hint, info = typing.get_args(hints[name])[:2]
        kind = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
        out.append(_Parameter(name, hint, kind[0], info, parameter.default))
    return out


def typer_command() -> Callable[..., None]:
    """:func:`analyze` as Typer reads a command (``serviceloop --help``, the tests' runner):
    the same parameters, each declared with ``typer.Argument`` or ``typer.Option``."""
    import functools
    import inspect

    import typer

    parameters = []
    for p in _parameters():
        if isinstance(p.info, Arg):
            typed: Any = typer.Argument(help=p.info.help)
        else:
            typed = typer.Option(*p.info.decls, help=p.info.help, min=p.info.min)
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
        parameters.append(inspect.Parameter(p.name, kind, default=p.default,
                                            annotation=Annotated[p.hint, typed]))  # fmt: skip

    @functools.wraps(analyze)
    def command(**values: Any) -> None:
        analyze(**values)

    del command.__wrapped__  # type: ignore[attr-defined]
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    return command


def run_with_click(args: list[str]) -> int:
    """Run ``analyze`` parsed by Click directly, from the declarations in its signature.

    Typer 0.29 imports its own copy of Click (0.05-0.07 s) and builds a Pydantic validator
    for every option before it runs a command (about 0.12 s of CPU for this command's 22
    options): a quarter of a one-million-event run. The ``serviceloop`` script sends
    ``analyze`` here; options, defaults, help and errors are those declared above (a test
    runs both paths on the same log).
    """
    import typing

    _defer_import("importlib.metadata")
    import click

    params: list[click.Parameter] = []
    enums: dict[str, type[StrEnum]] = {}
    for name, _, kind, info, default in _parameters():
        if isinstance(info, Arg):
            params.append(click.Argument([name], type=click.Path(path_type=Path)))
            continue
        decls = [*(info.decls or [f"--{name.replace('_', '-')}"]), name]
        kwargs: dict[str, Any] = {"help": info.help, "default": default}
        if kind is bool:
            decls = [f"{decls[0]}/--no-{decls[0][2:]}", name]
            kwargs["is_flag"] = True
        elif typing.get_origin(kind) is list:
            kwargs.update(multiple=True, default=None, type=click.STRING)
        elif isinstance(kind, type) and issubclass(kind, StrEnum):
            enums[name] = kind
            kwargs.update(type=click.Choice([e.value for e in kind]), default=default.value)
        elif kind is int:
            kwargs["type"] = click.IntRange(min=info.min) if info.min is not None else click.INT
        elif kind is Path:
            kwargs["type"] = click.Path(path_type=Path)
        else:
            kwargs["type"] = click.STRING
        params.append(click.Option(decls, **kwargs))

    def callback(**values: Any) -> None:
        for name, enum in enums.items():
            values[name] = enum(values[name])
        for name, value in values.items():
            if isinstance(value, tuple):
                values[name] = list(value) or None
        analyze(**values)

    command = click.Command("analyze", params=params, callback=callback, help=analyze.__doc__)
    try:
        command.main(args=args, prog_name="serviceloop analyze", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
