"""Replications, measures and confidence intervals for the as-is model and its scenarios.

Each replication runs a warm-up (discarded), then a measured window; cases that arrive in the
window are followed until they finish (or until the drain limit). Per replication we measure:
cycle time (mean, median, p90, seconds), waiting per stage (mean seconds before a task starts),
utilisation per pool (working time spent on tasks over the pool's slot-hours on shift in the
window), throughput (cases finished per week) and SLA attainment
(share of the window's cases finished within the SLA). Estimates are the mean over replications
with a Student-t 95 % interval; differences to as-is are paired by replication (all scenarios
share their random numbers), so their intervals are much narrower than either estimate's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidParameterError
from ._calendar import Calendar
from .engine import Run, draw_trajectories, run, run_simpy
from .model import HOURS_PER_WEEK, SimulationModel
from .scenarios import Scenario

__all__ = ["Estimate", "ScenarioResult", "SimulationResult", "simulate"]

WEEK = 7 * 86_400.0
MEASURES = (
    "cycle_time_mean_seconds",
    "cycle_time_median_seconds",
    "cycle_time_p90_seconds",
    "throughput_per_week",
    "sla_attainment",
    "unfinished_share",
    "cases",
)


@dataclass(frozen=True)
class Estimate:
    """A mean over replications with its 95 % confidence interval."""

    mean: float
    low: float
    high: float
    values: tuple[float, ...]

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    @classmethod
    def of(cls, values: Sequence[float], confidence: float = 0.95) -> Estimate:
        v = np.asarray([x for x in values if not math.isnan(x)], dtype=float)
        if v.size == 0:
            return cls(math.nan, math.nan, math.nan, tuple(float(x) for x in values))
        m = float(v.mean())
        if v.size < 2:
            return cls(m, math.nan, math.nan, tuple(float(x) for x in values))
        from scipy.stats import t

        h = float(t.ppf(0.5 + confidence / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
        return cls(m, m - h, m + h, tuple(float(x) for x in values))

    def to_dict(self) -> dict[str, float | None]:
        def clean(x: float) -> float | None:
            return None if math.isnan(x) else x

        return {"mean": clean(self.mean), "ci_low": clean(self.low), "ci_high": clean(self.high)}


@dataclass(frozen=True)
class ScenarioResult:
    """Estimates for one scenario (or as-is) and, for scenarios, their differences to as-is."""

    name: str
    changes: tuple[str, ...]
    measures: dict[str, Estimate]
    waiting: dict[str, Estimate]
    utilisation: dict[str, Estimate]
    difference: dict[str, Estimate] = field(default_factory=dict)
    waiting_difference: dict[str, Estimate] = field(default_factory=dict)
    utilisation_difference: dict[str, Estimate] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "changes": list(self.changes),
            "measures": {k: v.to_dict() for k, v in self.measures.items()},
            "waiting_seconds": {k: v.to_dict() for k, v in self.waiting.items()},
            "utilisation": {k: v.to_dict() for k, v in self.utilisation.items()},
        }
        if self.difference:
            out["difference_to_as_is"] = {
                "measures": {k: v.to_dict() for k, v in self.difference.items()},
                "waiting_seconds": {k: v.to_dict() for k, v in self.waiting_difference.items()},
                "utilisation": {k: v.to_dict() for k, v in self.utilisation_difference.items()},
            }
        return out


@dataclass(frozen=True)
class SimulationResult:
    """As-is and every scenario, with the settings that produced them."""

    as_is: ScenarioResult
    scenarios: tuple[ScenarioResult, ...]
    settings: dict[str, Any]
    model: SimulationModel

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "model": self.model.to_dict(),
            "as_is": self.as_is.to_dict(),
            "scenarios": [s.to_dict() for s in self.scenarios],
        }


def measure(
    r: Run, model: SimulationModel, *, window: tuple[float, float], sla: float
) -> dict[str, Any]:
    """The measures of one replication over the arrivals in ``window`` (seconds)."""
    w0, w1 = window
    tr = r.trajectories
    last = tr.offsets[1:] - 1
    arrival = tr.arrival
    in_window = (arrival >= w0) & (arrival < w1)
    done = r.end[last]
    cycle = done - arrival
    ct = cycle[in_window]
    finished = ct[~np.isnan(ct)]
    n_cases = int(in_window.sum())
    out: dict[str, Any] = {
        "cases": float(n_cases),
        "cycle_time_mean_seconds": float(finished.mean()) if finished.size else math.nan,
        "cycle_time_median_seconds": float(np.median(finished)) if finished.size else math.nan,
        "cycle_time_p90_seconds": float(np.quantile(finished, 0.9)) if finished.size else math.nan,
        "sla_attainment": float((finished <= sla).sum() / n_cases) if n_cases else math.nan,
        "unfinished_share": float((n_cases - finished.size) / n_cases) if n_cases else math.nan,
        "throughput_per_week": float(((done >= w0) & (done < w1)).sum() / ((w1 - w0) / WEEK)),
    }
    case_of_task = tr.case_of_task
    task_in = in_window[case_of_task]
    wait = r.start - r.ready
    waiting = {}
    for code, act in enumerate(model.activities):
        sel = task_in & (tr.activity == code) & ~np.isnan(wait)
        waiting[act.name] = float(wait[sel].mean()) if sel.any() else math.nan
    util = {}
    index = {p.name: i for i, p in enumerate(model.pools)}
    pool_of_act = np.array([index[a.pool] for a in model.activities])
    task_pool = pool_of_act[tr.activity] if tr.activity.size else np.zeros(0, np.int64)
    started = ~np.isnan(r.start)
    s = np.clip(r.start[started], w0, w1)
    e = np.clip(np.where(np.isnan(r.end[started]), r.stop, r.end[started]), w0, w1)
    tp = task_pool[started]
    hours = np.arange(math.floor(w0 / 3600), math.ceil(w1 / 3600))
    for i, pool in enumerate(model.pools):
        cal = Calendar(pool.capacity > 0)
        sel = tp == i
        busy = float((cal.to_work_array(e[sel]) - cal.to_work_array(s[sel])).sum())
        available = float(pool.slots[hours % HOURS_PER_WEEK].sum()) * 3600.0
        util[pool.name] = busy / available if available else math.nan
    return {"measures": out, "waiting": waiting, "utilisation": util}


def simulate(
    model: SimulationModel,
    scenarios: Sequence[Scenario] = (),
    *,
    replications: int = 10,
    seed: int = 0,
    weeks: float = 52.0,
    warmup_weeks: float = 4.0,
    drain_weeks: float | None = None,
    sla_seconds: float | None = None,
    engine: str = "fast",
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """Simulate the as-is model and each scenario, ``replications`` times each.

    Parameters
    ----------
    model
        From :func:`discover_model` or built by hand.
    scenarios
        What-if scenarios (:class:`Scenario`), each a list of combinable changes.
    replications
        Independent runs per scenario (>= 2 for confidence intervals).
    seed
        The same seed gives the same numbers; replication ``r`` of every scenario uses the
        same random streams (common random numbers).
    weeks, warmup_weeks
        Length of the measured window and of the discarded warm-up before it.
    drain_weeks
        How long after the window cases are followed to their end (default: ``weeks``).
    sla_seconds
        Cycle-time standard for SLA attainment (default: the log's 80th percentile, or the
        as-is model's mean when the model did not come from a log).
    engine
        ``"fast"`` (default) or ``"simpy"`` (the reference; pools without calendars only).
    workers
        Processes running replications side by side (the numbers do not depend on it).

    Examples
    --------
    >>> from serviceloop.analytics.simulation import mmc_model
    >>> res = simulate(mmc_model(arrivals_per_hour=4, mean_service_seconds=600, servers=1),
    ...                replications=3, weeks=2, warmup_weeks=0.5, seed=1)
    >>> 0.5 < res.as_is.utilisation["Servers"].mean < 0.8
    True
    """
    if replications < 1:
        raise InvalidParameterError("replications must be at least 1")
    if weeks <= 0 or warmup_weeks < 0:
        raise InvalidParameterError("weeks must be > 0 and warmup_weeks >= 0")
    if workers < 1:
        raise InvalidParameterError("workers must be at least 1")
    if engine not in ("fast", "simpy"):
        raise InvalidParameterError(f"engine must be 'fast' or 'simpy', not {engine!r}")
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names) or "as-is" in names:
        raise InvalidParameterError("scenario names must be unique and not 'as-is'")
    models = [model, *(s.apply(model) for s in scenarios)]
    observed = model.info.get("observed", {})
    if sla_seconds is None:
        sla_seconds = observed.get("cycle_time_p80_seconds")
        sla_source = "80th percentile of the log's cycle times"
    else:
        sla_source = "given"
    if sla_seconds is not None and sla_seconds <= 0:
        raise InvalidParameterError("the SLA must be a positive number of seconds")
    w0 = warmup_weeks * WEEK
    w1 = w0 + weeks * WEEK
    stop = w1 + (weeks if drain_weeks is None else drain_weeks) * WEEK
    seeds = np.random.SeedSequence(seed).spawn(replications)
    if sla_seconds is None:  # a hand-made model without a log: the first as-is run sets it
        first = _replicate(models[0], seeds[0], engine, w1, stop)
        ct = first.end[first.trajectories.offsets[1:] - 1] - first.trajectories.arrival
        if not np.isfinite(ct).any():
            raise InvalidParameterError(
                "no case finished in the first as-is replication: give sla_seconds"
            )
        sla_seconds = float(np.nanmean(ct))
        sla_source = "mean cycle time of the first as-is replication"
    jobs = [(k, r) for r in range(replications) for k in range(len(models))]
    per: list[list[dict[str, Any]]] = [[{}] * replications for _ in models]
    settings_run = (engine, w0, w1, stop, sla_seconds)
    if workers > 1 and len(jobs) > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        context = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        with ProcessPoolExecutor(
            max_workers=min(workers, len(jobs)),
            mp_context=context,
            initializer=_init_worker,
            initargs=(models, seeds, settings_run),
        ) as pool:
            futures = {pool.submit(_job, k, r): (k, r) for k, r in jobs}
            for done, future in enumerate(as_completed(futures), start=1):
                k, r = futures[future]
                per[k][r] = future.result()
                if progress is not None:
                    progress(done, len(jobs))
    else:
        for done, (k, r) in enumerate(jobs, start=1):
            per[k][r] = _measure_one(models[k], seeds[r], settings_run)
            if progress is not None:
                progress(done, len(jobs))
    base = _summarise("as-is", (), per[0])
    results = []
    for s, reps in zip(scenarios, per[1:], strict=True):
        res = _summarise(s.name, tuple(c.describe() for c in s.changes), reps)
        results.append(_with_difference(res, reps, per[0]))
    settings = {
        "replications": replications,
        "seed": seed,
        "weeks": weeks,
        "warmup_weeks": warmup_weeks,
        "drain_weeks": weeks if drain_weeks is None else drain_weeks,
        "sla_seconds": sla_seconds,
        "sla_source": sla_source,
        "engine": engine,
        "workers": workers,
        "confidence": 0.95,
    }
    return SimulationResult(base, tuple(results), settings, model)


def _replicate(
    model: SimulationModel, seed: np.random.SeedSequence, engine: str, horizon: float, stop: float
) -> Run:
    # A fresh copy of the replication's seed: every scenario draws the same random numbers.
    fresh = np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key)
    traj = draw_trajectories(model, fresh, horizon)
    return (run if engine == "fast" else run_simpy)(model, traj, stop=stop)


def _measure_one(
    model: SimulationModel, seed: np.random.SeedSequence, settings: tuple[Any, ...]
) -> dict[str, Any]:
    engine, w0, w1, stop, sla = settings
    return measure(_replicate(model, seed, engine, w1, stop), model, window=(w0, w1), sla=sla)


_WORKER: dict[str, Any] = {}


def _init_worker(
    models: list[SimulationModel], seeds: list[Any], settings: tuple[Any, ...]
) -> None:
    _WORKER.update(models=models, seeds=seeds, settings=settings)


def _job(k: int, r: int) -> dict[str, Any]:
    return _measure_one(_WORKER["models"][k], _WORKER["seeds"][r], _WORKER["settings"])


def _summarise(name: str, changes: tuple[str, ...], reps: list[dict[str, Any]]) -> ScenarioResult:
    def est(group: str) -> dict[str, Estimate]:
        keys = reps[0][group].keys()
        return {k: Estimate.of([r[group][k] for r in reps]) for k in keys}

    return ScenarioResult(name, changes, est("measures"), est("waiting"), est("utilisation"))


def _with_difference(
    res: ScenarioResult, reps: list[dict[str, Any]], base: list[dict[str, Any]]
) -> ScenarioResult:
    def diff(group: str) -> dict[str, Estimate]:
        out = {}
        for k in reps[0][group]:
            if k not in base[0][group]:
                continue
            out[k] = Estimate.of(
                [r[group][k] - b[group][k] for r, b in zip(reps, base, strict=True)]
            )
        return out

    return ScenarioResult(
        res.name,
        res.changes,
        res.measures,
        res.waiting,
        res.utilisation,
        diff("measures"),
        diff("waiting"),
        diff("utilisation"),
    )
