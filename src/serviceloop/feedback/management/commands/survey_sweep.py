"""``serviceloop manage survey_sweep``: invite the customers of newly resolved cases and remind
once those who have not answered; run it from cron or beside the worker."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from serviceloop.feedback.services import survey_sweep


class Command(BaseCommand):
    help = "Send survey invitations for resolved cases and one reminder."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = survey_sweep()
        self.stdout.write(f"invited {counts['invited']}, reminded {counts['reminded']}")
