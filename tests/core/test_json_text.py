"""A JSON null attribute reads as SQL NULL on both databases (SQLite's ``->>`` says 'null')."""

from __future__ import annotations

import pytest

from serviceloop.cases.eventlog import read_events
from serviceloop.cases.models import CaseEvent
from serviceloop.core.json_text import json_text
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def _event(case, kind, attributes):
    return CaseEvent.objects.create(
        case=case, kind=kind, activity=kind, timestamp=case.created_at, attributes=attributes
    )


def test_a_json_null_is_no_text_and_a_value_is_its_text():
    case = CaseFactory()
    nobody = _event(case, "assigned", {"team": None, "assignee": None, "by": "manual"})
    rerouted = _event(case, "stage_entered", {"team": {"from": "north", "to": None}})
    named = _event(case, "assigned", {"team": "null-team", "assignee": "ann"})
    rows = dict(
        CaseEvent.objects.filter(id__in=[nobody.id, rerouted.id, named.id])
        .annotate(to=json_text("attributes__team__to"))
        .values_list("id", "to")
    )
    assert rows == {nobody.id: None, rerouted.id: None, named.id: None}
    teams = dict(
        CaseEvent.objects.filter(id__in=[nobody.id, named.id])
        .annotate(team=json_text("attributes__team"))
        .values_list("id", "team")
    )
    assert teams == {nobody.id: None, named.id: "null-team"}


def test_the_event_log_reads_a_holder_set_to_nobody_as_nobody():
    case = CaseFactory()
    first = _event(case, "assigned", {"team": None, "assignee": None, "by": "manual"})
    _event(case, "stage_entered", {"to_stage": "x", "team": {"from": "north", "to": None}})
    events = read_events(case_range=(case.id, case.id + 1), holders=True, after_id=first.id - 1)
    assert events["kind"].to_list() == ["assigned", "stage_entered"]
    assert events["team_raw"][0] is None and events["assignee_raw"][0] is None
    assert events["team_to"].to_list() == [None, None]
