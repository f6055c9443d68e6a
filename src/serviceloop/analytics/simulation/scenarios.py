"""What-if changes to a :class:`SimulationModel`, combinable into named scenarios.

Each change is a small frozen dataclass whose :meth:`apply` returns a new, validated model.
They can also be written as text (the CLI's options and the ``--scenario`` syntax)::

    staff POOL=+2 | staff POOL=-1 | staff POOL=5      add, remove or set resources (an activity
                                                      name stands for its pool)
    duration ACTIVITY=-20% | duration ACTIVITY=x0.8   scale an activity's processing times
    route SOURCE->TARGET=0.1                          set a routing probability (TARGET may be
                                                      END, SOURCE may be START); the other
                                                      exits of SOURCE keep their proportions
    rework SOURCE->TARGET=0.05                        the same, for a rework edge only
    no-rework                                         drop every rework edge
    remove ACTIVITY                                   remove a stage: its cases go straight on
    merge KEEP+OTHER                                  OTHER's work is done within KEEP
    arrivals +20% | arrivals Mon-Fri 09-12=x1.5       scale arrivals (in some hours only)
    pattern Sat-Sun 00-24=x0                          reshape the weekly pattern, same total
    hours Mon-Fri 08-20 | hours POOL=Mon-Sat 08-18    change working hours (all or one pool)

    Scenario text: "NAME: change; change; ..."   e.g. "two more: staff Resolve ticket=+2"
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import InvalidParameterError
from .model import (
    ActivityModel,
    PoolModel,
    SimulationModel,
    describe_hours,
    parse_hours,
    rework_edges,
)

__all__ = [
    "ArrivalPattern",
    "Arrivals",
    "Change",
    "Duration",
    "MergeStages",
    "RemoveRework",
    "RemoveStage",
    "Route",
    "Scenario",
    "Staff",
    "WorkingHours",
    "parse_change",
    "parse_scenario",
]


class Change:
    """A what-if change: ``apply(model) -> model`` and a one-line description."""

    def apply(self, model: SimulationModel) -> SimulationModel:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


def _pool_name(model: SimulationModel, name: str) -> str:
    if any(p.name == name for p in model.pools):
        return name
    if name in model.activity_names:
        return model.activities[model.activity_index(name)].pool
    raise InvalidParameterError(
        f"unknown pool {name!r}; the pools are: {', '.join(p.name for p in model.pools)} "
        "(an activity name also stands for its pool)"
    )


def _replace_pool(model: SimulationModel, pool: PoolModel) -> SimulationModel:
    return model.with_(pools=tuple(pool if p.name == pool.name else p for p in model.pools))


@dataclass(frozen=True)
class Staff(Change):
    """Add (``delta=+2``), remove (``delta=-1``) or set (``to=5``) resources on shift."""

    pool: str
    delta: int | None = None
    to: int | None = None

    def apply(self, model: SimulationModel) -> SimulationModel:
        if (self.delta is None) == (self.to is None):
            raise InvalidParameterError("staff: give either a change (+2, -1) or a number")
        pool = model.pool(_pool_name(model, self.pool))
        on = pool.capacity > 0
        if self.to is not None:
            new = np.where(on, self.to, 0)
        else:
            new = np.where(on, pool.capacity + int(self.delta or 0), 0)
        if (new[on] < 1).any():
            raise InvalidParameterError(
                f"staff {self.pool}: the pool would have nobody on shift "
                f"(it has {pool.staff} at most)"
            )
        return _replace_pool(
            model, PoolModel(pool.name, new.astype(np.int64), pool.resources, pool.multitasking)
        )

    def describe(self) -> str:
        how = f"{self.delta:+d}" if self.delta is not None else f"set to {self.to}"
        return f"staff {self.pool}: {how}"


@dataclass(frozen=True)
class Duration(Change):
    """Scale an activity's processing times (``factor=0.8`` is -20 %)."""

    activity: str
    factor: float

    def apply(self, model: SimulationModel) -> SimulationModel:
        if self.factor < 0:
            raise InvalidParameterError(f"duration {self.activity}: the factor must be >= 0")
        i = model.activity_index(self.activity)
        a = model.activities[i]
        new = ActivityModel(a.name, a.pool, a.durations * self.factor, a.observed, a.delays)
        acts = list(model.activities)
        acts[i] = new
        return model.with_(activities=tuple(acts))

    def describe(self) -> str:
        return f"duration {self.activity}: {self.factor - 1:+.0%}"


def _state(model: SimulationModel, name: str, *, role: str) -> int:
    n = len(model.activities)
    if role == "source" and name.upper() == "START":
        return n
    if role == "target" and name.upper() == "END":
        return n
    return model.activity_index(name)


def _set_edge(routing: np.ndarray, i: int, j: int, p: float, label: str) -> np.ndarray:
    if not 0.0 <= p <= 1.0:
        raise InvalidParameterError(f"{label}: a probability is between 0 and 1, not {p}")
    out = routing.copy()
    others = out[i].sum() - out[i, j]
    if p < 1.0 and others <= 1e-15:
        raise InvalidParameterError(
            f"{label}: the source has no other exit to take the remaining {1 - p:.0%}"
        )
    if others > 0:
        out[i] *= (1.0 - p) / others
    out[i, j] = p
    return out


@dataclass(frozen=True)
class Route(Change):
    """Set the probability of going from ``source`` to ``target`` (others rescaled)."""

    source: str
    target: str
    probability: float
    rework_only: bool = False

    def apply(self, model: SimulationModel) -> SimulationModel:
        label = f"route {self.source}->{self.target}"
        i = _state(model, self.source, role="source")
        j = _state(model, self.target, role="target")
        if self.rework_only and (i, j) not in rework_edges(model):
            raise InvalidParameterError(
                f"rework {self.source}->{self.target}: not a rework edge of the model"
            )
        n = len(model.activities)
        if i == n and j == n:
            raise InvalidParameterError(f"{label}: a case cannot end before it starts")
        return model.with_(routing=_set_edge(model.routing, i, j, self.probability, label))

    def describe(self) -> str:
        kind = "rework" if self.rework_only else "route"
        return f"{kind} {self.source} -> {self.target}: p = {self.probability:g}"


@dataclass(frozen=True)
class RemoveRework(Change):
    """Drop every rework edge (self-loops and edges back to earlier stages)."""

    def apply(self, model: SimulationModel) -> SimulationModel:
        r = model.routing.copy()
        n = len(model.activities)
        for i, j in rework_edges(model):
            r[i, j] = 0.0
        sums = r.sum(axis=1)
        dead = sums <= 1e-15
        r[dead, n] = 1.0  # a stage whose only exits were rework now ends the case
        r = r / r.sum(axis=1, keepdims=True)
        return model.with_(routing=r)

    def describe(self) -> str:
        return "no rework"


def _eliminate(routing: np.ndarray, k: int) -> np.ndarray:
    """Remove state ``k`` from the chain: paths through it go straight to its exits."""
    r = routing.copy()
    stay = r[k, k]
    if stay >= 1.0 - 1e-12:
        raise InvalidParameterError("a stage that never leaves itself cannot be removed")
    exits = r[k].copy()
    exits[k] = 0.0
    exits /= 1.0 - stay
    into = r[:, k].copy()
    into[k] = 0.0
    r += np.outer(into, exits)
    r[:, k] = 0.0
    keep = [i for i in range(r.shape[0]) if i != k]
    return r[np.ix_(keep, keep)]


@dataclass(frozen=True)
class RemoveStage(Change):
    """Remove a stage: cases skip it and go on to where it would have sent them."""

    activity: str

    def apply(self, model: SimulationModel) -> SimulationModel:
        k = model.activity_index(self.activity)
        if len(model.activities) == 1:
            raise InvalidParameterError("cannot remove the only stage of the model")
        routing = _eliminate(model.routing, k)
        acts = tuple(a for i, a in enumerate(model.activities) if i != k)
        pools = tuple(p for p in model.pools if any(a.pool == p.name for a in acts))
        n = len(acts)
        empty = routing[n, n]  # cases that had nothing but this stage: they no longer arrive
        if empty >= 1.0 - 1e-12:
            raise InvalidParameterError(f"remove {self.activity}: every case would be empty")
        arrivals = model.arrivals
        if empty > 0:
            routing[n, n] = 0.0
            routing[n] /= routing[n].sum()
            arrivals = arrivals * (1.0 - empty)
        return model.with_(activities=acts, routing=routing, pools=pools, arrivals=arrivals)

    def describe(self) -> str:
        return f"remove {self.activity}"


@dataclass(frozen=True)
class MergeStages(Change):
    """Merge ``other`` into ``keep``: one visit of ``keep`` now also does ``other``'s work.

    The merged processing time adds a draw of ``other``'s time, weighted by how often
    ``other`` is visited per visit of ``keep``; ``other`` leaves the routing as in
    :class:`RemoveStage`.
    """

    keep: str
    other: str

    def apply(self, model: SimulationModel) -> SimulationModel:
        i, j = model.activity_index(self.keep), model.activity_index(self.other)
        if i == j:
            raise InvalidParameterError("merge: name two different stages")
        visits = _visits(model)
        ratio = float(visits[j] / visits[i]) if visits[i] > 0 else 0.0
        a, b = model.activities[i], model.activities[j]
        m = a.durations.size
        extra = np.interp(np.linspace(0, 1, m), np.linspace(0, 1, b.durations.size), b.durations)
        rng = np.random.default_rng(0)  # a fixed pairing: the merged sample is deterministic
        merged = np.sort(a.durations + ratio * rng.permutation(extra))
        acts = list(model.activities)
        acts[i] = ActivityModel(a.name, a.pool, merged, a.observed, a.delays)
        tmp = model.with_(activities=tuple(acts))
        return RemoveStage(self.other).apply(tmp)

    def describe(self) -> str:
        return f"merge {self.other} into {self.keep}"


def _visits(model: SimulationModel) -> np.ndarray:
    """Expected visits of each activity per case (fundamental matrix of the chain)."""
    n = len(model.activities)
    q = model.routing[:n, :n]
    start = model.routing[n, :n]
    try:
        return np.asarray(np.linalg.solve((np.eye(n) - q).T, start))
    except np.linalg.LinAlgError:
        raise InvalidParameterError("the routing has a loop cases never leave") from None


@dataclass(frozen=True)
class Arrivals(Change):
    """Scale arrivals, in every hour or only in ``hours`` (``"Mon-Fri 09-12"``)."""

    factor: float
    hours: str | None = None

    def apply(self, model: SimulationModel) -> SimulationModel:
        if self.factor < 0:
            raise InvalidParameterError("arrivals: the factor must be >= 0")
        mask = parse_hours(self.hours) if self.hours else np.ones(168, dtype=bool)
        new = np.where(mask, model.arrivals * self.factor, model.arrivals)
        if new.sum() <= 0:
            raise InvalidParameterError("arrivals: no case would arrive any more")
        return model.with_(arrivals=new)

    def describe(self) -> str:
        where = f" ({self.hours})" if self.hours else ""
        return f"arrivals{where}: {self.factor - 1:+.0%}"


@dataclass(frozen=True)
class ArrivalPattern(Change):
    """Reshape the weekly pattern (scale ``hours`` by ``factor``), keeping the weekly total."""

    hours: str
    factor: float

    def apply(self, model: SimulationModel) -> SimulationModel:
        if self.factor < 0:
            raise InvalidParameterError("pattern: the factor must be >= 0")
        mask = parse_hours(self.hours)
        new = np.where(mask, model.arrivals * self.factor, model.arrivals)
        if new.sum() <= 0:
            raise InvalidParameterError("pattern: no hour would have arrivals left")
        return model.with_(arrivals=new * (model.arrivals.sum() / new.sum()))

    def describe(self) -> str:
        return f"pattern {self.hours}: x{self.factor:g} (same weekly total)"


@dataclass(frozen=True)
class WorkingHours(Change):
    """Set the working hours of one pool (``pool``) or of all pools; head counts stay."""

    hours: str
    pool: str | None = None

    def apply(self, model: SimulationModel) -> SimulationModel:
        mask = parse_hours(self.hours)
        target = None if self.pool is None else _pool_name(model, self.pool)
        pools = tuple(
            PoolModel(p.name, (mask * p.staff).astype(np.int64), p.resources, p.multitasking)
            if target in (None, p.name)
            else p
            for p in model.pools
        )
        return model.with_(pools=pools)

    def describe(self) -> str:
        who = self.pool or "all pools"
        return f"hours {who}: {describe_hours(parse_hours(self.hours))}"


@dataclass(frozen=True)
class Scenario:
    """A named set of changes, applied in order."""

    name: str
    changes: Sequence[Change] = field(default_factory=tuple)

    def apply(self, model: SimulationModel) -> SimulationModel:
        for change in self.changes:
            model = change.apply(model)
        return model


# -- text syntax ------------------------------------------------------------------------------
_PCT = re.compile(r"^([+-]\d+(?:\.\d+)?)%$")
_MUL = re.compile(r"^[x*](\d+(?:\.\d+)?)$")


def _factor(text: str, label: str) -> float:
    text = text.strip()
    if m := _PCT.match(text):
        return 1.0 + float(m.group(1)) / 100.0
    if m := _MUL.match(text):
        return float(m.group(1))
    raise InvalidParameterError(f"{label}: {text!r} is not a change such as -20%, +15% or x0.8")


def _split(arg: str, label: str) -> tuple[str, str]:
    key, sep, value = arg.rpartition("=")
    if not sep or not key.strip() or not value.strip():
        raise InvalidParameterError(f"{label}: expected NAME=VALUE, got {arg!r}")
    return key.strip(), value.strip()


def _edge(text: str, label: str) -> tuple[str, str]:
    src, sep, dst = text.partition("->")
    if not sep or not src.strip() or not dst.strip():
        raise InvalidParameterError(f"{label}: expected SOURCE->TARGET, got {text!r}")
    return src.strip(), dst.strip()


def _prob(text: str, label: str) -> float:
    try:
        return float(text.rstrip("%")) / (100.0 if text.endswith("%") else 1.0)
    except ValueError:
        raise InvalidParameterError(f"{label}: {text!r} is not a probability") from None


def parse_change(text: str) -> Change:
    """Parse one change written as text (see the module docstring).

    Examples
    --------
    >>> parse_change("staff Resolve ticket=+2")
    Staff(pool='Resolve ticket', delta=2, to=None)
    >>> parse_change("duration Triage=-20%").factor
    0.8
    """
    text = text.strip()
    kind, _, arg = text.partition(" ")
    kind, arg = kind.lower(), arg.strip()
    if kind == "no-rework" and not arg:
        return RemoveRework()
    if not arg:
        raise InvalidParameterError(f"change {text!r}: missing its argument")
    if kind == "staff":
        name, value = _split(arg, "staff")
        try:
            number = int(value)
        except ValueError:
            raise InvalidParameterError(f"staff: {value!r} is not +N, -N or N") from None
        return Staff(name, delta=number) if value[0] in "+-" else Staff(name, to=number)
    if kind == "duration":
        name, value = _split(arg, "duration")
        return Duration(name, _factor(value, "duration"))
    if kind in ("route", "rework"):
        edge, value = _split(arg, kind)
        src, dst = _edge(edge, kind)
        return Route(src, dst, _prob(value, kind), rework_only=kind == "rework")
    if kind == "remove":
        return RemoveStage(arg)
    if kind == "merge":
        keep, sep, other = arg.partition("+")
        if not sep or not keep.strip() or not other.strip():
            raise InvalidParameterError(f"merge: expected KEEP+OTHER, got {arg!r}")
        return MergeStages(keep.strip(), other.strip())
    if kind in ("arrivals", "pattern"):
        if "=" in arg:
            hours, value = _split(arg, kind)
        elif kind == "arrivals":
            hours, value = "", arg
        else:
            raise InvalidParameterError("pattern: expected HOURS=xFACTOR, e.g. Sat-Sun 00-24=x0")
        factor = _factor(value, kind)
        if kind == "pattern":
            return ArrivalPattern(hours, factor)
        return Arrivals(factor, hours or None)
    if kind == "hours":
        if "=" in arg and arg.split("=", 1)[0].strip()[:3].title() not in (
            "Mon",
            "Tue",
            "Wed",
            "Thu",
            "Fri",
            "Sat",
            "Sun",
            "24/",
        ):
            pool, hours = _split(arg, "hours")
            return WorkingHours(hours, pool)
        return WorkingHours(arg)
    raise InvalidParameterError(
        f"unknown change {kind!r}; use staff, duration, route, rework, no-rework, remove, "
        "merge, arrivals, pattern or hours"
    )


def parse_scenario(text: str) -> Scenario:
    """Parse ``"NAME: change; change"`` into a :class:`Scenario`.

    Examples
    --------
    >>> s = parse_scenario("faster: duration Fix=-20%; staff Fix=+1")
    >>> s.name, len(s.changes)
    ('faster', 2)
    """
    name, sep, body = text.partition(":")
    if not sep or not name.strip():
        raise InvalidParameterError(f"scenario {text!r}: expected 'NAME: change; change'")
    changes = [parse_change(c) for c in body.split(";") if c.strip()]
    if not changes:
        raise InvalidParameterError(f"scenario {name.strip()!r} has no change")
    return Scenario(name.strip(), tuple(changes))
