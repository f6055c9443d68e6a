"""Reading a units x indicators table once, checked, into a float matrix.

Every scoring function takes the same table shape: one row per unit (team, agent, month, ...),
one column naming the unit and one column per indicator. The checks live here so that every
method refuses bad input with the same, specific message.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from ..errors import InvalidParameterError, MissingColumnError

__all__ = ["Direction", "Table", "check_weights", "read_table"]

Direction = Literal["benefit", "cost"]
_DIRECTIONS = ("benefit", "cost")


@dataclass(frozen=True)
class Table:
    """The checked table: unit names, indicator names, their directions and the values."""

    units: list[str]
    indicators: list[str]
    directions: list[Direction]
    values: np.ndarray  # shape (units, indicators), float64, all finite

    @property
    def benefit(self) -> np.ndarray:
        """One boolean per indicator: True where more is better."""
        return np.array([d == "benefit" for d in self.directions])


def read_table(
    table: pl.DataFrame,
    *,
    unit: str,
    indicators: Sequence[str] | None,
    directions: Mapping[str, str] | None,
    min_units: int = 1,
) -> Table:
    """Check ``table`` and return its values as a float matrix.

    Refuses a missing column, an empty or non-numeric indicator, a repeated unit, a missing or
    non-finite value (naming the unit and indicator) and an unknown direction.
    """
    if not isinstance(table, pl.DataFrame):
        raise InvalidParameterError(f"table must be a polars DataFrame, not {type(table).__name__}")
    if unit not in table.columns:
        raise MissingColumnError(unit, table.columns)
    names = [c for c in table.columns if c != unit] if indicators is None else list(indicators)
    if not names:
        raise InvalidParameterError("the table has no indicator columns to score")
    if len(set(names)) != len(names):
        raise InvalidParameterError(f"indicators are repeated: {names}")
    for name in names:
        if name not in table.columns:
            raise MissingColumnError(name, table.columns)
        if name == unit:
            raise InvalidParameterError(f"{name!r} is the unit column, not an indicator")
        if not table.schema[name].is_numeric():
            raise InvalidParameterError(
                f"indicator {name!r} must be numeric, not {table.schema[name]}"
            )
    units = [str(u) for u in table.get_column(unit).to_list()]
    if len(units) < min_units:
        raise InvalidParameterError(f"at least {min_units} unit(s) are needed, got {len(units)}")
    seen: set[str] = set()
    for name in units:
        if name in seen:
            raise InvalidParameterError(f"unit {name!r} appears more than once")
        seen.add(name)
    dirs = dict(directions or {})
    unknown = set(dirs) - set(names)
    if unknown:
        raise InvalidParameterError(
            f"directions name indicators that are not scored: {sorted(unknown)}"
        )
    resolved: list[Direction] = []
    for name in names:
        direction = dirs.get(name, "benefit")
        if direction not in _DIRECTIONS:
            raise InvalidParameterError(
                f"direction of {name!r} must be 'benefit' or 'cost', not {direction!r}"
            )
        resolved.append(direction)  # type: ignore[arg-type]
    values = table.select(pl.col(names).cast(pl.Float64)).to_numpy()
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise InvalidParameterError(
            f"indicator {names[col]!r} has no usable value for unit {units[row]!r} "
            f"({int(bad.sum())} missing or non-finite value(s) in the table)"
        )
    return Table(units=units, indicators=names, directions=resolved, values=values)


def check_weights(weights: Mapping[str, float], indicators: Sequence[str]) -> np.ndarray:
    """Weights in indicator order, scaled to sum to 1; refuses missing, extra or negative ones."""
    missing = [name for name in indicators if name not in weights]
    extra = sorted(set(weights) - set(indicators))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"no weight for {missing}")
        if extra:
            parts.append(f"weights for unknown indicators {extra}")
        raise InvalidParameterError("; ".join(parts))
    out = np.array([float(weights[name]) for name in indicators])
    for name, value in zip(indicators, out, strict=True):
        if not math.isfinite(value) or value < 0:
            raise InvalidParameterError(f"weight of {name!r} must be >= 0, not {value!r}")
    total = out.sum()
    if total <= 0:
        raise InvalidParameterError("weights sum to 0: give at least one indicator a weight")
    return out / total
