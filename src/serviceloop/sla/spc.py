"""Statistical process control for the service's daily indicators (no Django here).

- ``p_chart``: a share per period (the daily breach rate): centre p̄ = Σx / Σn over the baseline
  periods, limits p̄ ± 3·√(p̄(1−p̄)/nᵢ) per period (nᵢ varies), the lower one not below 0.
- ``xmr_chart``: one value per period (the daily mean resolution time): centre x̄ and mean moving
  range MR̄ over the baseline, limits x̄ ± 2.66·MR̄ (3/d₂, d₂ = 1.128); the moving-range chart has
  centre MR̄ and upper limit 3.267·MR̄ (D₄).
- ``western_electric``: the four Western Electric zone rules on the standardised points:
  1 one point beyond 3σ; 2 two of three in a row beyond 2σ on one side; 3 four of five in a row
  beyond 1σ on one side; 4 eight in a row on one side of the centre. A point is flagged with each
  rule whose run it completes.

Limits come from a baseline (the first ``baseline`` periods, all by default) and are applied to
every period, so a shift after the baseline shows as signals.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ChartPoint", "SpcError", "p_chart", "western_electric", "xmr_chart"]

D2 = 1.128  # d2 for moving ranges of two
D4 = 3.267  # D4 for moving ranges of two


class SpcError(ValueError):
    """Input a control chart cannot be drawn from."""


@dataclass(frozen=True)
class ChartPoint:
    value: float
    center: float
    lcl: float
    ucl: float
    rules: tuple[int, ...] = ()

    @property
    def out_of_control(self) -> bool:
        return bool(self.rules)


def western_electric(z: Sequence[float]) -> list[tuple[int, ...]]:
    """Per point, the Western Electric rules (1-4) it breaks; ``z`` are standardised points."""
    broken: list[tuple[int, ...]] = []
    for i, value in enumerate(z):
        rules = []
        if abs(value) > 3:
            rules.append(1)
        for rule, window, need, beyond in ((2, 3, 2, 2.0), (3, 5, 4, 1.0)):
            if i + 1 >= window:
                recent = z[i + 1 - window : i + 1]
                for side in (1, -1):
                    if side * value > beyond and sum(side * v > beyond for v in recent) >= need:
                        rules.append(rule)
        if i + 1 >= 8:
            recent = z[i - 7 : i + 1]
            if all(v > 0 for v in recent) or all(v < 0 for v in recent):
                rules.append(4)
        broken.append(tuple(sorted(set(rules))))
    return broken


def _baseline(n: int, baseline: int | None) -> int:
    if n == 0:
        raise SpcError("A control chart needs at least one period.")
    if baseline is None:
        return n
    if not 1 <= baseline <= n:
        raise SpcError(f"The baseline must be 1 to {n} periods, not {baseline}.")
    return baseline


def p_chart(
    defectives: Sequence[int], sizes: Sequence[int], *, baseline: int | None = None
) -> list[ChartPoint]:
    """The p chart of ``defectives[i]`` out of ``sizes[i]`` per period."""
    if len(defectives) != len(sizes):
        raise SpcError("One size per period is needed.")
    if any(n <= 0 for n in sizes) or any(
        not 0 <= x <= n for x, n in zip(defectives, sizes, strict=True)
    ):
        raise SpcError("Each period needs a positive size and 0 <= defectives <= size.")
    base = _baseline(len(sizes), baseline)
    p_bar = sum(defectives[:base]) / sum(sizes[:base])
    sigmas = [math.sqrt(p_bar * (1 - p_bar) / n) for n in sizes]
    shares = [x / n for x, n in zip(defectives, sizes, strict=True)]
    z = [(p - p_bar) / s if s else 0.0 for p, s in zip(shares, sigmas, strict=True)]
    rules = western_electric(z)
    return [
        ChartPoint(p, p_bar, max(0.0, p_bar - 3 * s), min(1.0, p_bar + 3 * s), r)
        for p, s, r in zip(shares, sigmas, rules, strict=True)
    ]


def xmr_chart(
    values: Sequence[float], *, baseline: int | None = None
) -> tuple[list[ChartPoint], list[ChartPoint]]:
    """The individuals chart and the moving-range chart (one point fewer) of ``values``."""
    base = _baseline(len(values), baseline)
    if base < 2:
        raise SpcError("An XmR chart needs a baseline of at least two periods.")
    x_bar = sum(values[:base]) / base
    ranges = [abs(b - a) for a, b in itertools.pairwise(values)]
    mr_bar = sum(ranges[: base - 1]) / (base - 1)
    sigma = mr_bar / D2
    z = [(v - x_bar) / sigma if sigma else 0.0 for v in values]
    individuals = [
        ChartPoint(v, x_bar, x_bar - 3 * sigma, x_bar + 3 * sigma, r)
        for v, r in zip(values, western_electric(z), strict=True)
    ]
    moving = [
        ChartPoint(r, mr_bar, 0.0, D4 * mr_bar, (1,) if r > D4 * mr_bar else ()) for r in ranges
    ]
    return individuals, moving
