"""``serviceloop manage idempotency_purge``: forget Idempotency-Key answers past their retention."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from serviceloop.core.idempotency import RETENTION, idempotency_records_purge


class Command(BaseCommand):
    help = "Delete stored Idempotency-Key answers older than the retention (default 7 days)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than-hours",
            type=int,
            default=int(RETENTION.total_seconds() // 3600),
            help="Only records at least this old.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        hours = options["older_than_hours"]
        if hours < 0:
            raise CommandError("--older-than-hours must not be negative.")
        deleted = idempotency_records_purge(older_than=timedelta(hours=hours))
        self.stdout.write(f"{deleted} idempotency record(s) deleted.")
