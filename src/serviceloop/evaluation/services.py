"""Changing the indicator system and running evaluations: managers only, each in one transaction."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Mapping
from typing import Any

import polars as pl
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from serviceloop.accounts.permissions import is_manager
from serviceloop.analytics.errors import InvalidParameterError
from serviceloop.analytics.scoring import (
    RANDOM_INDEX,
    InconsistentJudgementsError,
    Scores,
    ahp_weights,
    blend_weights,
    entropy_weights,
    pairwise_matrix,
    rank_sum_ratio,
    topsis,
    weighted_sum,
)
from serviceloop.core.exceptions import InvalidInputError, PermissionDeniedError
from serviceloop.core.messages import Named, Problem
from serviceloop.evaluation.choices import Method, Source, UnitKind, Weighting
from serviceloop.evaluation.defaults import DEFAULT_SYSTEM, Node
from serviceloop.evaluation.measures import MEASURES, Period, Unit, compute_measures
from serviceloop.evaluation.models import (
    ComparisonMatrix,
    Evaluation,
    EvaluationMeasure,
    EvaluationResult,
    Indicator,
    IndicatorSystem,
    ManualScore,
)

__all__ = [
    "comparison_matrix_save",
    "evaluation_run",
    "indicator_system_create_default",
    "indicator_weights_set",
    "manual_score_record",
]

MIN_UNITS = 2


def _require_manager(actor: Any) -> None:
    if not is_manager(actor):
        raise PermissionDeniedError(Problem("evaluation_managers_only"))


@transaction.atomic
def indicator_system_create_default(*, actor: Any) -> IndicatorSystem:
    """Create the default five-dimension indicator system (once; returns it if it exists)."""
    _require_manager(actor)
    code, name, name_zh, nodes = DEFAULT_SYSTEM
    system, created = IndicatorSystem.objects.get_or_create(
        code=code, defaults={"name": name, "name_zh": name_zh}
    )
    if created:
        _create_nodes(system, None, nodes)
    return system


def _create_nodes(
    system: IndicatorSystem, parent: Indicator | None, nodes: tuple[Node, ...]
) -> None:
    for order, node in enumerate(nodes, start=1):
        indicator = Indicator(
            system=system,
            parent=parent,
            code=node.code,
            name=node.name,
            name_zh=node.name_zh,
            order=order,
            source=node.source,
            measure=node.measure,
            direction=node.direction,
            unit=node.unit,
            target=node.target,
            weight=1.0,
        )
        indicator.full_clean()
        indicator.save()
        _create_nodes(system, indicator, node.children)


def _children(system: IndicatorSystem, parent: Indicator | None) -> list[Indicator]:
    return list(system.indicators.filter(parent=parent).order_by("order", "id"))


@transaction.atomic
def indicator_weights_set(
    *, system: IndicatorSystem, parent: Indicator | None, weights: Mapping[str, float], actor: Any
) -> list[Indicator]:
    """Set the manual weights of one group of siblings (codes -> weights >= 0, not all 0)."""
    _require_manager(actor)
    children = _children(system, parent)
    codes = {c.code for c in children}
    problems: dict[str, list[Problem]] = {}
    if set(weights) != codes:
        indicators = [Named.of(c) for c in sorted(children, key=lambda c: c.code)]
        raise InvalidInputError(Problem("weights_incomplete", {"indicators": indicators}))
    for code, value in weights.items():
        if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            problems[code] = [Problem("weight_invalid")]
    if problems:
        raise InvalidInputError(Problem("weights_invalid"), fields=problems)
    if sum(weights.values()) <= 0:
        raise InvalidInputError(Problem("weights_all_zero"))
    for child in children:
        child.weight = float(weights[child.code])
        child.save(update_fields=["weight"])
    return children


@transaction.atomic
def comparison_matrix_save(
    *,
    system: IndicatorSystem,
    parent: Indicator | None,
    judgements: Mapping[tuple[str, str], float],
    actor: Any,
    at: dt.datetime | None = None,
) -> ComparisonMatrix:
    """Store AHP judgements among one group's children and apply the derived weights.

    A matrix whose consistency ratio exceeds 0.1 is refused (nothing is stored); the error names
    the judgements furthest from the weights the matrix implies, the ones to revise first.
    """
    _require_manager(actor)
    children = _children(system, parent)
    labels = [c.code for c in children]
    if len(labels) < 2:
        raise InvalidInputError(Problem("group_too_small"))
    names = {c.code: Named.of(c) for c in children}
    _check_judgements(judgements, names)
    try:
        matrix = pairwise_matrix(judgements, labels)
        result = ahp_weights(matrix, labels)
    except InconsistentJudgementsError as exc:
        fields = {
            f"{j.row}__{j.column}": [
                Problem(
                    "judgement_off",
                    {
                        "row": names[j.row],
                        "column": names[j.column],
                        "given": _ratio(j.given),
                        "implied": _ratio(j.implied),
                        "factor": f"{j.deviation:.1f}",
                    },
                )
            ]
            for j in exc.conflicts
        }
        worst = [problems[0] for problems in fields.values()]
        raise InvalidInputError(
            Problem(
                "judgements_inconsistent",
                {"ratio": f"{exc.consistency_ratio:.3f}", "worst": worst},
            ),
            fields=fields,
        ) from None
    saved = ComparisonMatrix.objects.create(
        system=system,
        parent=parent,
        judgements=[[a, b, float(v)] for (a, b), v in judgements.items()],
        weights=result.weights,
        consistency_ratio=result.consistency_ratio,
        lambda_max=result.lambda_max,
        entered_by=actor,
        entered_at=at or timezone.now(),
    )
    for child in children:
        child.ahp_weight = result.weights[child.code]
        child.save(update_fields=["ahp_weight"])
    return saved


def _check_judgements(
    judgements: Mapping[tuple[str, str], float], names: Mapping[str, Named]
) -> None:
    """Refuse, in the manager's terms, what the AHP library would refuse in its own: unknown or
    self comparisons, a pair judged twice or not at all, a judgement not above 0, too large a
    group."""
    if len(names) > max(RANDOM_INDEX):
        raise InvalidInputError(Problem("group_too_large", {"max": max(RANDOM_INDEX)}))
    seen: set[frozenset[str]] = set()
    for (a, b), value in judgements.items():
        for code in (a, b):
            if code not in names:
                raise InvalidInputError(Problem("judgement_unknown", {"value": code}))
        pair = {"row": names[a], "column": names[b]}
        if a == b:
            raise InvalidInputError(Problem("judgement_self", {"row": names[a]}))
        if frozenset((a, b)) in seen:
            raise InvalidInputError(Problem("judgement_twice", pair))
        seen.add(frozenset((a, b)))
        if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
            raise InvalidInputError(Problem("judgement_value", {**pair, "value": str(value)}))
    codes = list(names)
    for i, a in enumerate(codes):
        for b in codes[i + 1 :]:
            if frozenset((a, b)) not in seen:
                raise InvalidInputError(
                    Problem("judgement_missing", {"row": names[a], "column": names[b]})
                )


def _ratio(value: float) -> str:
    return f"{value:.2f}" if value >= 1 else f"1/{1 / value:.2f}"


@transaction.atomic
def manual_score_record(
    *,
    indicator: Indicator,
    unit_kind: str,
    unit_key: str,
    period_start: dt.date,
    period_end: dt.date,
    value: float,
    actor: Any,
    note: str = "",
    at: dt.datetime | None = None,
) -> ManualScore:
    """Enter (or correct) a per-period value of a manual indicator; who entered it is kept."""
    _require_manager(actor)
    if indicator.source != Source.MANUAL or indicator.children.exists():
        raise InvalidInputError.for_field("indicator", Problem("manual_leaf_only"))
    if unit_kind not in UnitKind.values:
        raise InvalidInputError.for_field("unit_kind", Problem("unit_kind_unknown"))
    if not unit_key.strip():
        raise InvalidInputError.for_field("unit_key", Problem("unit_key_required"))
    if period_end < period_start:
        raise InvalidInputError.for_field("period_end", Problem("period_reversed"))
    if not math.isfinite(value):
        raise InvalidInputError.for_field("value", Problem("number_required"))
    score, _created = ManualScore.objects.update_or_create(
        indicator=indicator,
        unit_kind=unit_kind,
        unit_key=unit_key.strip(),
        period_start=period_start,
        period_end=period_end,
        defaults={
            "value": value,
            "note": note,
            "entered_by": actor,
            "entered_at": at or timezone.now(),
        },
    )
    return score


# -- running an evaluation ------------------------------------------------------------------------


def _leaves(system: IndicatorSystem) -> tuple[list[Indicator], dict[int, Indicator]]:
    nodes = list(system.indicators.select_related("parent").order_by("order", "id"))
    parents = {n.parent_id for n in nodes if n.parent_id is not None}
    by_id = {n.pk: n for n in nodes}
    leaves = [n for n in nodes if n.pk not in parents]

    def path_key(node: Indicator) -> tuple[int, ...]:
        keys: list[int] = []
        current: Indicator | None = node
        while current is not None:
            keys.insert(0, current.order)
            current = by_id.get(current.parent_id) if current.parent_id else None
        return tuple(keys)

    leaves.sort(key=path_key)
    return leaves, by_id


def _top(node: Indicator, by_id: dict[int, Indicator]) -> Indicator:
    while node.parent_id is not None:
        node = by_id[node.parent_id]
    return node


def _subjective_weights(
    leaves: list[Indicator], by_id: dict[int, Indicator], *, ahp: bool
) -> dict[str, float]:
    """Global leaf weights: the product of the local weights (normalised among siblings) up the tree."""
    siblings: dict[int | None, list[Indicator]] = {}
    for node in by_id.values():
        siblings.setdefault(node.parent_id, []).append(node)

    def local(node: Indicator) -> float:
        group = siblings[node.parent_id]
        if ahp:
            if len(group) == 1:
                return 1.0
            if any(n.ahp_weight is None for n in group):
                if node.parent_id is None:
                    raise InvalidInputError(Problem("ahp_missing_top"))
                parent = Named.of(by_id[node.parent_id])
                raise InvalidInputError(Problem("ahp_missing", {"group": parent}))
            total = sum(n.ahp_weight or 0.0 for n in group)
            return (node.ahp_weight or 0.0) / total if total > 0 else 0.0
        total = sum(n.weight for n in group)
        return node.weight / total if total > 0 else 0.0

    out: dict[str, float] = {}
    for leaf in leaves:
        weight, current = 1.0, leaf
        while True:
            weight *= local(current)
            if current.parent_id is None:
                break
            current = by_id[current.parent_id]
        out[leaf.code] = weight
    return out


def _manual_values(
    leaves: list[Indicator], unit_kind: str, period: Period
) -> dict[str, dict[str, float]]:
    rows = ManualScore.objects.filter(
        indicator__in=[leaf for leaf in leaves if leaf.source == Source.MANUAL],
        unit_kind=unit_kind,
        period_start__gte=period.start,
        period_end__lte=period.end,
    ).values_list("indicator__code", "unit_key", "value")
    sums: dict[str, dict[str, list[float]]] = {}
    for code, unit, value in rows:
        sums.setdefault(code, {}).setdefault(unit, []).append(value)
    return {code: {u: sum(v) / len(v) for u, v in units.items()} for code, units in sums.items()}


@transaction.atomic
def evaluation_run(
    *,
    system: IndicatorSystem,
    unit_kind: str,
    period_start: dt.date,
    period_end: dt.date,
    method: str,
    weighting: str,
    actor: Any,
    name: str = "",
    alpha: float = 0.5,
    tiers: int = 3,
    at: dt.datetime | None = None,
) -> Evaluation:
    """Measure every leaf indicator per unit over the period, weight, score and store it all.

    An indicator measured for fewer than half of the units (no survey answers, no manual score
    entered) is left out and listed with the reason, the other weights scaled back to 1; one
    measured for most units gives the others the median of theirs, said in each such measure's
    basis and in ``details["imputed"]``.
    """
    _require_manager(actor)
    problems: dict[str, list[Problem]] = {}
    if unit_kind not in UnitKind.values:
        problems["unit_kind"] = [Problem("unit_kind_unknown")]
    if method not in Method.values:
        problems["method"] = [Problem("method_unknown")]
    if weighting not in Weighting.values:
        problems["weighting"] = [Problem("weighting_unknown")]
    if period_end < period_start:
        problems["period_end"] = [Problem("period_reversed")]
    if not 0.0 <= alpha <= 1.0:
        problems["alpha"] = [Problem("alpha_range")]
    if not 2 <= tiers <= 7:
        problems["tiers"] = [Problem("tiers_range", {"low": 2, "high": 7})]
    if problems:
        raise InvalidInputError(Problem("evaluation_settings_invalid"), fields=problems)

    period = Period(period_start, period_end)
    leaves, by_id = _leaves(system)
    if not leaves:
        raise InvalidInputError(Problem("system_empty"))
    computed = [
        leaf
        for leaf in leaves
        if leaf.source in (Source.COMPUTED, Source.SURVEY, Source.QA) and leaf.measure in MEASURES
    ]
    units, measured, counts = compute_measures(
        sorted({leaf.measure for leaf in computed}),
        period,
        unit_kind,
        parameters=system_parameters(system),
    )
    if len(units) < MIN_UNITS:
        raise InvalidInputError(Problem("too_few_units", {"min": MIN_UNITS, "found": len(units)}))
    manual = _manual_values(leaves, unit_kind, period)
    keys = [u.key for u in units]
    columns: dict[str, list[float]] = {}
    basis: dict[str, str] = {}
    excluded: list[dict[str, str]] = []
    imputed: dict[str, list[str]] = {}
    for leaf in leaves:
        if leaf.source in (Source.COMPUTED, Source.SURVEY, Source.QA) and leaf.measure in MEASURES:
            values = measured[leaf.measure]
            spec = MEASURES[leaf.measure]
            basis[leaf.code] = str(spec.basis_for(unit_kind))
        elif leaf.source == Source.MANUAL:
            values = manual.get(leaf.code, {})
            basis[leaf.code] = _("entered per period")
        else:
            excluded.append(
                {"code": leaf.code, "name": leaf.label, "reason": _("no data source yet")}
            )
            continue
        missing = [u for u in units if u.key not in values]
        present = [float(values[u.key]) for u in units if u.key in values]
        if missing and (len(present) < MIN_UNITS or len(present) * 2 < len(units)):
            names = [u.label for u in missing]
            excluded.append(
                {
                    "code": leaf.code,
                    "name": leaf.label,
                    "reason": _("no value for %(units)s") % {"units": ", ".join(names[:5])}
                    + (" …" if len(names) > 5 else ""),
                }
            )
            continue
        if missing:
            # Most units have a value: the others get the median of theirs, said in the basis.
            median = statistics.median(present)
            values = {**values, **{u.key: median for u in missing}}
            imputed[leaf.code] = [u.key for u in missing]
        columns[leaf.code] = [float(values[k]) for k in keys]
    if not columns:
        raise InvalidInputError(Problem("nothing_to_evaluate"))
    used = [leaf for leaf in leaves if leaf.code in columns]
    table = pl.DataFrame({"unit": keys, **columns})
    directions = {leaf.code: leaf.direction for leaf in used}
    weights = _weights(weighting, used, by_id, table, directions, alpha)
    scores = _score(method, table, weights, directions, tiers)
    return _store(
        system=system,
        name=name or _default_name(unit_kind, period, method),
        unit_kind=unit_kind,
        period=period,
        method=method,
        weighting=weighting,
        alpha=alpha,
        tiers=tiers,
        actor=actor,
        at=at or timezone.now(),
        units=units,
        used=used,
        by_id=by_id,
        table=table,
        scores=scores,
        excluded=excluded,
        basis=basis,
        counts={leaf.code: counts.get(leaf.measure, {}) for leaf in used},
        imputed=imputed,
    )


def system_parameters(system: IndicatorSystem) -> dict[str, Any]:
    """Run parameters kept with the system (cost per hour by team code, ``default``)."""
    parameters = system.parameters if isinstance(system.parameters, dict) else {}
    rates = parameters.get("cost_per_hour")
    return {"cost_per_hour": rates if isinstance(rates, dict) else {}}


def _weights(
    weighting: str,
    used: list[Indicator],
    by_id: dict[int, Indicator],
    table: pl.DataFrame,
    directions: dict[str, str],
    alpha: float,
) -> dict[str, float]:
    def renormalised(raw: dict[str, float]) -> dict[str, float]:
        kept = {leaf.code: raw[leaf.code] for leaf in used}
        total = sum(kept.values())
        if total <= 0:
            raise InvalidInputError(Problem("weights_left_zero"))
        return {k: v / total for k, v in kept.items()}

    def objective() -> dict[str, float]:
        try:
            return entropy_weights(table, directions=directions, normalisation="minmax")
        except InvalidParameterError:
            raise InvalidInputError(Problem("entropy_no_variation")) from None

    if weighting == Weighting.ENTROPY:
        return objective()
    has_ahp = all(n.ahp_weight is not None for n in by_id.values() if _has_siblings(n, by_id))
    if weighting == Weighting.AHP:
        return renormalised(_subjective_weights(used, by_id, ahp=True))
    subjective = renormalised(_subjective_weights(used, by_id, ahp=False))
    if weighting == Weighting.BLEND:
        if has_ahp:
            subjective = renormalised(_subjective_weights(used, by_id, ahp=True))
        return blend_weights(subjective, objective(), alpha=alpha)
    return subjective


def _has_siblings(node: Indicator, by_id: dict[int, Indicator]) -> bool:
    return sum(1 for n in by_id.values() if n.parent_id == node.parent_id) > 1


def _score(
    method: str,
    table: pl.DataFrame,
    weights: dict[str, float],
    directions: dict[str, str],
    tiers: int,
) -> Scores:
    if method == Method.TOPSIS:
        return topsis(table, weights, directions=directions)
    if method == Method.RSR:
        return rank_sum_ratio(table, weights, directions=directions, tiers=tiers)
    return weighted_sum(table, weights, directions=directions)


def _default_name(unit_kind: str, period: Period, method: str) -> str:
    return f"{UnitKind(unit_kind).label} {period.start:%Y-%m-%d}..{period.end:%Y-%m-%d} ({Method(method).label})"


def _store(
    *,
    system: IndicatorSystem,
    name: str,
    unit_kind: str,
    period: Period,
    method: str,
    weighting: str,
    alpha: float,
    tiers: int,
    actor: Any,
    at: dt.datetime,
    units: list[Unit],
    used: list[Indicator],
    by_id: dict[int, Indicator],
    table: pl.DataFrame,
    scores: Scores,
    excluded: list[dict[str, str]],
    basis: dict[str, str],
    counts: dict[str, dict[str, int]],
    imputed: dict[str, list[str]],
) -> Evaluation:
    details = {k: v for k, v in scores.details.items() if k != "ranks"}
    if imputed:
        details["imputed"] = imputed
    evaluation = Evaluation(
        system=system,
        name=name[:200],
        unit_kind=unit_kind,
        period_start=period.start,
        period_end=period.end,
        method=method,
        weighting=weighting,
        alpha=alpha,
        tiers=tiers,
        weights=scores.weights,
        excluded=excluded,
        details=details,
        created_by=actor,
        created_at=at,
    )
    evaluation.full_clean()
    evaluation.save()
    labels = {u.key: u.label for u in units}
    normalised = {row["unit"]: row for row in scores.normalised.to_dicts()}
    contributions = {row["unit"]: row for row in scores.contributions.to_dicts()}
    raw = {row["unit"]: row for row in table.to_dicts()}
    tops = {leaf.code: _top(leaf, by_id) for leaf in used}
    results = []
    for row in scores.scores.to_dicts():
        key = row["unit"]
        # Per first-level indicator: the weighted mean of its leaves' normalised values (the
        # plain mean when the weights there are all 0, e.g. entropy on values that do not vary).
        dimensions: dict[str, list[float]] = {}
        for leaf in used:
            w = scores.weights[leaf.code]
            value = float(normalised[key][leaf.code])
            bucket = dimensions.setdefault(tops[leaf.code].code, [0.0, 0.0, 0.0, 0.0])
            bucket[0] += w * value
            bucket[1] += w
            bucket[2] += value
            bucket[3] += 1
        extra = {
            k: row[k] for k in ("distance_best", "distance_worst", "probit", "fitted") if k in row
        }
        results.append(
            EvaluationResult(
                evaluation=evaluation,
                unit_key=key,
                unit_label=labels.get(key, key)[:200],
                score=float(row["score"]),
                rank=int(row["rank"]),
                tier=row.get("tier"),
                dimensions={
                    code: (total / weight if weight > 0 else plain / count)
                    for code, (total, weight, plain, count) in dimensions.items()
                },
                details=extra,
            )
        )
    EvaluationResult.objects.bulk_create(results)
    EvaluationMeasure.objects.bulk_create(
        EvaluationMeasure(
            evaluation=evaluation,
            indicator=leaf,
            unit_key=u.key,
            raw_value=float(raw[u.key][leaf.code]),
            normalised=float(normalised[u.key][leaf.code]),
            weight=float(scores.weights[leaf.code]),
            contribution=float(contributions[u.key][leaf.code]),
            basis=(
                _("no data: the median of the other units")
                if u.key in imputed.get(leaf.code, ())
                else _basis(basis[leaf.code], counts.get(leaf.code, {}).get(u.key))
            )[:300],
        )
        for u in units
        for leaf in used
    )
    return evaluation


def _basis(text: str, n: int | None) -> str:
    if n is None:
        return text
    return _("%(basis)s (n = %(n)d)") % {"basis": text, "n": n}
