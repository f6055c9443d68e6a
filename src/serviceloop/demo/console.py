"""What ``serviceloop demo`` shows: a Rich progress bar while loading, then URL and logins."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from pathlib import Path

from django.conf import settings
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from serviceloop.demo.loader import DemoResult, demo_is_loaded, demo_load

__all__ = ["demo_load_with_progress", "demo_print_summary", "demo_token_file"]


def demo_token_file() -> Path:
    return Path(settings.DATA_DIR) / "demo-api-token.txt"


def demo_load_with_progress(
    *,
    days: int,
    per_weekday: float,
    customers: int,
    seed: int,
    end: datetime | None = None,
    extra_specialists: int = 0,
) -> DemoResult:
    load = partial(
        demo_load,
        days=days,
        per_weekday=per_weekday,
        customers=customers,
        seed=seed,
        end=end,
        extra_specialists=extra_specialists,
        token_file=demo_token_file(),
    )
    if demo_is_loaded():
        return load()
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("Loading the demo", total=days)

        def report(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total)

        return load(progress=report)


def demo_print_summary(result: DemoResult, *, url: str) -> None:
    console = Console()
    if result.loaded:
        c = result.counters
        console.print(
            f"Loaded the demo: {c.cases} cases, {c.messages} messages, {c.reworks} rework loops, "
            f"{c.escalations} escalations, {c.reopened} reopened."
        )
    else:
        console.print("The demo data is already loaded; nothing was added.")
    console.print(f"\nServiceLoop: [bold]{url}[/bold]")
    table = Table("role", "username", "password", title="Demo logins")
    for role, username in result.logins.items():
        table.add_row(role, username, result.password)
    console.print(table)
    if result.api_token:
        console.print(
            f"API token of the demo agent ([i]Authorization: Bearer …[/i]): {result.api_token}"
        )
    else:
        console.print(
            "The demo agent's API token is not on file; create one in the admin (API tokens)."
        )
