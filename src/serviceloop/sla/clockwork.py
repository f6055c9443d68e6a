"""The state of one SLA clock and how pausing, resuming and a new target move its due time.

Pure arithmetic over ``business_time`` (no Django). Every change first *rebases* the clock: the
working time it ran since its last change is added to ``used`` and ``since`` becomes the moment of
the change. So a threshold (the warning share, the target) falls at

- ``since`` when ``used`` already reaches it: the change itself made the case overdue (a priority
  raised after more time was spent than the new target allows);
- ``since`` + the remaining working time while the clock runs;
- nowhere while it is paused.

Times are UTC epoch seconds; durations are seconds of working time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from serviceloop.sla.business_time import Clock

__all__ = ["ClockState", "warning_seconds"]


def warning_seconds(target: int, share: float) -> int:
    """Working seconds after which a clock with ``target`` warns (share of the target, rounded up
    to a whole minute so that warnings land on the minute like the targets do)."""
    if not 0 < share <= 1:
        raise ValueError(f"The warning share must be in (0, 1], not {share}.")
    return min(target, math.ceil(target * share / 60) * 60)


@dataclass(frozen=True)
class ClockState:
    target: int
    used: int
    since: int
    running: bool

    @classmethod
    def start(cls, *, at: int, target: int, running: bool = True) -> ClockState:
        if target < 0:
            raise ValueError("An SLA target cannot be negative.")
        return cls(target=target, used=0, since=at, running=running)

    def rebase(self, clock: Clock, at: int) -> ClockState:
        """Count the working time run since the last change; ``since`` becomes ``at``."""
        if at < self.since:
            raise ValueError("A clock cannot change before its last change.")
        if not self.running or at == self.since:
            return replace(self, since=at)
        ran = int(clock.between_many([self.since], [at])[0])  # type: ignore[arg-type]
        return replace(self, used=self.used + ran, since=at)

    def pause(self, clock: Clock, at: int) -> ClockState:
        return replace(self.rebase(clock, at), running=False)

    def resume(self, clock: Clock, at: int) -> ClockState:
        return replace(self.rebase(clock, at), running=True)

    def retarget(self, clock: Clock, at: int, target: int) -> ClockState:
        if target < 0:
            raise ValueError("An SLA target cannot be negative.")
        return replace(self.rebase(clock, at), target=target)

    def used_at(self, clock: Clock, at: int) -> int:
        """Working seconds used by ``at`` (not before the last change)."""
        return self.rebase(clock, max(at, self.since)).used

    def threshold_at(self, clock: Clock, seconds: int) -> int | None:
        """When the clock reaches ``seconds`` of working time (see the module docstring)."""
        if self.used >= seconds:
            return self.since
        if not self.running:
            return None
        return int(clock.add_many([self.since], [seconds - self.used])[0])  # type: ignore[arg-type]

    def due(self, clock: Clock) -> int | None:
        return self.threshold_at(clock, self.target)

    def warn(self, clock: Clock, share: float) -> int | None:
        return self.threshold_at(clock, warning_seconds(self.target, share))
