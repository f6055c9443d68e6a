"""Putting indicators on one scale, with their direction (more is better / less is better)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import polars as pl

from ..errors import InvalidParameterError
from ._table import read_table

__all__ = ["Normalisation", "normalise", "normalise_matrix"]

Normalisation = Literal["minmax", "vector", "sum", "none"]


def normalise_matrix(x: np.ndarray, benefit: np.ndarray, method: str) -> np.ndarray:
    """Normalise each column of ``x``; cost columns are turned so that higher is better.

    ``minmax``: ``(x - min) / (max - min)`` (cost: ``(max - x) / (max - min)``); a column
    with one value everywhere becomes 1 for every unit (nobody is worse than anybody).
    ``vector``: ``x / sqrt(sum x^2)`` (cost: ``1 - x / sqrt(sum x^2)``). ``sum``:
    ``x / sum x`` (cost: ``(1 / x) / sum(1 / x)``, so values must be > 0). ``none``: as is
    (cost columns negated).
    """
    out = np.empty_like(x, dtype=float)
    for j in range(x.shape[1]):
        col = x[:, j]
        good = bool(benefit[j])
        if method == "minmax":
            lo, hi = col.min(), col.max()
            if hi - lo <= 1e-12 * max(1.0, abs(hi), abs(lo)):
                out[:, j] = 1.0
            else:
                out[:, j] = (col - lo) / (hi - lo) if good else (hi - col) / (hi - lo)
        elif method == "vector":
            norm = float(np.sqrt((col**2).sum()))
            r = col / norm if norm > 0 else np.zeros_like(col)
            out[:, j] = r if good else 1.0 - r
        elif method == "sum":
            if (col <= 0).any() if not good else (col < 0).any():
                raise InvalidParameterError(
                    "sum normalisation needs values >= 0 (and > 0 for cost indicators)"
                )
            if good:
                total = col.sum()
                out[:, j] = col / total if total > 0 else 1.0 / len(col)
            else:
                inverse = 1.0 / col
                out[:, j] = inverse / inverse.sum()
        elif method == "none":
            out[:, j] = col if good else -col
        else:
            raise InvalidParameterError(
                f"normalisation must be one of 'minmax', 'vector', 'sum', 'none', not {method!r}"
            )
    return out


def normalise(
    table: pl.DataFrame,
    *,
    unit: str = "unit",
    indicators: Sequence[str] | None = None,
    directions: Mapping[str, str] | None = None,
    method: Normalisation = "minmax",
) -> pl.DataFrame:
    """Return the table with every indicator normalised so that higher is better.

    Parameters
    ----------
    method
        ``"minmax"`` (0..1, the default), ``"vector"`` (Euclidean, as in TOPSIS), ``"sum"``
        (shares) or ``"none"``. See :func:`normalise_matrix` for the cost-indicator forms.

    Examples
    --------
    >>> t = pl.DataFrame({"unit": ["a", "b", "c"], "csat": [4.0, 5.0, 3.0], "hours": [2, 4, 6]})
    >>> normalise(t, directions={"hours": "cost"}).rows()
    [('a', 0.5, 1.0), ('b', 1.0, 0.5), ('c', 0.0, 0.0)]
    """
    data = read_table(table, unit=unit, indicators=indicators, directions=directions)
    values = normalise_matrix(data.values, data.benefit, method)
    return pl.DataFrame(
        {unit: data.units, **{name: values[:, j] for j, name in enumerate(data.indicators)}}
    )
