"""Reading stored evaluations: lists, one evaluation with its inputs, trends and scorecards."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Prefetch, QuerySet

from serviceloop.evaluation.choices import UnitKind
from serviceloop.evaluation.measures import unit_names
from serviceloop.evaluation.models import (
    ComparisonMatrix,
    Evaluation,
    EvaluationMeasure,
    EvaluationResult,
    Indicator,
    IndicatorSystem,
)

__all__ = [
    "EvaluationView",
    "evaluation_get",
    "evaluation_list",
    "evaluation_trend",
    "indicator_tree",
    "scorecard_results",
    "system_list",
]


def system_list() -> QuerySet[IndicatorSystem]:
    return IndicatorSystem.objects.all()


def evaluation_list() -> QuerySet[Evaluation]:
    return (
        Evaluation.objects.select_related("system", "created_by")
        .annotate(n_units=Count("results"))
        .order_by("-period_end", "-created_at", "-id")
    )


@dataclass
class EvaluationView:
    """One evaluation with everything its pages and exports show."""

    evaluation: Evaluation
    results: list[EvaluationResult]
    leaves: list[Indicator]
    top: list[Indicator]
    measures: dict[str, dict[str, EvaluationMeasure]] = field(default_factory=dict)

    def measures_of(self, unit_key: str) -> list[EvaluationMeasure]:
        by_code = self.measures.get(unit_key, {})
        return [by_code[leaf.code] for leaf in self.leaves if leaf.code in by_code]


def _named_now(results: list[EvaluationResult], unit_kind: str) -> list[EvaluationResult]:
    """Results with each unit's current name in the reader's language (not saved): the stored
    label is the name when the evaluation was computed, kept for units that no longer exist."""
    names = unit_names(unit_kind, sorted({r.unit_key for r in results}))
    for result in results:
        result.unit_label = names.get(result.unit_key, result.unit_label)
    return results


def evaluation_get(pk: int) -> EvaluationView:
    """Raises Evaluation.DoesNotExist. Four queries whatever the number of units."""
    if not 0 < pk < 2**63:  # beyond the column's range: no such row (PostgreSQL would refuse it)
        raise Evaluation.DoesNotExist
    evaluation = Evaluation.objects.select_related("system", "created_by").get(pk=pk)
    results = _named_now(
        list(evaluation.results.order_by("rank", "unit_label")), evaluation.unit_kind
    )
    measures: dict[str, dict[str, EvaluationMeasure]] = defaultdict(dict)
    leaves: dict[int, Indicator] = {}
    for m in evaluation.measures.select_related("indicator", "indicator__parent"):
        measures[m.unit_key][m.indicator.code] = m
        leaves[m.indicator_id] = m.indicator
    ordered = sorted(
        leaves.values(),
        key=lambda i: (i.parent.order if i.parent else 0, i.order, i.pk),
    )
    top = list(evaluation.system.indicators.filter(parent=None).order_by("order", "id"))
    return EvaluationView(evaluation, results, ordered, top, dict(measures))


def evaluation_trend(evaluation: Evaluation, *, limit: int = 12) -> list[Evaluation]:
    """The evaluations comparable with this one (same system, units and method), oldest first,
    with their results prefetched: one point per period for each unit."""
    evaluations = list(
        reversed(
            Evaluation.objects.filter(
                system=evaluation.system,
                unit_kind=evaluation.unit_kind,
                method=evaluation.method,
                period_end__lte=evaluation.period_end,
            )
            .order_by("-period_end", "-created_at")
            .prefetch_related(
                Prefetch("results", queryset=EvaluationResult.objects.order_by("rank"))
            )[:limit]
        )
    )
    _named_now([r for e in evaluations for r in e.results.all()], evaluation.unit_kind)
    return evaluations


def scorecard_results(username: str) -> list[EvaluationResult]:
    """An agent's own rows in agent evaluations, newest first."""
    return list(
        EvaluationResult.objects.filter(evaluation__unit_kind=UnitKind.AGENT, unit_key=username)
        .select_related("evaluation", "evaluation__system")
        .annotate(n_units=Count("evaluation__results"))
        .order_by("-evaluation__period_end", "-evaluation__created_at")
    )


def indicator_tree(system: IndicatorSystem) -> list[dict[str, Any]]:
    """The system's nodes as nested dicts, children in order, with the latest AHP matrix per group."""
    nodes = list(system.indicators.order_by("order", "id"))
    children: dict[int | None, list[Indicator]] = defaultdict(list)
    for node in nodes:
        children[node.parent_id].append(node)
    latest: dict[int | None, ComparisonMatrix] = {}
    for matrix in system.matrices.order_by("entered_at", "id").select_related("entered_by"):
        latest[matrix.parent_id] = matrix

    def build(parent: int | None) -> list[dict[str, Any]]:
        group = children.get(parent, [])
        total = sum(n.weight for n in group) or 1.0
        return [
            {
                "node": n,
                "local_weight": n.weight / total,
                "children": build(n.pk),
                "matrix": latest.get(n.pk),
            }
            for n in group
        ]

    return [{"matrix": latest.get(None), "nodes": build(None)}]
