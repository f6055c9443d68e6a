"""The options that say how to read an event-log file, written once for every command that reads
one beside ``serviceloop analyze`` (``simulate``, ``staffing``, ``predict``): the same names and
help everywhere, and the values go to ``analyze``'s reader unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from serviceloop.commands.analyze import Duplicates

__all__ = [
    "ActivityCol",
    "CaseCol",
    "DayFirst",
    "DuplicatesOpt",
    "JsonOut",
    "LifecycleCol",
    "LogArg",
    "ResourceCol",
    "Separator",
    "StartCol",
    "TimeZone",
    "TimestampCol",
    "TimestampFormat",
]

LogArg = Annotated[Path, typer.Argument(help="Event log: .csv[.gz], .xes[.gz] or .parquet.")]
CaseCol = Annotated[str | None, typer.Option(help="Case id column (default case_id).")]
ActivityCol = Annotated[str | None, typer.Option(help="Activity column (default activity).")]
TimestampCol = Annotated[
    str | None, typer.Option(help="Completion timestamp column (default timestamp).")
]
StartCol = Annotated[
    str | None, typer.Option(help="Start timestamp column (processing vs waiting).")
]
ResourceCol = Annotated[
    str | None, typer.Option(help="Resource column: who did the work (pools, staff, features).")
]
LifecycleCol = Annotated[str | None, typer.Option(help="Lifecycle column (start/complete rows).")]
TimestampFormat = Annotated[
    str | None, typer.Option(help="strftime format, e.g. '%d/%m/%Y %H:%M'; default: detect.")
]
DayFirst = Annotated[bool, typer.Option(help="When detecting, read 03/04/2024 as 3 April.")]
TimeZone = Annotated[
    str,
    typer.Option(
        help="Zone of timestamps written without an offset, and of the weekdays and hours "
        "counted (arrivals, working hours, features)."
    ),
]
Separator = Annotated[str | None, typer.Option(help="CSV separator; default: guess.")]
DuplicatesOpt = Annotated[
    Duplicates,
    typer.Option(help="Repeated events: refuse them, keep them (as pm4py) or drop them."),
]
JsonOut = Annotated[
    Path | None, typer.Option("--json", help="Write the results as JSON here ('-': stdout).")
]
