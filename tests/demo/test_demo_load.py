"""The demo operation: what it loads, that its event log is consistent with the process, that the
planted bottleneck is the one a simple query over the event log finds, and that loading twice adds
nothing.

The demo is loaded once for the module (a small scale: three weeks) inside a transaction that is
rolled back at the end, so other test modules never see it.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from statistics import mean
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import transaction

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import AgentProfile, Team, User
from serviceloop.cases.choices import CaseStatus, EventKind
from serviceloop.cases.models import Case, CaseEvent, Category, Message
from serviceloop.customers.models import Customer
from serviceloop.demo import demo_load
from serviceloop.demo.model import BOTTLENECK_STAGE
from serviceloop.feedback.choices import RuleAction, RuleMeasure
from serviceloop.feedback.models import SurveyRule
from serviceloop.feedback.services import survey_template_default
from serviceloop.processes.models import Transition

# One worker runs the module, so its module-scoped demo load happens once, not on each worker.
pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("demo_load")]

END = datetime(2026, 3, 18, 8, 30, tzinfo=UTC)  # a Wednesday, 16:30 in Shanghai
DAYS = 28
CUSTOMERS = 30
STAGE_KINDS = (EventKind.STAGE_ENTERED, EventKind.CLOSED, EventKind.REOPENED)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            # a manager who follows up every answer short of delighted: more cases opened by surveys
            # in a short history, early enough to see them worked
            SurveyRule.objects.create(
                template=survey_template_default(),
                order=3,
                measure=RuleMeasure.CSAT,
                at_most=4,
                action=RuleAction.FOLLOW_UP,
            )
            result = demo_load(
                days=DAYS,
                per_weekday=10,
                customers=CUSTOMERS,
                seed=7,
                end=END,
                token_file=tmp_path_factory.mktemp("demo") / "token.txt",
            )
            yield result
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _stage_events() -> dict[int, list[CaseEvent]]:
    by_case: dict[int, list[CaseEvent]] = defaultdict(list)
    for event in CaseEvent.objects.filter(kind__in=STAGE_KINDS).order_by(
        "case_id", "timestamp", "id"
    ):
        by_case[event.case_id].append(event)
    return by_case


def test_demo_builds_teams_people_customers_and_categories(demo):
    assert demo.loaded
    assert set(demo.logins) == {"admin", "manager", "agent", "customer"}
    for role, username in demo.logins.items():
        user = User.objects.get(username=username)
        assert user.role == role
        assert user.check_password(demo.password)
    teams = {team.code: team.agents.count() for team in Team.objects.all()}
    assert teams == {"frontline": 7, "specialists": 3, "field": 5}
    assert AgentProfile.objects.filter(skills__isnull=False).distinct().count() == 15
    assert User.objects.filter(role=Role.MANAGER).count() >= 1
    assert Customer.objects.count() == CUSTOMERS
    assert Customer.objects.filter(organisation__isnull=False).exists()
    assert Customer.objects.filter(user__isnull=False).count() < CUSTOMERS  # not all log in
    assert all(category.name_zh for category in Category.objects.all())


def test_demo_history_has_every_status_rework_escalation_and_messages(demo):
    statuses = set(Case.objects.values_list("status", flat=True))
    assert statuses == set(CaseStatus.values)
    open_stages = set(
        Case.objects.exclude(status=CaseStatus.CLOSED).values_list("stage__name", flat=True)
    )
    assert len(open_stages) >= 4  # work in flight all along the process at the end
    kinds = set(CaseEvent.objects.values_list("kind", flat=True))
    assert {EventKind.ESCALATED, EventKind.CUSTOMER_REPLIED, EventKind.NOTE_ADDED} <= kinds
    transition_kinds = {
        e.attributes.get("transition_kind") for e in CaseEvent.objects.filter(kind__in=STAGE_KINDS)
    }
    assert {"forward", "rework", "escalation"} <= transition_kinds
    assert Message.objects.count() > Case.objects.count()
    assert CaseEvent.objects.filter(timestamp__gt=END).count() == 0
    first = CaseEvent.objects.order_by("timestamp").first()
    assert first is not None and first.timestamp >= END - timedelta(days=DAYS)


def test_demo_arrivals_peak_in_business_hours_and_on_weekdays(demo):
    tz = ZoneInfo(settings.TIME_ZONE)
    created = [
        ts.astimezone(tz)
        for ts in CaseEvent.objects.filter(kind=EventKind.CREATED).values_list(
            "timestamp", flat=True
        )
    ]
    business = sum(1 for ts in created if ts.weekday() < 5 and 9 <= ts.hour < 18)
    night = sum(1 for ts in created if ts.hour < 7)
    assert business > 0.6 * len(created)
    assert night < 0.05 * len(created)
    days = {ts.date() for ts in created}
    weekday_days = sum(1 for d in days if d.weekday() < 5)
    weekend_days = len(days) - weekday_days
    per_weekday = sum(1 for ts in created if ts.weekday() < 5) / weekday_days
    per_weekend_day = sum(1 for ts in created if ts.weekday() >= 5) / max(1, weekend_days)
    assert per_weekday > 2 * per_weekend_day


def test_every_stage_change_follows_an_allowed_transition(demo):
    edges = {
        (version_id, source, target)
        for version_id, source, target in Transition.objects.values_list(
            "version_id", "source__code", "target__code"
        )
    }
    cases = {case.pk: case for case in Case.objects.select_related("stage", "process_version")}
    stage_events = _stage_events()
    assert set(stage_events) == set(cases)
    for case_id, events in stage_events.items():
        case = cases[case_id]
        first, *rest = events
        assert first.kind == EventKind.STAGE_ENTERED
        assert first.attributes["from_stage"] is None
        assert first.attributes["transition_kind"] == "start"
        current, last_closed_from = first.attributes["to_stage"], None
        for event in rest:
            source, target = event.attributes["from_stage"], event.attributes["to_stage"]
            assert source == current, f"{case.number}: {event.activity} does not continue"
            if event.kind == EventKind.REOPENED:
                assert target == last_closed_from  # back to where it closed from
            else:
                assert (case.process_version_id, source, target) in edges, (
                    f"{case.number}: {source} -> {target} is not a transition"
                )
                if event.kind == EventKind.CLOSED:
                    last_closed_from = source
            current = target
        assert case.stage.code == current
        assert (case.status == CaseStatus.CLOSED) == (events[-1].kind == EventKind.CLOSED)


def _time_in_stage() -> dict[str, list[float]]:
    """Hours from entering a stage to leaving it, per stage, straight from the event log."""
    spent: dict[str, list[float]] = defaultdict(list)
    for events in _stage_events().values():
        for here, after in itertools.pairwise(events):
            if here.kind == EventKind.CLOSED:
                continue  # time spent closed is not work
            hours = (after.timestamp - here.timestamp).total_seconds() / 3600
            spent[here.activity].append(hours)
    return spent


def test_planted_bottleneck_tops_the_time_in_stage_ranking(demo):
    spent = _time_in_stage()
    ranking = sorted(
        ((mean(hours), stage) for stage, hours in spent.items() if len(hours) >= 10),
        reverse=True,
    )
    (top_hours, top_stage), (second_hours, _second_stage) = ranking[0], ranking[1]
    assert top_stage == BOTTLENECK_STAGE
    assert top_hours >= 2 * second_hours


def test_planted_bottleneck_is_the_slowest_edge_of_the_process_map(demo):
    edges: dict[tuple[str, str], list[float]] = defaultdict(list)
    for events in _stage_events().values():
        for here, after in itertools.pairwise(events):
            hours = (after.timestamp - here.timestamp).total_seconds() / 3600
            edges[(here.activity, after.activity)].append(hours)
    slowest = max((mean(h), edge) for edge, h in edges.items() if len(h) >= 10)
    assert slowest[1][0] == BOTTLENECK_STAGE


def test_loading_again_adds_nothing(demo, tmp_path):
    before = {
        model.__name__: model.objects.count()
        for model in (User, Customer, Case, CaseEvent, Message, Category, Team)
    }
    again = demo_load(days=DAYS, per_weekday=10, customers=CUSTOMERS, seed=7, end=END)
    assert not again.loaded
    assert again.logins == demo.logins
    after = {
        model.__name__: model.objects.count()
        for model in (User, Customer, Case, CaseEvent, Message, Category, Team)
    }
    assert after == before


def test_demo_has_survey_answers_reviews_and_evaluations(demo):
    """Issue 15's demo: answers are events in the case log, worse where the case took long."""
    from serviceloop.evaluation.models import Evaluation, QAReview

    answers = CaseEvent.objects.filter(kind=EventKind.SURVEY_ANSWERED)
    assert answers.count() > 10
    assert QAReview.objects.exists()
    assert Evaluation.objects.exists()
    scores = {e.case_id: e.attributes for e in answers}
    durations = {
        c.pk: (c.closed_at - c.created_at).total_seconds()
        for c in Case.objects.filter(pk__in=scores, closed_at__isnull=False)
    }
    cut = sorted(durations.values())[len(durations) // 2]
    csat = {pk: scores[pk]["csat"] for pk in durations}
    quick = [csat[pk] for pk, d in durations.items() if d <= cut]
    slow = [csat[pk] for pk, d in durations.items() if d > cut]
    assert mean(slow) < mean(quick)


def test_cases_opened_by_survey_answers_are_worked_in_their_time(demo):
    """A low survey score opens a case when the customer answers, and the teams work it: none
    sits untouched at its first stage while the history goes on (they did, when the surveys
    were answered after the replay)."""
    answered = {
        event.case.number: event.timestamp
        for event in CaseEvent.objects.filter(kind=EventKind.SURVEY_ANSWERED).select_related("case")
    }
    opened = list(Case.objects.filter(attributes__has_key="follow_up_of").select_related("stage"))
    for case in opened:
        assert case.created_at == answered[case.attributes["follow_up_of"]]
    older = [case for case in opened if case.created_at < END - timedelta(days=4)]
    assert older, "no survey answer opened a case early enough to be worked"
    for case in older:
        assert not case.stage.is_start, f"{case.number} was never worked"
    assert demo.counters.opened_by_surveys == len(opened)
    assert demo.counters.survey_answers == len(answered)
