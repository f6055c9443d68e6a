"""Turn a simulation run back into an event log, to compare it with the real one.

``simulated_log`` writes one row per task (case id, activity, start and completion as UTC
datetimes on the model's clock, pool) so the simulated log can be analysed like any other, or
compared with the log the model came from (``benchmarks/simulation_validation.py`` does that with
the distance measures of Chapela-Campa et al., BPM 2023).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from .engine import Run, draw_trajectories, run
from .model import SimulationModel

__all__ = ["simulate_log", "simulated_log"]


def simulated_log(
    model: SimulationModel, result: Run, *, window: tuple[float, float] | None = None
) -> pl.DataFrame:
    """The tasks of ``result`` as an event log (cases arriving in ``window`` seconds, if given).

    Unfinished tasks are left out. Columns: ``case_id``, ``activity``, ``start_timestamp``,
    ``timestamp``, ``resource`` (``"<pool> <k>"``, the k-th slot of the pool), ``pool``.
    """
    tr = result.trajectories
    case = tr.case_of_task
    keep = ~np.isnan(result.end)
    if window is not None:
        arr = tr.arrival[case]
        keep &= (arr >= window[0]) & (arr < window[1])
    names = pl.Series([a.name for a in model.activities])
    pools = pl.Series([a.pool for a in model.activities])
    origin = model.origin_us

    def ts(x: np.ndarray) -> pl.Series:
        us = (x[keep] * 1_000_000).astype(np.int64) + origin
        return pl.from_epoch(pl.Series(us), "us").dt.replace_time_zone("UTC")

    acts = tr.activity[keep]
    pool = pools.gather(acts)
    if result.slot is not None:
        resource = pool + " " + pl.Series((result.slot[keep] + 1).astype(np.int64)).cast(pl.String)
    else:
        resource = pool
    return pl.DataFrame(
        {
            "case_id": pl.Series(case[keep]).cast(pl.String),
            "activity": names.gather(acts),
            "start_timestamp": ts(result.start),
            "timestamp": ts(result.end),
            "resource": resource,
            "pool": pool,
        }
    ).sort("case_id", "timestamp", maintain_order=True)


def simulate_log(
    model: SimulationModel, *, weeks: float, warmup_weeks: float = 4.0, seed: int = 0
) -> pl.DataFrame:
    """Simulate ``weeks`` after a warm-up and return the cases arriving in them as a log.

    Timestamps are shifted so that the measured window starts at the model's origin (the
    Monday the discovered log starts in), plus whole weeks: hours of the week are kept.

    Examples
    --------
    >>> from serviceloop.analytics.simulation import mmc_model
    >>> log = simulate_log(mmc_model(arrivals_per_hour=2, mean_service_seconds=600,
    ...                              servers=1), weeks=1, warmup_weeks=0, seed=3)
    >>> log.columns
    ['case_id', 'activity', 'start_timestamp', 'timestamp', 'resource', 'pool']
    """
    week = 7 * 86_400.0
    w0 = warmup_weeks * week
    w1 = w0 + weeks * week
    traj = draw_trajectories(model, np.random.SeedSequence(seed), w1)
    res = run(model, traj, stop=w1 + 52 * week)
    shifted = model.with_(origin_us=model.origin_us - round(warmup_weeks) * int(week) * 1_000_000)
    return simulated_log(shifted, res, window=(w0, w1))
