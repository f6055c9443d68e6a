"""``serviceloop worker``: the periodic work a running ServiceLoop needs.

Every ``--sla-every`` seconds (default 30) it records the SLA warnings and breaches that came due
(``serviceloop.sla.sweep``: from the clocks stored in the database, exactly once, safe to run
beside other workers), evaluates the alert rules (``serviceloop.sla.alerts``) and delivers the
outbox (emails, webhooks: ``serviceloop.sla.outbox``).
Every ``--every`` seconds it also deletes upload files whose transaction rolled back (old enough
that no transaction can still be writing them), forgets idempotency keys past their retention,
invites the customers of newly resolved cases to the satisfaction survey (one reminder later) and
refreshes the case predictions. Beside the rounds, a thread keeps Insights' columnar copy of the
case log current (``serviceloop.insights.logstore``: written whole once, minutes at 30M events,
then grown by the new events) and the coded log of every case beside it
(``serviceloop.insights.codedlog``), so no page load has to. Run it beside the web server (a
systemd unit, a container); ``--once`` suits cron.
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import typer

__all__ = ["SweepCounts", "sweep", "worker"]


@dataclass(frozen=True)
class SweepCounts:
    orphaned_files: int
    expired_keys: int
    surveys_invited: int
    surveys_reminded: int


def sweep(*, files_older_than: timedelta) -> SweepCounts:
    """One round of housekeeping (Django must be set up)."""
    from serviceloop.cases.services.maintenance import attachment_orphans_delete
    from serviceloop.core.idempotency import idempotency_records_purge
    from serviceloop.feedback.services import survey_sweep

    files = attachment_orphans_delete(older_than=files_older_than)
    keys = idempotency_records_purge()
    surveys = survey_sweep()
    return SweepCounts(
        orphaned_files=len(files),
        expired_keys=keys,
        surveys_invited=surveys["invited"],
        surveys_reminded=surveys["reminded"],
    )


def _predict() -> None:
    """Retrain the case predictions when due (daily) and score the open cases."""
    from serviceloop.analytics import AnalyticsError
    from serviceloop.insights.prediction import prediction_refresh

    try:
        done = prediction_refresh()
    except AnalyticsError as exc:
        typer.echo(f"prediction: {exc}", err=True)
        return
    trained = "model retrained, " if done.trained else ""
    note = f" ({done.note})" if done.note else ""
    typer.echo(f"prediction: {trained}{done.scored} open case(s) scored{note}")


def _keep_insights_log(stop: threading.Event, every: float | None) -> None:
    """Bring the copy up to date every ``every`` seconds until ``stop``, or once when ``every``
    is None (a thread of its own: its first writing must not hold the SLA rounds back)."""
    from django.db import DatabaseError, connection

    from serviceloop.insights.keptlogs import coded_logs_keep
    from serviceloop.insights.pages import stored_keep

    try:
        while True:
            try:
                # The copy, then the coded log of every case beside it (and what the pages
                # compute over it: the step statistics' sorts, the stage log's conformance).
                coded_logs_keep(after_write=stored_keep)
            except (DatabaseError, OSError) as exc:
                typer.echo(f"insights log: {exc}", err=True)
            if every is None or stop.wait(every):
                return
    finally:
        connection.close()


def worker(
    every: Annotated[
        int, typer.Option(min=10, help="Seconds between rounds.", show_default=True)
    ] = 900,
    once: Annotated[bool, typer.Option("--once", help="Run one round and exit.")] = False,
    files_older_than: Annotated[
        int, typer.Option(min=1, help="Minutes an unreferenced upload file must be old.")
    ] = 60,
    sla_every: Annotated[
        int,
        typer.Option(
            min=1,
            max=60,
            help="Seconds between SLA rounds (warnings and breaches).",
            show_default=True,
        ),
    ] = 30,
    sla_batch: Annotated[
        int, typer.Option(min=1, help="Cases per SLA transaction.", show_default=True)
    ] = 1000,
) -> None:
    """Record SLA warnings and breaches and run the housekeeping until stopped (SIGTERM or
    Ctrl-C finish the round first)."""
    from serviceloop.cli import setup_django

    setup_django()
    from django.utils import timezone

    from serviceloop.sla.alerts import alerts_evaluate
    from serviceloop.sla.counters import live_counts_fold
    from serviceloop.sla.outbox import outbox_deliver
    from serviceloop.sla.sweep import sla_sweep

    stop = threading.Event()

    def _stop(*_: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    housekeeping_due = time.monotonic()
    keeper = threading.Thread(
        target=_keep_insights_log, args=(stop, None if once else sla_every), daemon=True
    )
    keeper.start()
    try:
        while True:
            started = time.monotonic()
            if started >= housekeeping_due:
                counts = sweep(files_older_than=timedelta(minutes=files_older_than))
                typer.echo(
                    f"swept: {counts.orphaned_files} orphaned upload file(s), "
                    f"{counts.expired_keys} expired idempotency key(s), "
                    f"{counts.surveys_invited} survey invitation(s), "
                    f"{counts.surveys_reminded} reminder(s)"
                )
                housekeeping_due = started + every
                _predict()
            sla = sla_sweep(batch=sla_batch)
            if sla.warnings or sla.breaches:
                typer.echo(f"sla: {sla.warnings} warning(s), {sla.breaches} breach(es) recorded")
            live_counts_fold()
            alerts = alerts_evaluate(now=timezone.now())
            if alerts.raised or alerts.resolved:
                typer.echo(f"alerts: {alerts.raised} raised, {alerts.resolved} resolved")
            sent = outbox_deliver()
            if sent.sent or sent.retrying or sent.failed:
                typer.echo(
                    f"outbox: {sent.sent} sent, {sent.retrying} to retry, {sent.failed} given up"
                )
            if once or stop.wait(max(0.0, sla_every - (time.monotonic() - started))):
                return
    finally:
        stop.set()
        keeper.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
