"""Working time: seconds counted only in the hours a pool is on shift.

Processing times are measured and simulated in working time, as calendar-based simulators do:
a task that is not finished when the shift ends pauses and goes on at the next shift, holding
its resource. ``to_work`` maps clock seconds (from a Monday 00:00) to working seconds since that
Monday; ``from_work`` maps back, to the earliest clock time with that much work behind it (an
off-shift moment maps to the end of the shift before it).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable

import numpy as np

from .model import HOURS_PER_WEEK

__all__ = ["Calendar"]


def _add(t: float, work: float) -> float:
    return t + work


HOUR = 3600.0
WEEK = HOURS_PER_WEEK * HOUR


class Calendar:
    """The on-shift hours of one pool, with conversions between clock and working time."""

    def __init__(self, mask: np.ndarray) -> None:
        self.mask = np.asarray(mask, dtype=bool)
        self.always = bool(self.mask.all())
        on = np.flatnonzero(self.mask)
        self.on_slots = on.tolist()
        cum = np.concatenate([[0.0], np.cumsum(self.mask * HOUR)])
        self.cum = cum  # working seconds before each slot (169 entries)
        self.per_week = float(cum[-1])
        self.on_cum = [float(x) for x in cum[on]]

    # -- scalars (engine) --------------------------------------------------------------------
    def to_work(self, t: float) -> float:
        if self.always:
            return t
        week, r = divmod(t, WEEK)
        s = int(r // HOUR)
        base = float(self.cum[s])
        if self.mask[s]:
            base += r - s * HOUR
        return week * self.per_week + base

    def from_work(self, x: float) -> float:
        """The earliest clock time with ``x`` working seconds behind it (work that ends as a
        shift ends is done then, not when the next shift opens)."""
        if self.always:
            return x
        week, rem = divmod(x, self.per_week)
        i = bisect.bisect_left(self.on_cum, rem) - 1
        if i < 0:  # exactly a week's work: the end of the previous week's last shift
            if week <= 0:
                return self.on_slots[0] * HOUR
            week, i, rem = week - 1, len(self.on_cum) - 1, rem + self.per_week
        return week * WEEK + self.on_slots[i] * HOUR + (rem - self.on_cum[i])

    def finish(self, t: float, work: float) -> float:
        """Clock time at which ``work`` working seconds started at ``t`` are done."""
        if self.always:
            return t + work
        return self.from_work(self.to_work(t) + work)

    def finisher(self) -> Callable[[float, float], float]:
        """:meth:`finish` as a closure over plain lists (the engine calls it per task)."""
        if self.always:
            return _add
        cum = [float(x) for x in self.cum]
        mask = [bool(x) for x in self.mask]
        on_cum, on_slots, per_week = self.on_cum, self.on_slots, self.per_week
        left = bisect.bisect_left
        from_work = self.from_work

        def finish(t: float, work: float) -> float:
            week, r = divmod(t, WEEK)
            s = int(r // HOUR)
            x = week * per_week + cum[s] + ((r - s * HOUR) if mask[s] else 0.0) + work
            week, rem = divmod(x, per_week)
            i = left(on_cum, rem) - 1
            if i < 0:
                return from_work(x)
            return week * WEEK + on_slots[i] * HOUR + (rem - on_cum[i])

        return finish

    # -- arrays (discovery, measures) ----------------------------------------------------------
    def to_work_array(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        if self.always:
            return t
        week, r = np.divmod(t, WEEK)
        s = np.minimum((r // HOUR).astype(np.int64), HOURS_PER_WEEK - 1)
        inside = np.where(self.mask[s], r - s * HOUR, 0.0)
        return week * self.per_week + self.cum[s] + inside

    def last_on_array(self, t: np.ndarray) -> np.ndarray:
        """The latest on-shift moment at or before each ``t`` (``t`` itself when on shift)."""
        t = np.asarray(t, dtype=float)
        if self.always or not self.mask.any():
            return t
        hour = np.floor(np.where(np.isfinite(t), t, 0.0) / HOUR)
        slot = (hour % HOURS_PER_WEEK).astype(np.int64)
        back = np.zeros(HOURS_PER_WEEK)
        for s in range(HOURS_PER_WEEK):
            k = 0
            while not self.mask[(s - 1 - k) % HOURS_PER_WEEK]:
                k += 1
            back[s] = k  # hours between the end of the last on-shift hour and slot s
        return np.where(self.mask[slot] | ~np.isfinite(t), t, (hour - back[slot]) * HOUR)

    def next_on_array(self, t: np.ndarray) -> np.ndarray:
        """The earliest on-shift moment at or after each ``t``."""
        t = np.asarray(t, dtype=float)
        if self.always or not self.mask.any():
            return t
        hour = np.floor(np.where(np.isfinite(t), t, 0.0) / HOUR)
        slot = (hour % HOURS_PER_WEEK).astype(np.int64)
        fwd = np.zeros(HOURS_PER_WEEK)
        for s in range(HOURS_PER_WEEK):
            k = 0
            while not self.mask[(s + k) % HOURS_PER_WEEK]:
                k += 1
            fwd[s] = k  # hours from the start of slot s to the next on-shift hour
        return np.where(self.mask[slot] | ~np.isfinite(t), t, (hour + fwd[slot]) * HOUR)
