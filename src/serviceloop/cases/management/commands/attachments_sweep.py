"""``serviceloop manage attachments_sweep``: delete uploaded files whose transaction rolled back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from serviceloop.cases.services.maintenance import attachment_orphans_delete


class Command(BaseCommand):
    help = "Delete attachment files that no attachment row refers to (left by rolled-back uploads)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than-minutes", type=int, default=60, help="Only files at least this old."
        )
        parser.add_argument("--dry-run", action="store_true", help="List, do not delete.")

    def handle(self, *args: Any, **options: Any) -> None:
        orphans = attachment_orphans_delete(
            older_than=timedelta(minutes=options["older_than_minutes"]),
            dry_run=options["dry_run"],
        )
        verb = "would delete" if options["dry_run"] else "deleted"
        for name in orphans:
            self.stdout.write(f"{verb} {name}")
        self.stdout.write(f"{len(orphans)} orphaned file(s) {verb}.")
