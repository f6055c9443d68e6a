"""Working hours and arrival patterns of the demo operation (local time, converted to UTC on use).

The demo's stage durations are drawn in *working* hours: an agent who needs three hours for a
needs analysis started at 17:00 on Friday finishes on Monday morning, as in a real service desk.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

__all__ = ["ARRIVAL_PROFILE", "WEEKEND_FACTOR", "Shift", "arrivals_for_day", "poisson"]

# Relative arrival intensity per local hour on a weekday: two business-hour peaks (10:00, 15:00),
# a lunch dip, a quiet evening and night.
ARRIVAL_PROFILE: tuple[float, ...] = (
    0.05,
    0.03,
    0.02,
    0.02,
    0.02,
    0.04,
    0.10,
    0.30,  # 00-07
    0.80,
    1.50,
    1.90,
    1.60,
    0.80,
    1.20,
    1.60,
    1.80,  # 08-15
    1.40,
    1.00,
    0.60,
    0.45,
    0.35,
    0.25,
    0.15,
    0.08,  # 16-23
)
WEEKEND_FACTOR = 0.28


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth's method; the demo's hourly rates are small)."""
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def arrivals_for_day(
    rng: random.Random, *, day_start: datetime, per_weekday: float, trend: float = 1.0
) -> list[datetime]:
    """Arrival instants within one local day: Poisson counts per hour, uniform inside the hour.

    ``per_weekday`` is the expected number of cases on a weekday; weekends get ``WEEKEND_FACTOR``
    of it; ``trend`` scales the day (a slowly growing operation).
    """
    total = sum(ARRIVAL_PROFILE)
    factor = per_weekday * trend / total
    if day_start.weekday() >= 5:
        factor *= WEEKEND_FACTOR
    out: list[datetime] = []
    for hour, weight in enumerate(ARRIVAL_PROFILE):
        for _ in range(poisson(rng, weight * factor)):
            out.append(day_start + timedelta(hours=hour, seconds=rng.uniform(0, 3600)))
    out.sort()
    return out


@dataclass(frozen=True)
class Shift:
    """Working hours of a team in its local time zone: ``start``-``end`` on ``days`` (0 = Monday)."""

    tz: tzinfo
    start: time = time(9, 0)
    end: time = time(18, 0)
    days: frozenset[int] = frozenset({0, 1, 2, 3, 4})

    def _bounds(self, day: datetime) -> tuple[datetime, datetime]:
        return (
            day.replace(hour=self.start.hour, minute=self.start.minute, second=0, microsecond=0),
            day.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0),
        )

    def next_open(self, at: datetime) -> datetime:
        """``at`` if the shift is working then, else the start of the next working period."""
        local = at.astimezone(self.tz)
        for _ in range(15):
            start, end = self._bounds(local)
            if local.weekday() in self.days and local < end:
                return max(local, start)
            local = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        raise ValueError("the shift has no working days")

    def add(self, at: datetime, hours: float) -> datetime:
        """The instant ``hours`` working hours after ``at``."""
        remaining = timedelta(hours=hours)
        current = self.next_open(at)
        while True:
            _, end = self._bounds(current)
            if current + remaining <= end:
                return current + remaining
            remaining -= end - current
            current = self.next_open(end + timedelta(seconds=1))
