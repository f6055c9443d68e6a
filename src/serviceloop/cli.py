"""The ``serviceloop`` command. Django is only set up by the commands that need it, a command's
module is imported only when that command runs (``--help`` imports them all to list them), and
``serviceloop analyze`` runs without Typer, so that it starts fast."""

from __future__ import annotations

import functools
import gc
import importlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

# The commands kept in their own modules: name -> (module, attribute); a Typer attribute is a
# group of subcommands, ``typer_command`` builds a command declared without Typer.
_COMMANDS = {
    "export-log": ("serviceloop.commands.export_log", "export_log"),
    "worker": ("serviceloop.commands.worker", "worker"),
    "analyze": ("serviceloop.commands.analyze", "typer_command"),
    "simulate": ("serviceloop.commands.simulate", "simulate"),
    "staffing": ("serviceloop.commands.simulate", "staffing"),
    "predict": ("serviceloop.commands.predict", "app"),
}
_registered: set[str] = set()


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serviceloop.settings")
    import django

    django.setup()


@functools.cache
def _typer_app() -> typer.Typer:
    """The Typer app with ``manage`` and ``demo``; the other commands join it in
    :func:`_register`. Built on first use: Typer's import alone costs 0.05-0.07 s."""
    import typer

    app = typer.Typer(
        help="ServiceLoop: run, watch, measure and improve a customer-service process.",
        no_args_is_help=True,
        add_completion=False,
    )

    @app.callback()
    def _root() -> None:
        """ServiceLoop: run, watch, measure and improve a customer-service process."""

    def manage(ctx: typer.Context) -> None:
        """Run a Django management command (migrate, createsuperuser, ...)."""
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serviceloop.settings")
        from django.core.exceptions import ImproperlyConfigured
        from django.core.management import execute_from_command_line

        try:
            execute_from_command_line(["serviceloop manage", *ctx.args])
        except ImproperlyConfigured as exc:  # a missing secret key, a bad DATABASE_URL
            typer.echo(f"serviceloop: {exc}", err=True)
            raise typer.Exit(1) from exc

    # Typer resolves annotations in this module's globals, where typer is not imported.
    manage.__annotations__["ctx"] = typer.Context
    app.command(
        "manage",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(manage)

    @app.command()
    def demo(
        host: str = typer.Option("127.0.0.1", help="Address to listen on."),
        port: int = typer.Option(8000, help="Port to listen on."),
        serve: bool = typer.Option(True, help="Start the web server after loading the demo data."),
        days: int = typer.Option(90, min=1, help="Days of history, ending now."),
        per_weekday: float = typer.Option(24.0, min=0.1, help="New cases on an average weekday."),
        customers: int = typer.Option(300, min=1, help="Number of customers."),
        seed: int = typer.Option(2024, help="Random seed: the same seed gives the same operation."),
        extra_specialists: int = typer.Option(
            0,
            min=0,
            max=50,
            help="More people in the understaffed specialists team (3): the same cases, more hands.",
        ),
    ) -> None:
        """Create the database, load the demo operation (once) and start the server."""
        from serviceloop.core.environment import data_dir, demo_secret_key

        # The demo brings its own secret key (kept in the data folder) and serves plain HTTP
        # locally.
        if not os.environ.get("SERVICELOOP_SECRET_KEY"):
            os.environ["SERVICELOOP_SECRET_KEY"] = demo_secret_key(data_dir())
        os.environ.setdefault("SERVICELOOP_HTTPS", "0")
        setup_django()
        from django.core.management import call_command

        from serviceloop.demo import DemoError
        from serviceloop.demo.console import demo_load_with_progress, demo_print_summary

        call_command("migrate", interactive=False, verbosity=0)
        try:
            result = demo_load_with_progress(
                days=days,
                per_weekday=per_weekday,
                customers=customers,
                seed=seed,
                extra_specialists=extra_specialists,
            )
        except DemoError as exc:
            typer.echo(f"serviceloop demo: {exc}", err=True)
            raise typer.Exit(1) from exc
        demo_print_summary(result, url=f"http://{host}:{port}/")
        if serve:
            from django.conf import settings

            Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # whitenoise expects it
            call_command("runserver", f"{host}:{port}", use_reloader=False)

    return app


def _register(name: str) -> None:
    """Import one command's module and add the command to the app (once)."""
    if name in _registered:
        return
    import typer

    app = _typer_app()
    module, attribute = _COMMANDS[name]
    command = getattr(importlib.import_module(module), attribute)
    if isinstance(command, typer.Typer):
        app.add_typer(command, name=name)
    else:
        app.command(name)(command() if attribute == "typer_command" else command)
    _registered.add(name)


def __getattr__(name: str) -> Any:
    """``app``: the whole command, every command module imported (tests, ``--help``)."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for command in _COMMANDS:
        _register(command)
    return _typer_app()


def main() -> None:
    if sys.argv[1:2] == ["analyze"]:  # parsed by Click alone: Typer's import and validators
        # cost 0.2 s of CPU. The command's objects are columns, not cycles: the collector's
        # passes over Polars' and Click's modules on import were 0.01-0.02 s of each run.
        gc.disable()
        from serviceloop.commands.analyze import run_with_click

        code = run_with_click(sys.argv[2:])
        # Done: the outputs are written and closed. Tearing the interpreter down (modules,
        # hundreds of MB of columns freed one by one) would add 0.05 s to every run.
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except OSError:  # a closed pipe (`| head`): as Python's own exit would, status 120
            code = code or 120
        os._exit(code)
    if sys.argv[1:2] and sys.argv[1] in _COMMANDS:
        _register(sys.argv[1])  # only the command asked for is imported
        _typer_app()()
    else:
        __getattr__("app")()


if __name__ == "__main__":
    main()
