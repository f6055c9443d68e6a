"""Who each assignment and stage event made the case's holder, read straight from the event log."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet

from serviceloop.cases.choices import EventKind
from serviceloop.cases.models import CaseEvent
from serviceloop.core.json_text import json_text

__all__ = ["holder_changes"]


def holder_changes(
    events: QuerySet[CaseEvent],
) -> Iterator[tuple[int, bool, str | None, str | None]]:
    """(case id, by assignment, team code, username) for each assignment and stage event of
    ``events``: an assignment's ``team``/``assignee``, a stage event's re-route
    (``team.to``/``assignee.to``); None where the event set none."""
    rows = (
        events.filter(kind__in=[EventKind.ASSIGNED, EventKind.STAGE_ENTERED])
        .annotate(
            flat_team=json_text("attributes__team"),
            flat_agent=json_text("attributes__assignee"),
            to_team=json_text("attributes__team__to"),
            to_agent=json_text("attributes__assignee__to"),
        )
        .values_list("case_id", "kind", "flat_team", "flat_agent", "to_team", "to_agent")
    )
    for case_id, kind, flat_team, flat_agent, to_team, to_agent in rows:
        assigned = kind == EventKind.ASSIGNED
        team, agent = (flat_team, flat_agent) if assigned else (to_team, to_agent)
        yield case_id, assigned, team or None, agent or None
