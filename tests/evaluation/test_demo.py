"""The demo's feedback, quality reviews and evaluations: slow teams get worse answers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from serviceloop.core.exceptions import ConflictError
from serviceloop.evaluation.demo import evaluation_demo_build
from serviceloop.evaluation.models import Evaluation, EvaluationMeasure
from serviceloop.feedback.models import SurveyResponse
from tests.evaluation.helpers import make_case
from tests.factories import AgentFactory, ManagerFactory, TeamFactory

pytestmark = pytest.mark.django_db


def test_demo_answers_reviews_and_evaluates_two_months():
    manager = ManagerFactory()
    fast, slow = TeamFactory(code="frontline"), TeamFactory(code="specialists")
    agents = {
        fast: [AgentFactory(team=fast), AgentFactory(team=fast)],
        slow: [AgentFactory(team=slow)],
    }
    now = timezone.make_aware(dt.datetime(2026, 12, 5, 12))
    for month in (10, 11):
        for day in range(2, 28, 2):
            created = timezone.make_aware(dt.datetime(2026, month, day, 10))
            for team, hours in ((fast, 6), (slow, 90)):
                for agent in agents[team]:
                    make_case(
                        team=team,
                        agent=agent,
                        created=created,
                        first_reply_hours=1,
                        closed_hours=hours,
                    )
    counts = evaluation_demo_build(actor=manager, seed=1, now=now)
    assert counts["evaluations"] == 4 and counts["qa_reviews"] > 0 and counts["survey_answers"] > 20
    satisfaction = {
        code: [r.csat for r in SurveyResponse.objects.filter(invitation__case__team__code=code)]
        for code in ("frontline", "specialists")
    }
    assert sum(satisfaction["specialists"]) / len(satisfaction["specialists"]) < sum(
        satisfaction["frontline"]
    ) / len(satisfaction["frontline"])
    teams = Evaluation.objects.filter(unit_kind="team").order_by("period_end").last()
    # Follow-ups opened by low survey scores run in the process's own team, a third unit here.
    ranking = [r.unit_key for r in teams.results.order_by("rank")]
    assert ranking.index("frontline") < ranking.index("specialists")
    survey = EvaluationMeasure.objects.get(
        evaluation=teams, unit_key="specialists", indicator__code="survey_satisfaction"
    )
    assert survey.raw_value < 3
    with pytest.raises(ConflictError) as again:
        evaluation_demo_build(actor=manager, seed=1, now=now)
    assert again.value.code == "evaluation_demo_exists"
    # The command line says it through the same table, in the language it runs in.
    with translation.override("zh-hans"), pytest.raises(CommandError, match="演示评价数据已经存在"):
        call_command("evaluation_demo", manager=manager.username)
