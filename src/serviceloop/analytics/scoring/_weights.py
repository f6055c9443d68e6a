"""Objective weights (Shannon entropy) and blending them with subjective ones."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import polars as pl

from ..errors import InvalidParameterError
from ._normalise import normalise_matrix
from ._table import read_table

__all__ = ["blend_weights", "entropy_weights"]


def entropy_weights(
    table: pl.DataFrame,
    *,
    unit: str = "unit",
    indicators: Sequence[str] | None = None,
    directions: Mapping[str, str] | None = None,
    normalisation: Literal["none", "minmax"] = "none",
    floor: float = 0.0,
) -> dict[str, float]:
    """Entropy weights: indicators that spread the units more get more weight.

    With ``p_ij = x_ij / sum_i x_ij``, the entropy of indicator *j* is
    ``e_j = -sum_i p_ij ln p_ij / ln m`` (``0 ln 0 = 0``, *m* units) and its weight
    ``w_j = (1 - e_j) / sum_k (1 - e_k)`` (Shannon; Zeleny 1982; Hwang & Yoon 1981).

    Parameters
    ----------
    table
        One row per unit, one column per indicator.
    normalisation
        ``"none"`` uses the values as they are (they must be >= 0; directions do not matter,
        only spread does); ``"minmax"`` first maps every indicator to 0..1 with its direction,
        the usual practice when values can be negative or lie on very different scales.
    floor
        With ``"minmax"``, map into ``floor .. 1`` instead of ``0 .. 1``
        (``floor + (1 - floor) * r``); 0.002 is a common choice in Chinese textbooks so that no
        share is exactly 0.

    Returns
    -------
    dict
        Indicator name to weight; the weights sum to 1.

    Examples
    --------
    >>> t = pl.DataFrame({"unit": ["a", "b", "c"], "x": [1, 1, 1], "y": [1, 2, 7]})
    >>> {k: round(v, 3) for k, v in entropy_weights(t).items()}
    {'x': 0.0, 'y': 1.0}
    """
    if normalisation not in ("none", "minmax"):
        raise InvalidParameterError(
            f"normalisation must be 'none' or 'minmax', not {normalisation!r}"
        )
    data = read_table(table, unit=unit, indicators=indicators, directions=directions, min_units=2)
    x = data.values
    if not 0.0 <= floor < 1.0:
        raise InvalidParameterError(f"floor must lie in [0, 1), not {floor!r}")
    if floor and normalisation != "minmax":
        raise InvalidParameterError("floor only applies with normalisation='minmax'")
    if normalisation == "minmax":
        x = floor + (1.0 - floor) * normalise_matrix(x, data.benefit, "minmax")
    elif (x < 0).any():
        col = int(np.argwhere(x < 0)[0][1])
        raise InvalidParameterError(
            f"indicator {data.indicators[col]!r} has negative values: entropy weights need "
            f"values >= 0 (pass normalisation='minmax')"
        )
    m = x.shape[0]
    totals = x.sum(axis=0)
    entropy = np.ones(x.shape[1])
    for j in range(x.shape[1]):
        if totals[j] <= 0:
            continue  # an all-zero indicator carries no information: entropy 1, weight 0
        p = x[:, j] / totals[j]
        nonzero = p[p > 0]
        entropy[j] = float(-(nonzero * np.log(nonzero)).sum() / math.log(m))
    diversity = np.clip(1.0 - entropy, 0.0, None)
    if diversity.sum() <= 1e-15:
        raise InvalidParameterError(
            "no indicator varies between the units: entropy weights are undefined"
        )
    w = diversity / diversity.sum()
    return {name: float(value) for name, value in zip(data.indicators, w, strict=True)}


def blend_weights(
    subjective: Mapping[str, float],
    objective: Mapping[str, float],
    *,
    alpha: float = 0.5,
    method: Literal["linear", "multiplicative"] = "linear",
) -> dict[str, float]:
    """Combine subjective (e.g. AHP) and objective (e.g. entropy) weights.

    ``"linear"``: ``alpha * s_j + (1 - alpha) * o_j``; ``"multiplicative"``:
    ``s_j * o_j / sum_k s_k * o_k`` (``alpha`` unused). Both inputs are first scaled to sum
    to 1 and must name the same indicators.

    Examples
    --------
    >>> blend_weights({"x": 0.8, "y": 0.2}, {"x": 0.4, "y": 0.6}, alpha=0.5)
    {'x': 0.6, 'y': 0.4}
    >>> {k: round(v, 3) for k, v in blend_weights(
    ...     {"x": 0.8, "y": 0.2}, {"x": 0.4, "y": 0.6}, method="multiplicative").items()}
    {'x': 0.727, 'y': 0.273}
    """
    if set(subjective) != set(objective):
        raise InvalidParameterError(
            f"the two weightings name different indicators: {sorted(set(subjective))} and "
            f"{sorted(set(objective))}"
        )
    if not math.isfinite(alpha) or not 0.0 <= alpha <= 1.0:
        raise InvalidParameterError(f"alpha must lie in [0, 1], not {alpha!r}")
    names = list(subjective)
    s = _scaled(subjective, names, "subjective")
    o = _scaled(objective, names, "objective")
    if method == "linear":
        w = alpha * s + (1.0 - alpha) * o
    elif method == "multiplicative":
        w = s * o
        if w.sum() <= 0:
            raise InvalidParameterError(
                "the subjective and objective weights share no indicator with weight > 0"
            )
    else:
        raise InvalidParameterError(f"method must be 'linear' or 'multiplicative', not {method!r}")
    w = w / w.sum()
    return {name: round(float(value), 15) for name, value in zip(names, w, strict=True)}


def _scaled(weights: Mapping[str, float], names: list[str], what: str) -> np.ndarray:
    values = np.array([float(weights[n]) for n in names])
    if not np.all(np.isfinite(values)) or (values < 0).any():
        raise InvalidParameterError(f"{what} weights must be finite and >= 0")
    if values.sum() <= 0:
        raise InvalidParameterError(f"{what} weights sum to 0")
    return values / values.sum()
