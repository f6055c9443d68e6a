"""``serviceloop manage evaluation_demo``: survey answers, quality reviews and evaluations for the
demo history (run after ``serviceloop demo``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from serviceloop.accounts.models import User
from serviceloop.core.exceptions import ApplicationError
from serviceloop.evaluation.demo import evaluation_demo_build


class Command(BaseCommand):
    help = "Add survey answers, QA reviews and team/agent evaluations to the demo history."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--manager", default="manager", help="User name of the acting manager.")
        parser.add_argument("--seed", type=int, default=2024)

    def handle(self, *args: Any, **options: Any) -> None:
        manager = User.objects.filter(username=options["manager"]).first()
        if manager is None:
            raise CommandError(f"No user {options['manager']!r}: load the demo first.")
        try:
            counts = evaluation_demo_build(actor=manager, seed=options["seed"])
        except ApplicationError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            f"{counts['survey_answers']} survey answers, {counts['qa_reviews']} quality reviews, "
            f"{counts['evaluations']} evaluations"
        )
