"""Quality reviews: sampling, submitting, calibration, QA feeding the indicator system, and the
agent's scorecard showing their own reviews."""

from __future__ import annotations

import datetime as dt
import doctest

import pytest
from django.urls import reverse

from serviceloop.core.exceptions import ConflictError, InvalidInputError, PermissionDeniedError
from serviceloop.evaluation import qa
from serviceloop.evaluation.measures import Period, compute_measures
from serviceloop.evaluation.models import QAReview
from serviceloop.evaluation.services import evaluation_run, indicator_system_create_default
from tests.evaluation.helpers import at, make_case
from tests.factories import AgentFactory, ManagerFactory, TeamFactory

pytestmark = pytest.mark.django_db

NOVEMBER = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
ALL_FIVE = {"greeting": 5, "understanding": 5, "accuracy": 5, "courtesy": 5, "standards": 5}


@pytest.fixture
def world():
    lead, second = ManagerFactory(), ManagerFactory()
    qa.qa_criteria_create_default(actor=lead)
    north, south = TeamFactory(code="north"), TeamFactory(code="south")
    ann, bob = AgentFactory(team=north, username="ann"), AgentFactory(team=south, username="bob")
    for day in range(3, 8):
        make_case(team=north, agent=ann, created=at(day), first_reply_hours=1, closed_hours=5)
        make_case(team=south, agent=bob, created=at(day), first_reply_hours=2, closed_hours=9)
    make_case(team=north, agent=ann, created=at(9))  # still open: never sampled
    return lead, second, ann, bob


def test_sampling_picks_closed_cases_per_agent_for_every_reviewer(world):
    lead, second, ann, bob = world
    reviews = qa.qa_sample(
        period=NOVEMBER, per_agent=2, reviewers=[lead, second], actor=lead, seed=7
    )
    assert len(reviews) == 8  # 2 cases x 2 agents x 2 reviewers
    assert {r.agent_id for r in reviews} == {ann.pk, bob.pk}
    assert all(r.case.closed_at is not None for r in reviews)
    # Cases already reviewed are not sampled again.
    again = qa.qa_sample(period=NOVEMBER, per_agent=5, reviewers=[lead], actor=lead, seed=7)
    assert not {r.case_id for r in again} & {r.case_id for r in reviews}
    with pytest.raises(PermissionDeniedError):
        qa.qa_sample(period=NOVEMBER, per_agent=2, reviewers=[lead], actor=ann)
    with pytest.raises(InvalidInputError):
        qa.qa_sample(period=NOVEMBER, per_agent=2, reviewers=[ann], actor=lead)


def test_submitting_scores_weights_and_refuses_others_and_twice(world):
    lead, second, _ann, _bob = world
    review = qa.qa_sample(period=NOVEMBER, per_agent=1, reviewers=[lead], actor=lead, seed=1)[0]
    with pytest.raises(PermissionDeniedError):
        qa.qa_review_submit(review=review, scores=ALL_FIVE, actor=second)
    with pytest.raises(InvalidInputError) as caught:
        qa.qa_review_submit(review=review, scores=ALL_FIVE | {"accuracy": 6}, actor=lead)
    assert "accuracy" in caught.value.fields
    # accuracy weighs 3 of 10: all 5 but accuracy 1 -> mean 3.8 -> (3.8 - 1) / 4 = 70.
    done = qa.qa_review_submit(review=review, scores=ALL_FIVE | {"accuracy": 1}, actor=lead)
    assert done.score == pytest.approx(70.0)
    with pytest.raises(ConflictError):
        qa.qa_review_submit(review=review, scores=ALL_FIVE, actor=lead)
    failures, tried = doctest.testmod(qa)
    assert tried and not failures


def test_calibration_names_the_cases_reviewers_disagree_on(world):
    lead, second, _ann, _bob = world
    reviews = qa.qa_sample(
        period=NOVEMBER, per_agent=1, reviewers=[lead, second], actor=lead, seed=3
    )
    by_case: dict[int, list[QAReview]] = {}
    for r in reviews:
        by_case.setdefault(r.case_id, []).append(r)
    (first_case, first), (second_case, other) = sorted(by_case.items())
    qa.qa_review_submit(review=first[0], scores=ALL_FIVE, actor=first[0].reviewer)
    qa.qa_review_submit(review=first[1], scores=ALL_FIVE | {"courtesy": 1}, actor=first[1].reviewer)
    for r in other:
        qa.qa_review_submit(review=r, scores=ALL_FIVE, actor=r.reviewer)
    rows = qa.qa_calibration()
    assert [row["case"].pk for row in rows] == [first_case, second_case]
    assert rows[0]["spread"] == pytest.approx(20.0) and rows[0]["criteria"]["courtesy"] == 4
    assert rows[1]["spread"] == 0


def test_qa_scores_feed_the_indicator_system(world):
    lead, _second, _ann, _bob = world
    for review in qa.qa_sample(period=NOVEMBER, per_agent=2, reviewers=[lead], actor=lead, seed=5):
        low = review.agent.username == "bob"
        qa.qa_review_submit(
            review=review, scores=ALL_FIVE | ({"accuracy": 1} if low else {}), actor=lead
        )
    _, values, _ = compute_measures(["qa_score"], NOVEMBER, "agent")
    assert values["qa_score"] == pytest.approx({"ann": 100.0, "bob": 70.0})
    system = indicator_system_create_default(actor=lead)
    evaluation = evaluation_run(
        system=system,
        unit_kind="agent",
        period_start=NOVEMBER.start,
        period_end=NOVEMBER.end,
        method="weighted_sum",
        weighting="manual",
        actor=lead,
    )
    measure = evaluation.measures.get(indicator__code="quality_review", unit_key="bob")
    assert measure.raw_value == pytest.approx(70.0)


def test_pages_reviewing_and_the_agents_scorecard(client, world):
    lead, second, ann, _bob = world
    client.force_login(lead)
    assert client.get(reverse("evaluation:qa")).status_code == 200
    response = client.post(
        reverse("evaluation:qa"),
        {
            "s-period_start": "2026-11-01",
            "s-period_end": "2026-11-30",
            "s-per_agent": "1",
            "s-reviewers": [lead.pk],
        },
    )
    assert response.status_code == 302
    review = QAReview.objects.filter(reviewer=lead, agent=ann).get()
    url = reverse("evaluation:qa-review", args=[review.pk])
    client.force_login(second)
    assert client.get(url).status_code == 403
    client.force_login(lead)
    data = {k: str(v) for k, v in ALL_FIVE.items()} | {"comment": "<i>great</i>"}
    assert client.post(url, data).status_code == 302
    client.force_login(ann)
    page = client.get(reverse("evaluation:my-scorecard"))
    assert page.status_code == 200
    body = page.content.decode()
    assert review.case.number in body and "&lt;i&gt;great&lt;/i&gt;" in body
    assert client.get(reverse("evaluation:qa")).status_code == 403
