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

import numpy as np
import polars as pl

from ._schema import US

__all__ = ["SortedRuns", "sorted_runs"]


@dataclass(frozen=True)
class SortedRuns:
    """Durations (integer microseconds) sorted once, one run per key."""

    packed: np.ndarray  # uint64, sorted: key << bits | (value - offset)
    bits: int
    offset: int
    starts: np.ndarray  # int64, index of each key's first element (n_keys + 1 entries)

    @property
    def n_keys(self) -> int:
        return len(self.starts) - 1

    def counts(self) -> np.ndarray:
        """Values per key."""
        return np.diff(self.starts)

    def quantiles(self, groups: Sequence[Sequence[int]], qs: Sequence[float]) -> list[pl.Series]:
        """For each ``q`` in ``qs``: a Float64 series of seconds, one value per group (a group
        is the keys whose values it pools), null for an empty group; linear interpolation."""
        width = max((len(g) for g in groups), default=1) or 1
        members = np.full((len(groups), width), -1, dtype=np.int64)
        for i, g in enumerate(groups):
            members[i, : len(g)] = g
        valid = members >= 0
        safe = np.where(valid, members, 0)
        sizes = np.where(valid, self.counts()[safe], 0).sum(axis=1)
        out = []
        for q in qs:
            pos = (sizes - 1).astype(np.float64) * q  # as Polars: (n - 1) * q, in float
            lo_rank = np.floor(pos).astype(np.int64)
            hi_rank = np.ceil(pos).astype(np.int64)
            lower = self._select(safe, valid, lo_rank)
            upper = self._select(safe, valid, hi_rank)
            fraction = pos - lo_rank
            empty = sizes == 0
            out.append(_interpolate(lower, upper, fraction, empty))
        return out

    def _select(self, members: np.ndarray, valid: np.ndarray, rank: np.ndarray) -> np.ndarray:
        """The ``rank``-th smallest value (0-based) of each group's pooled runs, as integers.

        Bisection on the value: the answer is the least ``v`` with more than ``rank`` values
        ``<= v`` in the group's runs; each count is one ``searchsorted`` per run.
        """
        n_groups = len(rank)
        if len(self.packed) == 0:  # every group empty: the caller writes nulls
            return np.zeros(n_groups, dtype=np.int64)
        low = np.zeros(n_groups, dtype=np.uint64)
        high = np.full(n_groups, (1 << self.bits) - 1 if self.bits else 0, dtype=np.uint64)
        base = members.astype(np.uint64) << np.uint64(self.bits)
        before = np.where(valid, self.starts[members], 0)
        want = np.maximum(rank, 0) + 1
        # Single-run groups (every DFG edge) need no search: index straight into the run.
        single = valid.sum(axis=1) == 1
        result = np.zeros(n_groups, dtype=np.int64)
        if single.any():
            at = np.minimum(self.starts[members[single, 0]] + np.maximum(rank[single], 0),
                            len(self.packed) - 1)  # fmt: skip
            mask = np.uint64((1 << self.bits) - 1) if self.bits else np.uint64(0)
            result[single] = (self.packed[at] & mask).astype(np.int64)
        todo = ~single
        if todo.any():
            lo, hi = low[todo], high[todo]
            b, v, w = base[todo], valid[todo], before[todo]
            need = want[todo]
            while True:
                open_ = lo < hi
                if not open_.any():
                    break
                mid = lo + (hi - lo) // np.uint64(2)
                found = np.searchsorted(self.packed, b | mid[:, None], side="right") - w
                enough = np.where(v, found, 0).sum(axis=1) >= need
                hi = np.where(open_ & enough, mid, hi)
                lo = np.where(open_ & ~enough, mid + np.uint64(1), lo)
            result[todo] = lo.astype(np.int64)
        return result + self.offset


def _interpolate(
    lower: np.ndarray, upper: np.ndarray, fraction: np.ndarray, empty: np.ndarray
) -> pl.Series:
    """Seconds as Polars makes them (its ``/ 1e6``), then ``lower + (upper - lower) * f``."""
    frame = pl.DataFrame({"lo": lower, "hi": upper, "f": fraction, "empty": empty})
    lo = pl.col("lo").cast(pl.Float64) / US
    hi = pl.col("hi").cast(pl.Float64) / US
    value = pl.when(pl.col("empty")).then(None).otherwise(lo + (hi - lo) * pl.col("f"))
    return frame.select(value.alias("q")).to_series()


def sorted_runs(keys: pl.Series, values: pl.Series, n_keys: int) -> SortedRuns | None:
    """Sort ``values`` (integers, no nulls) by ``keys`` (integers in ``[0, n_keys)``) in one
    pass; None when a key and a value's spread do not fit in 64 bits together."""
    if values.len() == 0:
        return SortedRuns(np.zeros(0, np.uint64), 0, 0, np.zeros(n_keys + 1, np.int64))
    low, high = values.min(), values.max()
    assert isinstance(low, int) and isinstance(high, int)
    bits = int(high - low).bit_length()
    key_bits = max(1, (n_keys - 1).bit_length())
    if bits + key_bits > 64:
        return None
    shifted = (values.cast(pl.Int64) - low).cast(pl.UInt64)
    packed = keys.cast(pl.UInt64) * pl.Series([1 << bits], dtype=pl.UInt64) + shifted
    array = packed.sort().to_numpy()
    bounds = np.arange(n_keys, dtype=np.uint64) << np.uint64(bits)
    starts = np.append(np.searchsorted(array, bounds, side="left"), len(array)).astype(np.int64)
    return SortedRuns(array, bits, int(low), starts)
