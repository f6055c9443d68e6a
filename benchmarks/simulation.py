"""Simulation speed: discovery and one simulated year of a 100,000-cases-a-year help desk.

A known help-desk model (five stages, a rework loop, three pools with working hours, an
extraneous delay while the customer confirms) is simulated for 52 weeks to make a log of about
100,000 cases with start and completion times and pools as resources (written to Parquet under
``benchmarks/data/``, gitignored). Then, each timed on its own:

- discovery: ``read_parquet`` + ``discover_model`` (start+complete), and the same log read with
  completion times only (starts estimated);
- one replication of 52 weeks (+4 warm-up) of the discovered model on the fast engine;
- replications per second (``simulate`` with 10 replications, as-is + one scenario, in
  ``--workers`` processes);
- the same replication on SimPy, on a copy of the model with every pool on shift 24/7 (SimPy's
  resources have no calendars), task times checked equal to the fast engine's.

Run it alone on the machine (other benchmarks wait on the same lock)::

    flock /tmp/serviceloop-bench.lock .venv/bin/python benchmarks/simulation.py [--cases 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RESULTS = HERE / "results"


def truth_model(cases_per_year: float):  # type: ignore[no-untyped-def]
    from serviceloop.analytics.simulation import ActivityModel, PoolModel, SimulationModel
    from serviceloop.analytics.simulation.model import parse_hours

    rng = np.random.default_rng(2026)
    week = np.zeros(168)
    office = parse_hours("Mon-Fri 08-18")
    week[office] = 1.0
    week[parse_hours("Sat 09-13")] = 0.3
    week[~office & (week == 0)] = 0.05
    arrivals = week / week.sum() * cases_per_year / 52.0
    scale = cases_per_year / 100_000

    def sample(mean: float, shape: float = 2.0) -> np.ndarray:
        return np.sort(rng.gamma(shape, mean / shape, 2001))

    acts = (
        ActivityModel("Register", "Front desk", sample(120)),
        ActivityModel("Triage", "Front desk", sample(300)),
        ActivityModel("Resolve", "Specialists", sample(2400, 1.5)),
        ActivityModel("Review", "Quality", sample(600)),
        ActivityModel(
            "Close", "Front desk", sample(90), delays=np.sort(rng.exponential(86400, 2001))
        ),
    )
    routing = np.array(
        [
            # Register Triage Resolve Review Close END
            [0.00, 1.00, 0.00, 0.00, 0.00, 0.00],
            [0.00, 0.00, 0.85, 0.00, 0.10, 0.05],
            [0.00, 0.00, 0.00, 0.70, 0.30, 0.00],
            [0.00, 0.00, 0.18, 0.00, 0.82, 0.00],  # 18 % back to Resolve: rework
            [0.00, 0.00, 0.00, 0.00, 0.00, 1.00],
            [1.00, 0.00, 0.00, 0.00, 0.00, 0.00],  # START
        ]
    )
    hours = parse_hours("Mon-Fri 08-18; Sat 09-13").astype(np.int64)
    pools = (
        PoolModel("Front desk", hours * max(1, round(8 * scale))),
        PoolModel("Specialists", hours * max(1, round(42 * scale))),
        PoolModel("Quality", hours * max(1, round(6 * scale))),
    )
    return SimulationModel(
        activities=acts,
        routing=routing,
        arrivals=arrivals,
        pools=pools,
        origin_us=1_704_067_200_000_000,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=float, default=100_000, help="cases per year")
    parser.add_argument("--replications", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1, help="processes for the replications")
    args = parser.parse_args()

    import polars as pl

    from serviceloop.analytics import read_parquet
    from serviceloop.analytics.simulation import discover_model, parse_scenario, simulate
    from serviceloop.analytics.simulation.engine import draw_trajectories, run, run_simpy
    from serviceloop.analytics.simulation.scenarios import WorkingHours
    from serviceloop.analytics.simulation.validation import simulate_log

    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} at start"
    )
    DATA.mkdir(exist_ok=True)
    RESULTS.mkdir(exist_ok=True)
    path = DATA / f"sim_helpdesk_{int(args.cases)}.parquet"
    truth = truth_model(args.cases)
    t = time.perf_counter()
    frame = simulate_log(truth, weeks=52, warmup_weeks=4, seed=1)
    frame.write_parquet(path)
    gen = time.perf_counter() - t
    n_cases = frame["case_id"].n_unique()
    print(
        f"log: {n_cases:,} cases, {frame.height:,} events over 52 weeks ({gen:.1f} s to make) -> {path}"
    )

    out: dict[str, float | int | str] = {"cases": n_cases, "events": frame.height}
    t = time.perf_counter()
    log = read_parquet(path, start_timestamp="start_timestamp", resource="resource")
    model = discover_model(log, pool_attribute="pool")
    out["discovery_start_complete_seconds"] = time.perf_counter() - t
    t = time.perf_counter()
    log_c = read_parquet(path, resource="resource", attributes=["pool"])
    discover_model(log_c, pool_attribute="pool")
    out["discovery_completion_only_seconds"] = time.perf_counter() - t

    week = 7 * 86400.0
    traj = draw_trajectories(model, np.random.SeedSequence(5), 56 * week)
    t = time.perf_counter()
    traj = draw_trajectories(model, np.random.SeedSequence(5), 56 * week)
    out["draw_one_year_seconds"] = time.perf_counter() - t
    t = time.perf_counter()
    run(model, traj, stop=108 * week)
    out["engine_one_year_seconds"] = time.perf_counter() - t
    out["simulated_cases_one_year"] = traj.n_cases
    out["simulated_tasks_one_year"] = int(traj.activity.size)

    scen = [parse_scenario("fewer specialists: staff Specialists=-6")]
    t = time.perf_counter()
    res = simulate(
        model,
        scen,
        replications=args.replications,
        seed=1,
        weeks=52,
        warmup_weeks=4,
        workers=args.workers,
    )
    elapsed = time.perf_counter() - t
    runs = args.replications * 2
    out["load_average_at_start"] = os.getloadavg()[0]
    out["simulate_replications"] = runs
    out["simulate_seconds"] = elapsed
    out["replications_per_second"] = runs / elapsed

    always = WorkingHours("24/7").apply(model)
    traj = draw_trajectories(always, np.random.SeedSequence(6), 56 * week)
    t = time.perf_counter()
    fast = run(always, traj, stop=108 * week)
    out["fast_24x7_one_year_seconds"] = time.perf_counter() - t
    t = time.perf_counter()
    ref = run_simpy(always, traj, stop=108 * week)
    out["simpy_24x7_one_year_seconds"] = time.perf_counter() - t
    same = bool(np.allclose(fast.end, ref.end, equal_nan=True, atol=1e-6))
    out["simpy_equal_task_times"] = str(same)
    out["simpy_over_fast"] = out["simpy_24x7_one_year_seconds"] / out["fast_24x7_one_year_seconds"]

    ct = res.as_is.measures["cycle_time_mean_seconds"]
    fewer = res.scenarios[0].difference["cycle_time_mean_seconds"]
    print(
        f"discovery: {out['discovery_start_complete_seconds']:.2f} s (start+complete), "
        f"{out['discovery_completion_only_seconds']:.2f} s (completion only)"
    )
    print(
        f"one year, one replication: draw {out['draw_one_year_seconds']:.2f} s + engine "
        f"{out['engine_one_year_seconds']:.2f} s for {traj.n_cases:,} cases"
    )
    print(
        f"simulate(): {runs} replications (as-is + 1 scenario) of 52+4 weeks in {elapsed:.1f} s = "
        f"{out['replications_per_second']:.2f} replications/s"
    )
    print(
        f"as-is mean cycle time {ct.mean / 3600:.1f} h [{ct.low / 3600:.1f}, {ct.high / 3600:.1f}]; "
        f"6 specialists fewer: {fewer.mean / 3600:+.1f} h [{fewer.low / 3600:+.1f}, "
        f"{fewer.high / 3600:+.1f}]"
    )
    print(
        f"24/7 model, one year: fast engine {out['fast_24x7_one_year_seconds']:.2f} s, SimPy "
        f"{out['simpy_24x7_one_year_seconds']:.2f} s ({out['simpy_over_fast']:.1f}x), same task "
        f"times: {same}"
    )
    (RESULTS / "simulation.json").write_text(json.dumps(out, indent=1))
    pl.Config.set_tbl_rows(30)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
