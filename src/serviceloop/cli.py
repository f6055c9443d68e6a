"""The ``serviceloop`` command. Django is only set up by the commands that need it, so that
``serviceloop analyze`` starts fast."""

from __future__ import annotations

import os
from pathlib import Path

import typer

app = typer.Typer(
    help="ServiceLoop: run, watch, measure and improve a customer-service process.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """ServiceLoop: run, watch, measure and improve a customer-service process."""


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serviceloop.settings")
    import django

    django.setup()


@app.command(
    "manage",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def manage(ctx: typer.Context) -> None:
    """Run a Django management command (migrate, createsuperuser, ...)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serviceloop.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(["serviceloop manage", *ctx.args])
    except ImproperlyConfigured as exc:  # a missing secret key, a bad DATABASE_URL: say so plainly
        typer.echo(f"serviceloop: {exc}", err=True)
        raise typer.Exit(1) from exc


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

    # The demo brings its own secret key (kept in the data folder) and serves plain HTTP locally.
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


from serviceloop.commands.export_log import export_log  # noqa: E402  (Django loads only when run)

app.command("export-log")(export_log)

from serviceloop.commands.worker import worker  # noqa: E402  (Django loads only when run)

app.command("worker")(worker)

from serviceloop.commands.analyze import analyze  # noqa: E402  (Django-free, imports lazily)

app.command("analyze")(analyze)

from serviceloop.commands.simulate import simulate, staffing  # noqa: E402  (Django-free, lazy)

app.command("simulate")(simulate)
app.command("staffing")(staffing)

from serviceloop.commands.predict import app as predict_app  # noqa: E402  (imports lazily)

app.add_typer(predict_app, name="predict")


def main() -> None:
    import sys

    if sys.argv[1:2] == ["analyze"]:  # parsed by Click alone: Typer's validators cost 0.12 s
        from serviceloop.commands.analyze import run_with_click

        sys.exit(run_with_click(sys.argv[2:]))
    app()


if __name__ == "__main__":
    main()
