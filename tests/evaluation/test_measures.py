"""Measures read from the case log, per team, agent and month."""

from __future__ import annotations

import datetime as dt

import pytest

from serviceloop.evaluation.measures import Period, compute_measures
from tests.evaluation.helpers import at, make_case
from tests.factories import AgentFactory, CategoryFactory, TeamFactory

pytestmark = pytest.mark.django_db

NOVEMBER = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))


@pytest.fixture
def two_teams():
    north, south = TeamFactory(code="north", name="North"), TeamFactory(code="south", name="South")
    ann, bob = AgentFactory(team=north, username="ann"), AgentFactory(team=south, username="bob")
    return north, south, ann, bob


def test_response_process_reopen_and_fcr_are_measured_per_team(two_teams):
    north, south, ann, bob = two_teams
    make_case(team=north, agent=ann, created=at(3), first_reply_hours=2, closed_hours=10)
    make_case(team=north, agent=ann, created=at(4), first_reply_hours=4, closed_hours=30, replies=3)
    make_case(
        team=south, agent=bob, created=at(5), first_reply_hours=10, closed_hours=50, reopens=1
    )
    make_case(team=south, agent=bob, created=at(6))  # still open, no reply
    # Outside the period: ignored.
    make_case(team=south, agent=bob, created=at(2, month=12), first_reply_hours=100)
    units, values, counts = compute_measures(
        [
            "first_response_hours",
            "process_hours",
            "reopen_rate",
            "first_contact_resolution",
            "escalation_free_rate",
        ],
        NOVEMBER,
        "team",
    )
    assert [(u.key, u.label) for u in units] == [("north", "North"), ("south", "South")]
    assert values["first_response_hours"] == pytest.approx({"north": 3.0, "south": 10.0})
    assert counts["first_response_hours"] == {"north": 2, "south": 1}
    assert values["reopen_rate"] == pytest.approx({"north": 0.0, "south": 50.0})
    # North: one case closed after one reply, one after three; south's closed case was reopened.
    assert values["first_contact_resolution"] == pytest.approx({"north": 50.0, "south": 0.0})
    assert values["escalation_free_rate"] == pytest.approx({"north": 100.0, "south": 100.0})


def test_agents_and_months_are_units_too(two_teams):
    north, _south, ann, bob = two_teams
    make_case(team=north, agent=ann, created=at(3), first_reply_hours=1)
    make_case(team=north, agent=bob, created=at(3, month=12), first_reply_hours=5)
    period = Period(dt.date(2026, 11, 1), dt.date(2026, 12, 31))
    ann.first_name, ann.last_name = "静", "陈"
    ann.save()
    units, values, _ = compute_measures(["first_response_hours"], period, "agent")
    assert [u.key for u in units] == ["ann", "bob"]
    assert units[0].label == "陈静"  # a Chinese name family name first, as it is written
    assert values["first_response_hours"] == pytest.approx({"ann": 1.0, "bob": 5.0})
    units, values, _ = compute_measures(["first_response_hours"], period, "month")
    assert [u.key for u in units] == ["2026-11", "2026-12"]


def test_rework_compliance_complaints_and_surveys(two_teams):
    north, south, ann, bob = two_teams
    complaint = CategoryFactory(code="complaint", name="Complaint")
    make_case(team=north, agent=ann, created=at(3), closed_hours=5, rework=True, survey={"csat": 2})
    make_case(team=north, agent=ann, created=at(4), closed_hours=100, category=complaint)
    make_case(
        team=south,
        agent=bob,
        created=at(5),
        closed_hours=20,
        category=complaint,
        survey={"csat": 5, "nps": 9},
    )
    _units, values, _ = compute_measures(
        ["rework_rate", "compliance_rate", "complaint_handling_rate", "survey_csat", "survey_nps"],
        NOVEMBER,
        "team",
    )
    assert values["rework_rate"] == pytest.approx({"north": 50.0, "south": 0.0})
    assert values["compliance_rate"] == pytest.approx({"north": 50.0, "south": 100.0})
    # Complaint closed after 100 h misses the 72 h standard; south's after 20 h meets it.
    assert values["complaint_handling_rate"] == pytest.approx({"north": 0.0, "south": 100.0})
    assert values["survey_csat"] == pytest.approx({"north": 2.0, "south": 5.0})
    assert values["survey_nps"] == pytest.approx({"south": 9.0})


def test_a_case_counts_for_every_team_and_agent_that_held_it(two_teams):
    from serviceloop.cases.choices import EventKind
    from serviceloop.cases.models import CaseEvent

    north, _south, ann, _bob = two_teams
    case = make_case(team=north, agent=ann, created=at(3), first_reply_hours=2, closed_hours=30)
    CaseEvent.objects.create(
        case=case,
        kind=EventKind.ASSIGNED,
        activity="Assigned",
        timestamp=at(3, hour=10),
        attributes={"assignee": "ann", "team": "north"},
    )
    CaseEvent.objects.create(
        case=case,
        kind=EventKind.STAGE_ENTERED,
        activity="Delivery",
        timestamp=at(3, hour=12),
        attributes={
            "team": {"from": "north", "to": "south"},
            "assignee": {"from": "ann", "to": "bob"},
        },
    )
    # It ends with the frontline team that closed it, as in the demo: still north's and south's.
    from serviceloop.cases.models import Case

    Case.objects.filter(pk=case.pk).update(team=north, assignee=ann)
    _, values, _ = compute_measures(["reopen_rate"], NOVEMBER, "team")
    assert set(values["reopen_rate"]) == {"north", "south"}
    _, values, _ = compute_measures(["process_hours"], NOVEMBER, "agent")
    assert values["process_hours"] == pytest.approx({"ann": 30.0, "bob": 30.0})


def test_a_teams_process_time_is_the_time_in_its_own_stages(two_teams):
    from serviceloop.cases.choices import EventKind
    from serviceloop.cases.models import CaseEvent
    from tests.factories import build_process_version

    north, south, ann, _bob = two_teams
    version = build_process_version(front_team=north, back_team=south)
    created = at(3)
    case = make_case(
        team=north, agent=ann, created=created, closed_hours=20, process_version=version
    )
    for hours, stage in ((2, "analysis"), (5, "delivery")):
        CaseEvent.objects.create(
            case=case,
            kind=EventKind.STAGE_ENTERED,
            activity=stage,
            timestamp=created + dt.timedelta(hours=hours),
            attributes={"to_stage": stage},
        )
    _, values, counts = compute_measures(["process_hours", "process_cost"], NOVEMBER, "team")
    # Intake and analysis are north's (0..5 h), delivery south's (5..20 h).
    assert values["process_hours"] == pytest.approx({"north": 5.0, "south": 15.0})
    assert values["process_cost"] == pytest.approx({"north": 500.0, "south": 1500.0})
    assert counts["process_hours"] == {"north": 1, "south": 1}
    _, values, _ = compute_measures(["process_hours"], NOVEMBER, "agent")
    assert values["process_hours"] == pytest.approx({"ann": 20.0})


def test_process_versions_are_units_too(two_teams):
    from tests.factories import build_process_version

    north, _south, ann, _bob = two_teams
    first, second = build_process_version(), build_process_version()
    make_case(team=north, agent=ann, created=at(3), first_reply_hours=1, process_version=first)
    make_case(team=north, agent=ann, created=at(4), first_reply_hours=3, process_version=second)
    units, values, _ = compute_measures(["first_response_hours"], NOVEMBER, "version")
    assert [u.key for u in units] == [str(first.pk), str(second.pk)]
    assert units[0].label.endswith("v1")
    assert values["first_response_hours"] == pytest.approx(
        {str(first.pk): 1.0, str(second.pk): 3.0}
    )
