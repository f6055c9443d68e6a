"""``serviceloop export-log``: write the case event log to CSV, Parquet or XES.

Reads the database a range of cases at a time, in columns (on PostgreSQL the next range while
this one is written), and writes as it reads, so memory stays flat for millions of events. The
file appears under its name only when complete (written to ``OUT.partial``, renamed).
``--kind stage`` writes the stage log: one row per stage visit with its start and end
(``start_timestamp``, ``timestamp``), ready for
``serviceloop analyze LOG --start-timestamp-col start_timestamp``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["export_log", "parse_instant"]


class ExportFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"
    xes = "xes"


SUFFIXES = {
    ".csv": ExportFormat.csv,
    ".parquet": ExportFormat.parquet,
    ".pq": ExportFormat.parquet,
    ".xes": ExportFormat.xes,
}


class ExportKind(StrEnum):
    stage = "stage"
    all = "all"


def parse_instant(value: str | None, option: str) -> datetime | None:
    """An ISO-8601 date or date-time; without an offset it is read as UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO-8601 date or date-time (e.g. 2026-01-31 or "
            "2026-01-31T08:00:00+08:00).",
            param_hint=option,
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


class _Counted:
    """The batches, reporting the cases read and the rows handed on after each one."""

    def __init__(self, batches: Any, advance: Any) -> None:
        self.batches, self.advance = batches, advance
        self.columns = batches.columns

    def __iter__(self) -> Iterator[Any]:
        done = 0
        for batch in self.batches:
            self.advance(self.batches.cases_done - done, batch.height)
            done = self.batches.cases_done
            yield batch


def _format_for(out: Path, given: ExportFormat | None) -> ExportFormat:
    """The format asked for, else the one the file's suffix names (csv when none does). A suffix
    naming another format than the one asked for is refused: a file named ``.parquet`` holding
    CSV would mislead every tool that opens it."""
    named = SUFFIXES.get(out.suffix.lower())
    if given is not None and named is not None and named is not given:
        raise typer.BadParameter(
            f"{out.name} names {named.value} but --format is {given.value}.", param_hint="OUT"
        )
    return given or named or ExportFormat.csv


def export_log(
    out: Annotated[
        Path, typer.Argument(help="File to write, or '-' for standard output (csv, xes).")
    ],
    format: Annotated[
        ExportFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="Output format; by default the file's suffix (.csv, .parquet, .xes), else csv.",
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only events at or after this instant (UTC if no offset).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Only events before this instant (UTC if no offset).")
    ] = None,
    kind: Annotated[
        ExportKind,
        typer.Option(
            help="'stage': one row per stage visit, with its start and end (process view); "
            "'all': every event."
        ),
    ] = ExportKind.all,
    batch_cases: Annotated[
        int, typer.Option(min=100, max=200_000, help="Cases read from the database at a time.")
    ] = 10_000,
    process: Annotated[
        str | None,
        typer.Option(help="Only the cases of this process (its code; every version of it)."),
    ] = None,
) -> None:
    """Export the case event log (case_id, activity, timestamp, resource, ...) to a file."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from serviceloop.cli import setup_django

    start, end = parse_instant(since, "--since"), parse_instant(until, "--until")
    if start and end and start >= end:
        raise typer.BadParameter("--since must be before --until.", param_hint="--since")
    to_stdout = str(out) == "-"
    format = _format_for(out, format)
    if to_stdout and format is ExportFormat.parquet:
        raise typer.BadParameter("Parquet cannot be written to standard output.", param_hint="OUT")
    if not to_stdout and not out.parent.is_dir():
        raise typer.BadParameter(f"Directory {out.parent} does not exist.", param_hint="OUT")

    setup_django()
    from serviceloop.cases.export import (
        EventLogQuery,
        csv_chunks,
        event_batches,
        event_count,
        write_parquet,
        xes_chunks,
    )

    if process is not None:
        from serviceloop.processes.models import ServiceProcess

        known = sorted(ServiceProcess.objects.values_list("code", flat=True))
        if process not in known:
            raise typer.BadParameter(
                f"No process has the code {process!r}; known: {', '.join(known) or 'none'}.",
                param_hint="--process",
            )
    query = EventLogQuery(since=start, until=end, kind=kind.value, process=process)
    console = Console(stderr=True)
    total = event_count(query)
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("cases"),
        TimeElapsedColumn(),
        console=console,
        disable=to_stdout or not console.is_terminal,
    )
    written = 0

    def advance(cases: int, rows: int) -> None:
        nonlocal written
        written += rows
        progress.advance(task, cases)

    with progress:
        task = progress.add_task(f"Exporting {format.value}", total=total)
        batches = _Counted(event_batches(query, batch_cases=batch_cases), advance)
        if to_stdout:
            chunks = csv_chunks(batches) if format is ExportFormat.csv else xes_chunks(batches)
            sys.stdout.flush()
            for chunk in chunks:
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            return
        partial = out.with_name(out.name + ".partial")
        try:
            if format is ExportFormat.parquet:
                write_parquet(batches, partial)
            else:
                chunks = csv_chunks(batches) if format is ExportFormat.csv else xes_chunks(batches)
                with partial.open("wb") as handle:
                    for chunk in chunks:
                        handle.write(chunk)
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
    what = "stage visits" if kind is ExportKind.stage else "events"
    console.print(f"Wrote {written} {what} to {out} ({format.value}).")
