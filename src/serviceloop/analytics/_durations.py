"""Duration expressions shared by discovery and performance, so their columns always agree."""

from __future__ import annotations

import narwhals as nw

from ._schema import US


def seconds(expr: nw.Expr) -> nw.Expr:
    """Microsecond differences as float seconds."""
    return expr.cast(nw.Float64()) / US


def duration_stats(col: str, prefix: str) -> list[nw.Expr]:
    """``<prefix>mean/median/p90/total_seconds`` of ``col`` (p90 interpolates linearly, like NumPy)."""
    x = nw.col(col)
    return [
        x.mean().alias(f"{prefix}mean_seconds"),
        x.median().alias(f"{prefix}median_seconds"),
        x.quantile(0.9, interpolation="linear").alias(f"{prefix}p90_seconds"),
        x.sum().alias(f"{prefix}total_seconds"),
    ]
