"""Rank-sum ratio (RSR, Tian Fengtiao 1988) with probit-based grading into tiers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import Literal

import numpy as np
import polars as pl

from ..errors import InvalidParameterError
from ._methods import Scores, _frame, _scores_frame
from ._table import check_weights, read_table

__all__ = ["probit_thresholds", "rank_sum_ratio"]

_NORMAL = NormalDist()


def probit_thresholds(tiers: int) -> list[float]:
    """Probit cut points between ``tiers`` tiers, from the worst tier to the best.

    Tian's table of grading points: 3 tiers cut at probit 4 and 6 (the 15.866th and 84.134th
    percentiles), 4 at 3.5, 5, 6.5, 5 at 3.2, 4.4, 5.6, 6.8, ... i.e. evenly spaced
    ``5 + (i - tiers / 2) * 6 / tiers`` for ``i = 1 .. tiers - 1``.

    Examples
    --------
    >>> probit_thresholds(3)
    [4.0, 6.0]
    >>> probit_thresholds(5)
    [3.2, 4.4, 5.6, 6.8]
    """
    if not isinstance(tiers, int) or not 2 <= tiers <= 10:
        raise InvalidParameterError(f"tiers must be an integer from 2 to 10, not {tiers!r}")
    step = 6.0 / tiers
    return [round(5.0 + (i - tiers / 2) * step, 10) for i in range(1, tiers)]


def _average_ranks(col: np.ndarray) -> np.ndarray:
    """Ranks 1..n from the smallest value; tied values share their average rank."""
    order = np.argsort(col, kind="stable")
    ranks = np.empty(len(col))
    sorted_values = col[order]
    start = 0
    while start < len(col):
        end = start
        while end + 1 < len(col) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def rank_sum_ratio(
    table: pl.DataFrame,
    weights: Mapping[str, float] | None = None,
    *,
    unit: str = "unit",
    indicators: Sequence[str] | None = None,
    directions: Mapping[str, str] | None = None,
    ranking: Literal["integer", "non-integer"] = "integer",
    tiers: int = 3,
) -> Scores:
    """Rank-sum ratio of every unit and its tier (1 is the best tier).

    Each indicator is ranked over the *n* units, the best unit getting rank *n* (the largest
    value of a benefit indicator, the smallest of a cost one; ties share their average rank:
    the "integer" method). ``"non-integer"`` ranks keep the distances:
    ``R = 1 + (n - 1) (x - min) / (max - min)`` (reversed for a cost indicator). The weighted
    rank-sum ratio is ``WRSR_i = sum_j w_j R_ij / n`` (with equal weights, the plain
    ``RSR_i = sum_j R_ij / (m n)``).

    Grading follows Tian: the distinct RSR values are sorted; each gets its cumulative
    frequency from its average rank ``R / n`` (the last one corrected to ``1 - 1 / (4 n)``),
    turned into a probit ``5 + Phi^-1(p)``; RSR is regressed on the probit by least squares
    and the units are cut into ``tiers`` tiers at the probit points of
    :func:`probit_thresholds`. ``details`` holds the regression (``intercept``, ``slope``,
    ``r_squared``) and the thresholds in probit and in fitted-RSR units; the ``fitted`` column
    is the regression's RSR for the unit. With fewer than two distinct RSR values there is no
    regression and no tier.

    Examples
    --------
    >>> t = pl.DataFrame(
    ...     {"unit": list("abcde"), "csat": [4.0, 5.0, 3.0, 4.5, 2.0], "hours": [2, 3, 6, 4, 5]}
    ... )
    >>> r = rank_sum_ratio(t, directions={"hours": "cost"})
    >>> [(u, round(s, 2), k) for u, s, k in r.scores.select("unit", "score", "tier").rows()]
    [('b', 0.9, 1), ('a', 0.8, 2), ('d', 0.7, 2), ('c', 0.3, 2), ('e', 0.3, 2)]
    """
    indicator_names = (
        (list(weights) if weights is not None else None) if indicators is None else indicators
    )
    data = read_table(
        table, unit=unit, indicators=indicator_names, directions=directions, min_units=2
    )
    m = len(data.indicators)
    w = check_weights(weights, data.indicators) if weights is not None else np.full(m, 1.0 / m)
    if ranking not in ("integer", "non-integer"):
        raise InvalidParameterError(f"ranking must be 'integer' or 'non-integer', not {ranking!r}")
    x = data.values
    n = x.shape[0]
    ranks = np.empty_like(x)
    for j in range(m):
        col = x[:, j] if data.benefit[j] else -x[:, j]
        if ranking == "integer":
            ranks[:, j] = _average_ranks(col)
        else:
            lo, hi = col.min(), col.max()
            ranks[:, j] = 1 + (n - 1) * (col - lo) / (hi - lo) if hi > lo else (n + 1) / 2
    contributions = ranks * w / n
    rsr = contributions.sum(axis=1)

    # Distribution of the RSR values: average rank of each distinct value -> probit.
    distinct, inverse, counts = np.unique(
        np.round(rsr, 12), return_inverse=True, return_counts=True
    )
    cumulative = np.cumsum(counts)
    average_rank = cumulative - (counts - 1) / 2
    share = average_rank / n
    share[-1] = 1 - 1 / (4 * n)
    probit_distinct = np.array([5 + _NORMAL.inv_cdf(float(p)) for p in share])
    probit = probit_distinct[inverse]

    cut = probit_thresholds(tiers)
    details: dict[str, object] = {
        "ranking": ranking,
        "tiers": tiers,
        "probit_thresholds": cut,
        "distribution": [
            {
                "rsr": float(value),
                "count": int(count),
                "cumulative": int(cum),
                "average_rank": float(avg),
                "share": float(p),
                "probit": float(pb),
            }
            for value, count, cum, avg, p, pb in zip(
                distinct, counts, cumulative, average_rank, share, probit_distinct, strict=True
            )
        ],
        "ranks": {
            name: dict(zip(data.units, map(float, ranks[:, j]), strict=True))
            for j, name in enumerate(data.indicators)
        },
    }
    if len(distinct) >= 2:
        slope, intercept = np.polyfit(probit_distinct, distinct, 1)
        fitted = intercept + slope * probit
        predicted = intercept + slope * probit_distinct
        ss_res = float(((distinct - predicted) ** 2).sum())
        ss_tot = float(((distinct - distinct.mean()) ** 2).sum())
        details.update(
            intercept=float(intercept),
            slope=float(slope),
            r_squared=1 - ss_res / ss_tot if ss_tot > 0 else 1.0,
            rsr_thresholds=[float(intercept + slope * c) for c in cut],
        )
        # Tier 1 is the best: count how many cut points lie above the unit's probit.
        tier: list[int | None] = [int(1 + sum(1 for c in cut if p < c)) for p in probit]
        fitted_values: list[float | None] = [float(f) for f in fitted]
    else:
        tier = [None] * n
        fitted_values = [None] * n
    return Scores(
        method="rsr",
        weights=dict(zip(data.indicators, map(float, w), strict=True)),
        scores=_scores_frame(
            unit,
            data.units,
            rsr,
            {"probit": probit, "fitted": fitted_values, "tier": tier},
        ),
        normalised=_frame(unit, data.units, data.indicators, ranks / n),
        contributions=_frame(unit, data.units, data.indicators, contributions),
        details=details,
    )
