"""Composite scores of units: normalised weighted sum and TOPSIS."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from ._normalise import Normalisation, normalise_matrix
from ._table import check_weights, read_table

__all__ = ["Scores", "rank_descending", "topsis", "weighted_sum"]

#: Distances in the weighted, vector-normalised table (each entry at most its weight, weights
#: summing to 1) below this are rounding noise, not a difference between units.
_TIE = 1e-12


@dataclass(frozen=True)
class Scores:
    """A composite evaluation, with what it was computed from.

    ``scores``: one row per unit, best first: ``unit``, ``score``, ``rank`` (1 is best; ties
    share a rank) and method-specific columns (TOPSIS ``distance_best``, ``distance_worst``;
    RSR ``probit``, ``fitted``, ``tier``). ``normalised``: the per-indicator values that
    entered the score (higher is better), ``contributions``: each indicator's part of the
    score, so that every score can be traced back to its inputs. ``details`` holds what the
    method adds (TOPSIS ideals, the RSR regression and tier thresholds).
    """

    method: str
    weights: dict[str, float]
    scores: pl.DataFrame
    normalised: pl.DataFrame
    contributions: pl.DataFrame
    details: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """Plain Python values (for JSON or storage)."""
        return {
            "method": self.method,
            "weights": dict(self.weights),
            "scores": self.scores.to_dicts(),
            "normalised": self.normalised.to_dicts(),
            "contributions": self.contributions.to_dicts(),
            "details": self.details,
        }


def rank_descending(values: np.ndarray) -> np.ndarray:
    """Competition ranks, 1 for the highest value; equal values (to 1e-12) share a rank."""
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values), dtype=np.int64)
    for position, index in enumerate(order):
        previous = order[position - 1] if position else None
        if previous is not None and abs(values[index] - values[previous]) <= 1e-12:
            ranks[index] = ranks[previous]
        else:
            ranks[index] = position + 1
    return ranks


def _frame(unit: str, units: list[str], names: list[str], matrix: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame(
        {unit: units, **{name: matrix[:, j] for j, name in enumerate(names)}},
        schema={unit: pl.String, **dict.fromkeys(names, pl.Float64)},
    )


def _scores_frame(
    unit: str, units: list[str], score: np.ndarray, extra: dict[str, object] | None = None
) -> pl.DataFrame:
    frame = pl.DataFrame(
        {unit: units, "score": score, "rank": rank_descending(score), **(extra or {})},
        strict=False,
    )
    return frame.sort(["rank", unit])


def weighted_sum(
    table: pl.DataFrame,
    weights: Mapping[str, float],
    *,
    unit: str = "unit",
    indicators: Sequence[str] | None = None,
    directions: Mapping[str, str] | None = None,
    normalisation: Normalisation = "minmax",
) -> Scores:
    """Normalised weighted sum (simple additive weighting).

    Every indicator is normalised with its direction (see :func:`normalise`), then
    ``score_i = sum_j w_j r_ij`` with the weights scaled to sum to 1. With min-max
    normalisation the score lies in 0..1.

    Examples
    --------
    >>> t = pl.DataFrame({"unit": ["a", "b", "c"], "csat": [4.0, 5.0, 3.0], "hours": [2, 4, 6]})
    >>> r = weighted_sum(t, {"csat": 0.5, "hours": 0.5}, directions={"hours": "cost"})
    >>> r.scores.rows()
    [('a', 0.75, 1), ('b', 0.75, 1), ('c', 0.0, 3)]
    """
    indicator_names = list(weights) if indicators is None else indicators
    data = read_table(table, unit=unit, indicators=indicator_names, directions=directions)
    w = check_weights(weights, data.indicators)
    r = normalise_matrix(data.values, data.benefit, normalisation)
    contributions = r * w
    score = contributions.sum(axis=1)
    return Scores(
        method="weighted_sum",
        weights=dict(zip(data.indicators, map(float, w), strict=True)),
        scores=_scores_frame(unit, data.units, score),
        normalised=_frame(unit, data.units, data.indicators, r),
        contributions=_frame(unit, data.units, data.indicators, contributions),
        details={"normalisation": normalisation},
    )


def topsis(
    table: pl.DataFrame,
    weights: Mapping[str, float],
    *,
    unit: str = "unit",
    indicators: Sequence[str] | None = None,
    directions: Mapping[str, str] | None = None,
) -> Scores:
    """TOPSIS (Hwang & Yoon 1981): closeness to the ideal unit.

    Values are vector-normalised (``x_ij / sqrt(sum_i x_ij^2)``) and weighted; the ideal takes
    the best value of every indicator (the highest for a benefit, the lowest for a cost
    indicator), the anti-ideal the worst. The score is the relative closeness
    ``C_i = D_i^- / (D_i^+ + D_i^-)`` from the Euclidean distances to the ideal (``D^+``) and the
    anti-ideal (``D^-``): 1 for a unit that is best everywhere, 0 for one worst everywhere (0.5
    for every unit when no indicator varies).

    Examples
    --------
    >>> t = pl.DataFrame({"unit": ["a", "b", "c"], "csat": [4.0, 5.0, 3.0], "hours": [2, 4, 6]})
    >>> r = topsis(t, {"csat": 0.5, "hours": 0.5}, directions={"hours": "cost"})
    >>> [(u, round(s, 3), k) for u, s, k in r.scores.select("unit", "score", "rank").rows()]
    [('a', 0.796, 1), ('b', 0.593, 2), ('c', 0.0, 3)]
    """
    indicator_names = list(weights) if indicators is None else indicators
    data = read_table(table, unit=unit, indicators=indicator_names, directions=directions)
    w = check_weights(weights, data.indicators)
    x = data.values
    norms = np.sqrt((x**2).sum(axis=0))
    r = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    v = r * w
    benefit = data.benefit
    ideal = np.where(benefit, v.max(axis=0), v.min(axis=0))
    anti = np.where(benefit, v.min(axis=0), v.max(axis=0))
    d_best = np.sqrt(((v - ideal) ** 2).sum(axis=1))
    d_worst = np.sqrt(((v - anti) ** 2).sum(axis=1))
    total = d_best + d_worst
    # Units closer than rounding noise are tied (0.5): otherwise rescaling an indicator, which
    # moves its last bits, could flip a tie into 1 versus 0.
    closeness = np.divide(d_worst, total, out=np.full_like(total, 0.5), where=total > _TIE)
    # The normalised table states, per indicator, how close each unit is to that indicator's
    # ideal (1) versus anti-ideal (0): the trace a reader needs to see why a unit ranks where.
    spread = ideal - anti
    toward = np.divide(v - anti, spread, out=np.ones_like(v), where=np.abs(spread) > _TIE)
    return Scores(
        method="topsis",
        weights=dict(zip(data.indicators, map(float, w), strict=True)),
        scores=_scores_frame(
            unit,
            data.units,
            closeness,
            {"distance_best": d_best, "distance_worst": d_worst},
        ),
        normalised=_frame(unit, data.units, data.indicators, toward),
        contributions=_frame(unit, data.units, data.indicators, v),
        details={
            "ideal": dict(zip(data.indicators, map(float, ideal), strict=True)),
            "anti_ideal": dict(zip(data.indicators, map(float, anti), strict=True)),
        },
    )
