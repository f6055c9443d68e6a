"""Case prediction: training time on a history, scoring time for 100,000 open cases.

The history is the help-desk Markov chain of ``_gen_log.py`` (about 5.6 events a case, 200
resources, channel and priority attributes); the open cases are 100,000 other cases of the
same chain cut before their last event (at a random point), so none is closed. Steps are timed
separately inside one process, imports excluded (they are printed apart):

    build   EventLog from the generated Polars frame (from_polars)
    train   train_predictor (prefix features, three LightGBM models with early stopping)
    save    CasePredictor.save / load_predictor
    score   CasePredictor.score on the open cases (features + the three models)

    python benchmarks/prediction.py                        # 100,000 closed + 100,000 open
    python benchmarks/prediction.py --history 20000 --open 20000 --threads 2

The machine and the numbers are printed; the numbers in docs/prediction.md come from here.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

t_import = time.perf_counter()
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _gen_log import generate  # noqa: E402

from serviceloop.analytics import from_polars  # noqa: E402
from serviceloop.analytics.prediction import load_predictor, train_predictor  # noqa: E402

EVENTS_PER_CASE = 5.6


def cases(n_cases: int, *, seed: int, prefix: str) -> pl.DataFrame:
    """About ``n_cases`` whole cases of the generator, ids prefixed so two logs never share one."""
    frame = generate(int(n_cases * EVENTS_PER_CASE * 1.3), seed=seed, variety="markov")
    keep = frame["case_id"].unique(maintain_order=True).head(n_cases)
    return frame.filter(pl.col("case_id").is_in(keep.implode())).with_columns(
        (pl.lit(prefix) + pl.col("case_id")).alias("case_id")
    )


def cut_open(frame: pl.DataFrame, seed: int) -> pl.DataFrame:
    """Each case cut after a random number of its events, 1 .. n-1: none reaches 'Closed'."""
    rng = np.random.default_rng(seed)
    frame = frame.sort("case_id", "timestamp", maintain_order=True)  # ties keep event order
    sizes = frame.group_by("case_id", maintain_order=True).len()
    sizes = sizes.filter(pl.col("len") >= 2)
    keep = rng.integers(1, sizes["len"].to_numpy())  # 1 .. n-1 events kept
    limits = sizes.with_columns(pl.Series("keep", keep))
    return (
        frame.join(limits, on="case_id")
        .filter(pl.int_range(pl.len()).over("case_id") < pl.col("keep"))
        .drop("len", "keep")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--history", type=int, default=100_000, help="Closed cases to train on.")
    parser.add_argument("--open", type=int, default=100_000, help="Open cases to score.")
    parser.add_argument("--threads", type=int, default=1, help="LightGBM threads.")
    parser.add_argument("--sla", type=float, default=5.0, help="SLA target in days.")
    parser.add_argument(
        "--max-prefixes", type=int, default=300_000, help="Training prefixes at most (0: all)."
    )
    args = parser.parse_args()
    imports = time.perf_counter() - t_import
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, polars {pl.__version__}"
    )
    history = cases(args.history, seed=11, prefix="H")
    live = cut_open(cases(args.open, seed=12, prefix="O"), seed=13)
    print(
        f"history: {history.height:,} events, {history['case_id'].n_unique():,} cases; "
        f"open: {live.height:,} events, {live['case_id'].n_unique():,} cases "
        f"(imports {imports:.2f} s)"
    )
    timings: dict[str, float] = {}

    cpu: dict[str, float] = {}

    def timed(name: str, fn, *a, **kw):  # type: ignore[no-untyped-def]
        t, c = time.perf_counter(), time.process_time()
        out = fn(*a, **kw)
        timings[name] = time.perf_counter() - t
        cpu[name] = time.process_time() - c
        return out

    log = timed("build history", from_polars, history)
    steps: list[tuple[str, float]] = []  # the library's progress messages, with their times
    t0 = time.perf_counter()
    model = timed(
        "train",
        train_predictor,
        log,
        sla_seconds=args.sla * 86400,
        threads=args.threads,
        max_prefixes=args.max_prefixes or None,
        on_step=lambda m: steps.append((m, time.perf_counter() - t0)),
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = timed("save", model.save, Path(tmp) / "model.slpm")
        size = path.stat().st_size
        model = timed("load", load_predictor, path)
    live_log = timed("build open", from_polars, live)
    scores = timed("score", model.score, live_log)
    missing = set(live["case_id"]) - set(scores["case_id"])
    if missing or scores.height != scores["case_id"].n_unique():
        print(f"PROBLEM: {len(missing)} open cases without a score, e.g. {sorted(missing)[:3]}")
    info = model.info
    print(
        f"{info['closed_cases']:,} closed cases; trained on the latest {info['cases_used']:,} "
        f"({info['prefixes']:,} prefixes); boosting rounds {info['rounds']}; model file "
        f"{size / 1e6:.1f} MB"
    )
    for (msg, at), nxt in zip(steps, [*(s[1] for s in steps[1:]), timings["train"]], strict=True):
        print(f"  {msg:<50} {nxt - at:7.2f} s")
    print("step           wall s    CPU s")
    for name, seconds in timings.items():
        print(f"{name:<14} {seconds:6.2f} {cpu[name]:8.2f}")
    print(
        f"scoring: {scores.height / timings['score']:,.0f} open cases/s; "
        f"mean breach probability {scores['breach_probability'].mean():.2f}; peak memory "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2:.2f} GiB"
    )


if __name__ == "__main__":
    main()
