"""The simulation model: what a discovered (or hand-made) service process is made of.

A model is plain data, so a what-if change is a function from one model to another and the
engine never needs to know where a model came from::

    SimulationModel
    ├── arrivals       cases per hour for each of the 168 hours of a week (Monday 00:00 first)
    ├── activities     name, resource pool, processing-time sample (seconds)
    ├── routing        first-order transition probabilities, START row and END column
    └── pools          resources on shift for each hour of the week (capacity x working hours)

Times run in seconds from a Monday 00:00 in the model's time zone (daylight-saving shifts are
ignored: an hour of the week is 3600 seconds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import InvalidParameterError

__all__ = [
    "HOURS_PER_WEEK",
    "ActivityModel",
    "PoolModel",
    "SimulationModel",
    "exponential_sample",
    "mmc_model",
    "parse_hours",
]

HOURS_PER_WEEK = 168
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONDAY_1970_US = 4 * 86_400 * 1_000_000  # 1970-01-05 00:00 UTC, the first Monday of the epoch


@dataclass(frozen=True, eq=False)
class ActivityModel:
    """One activity (stage): the pool that works it and its processing times.

    ``durations`` is a sorted sample of processing times in working seconds (quantiles of the
    log's); the engine draws from it by inverse transform, so the simulated distribution is the
    observed one, not a fitted family. ``delays`` is a sample of extraneous delays (clock
    seconds a task waits before it even joins its pool's queue: the customer, a timer).
    """

    name: str
    pool: str
    durations: np.ndarray
    observed: int = 0
    delays: np.ndarray = field(default_factory=lambda: np.zeros(1))

    @property
    def mean_seconds(self) -> float:
        return float(self.durations.mean()) if self.durations.size else 0.0


@dataclass(frozen=True, eq=False)
class PoolModel:
    """A team or role: resources on shift for each hour of the week (index 0 = Monday 00:00)."""

    name: str
    capacity: np.ndarray  # int64, shape (168,): resources on shift
    resources: tuple[str, ...] = ()
    multitasking: float = 1.0  # tasks one resource works on at once

    @property
    def slots(self) -> np.ndarray:
        """Tasks the pool can hold at once in each hour of the week.

        ``capacity x multitasking`` is seldom whole, and a fraction of an extra slot is not a
        whole one (rounding 3 x 1.04 up to 4 slots would give three people a fourth, so the
        pool would never queue): the extra slot is open in that fraction of the pool's hours,
        spread evenly over the week, so the pool holds ``capacity x multitasking`` tasks on
        average.
        """
        on = self.capacity > 0
        want = np.where(on, self.capacity * self.multitasking, 0.0)
        whole = np.floor(want + 1e-9)
        # Error diffusion: the extra slot opens each time the carried fractions pass one half.
        carried = np.floor(np.cumsum(np.maximum(want - whole, 0.0)) + 0.5)
        extra = np.diff(carried, prepend=0.0)
        return np.where(on, np.maximum(1, whole + extra), 0).astype(np.int64)

    @property
    def staff(self) -> int:
        """Resources on shift in the busiest hour (the pool's head count)."""
        return int(self.capacity.max()) if self.capacity.size else 0

    @property
    def working_hours(self) -> np.ndarray:
        """Boolean mask of the hours of the week in which the pool works."""
        return self.capacity > 0

    def describe_hours(self) -> str:
        """Working hours as text, e.g. ``Mon-Fri 08-18``."""
        return describe_hours(self.working_hours)


@dataclass(frozen=True, eq=False)
class SimulationModel:
    """A simulation model of a service process.

    ``routing`` has one row per activity plus a last START row and one column per activity
    plus a last END column; each row sums to 1 (the START row never goes straight to END).
    ``arrivals`` holds the expected number of new cases in each hour of the week.
    """

    activities: tuple[ActivityModel, ...]
    routing: np.ndarray
    arrivals: np.ndarray
    pools: tuple[PoolModel, ...]
    time_zone: str = "UTC"
    origin_us: int = MONDAY_1970_US  # UTC epoch microseconds of the Monday 00:00 the clock starts
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.activities)
        if n == 0:
            raise InvalidParameterError("a simulation model needs at least one activity")
        if self.routing.shape != (n + 1, n + 1):
            raise InvalidParameterError(
                f"routing must be {n + 1}x{n + 1} for {n} activities, not {self.routing.shape}"
            )
        if self.arrivals.shape != (HOURS_PER_WEEK,):
            raise InvalidParameterError("arrivals must give one rate per hour of the week (168)")
        if (self.arrivals < 0).any() or self.arrivals.sum() <= 0:
            raise InvalidParameterError("arrival rates must be >= 0 and not all zero")
        rows = self.routing.sum(axis=1)
        if (self.routing < -1e-12).any() or not np.allclose(rows, 1.0, atol=1e-9):
            raise InvalidParameterError("every routing row must hold probabilities summing to 1")
        if self.routing[n, n] > 1e-12:
            raise InvalidParameterError("a case cannot end before its first activity")
        names = [a.name for a in self.activities]
        if len(set(names)) != n:
            raise InvalidParameterError("activity names must be unique")
        pools = {p.name for p in self.pools}
        for a in self.activities:
            if a.pool not in pools:
                raise InvalidParameterError(f"activity {a.name!r} uses unknown pool {a.pool!r}")
        for p in self.pools:
            if p.capacity.shape != (HOURS_PER_WEEK,) or (p.capacity < 0).any():
                raise InvalidParameterError(f"pool {p.name!r}: capacity needs 168 values >= 0")
            if not p.multitasking >= 1.0:
                raise InvalidParameterError(f"pool {p.name!r}: multitasking must be >= 1")
            used = any(a.pool == p.name for a in self.activities)
            if used and p.capacity.sum() == 0:
                raise InvalidParameterError(f"pool {p.name!r} has nobody on shift in any hour")

    # -- look-ups ------------------------------------------------------------------------------
    @property
    def activity_names(self) -> list[str]:
        return [a.name for a in self.activities]

    def activity_index(self, name: str) -> int:
        for i, a in enumerate(self.activities):
            if a.name == name:
                return i
        raise InvalidParameterError(
            f"unknown activity {name!r}; the model has: {', '.join(self.activity_names)}"
        )

    def pool(self, name: str) -> PoolModel:
        for p in self.pools:
            if p.name == name:
                return p
        raise InvalidParameterError(
            f"unknown pool {name!r}; the model has: {', '.join(p.name for p in self.pools)}"
        )

    @property
    def cases_per_week(self) -> float:
        return float(self.arrivals.sum())

    def visits_per_case(self) -> np.ndarray:
        """Expected visits of each activity per case (rework counted), from the routing chain."""
        n = len(self.activities)
        q = self.routing[:n, :n]
        try:
            return np.linalg.solve((np.eye(n) - q).T, self.routing[n, :n])
        except np.linalg.LinAlgError:  # a loop no case leaves: the engine cuts it at MAX_STEPS
            return np.full(n, np.inf)

    def offered_load(self) -> dict[str, float]:
        """Per pool: the work new cases bring per week over the task-hours it holds per week.

        At 1 or more the pool cannot keep up: its queue grows for as long as a simulation runs,
        so no steady state exists and the as-is figures grow with the weeks simulated.
        """
        visits = self.visits_per_case()
        work: dict[str, float] = {p.name: 0.0 for p in self.pools}
        for a, v in zip(self.activities, visits, strict=True):
            work[a.pool] += self.cases_per_week * float(v) * a.mean_seconds
        return {
            p.name: work[p.name] / (float(p.slots.sum()) * 3600.0) if p.slots.sum() else math.inf
            for p in self.pools
        }

    def with_(self, **changes: Any) -> SimulationModel:
        """A copy with some fields replaced (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of the model."""
        n = len(self.activities)
        names = [*self.activity_names]
        routing = []
        for i, src in enumerate([*names, "START"]):
            for j, dst in enumerate([*names, "END"]):
                p = float(self.routing[i, j])
                if p > 0:
                    routing.append({"source": src, "target": dst, "probability": p})
        return {
            "time_zone": self.time_zone,
            "cases_per_week": self.cases_per_week,
            "arrivals_per_hour_of_week": [float(x) for x in self.arrivals],
            "activities": [
                {
                    "name": a.name,
                    "pool": a.pool,
                    "observed": a.observed,
                    "mean_seconds": a.mean_seconds,
                    "mean_delay_seconds": float(a.delays.mean()),
                    "median_seconds": float(np.median(a.durations)) if a.durations.size else 0.0,
                }
                for a in self.activities
            ],
            "routing": routing,
            "rework_edges": [
                {"source": names[i], "target": names[j]} for i, j in rework_edges(self)
            ],
            "pools": [
                {
                    "name": p.name,
                    "staff": p.staff,
                    "multitasking": p.multitasking,
                    "working_hours": p.describe_hours(),
                    "capacity_per_hour_of_week": [int(x) for x in p.capacity],
                    "resources": list(p.resources),
                }
                for p in self.pools
            ],
            "offered_load": {
                k: round(v, 6) if math.isfinite(v) else None for k, v in self.offered_load().items()
            },
            "info": self.info,
            "n_activities": n,
        }


def _chain(model: SimulationModel) -> np.ndarray:
    """Transition matrix over activities, START (index n) and an absorbing END (index n + 1)."""
    n = len(model.activities)
    m = np.zeros((n + 2, n + 2))
    m[: n + 1, :n] = model.routing[:, :n]
    m[: n + 1, n + 1] = model.routing[:, n]
    m[n + 1, n + 1] = 1.0
    return m


def _hit(m: np.ndarray, absorbing: set[int], target: int) -> np.ndarray:
    """Probability, from every state, of reaching ``target`` first among ``absorbing``."""
    size = m.shape[0]
    transient = [k for k in range(size) if k not in absorbing]
    h = np.zeros(size)
    h[target] = 1.0
    if transient:
        q = m[np.ix_(transient, transient)]
        r = m[transient, target]
        try:
            h[transient] = np.linalg.solve(np.eye(len(transient)) - q, r)
        except np.linalg.LinAlgError:
            h[transient] = np.linalg.lstsq(np.eye(len(transient)) - q, r, rcond=None)[0]
    return h


def rework_edges(model: SimulationModel) -> list[tuple[int, int]]:
    """Self-loops, and edges ``i -> j`` back to a stage that usually comes first.

    ``i -> j`` is rework when cases that visit both more often reach ``j`` first and ``i``
    later than the other way round (hitting probabilities of the routing chain from START).
    """
    n = len(model.activities)
    m = _chain(model)
    end = n + 1
    out = []
    for i in range(n):
        for j in range(n):
            if model.routing[i, j] <= 0:
                continue
            if i == j:
                out.append((i, j))
                continue
            j_first = _hit(m, {i, j, end}, j)[n] * (m[j] @ _hit(m, {i, end}, i))
            i_first = _hit(m, {i, j, end}, i)[n] * (m[i] @ _hit(m, {j, end}, j))
            if j_first > i_first:
                out.append((i, j))
    return out


def describe_hours(mask: np.ndarray) -> str:
    """Render an hour-of-week mask as ``Mon-Fri 08-18; Sat 09-12`` (days with equal hours grouped)."""
    days: list[tuple[str, str]] = []
    for d, name in enumerate(WEEKDAYS):
        hours = mask[d * 24 : (d + 1) * 24]
        spans = []
        h = 0
        while h < 24:
            if hours[h]:
                e = h
                while e < 24 and hours[e]:
                    e += 1
                spans.append(f"{h:02d}-{e:02d}")
                h = e
            else:
                h += 1
        days.append((name, ",".join(spans)))
    groups: list[tuple[list[str], str]] = []
    for name, text in days:
        if not text:
            continue
        if (
            groups
            and groups[-1][1] == text
            and WEEKDAYS.index(groups[-1][0][-1]) + 1 == WEEKDAYS.index(name)
        ):
            groups[-1][0].append(name)
        else:
            groups.append(([name], text))
    if not groups:
        return "never"
    return "; ".join(
        f"{g[0]}-{g[-1]} {text}" if len(g) > 1 else f"{g[0]} {text}" for g, text in groups
    )


def parse_hours(text: str) -> np.ndarray:
    """Parse working hours such as ``Mon-Fri 08-18`` or ``Mon-Fri 8:00-17:30; Sat 9-12``.

    Partial hours round to whole hours of the week (start down, end up). ``24/7`` means always.
    """
    text = text.strip()
    mask = np.zeros(HOURS_PER_WEEK, dtype=bool)
    if text in ("24/7", "always"):
        mask[:] = True
        return mask
    lower = [d.lower() for d in WEEKDAYS]
    for part in filter(None, (p.strip() for p in text.split(";"))):
        pieces = part.split()
        if len(pieces) != 2:
            raise InvalidParameterError(
                f"working hours {part!r}: expected DAYS HOURS such as 'Mon-Fri 08-18'"
            )
        day_spec, hour_spec = pieces
        day_set: list[int] = []
        for chunk in day_spec.split(","):
            a, _, b = chunk.partition("-")
            try:
                i, j = lower.index(a.lower()[:3]), lower.index((b or a).lower()[:3])
            except ValueError:
                raise InvalidParameterError(
                    f"working hours {part!r}: days are Mon, Tue, Wed, Thu, Fri, Sat, Sun"
                ) from None
            day_set.extend(range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)])
        for span in hour_spec.split(","):
            a, sep, b = span.partition("-")
            if not sep:
                raise InvalidParameterError(f"working hours {part!r}: hours look like 08-18")
            start, end = _hour(a, part, up=False), _hour(b, part, up=True)
            if not 0 <= start < end <= 24:
                raise InvalidParameterError(f"working hours {part!r}: hours must run 00-24")
            for d in day_set:
                mask[d * 24 + start : d * 24 + end] = True
    if not mask.any():
        raise InvalidParameterError(f"working hours {text!r} contain no hour")
    return mask


def _hour(text: str, part: str, *, up: bool) -> int:
    hh, _, mm = text.partition(":")
    try:
        h, m = int(hh), int(mm or 0)
    except ValueError:
        raise InvalidParameterError(f"working hours {part!r}: {text!r} is not an hour") from None
    if not 0 <= m < 60:
        raise InvalidParameterError(f"working hours {part!r}: {text!r} is not an hour")
    return h + (1 if up and m else 0)


def exponential_sample(mean_seconds: float, points: int = 20_001) -> np.ndarray:
    """Quantiles of an exponential distribution (a sample the engine draws from by inversion)."""
    p = (np.arange(points) + 0.5) / points
    return -mean_seconds * np.log1p(-p)


def mmc_model(
    *, arrivals_per_hour: float, mean_service_seconds: float, servers: int
) -> SimulationModel:
    """An M/M/c queue as a one-activity model, always on shift (for checks against theory).

    Examples
    --------
    >>> m = mmc_model(arrivals_per_hour=10, mean_service_seconds=600, servers=2)
    >>> m.pools[0].staff, round(m.cases_per_week)
    (2, 1680)
    """
    if arrivals_per_hour <= 0 or mean_service_seconds <= 0 or servers < 1:
        raise InvalidParameterError("M/M/c needs a positive rate, service time and >= 1 server")
    return SimulationModel(
        activities=(
            ActivityModel("Serve", "Servers", exponential_sample(mean_service_seconds), 0),
        ),
        routing=np.array([[0.0, 1.0], [1.0, 0.0]]),
        arrivals=np.full(HOURS_PER_WEEK, float(arrivals_per_hour)),
        pools=(PoolModel("Servers", np.full(HOURS_PER_WEEK, servers, dtype=np.int64)),),
        info={"kind": "M/M/c"},
    )
