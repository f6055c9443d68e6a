"""Does the simulation predict what more specialists do to the demo? Prediction, then the check.

Issue 17 item 5. The demo's specialists team (3 people, office hours) is the planted bottleneck:
its cases queue for Solution design behind the team's capacity (``serviceloop.demo.history``).

1. Load the demo (``--days``, ``--per-weekday``, ``--seed``, a fixed end) into a new database.
2. Discover the what-if model from its live log, exactly as the Insights what-if page does
   (``whatif_as_is_model``: stage completions, each stage worked by its responsible team), and
   simulate as-is and ``staff <specialists>=+N`` (``--replications``, ``--weeks``).
3. Load the same demo with ``--extra N`` more specialists into another new database: the same
   seed replays the same customers, cases, arrival instants and work, only with more hands.
4. Compare the prediction with both demos: cycle time mean, median and p90 and the wait before
   Solution design, and the difference between the two demos against the predicted difference.

The demos' own measures use the definitions of the simulation: a case runs from its first
completion in the stage log (leaving Intake) to its last (closing); the cases counted are those
whose first completion falls between ``--skip-days`` after the start and ``--tail-days`` before
the end (the tail leaves them time to close; the share still open is printed). The wait before
Solution design is what the replay recorded: from entering the stage to a specialist taking the
case. The simulation's intervals are 95 % Student-t over its replications: they hold the
simulation's own noise, not the demo's (one history), so a figure outside them can still be
close.

Each demo loads in a child process with its own ``SERVICELOOP_DATA_DIR`` (SQLite), so nothing
else is touched. Run::

    flock /tmp/serviceloop-bench.lock .venv/bin/python benchmarks/demo_staffing.py [--extra 2]

It prints the table and writes ``benchmarks/results/demo_staffing.json``. ``--keep DIR`` keeps
both loaded demos (and their measures) in DIR; ``--reuse DIR`` then simulates again on them
without loading, for a changed model.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
END = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # a Monday, 18:00 in Shanghai
DESIGN = "Solution design"
# The what-if page's model (new cases at the rate of the log's last 8 weeks), and the same with
# other arrival windows: the last 4 weeks, and the whole log's mean rate.
VARIANTS: tuple[tuple[str, dict[str, Any] | None], ...] = (
    ("prediction", None),
    ("prediction_last_4_weeks", {"arrival_weeks": 4}),
    ("prediction_mean_rate", {"arrival_weeks": None}),
)
MEASURES = (
    ("cycle_time_mean_seconds", "cycle time, mean (days)"),
    ("cycle_time_median_seconds", "cycle time, median (days)"),
    ("cycle_time_p90_seconds", "cycle time, p90 (days)"),
    ("design_wait_seconds", "wait before Solution design (days)"),
)


# --- in a child process: one demo, its measures, and (as-is only) the prediction ---------------


def _django(data_dir: Path) -> None:
    os.environ["SERVICELOOP_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("SERVICELOOP_DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serviceloop.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def child(args: argparse.Namespace) -> None:
    _django(Path(args.data_dir))
    from serviceloop.demo import demo_load
    from serviceloop.demo.staffing import demo_observed, demo_predict_more_specialists

    out: dict[str, Any]
    if args.reuse:
        # The demo is loaded already; its measures (they need the replay's recorded waits)
        # were kept with it: only the prediction runs again.
        kept = json.loads(Path(args.out).read_text(encoding="utf-8"))
        out = {k: kept[k] for k in ("extra_specialists", "load_seconds", "load_cpu_seconds")}
        out.update(counters=kept["counters"], observed=kept["observed"])
    else:
        started, cpu = time.perf_counter(), time.process_time()
        result = demo_load(
            days=args.days,
            per_weekday=args.per_weekday,
            customers=args.customers,
            seed=args.seed,
            end=END,
            extra_specialists=args.child_extra,
        )
        first_day = END - timedelta(days=args.days)
        out = {
            "extra_specialists": args.child_extra,
            "load_seconds": time.perf_counter() - started,
            "load_cpu_seconds": time.process_time() - cpu,
            "counters": result.counters.__dict__,
            "observed": demo_observed(
                waits=result.waits.get(DESIGN, []),
                since=first_day + timedelta(days=args.skip_days),
                until=END - timedelta(days=args.tail_days),
            ),
        }
        # Written at once, so a kept demo can be measured again even if the prediction fails.
        Path(args.out).write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.child_extra == 0:
        started, cpu = time.perf_counter(), time.process_time()
        for name, option in VARIANTS:
            out[name] = demo_predict_more_specialists(
                extra=args.extra,
                replications=args.replications,
                weeks=args.weeks,
                seed=args.sim_seed,
                discover=option,
            )
        out["simulation_seconds"] = time.perf_counter() - started
        out["simulation_cpu_seconds"] = time.process_time() - cpu
    Path(args.out).write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")


# --- the parent: two demos, the comparison ------------------------------------------------------


def _run_children(args: argparse.Namespace, folder: Path) -> list[dict[str, Any]]:
    """Both demos at once, each in its own process and data folder."""
    running = []
    for extra in (0, args.extra):
        data_dir = folder / f"demo-plus{extra}"
        out = folder / f"plus{extra}.json"
        if args.reuse:
            if not out.is_file():
                raise SystemExit(f"--reuse: {out} is missing; load the demos with --keep first")
            if extra:  # the demo with more specialists needs no prediction: nothing to redo
                continue
        else:
            data_dir.mkdir()
        command = [sys.executable, __file__, "--child", "--data-dir", str(data_dir)]
        command += ["--out", str(out), "--child-extra", str(extra), *sys.argv[1:]]
        running.append((subprocess.Popen(command), out))
    for process, _ in running:
        if process.wait() != 0:
            raise SystemExit(f"a demo child failed with exit code {process.returncode}")
    outs = [folder / f"plus{extra}.json" for extra in (0, args.extra)]
    return [json.loads(out.read_text(encoding="utf-8")) for out in outs]


def _days(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 86400:.2f}"


def _print(rows: dict[str, dict[str, dict[str, Any]]], extra: int) -> None:
    print(
        f"\n{'measure':38} | {'as-is: predicted [95% CI] / demo':34} | "
        f"{f'+{extra}: predicted [95% CI] / demo':34} | difference: predicted [CI] / demos"
    )
    for key, label in MEASURES:
        row = rows[key]
        cells = []
        for name in ("as_is", "more", "difference"):
            c = row[name]
            mark = "in" if c["within_ci"] else "out"
            cells.append(
                f"{_days(c['predicted'])} [{_days(c['ci_low'])}, {_days(c['ci_high'])}] / "
                f"{_days(c['observed'])} {mark}"
            )
        print(f"{label:38} | {cells[0]:34} | {cells[1]:34} | {cells[2]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", type=int, default=2, help="specialists added (default 2)")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--per-weekday", type=float, default=24.0)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--seed", type=int, default=2024, help="the demo's seed")
    parser.add_argument("--replications", type=int, default=10)
    parser.add_argument("--weeks", type=float, default=26.0, help="simulated weeks (+4 warm-up)")
    parser.add_argument("--sim-seed", type=int, default=0)
    parser.add_argument("--skip-days", type=int, default=14, help="cases starting later count")
    parser.add_argument(
        "--tail-days", type=int, default=14, help="... and this long before the end"
    )
    parser.add_argument(
        "--keep",
        metavar="DIR",
        help="load the demos into DIR (new or empty) and keep them there, to --reuse later",
    )
    parser.add_argument(
        "--reuse",
        metavar="DIR",
        help="take the demos kept in DIR by --keep (same demo options): only simulate again",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-extra", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if args.keep and args.reuse:
        parser.error("--keep and --reuse exclude each other")
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="sl-demo-staffing-") as tmp:
        folder = Path(args.keep or args.reuse or tmp).resolve()
        if args.keep:
            folder.mkdir(parents=True, exist_ok=True)
            if any(folder.iterdir()):
                parser.error(f"--keep: {folder} is not empty")
        os.environ.setdefault("SERVICELOOP_DATA_DIR", tmp)
        base, more = _run_children(args, folder)
        os.environ.setdefault("SERVICELOOP_DEBUG", "1")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serviceloop.settings")
        import django

        django.setup()  # the comparison needs no database, only the demo package's imports
        from serviceloop.demo.staffing import demo_compare

        rows = {
            name: demo_compare(prediction=base[name], base=base["observed"], more=more["observed"])
            for name, _ in VARIANTS
        }
    print(
        f"demo: {args.days} days, {args.per_weekday:g} new cases a weekday, seed {args.seed}; "
        f"simulation: {args.replications} replications x {args.weeks:g} weeks, "
        f"change {base['prediction']['change']!r} on {base['prediction']['staff']}; "
        f"simulations took {base['simulation_seconds']:.0f} s"
    )
    for res in (base, more):
        o = res["observed"]
        print(
            f"demo +{res['extra_specialists']}: {o['cases']} cases counted, {o['closed']} closed, "
            f"{o['design_visits']} Solution design visits; loaded in {res['load_seconds']:.0f} s "
            f"({res['load_cpu_seconds']:.0f} CPU s)"
        )
    for name, option in VARIANTS:
        model = base[name]["design_model"]
        arrivals = base[name]["arrivals"]
        print(
            f"\n{name} (discover_model options {option or 'of the page'}): new cases "
            f"{arrivals['cases_per_week']:.1f} a week, {arrivals['rule']} (whole log "
            f"{arrivals['cases_per_week_whole_log']:.1f}); Solution design work "
            f"{model['work_mean_seconds'] / 3600:.2f} h a visit, delay "
            f"{model['delay_mean_seconds'] / 3600:.2f} h, the specialists' multitasking "
            f"{model['multitasking']:.2f}, utilisation "
            f"{base[name]['as_is']['utilisation'][model['pool']]['mean']:.0%}"
        )
        _print(rows[name], args.extra)
    RESULTS.mkdir(exist_ok=True)
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_start": load,
        },
        "settings": {
            k: v for k, v in vars(args).items() if not k.startswith(("child", "data", "out"))
        },
        "comparison": rows,
        "demo": base,
        "demo_more_specialists": more,
    }
    (RESULTS / "demo_staffing.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
