"""Medians and percentiles of many groups from one sort, equal to Polars' own to the last bit.

Polars computes a median or a percentile inside a group-by by gathering and sorting each
group's values: three groupings of the same ten million steps (per edge, per target, per
source) cost three times that. Here every (key, duration) pair is packed into one unsigned
64-bit integer, ``key << bits | duration - min``, and the column is sorted once: each key's
durations are then one sorted run. A group that is several keys (an activity is reached
through every edge that ends in it) takes its order statistics from its runs by bisecting on
the value, counting with ``searchsorted`` (a few dozen steps per statistic, whatever the log's
size). The two values around a quantile are converted to seconds and interpolated as Polars
does (``lower + (upper - lower) * fraction`` at ``(n - 1) * q``); a property test checks the
results equal Polars' group-by to the bit.

When a key and a duration do not fit in 64 bits together (durations over thousands of years,
or millions of keys) :func:`sorted_runs` returns None and the caller groups with Polars.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from ._schema import US

__all__ = ["SortedRuns", "sorted_runs", "sorted_runs_of"]


@dataclass(frozen=True)
class SortedRuns:
    """Durations (integer microseconds) sorted once, one run per key.

    Only Polars and plain Python: NumPy's import alone would cost a tenth of a small run.
    """

    packed: pl.Series  # UInt64, sorted: key << bits | (value - offset)
    bits: int
    offset: int
    starts: list[int]  # index of each key's first element, then the length (n_keys + 1)

    @property
    def n_keys(self) -> int:
        return len(self.starts) - 1

    def counts(self) -> list[int]:
        """Values per key."""
        return [b - a for a, b in zip(self.starts, self.starts[1:], strict=False)]

    def quantiles(self, groups: Sequence[Sequence[int]], qs: Sequence[float]) -> list[pl.Series]:
        """For each ``q`` in ``qs``: a Float64 series of seconds, one value per group (a group
        is the keys whose values it pools), null for an empty group; linear interpolation."""
        counts = self.counts()
        sizes = [sum(counts[k] for k in g) for g in groups]
        wanted: list[tuple[Sequence[int], int]] = []  # (group, rank) of every order statistic
        plan = []
        for q in qs:
            for group, n in zip(groups, sizes, strict=True):
                pos = float(n - 1) * q  # as Polars: (n - 1) * q, in float
                lo, hi = int(pos // 1), -int(-pos // 1)
                plan.append((len(wanted), len(wanted) + 1, pos - lo, n == 0))
                wanted += [(group, max(lo, 0)), (group, max(hi, 0))]
        values = self._select(wanted)
        out = []
        per_q = len(groups)
        for i in range(len(qs)):
            rows = plan[i * per_q : (i + 1) * per_q]
            out.append(
                _interpolate(
                    [values[a] for a, _, _, _ in rows],
                    [values[b] for _, b, _, _ in rows],
                    [f for _, _, f, _ in rows],
                    [e for _, _, _, e in rows],
                )
            )
        return out

    def _select(self, wanted: list[tuple[Sequence[int], int]]) -> list[int]:
        """The ``rank``-th smallest value (0-based) of each group's pooled runs, as integers.

        A one-key group is read straight from its run. Several keys: bisection on the value,
        the answer being the least ``v`` with more than ``rank`` values ``<= v`` in the runs,
        every open question's counts found by one ``search_sorted`` per step.
        """
        out = [0] * len(wanted)
        if self.packed.len() == 0:  # every group empty: the caller writes nulls
            return out
        mask = (1 << self.bits) - 1
        last = self.packed.len() - 1
        direct = [i for i, (g, _) in enumerate(wanted) if len(g) == 1]
        if direct:
            at = [min(self.starts[wanted[i][0][0]] + wanted[i][1], last) for i in direct]
            found = self.packed.gather(at).to_list()
            for i, v in zip(direct, found, strict=True):
                out[i] = (v & mask) + self.offset
        pooled = [i for i, (g, _) in enumerate(wanted) if len(g) > 1]
        bounds = {i: [0, mask] for i in pooled}
        while True:
            open_ = [i for i in pooled if bounds[i][0] < bounds[i][1]]
            if not open_:
                break
            mids = {i: (bounds[i][0] + bounds[i][1]) // 2 for i in open_}
            targets = [(k << self.bits) | mids[i] for i in open_ for k in wanted[i][0]]
            ends = self.packed.search_sorted(pl.Series(targets, dtype=pl.UInt64), side="right")
            ends_list = ends.to_list()
            offset = 0
            for i in open_:
                keys = wanted[i][0]
                below = sum(ends_list[offset + j] - self.starts[k] for j, k in enumerate(keys))
                offset += len(keys)
                if below > wanted[i][1]:
                    bounds[i][1] = mids[i]
                else:
                    bounds[i][0] = mids[i] + 1
        for i in pooled:
            out[i] = bounds[i][0] + self.offset
        return out


def _interpolate(
    lower: list[int], upper: list[int], fraction: list[float], empty: list[bool]
) -> pl.Series:
    """Seconds as Polars makes them (its ``/ 1e6``), then ``lower + (upper - lower) * f``."""
    frame = pl.DataFrame(
        {"lo": lower, "hi": upper, "f": fraction, "empty": empty},
        schema={"lo": pl.Int64, "hi": pl.Int64, "f": pl.Float64, "empty": pl.Boolean},
    )
    lo = pl.col("lo").cast(pl.Float64) / US
    hi = pl.col("hi").cast(pl.Float64) / US
    value = pl.when(pl.col("empty")).then(None).otherwise(lo + (hi - lo) * pl.col("f"))
    return frame.select(value.alias("q")).to_series()


def sorted_runs(keys: pl.Series, values: pl.Series, n_keys: int) -> SortedRuns | None:
    """Sort ``values`` (integers, no nulls) by ``keys`` (integers in ``[0, n_keys)``) in one
    pass; None when a key and a value's spread do not fit in 64 bits together."""
    if values.len() == 0:
        return SortedRuns(pl.Series([], dtype=pl.UInt64), 0, 0, [0] * (n_keys + 1))
    low, high = values.min(), values.max()
    assert isinstance(low, int) and isinstance(high, int)
    bits = int(high - low).bit_length()
    key_bits = max(1, (n_keys - 1).bit_length())
    if bits + key_bits > 64:
        return None
    shifted = (values.cast(pl.Int64) - low).cast(pl.UInt64)
    packed = (keys.cast(pl.UInt64) * pl.Series([1 << bits], dtype=pl.UInt64) + shifted).sort()
    return _split(packed, bits, int(low), n_keys)


def sorted_runs_of(
    frame: pl.LazyFrame, key: pl.Expr, value: pl.Expr, n_keys: int
) -> SortedRuns | None:
    """:func:`sorted_runs` of ``key`` and ``value`` (integer expressions) over the rows of
    ``frame`` where ``value`` is not null, each packed integer made in one pass over the rows
    by Polars' streaming engine, a piece at a time (their order does not matter: they are
    sorted): no column of keys and values beside them (at 32M steps their columns and casts
    took 0.5 s and 1 GB, now 0.15 s)."""
    bounds = frame.select(value.min().alias("low"), value.max().alias("high")).collect(
        engine="streaming"
    )
    low, high = bounds.row(0)
    if low is None:
        return SortedRuns(pl.Series([], dtype=pl.UInt64), 0, 0, [0] * (n_keys + 1))
    bits = int(high - low).bit_length()
    if bits + max(1, (n_keys - 1).bit_length()) > 64:
        return None
    packed = (
        frame.select(
            key.cast(pl.UInt64) * pl.lit(1 << bits, pl.UInt64)
            + (value.cast(pl.Int64) - low).cast(pl.UInt64)
        )
        .drop_nulls()
        .collect(engine="streaming")
        .to_series()
        .sort()
    )
    return _split(packed, bits, int(low), n_keys)


def _split(packed: pl.Series, bits: int, low: int, n_keys: int) -> SortedRuns:
    """The runs of ``packed`` (sorted), one per key."""
    bounds = pl.Series([k << bits for k in range(n_keys)], dtype=pl.UInt64)
    starts = packed.search_sorted(bounds, side="left").to_list()
    return SortedRuns(packed, bits, low, [*starts, packed.len()])
