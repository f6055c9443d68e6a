"""Indicator system, AHP judgements, manual scores and evaluation runs."""

from __future__ import annotations

import datetime as dt

import pytest

from serviceloop.core.exceptions import InvalidInputError, PermissionDeniedError
from serviceloop.evaluation.models import (
    ComparisonMatrix,
    Evaluation,
    EvaluationMeasure,
    Indicator,
    IndicatorSystem,
)
from serviceloop.evaluation.services import (
    comparison_matrix_save,
    evaluation_run,
    indicator_system_create_default,
    indicator_weights_set,
    manual_score_record,
)
from tests.evaluation.helpers import at, make_case
from tests.factories import AgentFactory, ManagerFactory, TeamFactory

pytestmark = pytest.mark.django_db

START, END = dt.date(2026, 11, 1), dt.date(2026, 11, 30)
TOP = [
    "customer_satisfaction",
    "service_quality",
    "process_efficiency",
    "team_collaboration",
    "resource_allocation",
]


@pytest.fixture
def manager():
    return ManagerFactory()


@pytest.fixture
def system(manager):
    return indicator_system_create_default(actor=manager)


@pytest.fixture
def history():
    """Fast north team, slow south team (waits three times as long, half the cases reopened)."""
    north, south = TeamFactory(code="north", name="North"), TeamFactory(code="south", name="South")
    ann, amy = AgentFactory(team=north, username="ann"), AgentFactory(team=north, username="amy")
    bob = AgentFactory(team=south, username="bob")
    for day, agent in ((3, ann), (4, amy), (5, ann), (6, amy)):
        make_case(team=north, agent=agent, created=at(day), first_reply_hours=1, closed_hours=8)
    for day in (3, 4, 5, 6):
        make_case(
            team=south,
            agent=bob,
            created=at(day),
            first_reply_hours=3,
            closed_hours=40,
            reopens=day % 2,
            escalations=1,
            replies=2,
        )
    return north, south


def test_the_default_system_has_the_five_first_level_indicators(system, manager):
    tops = list(system.indicators.filter(parent=None).values_list("code", flat=True))
    assert tops == TOP
    leaves = Indicator.objects.filter(system=system, children__isnull=True)
    assert leaves.count() == 18
    assert all(leaf.source for leaf in leaves)
    # Created once.
    assert indicator_system_create_default(actor=manager) == system
    assert IndicatorSystem.objects.count() == 1


def test_agents_and_customers_cannot_change_or_run_evaluations(system):
    agent = AgentFactory()
    with pytest.raises(PermissionDeniedError):
        indicator_system_create_default(actor=agent)
    with pytest.raises(PermissionDeniedError):
        evaluation_run(
            system=system,
            unit_kind="team",
            period_start=START,
            period_end=END,
            method="topsis",
            weighting="manual",
            actor=agent,
        )


def test_ahp_matrix_sets_weights_and_an_inconsistent_one_is_refused_naming_the_conflict(
    system, manager
):
    codes = TOP[:3]
    # Only the first three compared would leave two out: every sibling must be judged.
    judgements = {
        ("customer_satisfaction", "service_quality"): 2,
        ("customer_satisfaction", "process_efficiency"): 3,
        ("customer_satisfaction", "team_collaboration"): 4,
        ("customer_satisfaction", "resource_allocation"): 5,
        ("service_quality", "process_efficiency"): 2,
        ("service_quality", "team_collaboration"): 3,
        ("service_quality", "resource_allocation"): 4,
        ("process_efficiency", "team_collaboration"): 2,
        ("process_efficiency", "resource_allocation"): 3,
        ("team_collaboration", "resource_allocation"): 2,
    }
    saved = comparison_matrix_save(system=system, parent=None, judgements=judgements, actor=manager)
    assert saved.consistency_ratio < 0.1
    weights = dict(system.indicators.filter(parent=None).values_list("code", "ahp_weight"))
    assert weights[codes[0]] > weights[codes[1]] > weights[codes[2]]
    assert sum(weights.values()) == pytest.approx(1.0)

    bad = dict(judgements)
    bad[("customer_satisfaction", "resource_allocation")] = 1 / 9  # contradicts the chain
    with pytest.raises(InvalidInputError) as caught:
        comparison_matrix_save(system=system, parent=None, judgements=bad, actor=manager)
    assert caught.value.code == "judgements_inconsistent"
    assert "consistency ratio" in caught.value.message
    assert caught.value.field_codes()["customer_satisfaction__resource_allocation"] == [
        "judgement_off"
    ]
    assert ComparisonMatrix.objects.count() == 1  # nothing stored
    assert dict(system.indicators.filter(parent=None).values_list("code", "ahp_weight")) == weights


def test_manual_weights_are_validated(system, manager):
    with pytest.raises(InvalidInputError):
        indicator_weights_set(
            system=system, parent=None, weights={"service_quality": 1}, actor=manager
        )
    with pytest.raises(InvalidInputError):
        indicator_weights_set(
            system=system, parent=None, weights=dict.fromkeys(TOP, 0), actor=manager
        )
    indicator_weights_set(
        system=system, parent=None, weights={c: i + 1 for i, c in enumerate(TOP)}, actor=manager
    )
    assert system.indicators.get(code="resource_allocation").weight == 5


@pytest.mark.parametrize("method", ["weighted_sum", "topsis", "rsr"])
def test_evaluation_ranks_the_slow_team_last_and_keeps_every_input(
    system, manager, history, method
):
    evaluation = evaluation_run(
        system=system,
        unit_kind="team",
        period_start=START,
        period_end=END,
        method=method,
        weighting="manual",
        actor=manager,
    )
    results = list(evaluation.results.order_by("rank"))
    assert [r.unit_key for r in results] == ["north", "south"]
    assert results[0].score > results[1].score
    # Surveys, manual scores and one-agent load balance have no value for both teams: left out.
    excluded = {e["code"] for e in evaluation.excluded}
    assert {"survey_satisfaction", "equipment_utilisation", "information_integration"} <= excluded
    assert "response_time" not in excluded
    # Every score traces back to stored measures.
    measures = EvaluationMeasure.objects.filter(evaluation=evaluation, unit_key="south")
    response = measures.get(indicator__code="response_time")
    assert response.raw_value == pytest.approx(3.0)
    assert "n = 4" in response.basis
    assert sum(evaluation.weights.values()) == pytest.approx(1.0)
    if method == "weighted_sum":
        total = sum(m.contribution for m in measures)
        assert total == pytest.approx(results[1].score)
    assert set(results[0].dimensions) <= set(TOP)


def test_manual_scores_enter_the_evaluation_with_who_entered_them(system, manager, history):
    equipment = system.indicators.get(code="equipment_utilisation")
    for unit, value in (("north", 80), ("south", 60)):
        manual_score_record(
            indicator=equipment,
            unit_kind="team",
            unit_key=unit,
            period_start=START,
            period_end=END,
            value=value,
            actor=manager,
        )
    evaluation = evaluation_run(
        system=system,
        unit_kind="team",
        period_start=START,
        period_end=END,
        method="weighted_sum",
        weighting="entropy",
        actor=manager,
    )
    assert "equipment_utilisation" not in {e["code"] for e in evaluation.excluded}
    measure = evaluation.measures.get(indicator=equipment, unit_key="south")
    assert measure.raw_value == 60
    assert equipment.manual_scores.first().entered_by == manager
    with pytest.raises(InvalidInputError):
        manual_score_record(
            indicator=system.indicators.get(code="response_time"),
            unit_kind="team",
            unit_key="north",
            period_start=START,
            period_end=END,
            value=1,
            actor=manager,
        )


def test_ahp_weighting_needs_every_group_judged(system, manager, history):
    with pytest.raises(InvalidInputError) as caught:
        evaluation_run(
            system=system,
            unit_kind="team",
            period_start=START,
            period_end=END,
            method="topsis",
            weighting="ahp",
            actor=manager,
        )
    # Groups are weighed in order: the first without a matrix is named, by code for clients.
    assert caught.value.code == "ahp_missing"
    assert caught.value.problem.as_json()["params"]["group"] in TOP
    assert Evaluation.objects.count() == 0


def test_bad_settings_and_too_few_units_are_refused_and_store_nothing(system, manager, history):
    with pytest.raises(InvalidInputError) as caught:
        evaluation_run(
            system=system,
            unit_kind="planet",
            period_start=END,
            period_end=START,
            method="magic",
            weighting="manual",
            actor=manager,
        )
    assert caught.value.field_codes() == {
        "unit_kind": ["unit_kind_unknown"],
        "method": ["method_unknown"],
        "period_end": ["period_reversed"],
    }
    with pytest.raises(InvalidInputError) as caught:
        evaluation_run(
            system=system,
            unit_kind="team",
            period_start=dt.date(2025, 1, 1),
            period_end=dt.date(2025, 1, 31),
            method="topsis",
            weighting="manual",
            actor=manager,
        )
    assert (caught.value.code, caught.value.params) == ("too_few_units", {"min": 2, "found": 0})
    assert Evaluation.objects.count() == 0


def test_an_indicator_missing_for_a_minority_of_units_takes_their_median(system, manager, history):
    _north, _south = history
    west = TeamFactory(code="west", name="West")
    wes, wyn = AgentFactory(team=west, username="wes"), AgentFactory(team=west, username="wyn")
    for day, agent in ((3, wes), (4, wyn), (5, wes)):
        make_case(team=west, agent=agent, created=at(day), first_reply_hours=2, closed_hours=20)
    evaluation = evaluation_run(
        system=system,
        unit_kind="team",
        period_start=START,
        period_end=END,
        method="topsis",
        weighting="manual",
        actor=manager,
    )
    # Load imbalance needs two agents: north and west have it, south (one agent) does not.
    assert evaluation.details["imputed"] == {"load_balance": ["south"]}
    measures = {
        m.unit_key: m
        for m in EvaluationMeasure.objects.filter(
            evaluation=evaluation, indicator__code="load_balance"
        )
    }
    assert measures["south"].raw_value == pytest.approx(
        (measures["north"].raw_value + measures["west"].raw_value) / 2
    )
    assert "median" in measures["south"].basis
    assert "load_balance" not in {e["code"] for e in evaluation.excluded}
