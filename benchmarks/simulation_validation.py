"""Does the as-is model reproduce its log? Held-out validation with the BPM 2023 measures.

For each log: the cases that start in the first 80 % of its time span train the model
(``discover_model``); the cases that start in the next 15 % are the test window (the last 5 %
is left out so test cases have time to finish in the real log; simulated events after the real
log's last event are dropped, as the real log cannot show them). The model simulates the test
window (after a warm-up) and the simulated log is compared with the real test cases using the
distance measures of Chapela-Campa, Benchekroun, Baron, Dumas, Fahland, Polyvyanyy (BPM 2023,
"A framework for measuring the quality of business process simulation models"), as
implemented by the ``log-distance-measures`` package:

- NGD  n-gram distribution distance (n = 3, control flow)
- CTD  cycle-time distribution distance (EMD over 1-hour bins, in hours)
- CED  circadian event distribution distance (weekday x hour of events, EMD in hours)
- CAR  case-arrival distribution distance (arrivals per hour, EMD in hours)

The noise floor is the same distance between two random halves of the real test cases (same
period, half the size); the model's row compares one real half with as many simulated cases, so
both rows compare equal-sized samples. A model can't beat the floor; the closer the better.

Logs: ``tests/data/helpdesk_full.csv`` (real, completion times and resources),
``tests/data/helpdesk_tax2017.csv`` (real, completion times only, no resources), a known
process with start and completion times, calendars and delays (``benchmarks/simulation.py``'s
ground truth at 20,000 cases a year), and ``_gen_log.py``'s Markov help desk (completion only).
No public log with start and completion times ships in a PyPI package we could find (pm4py's
wheel and sdist, prosimos and pix-framework carry none), so the start+complete case is the
known process.

``log-distance-measures`` pins pandas < 3 while the project uses pandas 3; it works with
pandas 3 (its functions are plain group-bys), so install it without its pins::

    .venv/bin/pip install --no-deps log-distance-measures==2.2.0 jellyfish pulp
    flock /tmp/serviceloop-bench.lock .venv/bin/python benchmarks/simulation_validation.py
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent / "tests" / "data"
RESULTS = HERE / "results"
WEEK_US = 7 * 86_400 * 1_000_000
MEASURES = ("NGD", "CTD", "CED", "CAR")


def _pandas(frame: pl.DataFrame):  # type: ignore[no-untyped-def]
    return frame.select(
        "case_id", "activity", "start_timestamp", "timestamp", "resource"
    ).to_pandas()


def distances(real: pl.DataFrame, sim: pl.DataFrame) -> dict[str, float]:
    from log_distance_measures.case_arrival_distribution import case_arrival_distribution_distance
    from log_distance_measures.circadian_event_distribution import (
        circadian_event_distribution_distance,
    )
    from log_distance_measures.config import EventLogIDs
    from log_distance_measures.cycle_time_distribution import cycle_time_distribution_distance
    from log_distance_measures.n_gram_distribution import n_gram_distribution_distance

    ids = EventLogIDs(
        case="case_id",
        activity="activity",
        start_time="start_timestamp",
        end_time="timestamp",
        resource="resource",
    )
    a, b = _pandas(real), _pandas(sim)
    return {
        "NGD": n_gram_distribution_distance(a, ids, b, ids, n=3),
        "CTD": cycle_time_distribution_distance(a, ids, b, ids, bin_size=dt.timedelta(hours=1)),
        "CED": circadian_event_distribution_distance(a, ids, b, ids),
        "CAR": case_arrival_distribution_distance(a, ids, b, ids),
    }


def _events(log) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    """The log as case_id, activity, start_timestamp (completion when unknown), timestamp, resource."""
    frame = log.to_polars()
    if "start_timestamp" not in frame.columns:
        frame = frame.with_columns(pl.col("timestamp").alias("start_timestamp"))
    if "resource" not in frame.columns:
        frame = frame.with_columns(pl.lit("unknown").alias("resource"))
    return frame.with_columns(pl.col("case_id").cast(pl.String), pl.col("resource").cast(pl.String))


def validate(  # type: ignore[no-untyped-def]
    name: str,
    log,
    *,
    pool_attribute: str | None = None,
    seed: int = 1,
    arrival_weeks: float | None = 8.0,
) -> dict:  # type: ignore[type-arg]
    from serviceloop.analytics import filter_time
    from serviceloop.analytics.simulation import discover_model, simulate_log

    frame = _events(log)
    starts = frame.group_by("case_id").agg(pl.col("start_timestamp").min().alias("s"))
    t0, t1 = starts["s"].min(), starts["s"].max()
    span = t1 - t0
    cut, stop = t0 + span * 0.80, t0 + span * 0.95
    train = filter_time(log, end=cut, mode="started")
    t = time.perf_counter()
    model = discover_model(train, pool_attribute=pool_attribute, arrival_weeks=arrival_weeks)
    discovery = time.perf_counter() - t
    test_ids = starts.filter((pl.col("s") >= cut) & (pl.col("s") < stop))["case_id"]
    real = frame.filter(pl.col("case_id").is_in(test_ids.implode()))
    # Simulate from the Monday before the test window, for whole weeks past its end.
    cut_us = int(cut.timestamp() * 1_000_000)
    monday = model.origin_us + ((cut_us - model.origin_us) // WEEK_US) * WEEK_US
    weeks = int(np.ceil((stop - cut).total_seconds() * 1e6 / WEEK_US)) + 1
    t = time.perf_counter()
    sim = simulate_log(model.with_(origin_us=monday), weeks=weeks, warmup_weeks=8, seed=seed)
    simulation = time.perf_counter() - t
    sim_starts = sim.group_by("case_id").agg(pl.col("start_timestamp").min().alias("s"))
    keep = sim_starts.filter((pl.col("s") >= cut) & (pl.col("s") < stop))["case_id"]
    # The real log stops at its last event: what the simulation does later is not observable
    # either (test cases still open when the log ends are cut the same way on both sides).
    if not log.has_start:  # the real log shows completions only: compare like with like
        sim = sim.with_columns(pl.col("timestamp").alias("start_timestamp"))
    log_end = frame["timestamp"].max()
    sim = sim.filter(pl.col("case_id").is_in(keep.implode()) & (pl.col("timestamp") <= log_end))
    rng = np.random.default_rng(seed)
    ids = real["case_id"].unique().sort().to_numpy()
    rng.shuffle(ids)
    half_a, half_b = ids[: ids.size // 2], ids[ids.size // 2 :]
    a = real.filter(pl.col("case_id").is_in(list(half_a)))
    b = real.filter(pl.col("case_id").is_in(list(half_b)))
    sim_ids = sim["case_id"].unique().sort().to_numpy()
    rng.shuffle(sim_ids)
    s = sim.filter(pl.col("case_id").is_in(list(sim_ids[: half_b.size])))
    floor = distances(a, b)
    got = distances(a, s)
    return {
        "log": name,
        "train_cases": train.n_cases,
        "test_cases": int(ids.size),
        "simulated_cases": int(sim_ids.size),
        "discovery_seconds": discovery,
        "simulation_seconds": simulation,
        "noise_floor": floor,
        "model": got,
    }


def demo_stage_log(db: Path) -> pl.DataFrame:
    """Stage completions from a demo database (SQLite, read without Django): one event per
    stage visit, when the case left the stage (next stage entered, or closed), by whoever
    moved it on."""
    import sqlite3

    with sqlite3.connect(db) as con:
        rows = con.execute(
            "select case_id, kind, activity, timestamp, actor_id from cases_caseevent "
            "where kind in ('stage_entered', 'closed') order by case_id, timestamp, id"
        ).fetchall()
    out = []
    current: dict[int, str | None] = {}
    for case, kind, activity, ts, actor in rows:
        stage = current.get(case)
        if stage is not None:
            out.append((str(case), stage, ts, str(actor)))
        current[case] = activity if kind == "stage_entered" else None
    return pl.DataFrame(out, schema=["case_id", "activity", "timestamp", "resource"], orient="row")


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--demo-db",
        type=Path,
        help="also validate on the demo's log: the SQLite file of `serviceloop demo --no-serve` "
        "(run with SERVICELOOP_DATA_DIR=DIR; the file is DIR/serviceloop.sqlite3)",
    )
    parser.add_argument("--only-demo", action="store_true", help="validate the demo log only")
    parser.add_argument(
        "--arrival-weeks",
        type=float,
        default=8.0,
        help="new cases at the rate of the training log's last N weeks (0: its mean rate)",
    )
    args = parser.parse_args()
    weeks = args.arrival_weeks or None
    sys.path.insert(0, str(HERE))
    from _gen_log import generate  # type: ignore[import-not-found]
    from simulation import truth_model  # type: ignore[import-not-found]

    from serviceloop.analytics import from_polars, read_csv
    from serviceloop.analytics.simulation import simulate_log

    rows = []
    if args.demo_db is not None:
        demo = from_polars(demo_stage_log(args.demo_db), resource="resource")
        rows.append(validate("demo (stage completions + agents)", demo, arrival_weeks=weeks))
    if args.only_demo:
        _print(rows)
        return
    helpdesk = read_csv(
        TESTS / "helpdesk_full.csv",
        case="Case ID",
        activity="Activity",
        timestamp="Complete Timestamp",
        resource="Resource",
        duplicates="keep",
    )
    rows.append(
        validate("helpdesk_full (real; completion + resources)", helpdesk, arrival_weeks=weeks)
    )
    tax = read_csv(
        TESTS / "helpdesk_tax2017.csv",
        case="CaseID",
        activity="ActivityID",
        timestamp="CompleteTimestamp",
        duplicates="keep",
    )
    rows.append(validate("helpdesk_tax2017 (real; completion only)", tax, arrival_weeks=weeks))
    known = simulate_log(truth_model(20_000), weeks=104, warmup_weeks=4, seed=11)
    rows.append(
        validate(
            "known process (start + complete, calendars, delays)",
            from_polars(known, resource="resource"),
            pool_attribute="pool",
            arrival_weeks=weeks,
        )
    )
    markov = generate(60_000, seed=3)
    rows.append(
        validate(
            "_gen_log Markov help desk (completion only)",
            from_polars(markov),
            arrival_weeks=weeks,
        )
    )
    RESULTS.mkdir(exist_ok=True)
    suffix = "" if args.arrival_weeks == 8.0 else f"_arrival_weeks_{args.arrival_weeks:g}"
    (RESULTS / f"simulation_validation{suffix}.json").write_text(
        json.dumps(rows, indent=1, default=str)
    )
    _print(rows)


def _print(rows: list[dict]) -> None:  # type: ignore[type-arg]
    print(f"{'log':52s} {'cases':>11s}  " + "  ".join(f"{m:>15s}" for m in MEASURES))
    for r in rows:
        cells = "  ".join(f"{r['model'][m]:7.3f} ({r['noise_floor'][m]:6.3f})" for m in MEASURES)
        print(f"{r['log']:52s} {r['test_cases']:5d}/{r['train_cases']:5d}  {cells}")
    print(
        "model distance (noise floor: two random halves of the real test cases); CTD, CED, CAR in hours"
    )


if __name__ == "__main__":
    main()
