"""Whole-process speed and memory of ServiceLoop's mining vs pm4py, from the shell.

For each log size, the tools run as separate processes (imports count): the library path
(``serviceloop``: load, DFG, performance DFG, variants, case durations), the command as a user
runs it, every analysis, with its output files: ``serviceloop-json`` (``serviceloop analyze LOG
--json OUT``, all variants in the JSON), ``serviceloop-report`` (``--report OUT.html``) and
``serviceloop-cli`` (both), then pm4py's default pandas path and pm4py fed a Polars LazyFrame;
the pm4py tools compute what the command shares with them: DFG, performance DFG, variants, case
durations, start and end activities and rework. The parent times each process, reads its peak
memory (``os.wait4``), checks the answers are the same (the command's are read back from its
JSON file, after the clock stops) and prints each ServiceLoop run's speed-up over both pm4py
paths. Then XES import: ServiceLoop's reader vs pm4py's readers.

By default the log is ``--variety distinct``: about 10 events a case, nearly every case its
own variant, the hard case for anything that writes variants out (``markov``: the help-desk
chain of ``_gen_log.py``, about 5.6 events a case and a few thousand variants).

    python benchmarks/mining_vs_pm4py.py                   # 1M and 10M events + XES
    python benchmarks/mining_vs_pm4py.py --sizes 1e6 --quick
    python benchmarks/mining_vs_pm4py.py --sizes 1e6 --variety markov --tools serviceloop,pm4py
    python benchmarks/mining_vs_pm4py.py --sizes 1e8 --xes-size 0 --mem-cap-gib 8   # 100M

From 50M events on, ServiceLoop runs ``mine_large_parquet`` (one hash slice of the cases in
memory at a time) and every tool runs under the memory cap: the parent samples the resident
memory of the child's whole process tree and kills it past the cap. The answers are checked
for sanity (events, cases and every total add up) and against any pm4py run that finishes.

Logs are generated deterministically (``_gen_log.py``) under ``benchmarks/data/`` (gitignored).
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
HELPDESK = HERE.parent / "tests" / "data"
TOOLS = (
    "serviceloop",
    "serviceloop-json",
    "serviceloop-report",
    "serviceloop-cli",
    "pm4py",
    "pm4py-polars",
)
# The command's runs: which output files each writes.
COMMANDS = {
    "serviceloop-json": ("json",),
    "serviceloop-report": ("report",),
    "serviceloop-cli": ("json", "report"),
}
ANSWERS = ("dfg", "perf", "start", "end", "variants", "durations")
REWORK = "rework"  # compared when both tools computed it (the command and pm4py)
BIG = 50_000_000  # from here on: mine_large_parquet, a memory cap, sanity checks
XES_TOOLS = ("serviceloop-xes", "pm4py-xes-iterparse", "pm4py-xes-default")


# -- children: one tool each, in its own process ---------------------------------------------
def run_serviceloop(path: str) -> dict[str, Any]:
    import polars as pl

    from serviceloop.analytics import (
        case_durations,
        dfg,
        end_activities,
        read_parquet,
        start_activities,
        variants,
    )

    log = read_parquet(path, attributes=[], duplicates="keep")
    edges = dfg(log)  # frequency and performance in one pass
    durations = case_durations(log).select(
        pl.len().alias("count"),
        pl.col("duration_seconds").sum().alias("sum"),
        pl.col("duration_seconds").min().alias("min"),
        pl.col("duration_seconds").max().alias("max"),
        pl.col("duration_seconds").median().alias("median"),
    )
    v = variants(log)
    return {
        "dfg": {f"{s}|{t}": n for s, t, n in edges.select("source", "target", "count").iter_rows()},
        "perf": {
            f"{s}|{t}": [m, md]
            for s, t, m, md in edges.select(
                "source", "target", "mean_seconds", "median_seconds"
            ).iter_rows()
        },
        "start": dict(start_activities(log).iter_rows()),
        "end": dict(end_activities(log).iter_rows()),
        "variants": dict(
            zip(v["activities"].list.join("|").to_list(), v["count"].to_list(), strict=True)
        ),
        "durations": durations.row(0, named=True),
    }


def run_serviceloop_large(path: str) -> dict[str, Any]:
    import polars as pl

    from serviceloop.analytics import mine_large_parquet

    found = mine_large_parquet(path, duplicates="keep", workdir=str(DATA))
    edges, v = found.dfg, found.variants
    durations = found.case_durations.select(
        pl.len().alias("count"),
        pl.col("duration_seconds").sum().alias("sum"),
        pl.col("duration_seconds").min().alias("min"),
        pl.col("duration_seconds").max().alias("max"),
        pl.col("duration_seconds").median().alias("median"),
    )
    return {
        "dfg": {f"{s}|{t}": n for s, t, n in edges.select("source", "target", "count").iter_rows()},
        "perf": {
            f"{s}|{t}": [m, md]
            for s, t, m, md in edges.select(
                "source", "target", "mean_seconds", "median_seconds"
            ).iter_rows()
        },
        "start": dict(found.start_activities.iter_rows()),
        "end": dict(found.end_activities.iter_rows()),
        "variants": dict(
            zip(v["activities"].list.join("|").to_list(), v["count"].to_list(), strict=True)
        ),
        "durations": durations.row(0, named=True),
        "events": found.events,
        "cases": found.cases,
        "parts": found.parts,
    }


def _pm4py_results(pm4py: Any, df: Any) -> dict[str, Any]:
    dfg, start, end = pm4py.discover_dfg(df)
    perf, _, _ = pm4py.discover_performance_dfg(df)
    variants = pm4py.get_variants(df)
    durations = pm4py.get_all_case_durations(df)
    rework = pm4py.get_rework_cases_per_activity(df)
    return {
        REWORK: {k: int(v) for k, v in rework.items()},
        "dfg": {f"{s}|{t}": int(n) for (s, t), n in dfg.items()},
        "perf": {f"{s}|{t}": [float(x["mean"]), float(x["median"])] for (s, t), x in perf.items()},
        "start": {k: int(v) for k, v in start.items()},
        "end": {k: int(v) for k, v in end.items()},
        "variants": {"|".join(k): int(v) for k, v in variants.items()},
        "durations": _summary([float(d) for d in durations]),
    }


def run_pm4py(path: str) -> dict[str, Any]:
    warnings.filterwarnings("ignore")
    import pandas as pd
    import pm4py

    df = pd.read_parquet(path, columns=["case_id", "activity", "timestamp"])
    df = pm4py.format_dataframe(
        df, case_id="case_id", activity_key="activity", timestamp_key="timestamp"
    )
    return _pm4py_results(pm4py, df)


def run_pm4py_polars(path: str) -> dict[str, Any]:
    warnings.filterwarnings("ignore")
    import pm4py
    import polars as pl

    lf = pl.scan_parquet(path).select(
        pl.col("case_id").alias("case:concept:name"),
        pl.col("activity").alias("concept:name"),
        pl.col("timestamp").alias("time:timestamp"),
    )
    return _pm4py_results(pm4py, lf)


def run_serviceloop_xes(path: str) -> dict[str, Any]:
    from serviceloop.analytics import read_xes

    log = read_xes(path, duplicates="keep")
    return {"events": log.n_events, "cases": log.n_cases}


def _run_pm4py_xes(path: str, variant: str | None) -> dict[str, Any]:
    warnings.filterwarnings("ignore")
    import pm4py

    df = pm4py.read_xes(path, variant=variant)
    return {"events": len(df), "cases": int(df["case:concept:name"].nunique())}


def run_pm4py_xes_iterparse(path: str) -> dict[str, Any]:
    return _run_pm4py_xes(path, "iterparse")


def run_pm4py_xes_default(path: str) -> dict[str, Any]:
    return _run_pm4py_xes(path, None)


def _summary(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    n = len(values)
    mid = (values[(n - 1) // 2] + values[n // 2]) / 2 if n else math.nan
    return {
        "count": n,
        "sum": math.fsum(values),
        "min": values[0],
        "max": values[-1],
        "median": mid,
    }


CHILDREN = {
    "serviceloop": run_serviceloop,
    "serviceloop-large": run_serviceloop_large,
    "pm4py": run_pm4py,
    "pm4py-polars": run_pm4py_polars,
    "serviceloop-xes": run_serviceloop_xes,
    "pm4py-xes-iterparse": run_pm4py_xes_iterparse,
    "pm4py-xes-default": run_pm4py_xes_default,
}


# -- parent -------------------------------------------------------------------------------------
@dataclass
class Run:
    """One child process: wall seconds, CPU seconds (user + system), peak MiB, its answers."""

    wall: float
    cpu: float
    mem: float
    results: dict[str, Any] | None
    killed: str = ""  # why the parent stopped it (memory cap, timeout)


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (a JVM or worker included)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total


def _high_water(pid: int) -> int:
    """Peak resident bytes of one running process since it started its program (``VmHWM``);
    0 once it has ended. Sampled every few milliseconds: it only grows, so only a peak in the
    child's last milliseconds could be missed."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def cli_command(
    log: Path, json_out: str, report: str, outputs: tuple[str, ...] = ("json", "report")
) -> list[str]:
    """``serviceloop analyze`` as a user runs it: the installed script, the outputs asked."""
    script = Path(sys.executable).with_name("serviceloop")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "serviceloop.cli"]
    files = {"json": ["--json", json_out], "report": ["--report", report]}
    return [*head, "analyze", str(log), "--duplicates", "keep",
            *(arg for kind in outputs for arg in files[kind])]  # fmt: skip


def cli_answers(json_path: str) -> dict[str, Any]:
    """The command's answers, read back from its JSON file (after the clock stopped)."""
    with open(json_path, encoding="utf-8") as fh:
        data = json.load(fh)
    d = data["cases"]["duration_seconds"]
    n = data["cases"]["count"]
    return {
        "dfg": {f"{e['source']}|{e['target']}": e["count"] for e in data["dfg"]},
        "perf": {
            f"{e['source']}|{e['target']}": [e["mean_seconds"], e["median_seconds"]]
            for e in data["dfg"]
        },
        "start": data["start_activities"],
        "end": data["end_activities"],
        "variants": {"|".join(v["activities"]): v["count"] for v in data["variants"]},
        "durations": {
            "count": n,
            "sum": d["mean"] * n,
            "min": d["min"],
            "max": d["max"],
            "median": d["median"],
        },
        REWORK: {r["activity"]: r["cases_repeated"] for r in data["rework"]},
        "json_mib": os.path.getsize(json_path) / 2**20,
    }


def measure(tool: str, path: Path, timeout: float, mem_cap: float | None = None) -> Run:
    """Run one tool in a fresh interpreter (imports count) and read its rusage.

    With ``mem_cap`` (bytes), the process tree's resident memory is sampled every 50 ms and
    the tree is killed past the cap (peak then reads as the cap crossed).
    """
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False, dir=DATA) as out:
        out_path = out.name
    report = out_path.removesuffix(".json") + ".html"
    if tool in COMMANDS:
        cmd = cli_command(path, out_path, report, COMMANDS[tool])
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", tool, str(path), out_path]
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = start + timeout
    next_sample, tree_peak, high_water = start, 0, 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        high_water = max(high_water, _high_water(proc.pid))
        now = time.perf_counter()
        if mem_cap is not None and now >= next_sample:
            next_sample = now + 0.05
            tree_peak = max(tree_peak, _tree_rss(proc.pid))
            if tree_peak > mem_cap:
                os.killpg(proc.pid, 9)
                _, status, usage = os.wait4(proc.pid, 0)
                why = f"killed past the {mem_cap / 2**30:g} GiB cap after {now - start:.0f} s"
                print(f"  {tool}: {why}")
                cpu = usage.ru_utime + usage.ru_stime
                return Run(now - start, cpu, tree_peak / 2**20, None, killed=why)
        if now > deadline:
            os.killpg(proc.pid, 9)
            _, status, usage = os.wait4(proc.pid, 0)
            print(f"  {tool}: timed out after {timeout:.0f} s")
            why = f"timed out after {timeout:.0f} s"
            return Run(math.nan, math.nan, usage.ru_maxrss / 1024, None, killed=why)
        time.sleep(0.005)
    run = Run(
        wall=time.perf_counter() - start,
        cpu=usage.ru_utime + usage.ru_stime,
        # The child's own high-water mark, read while it ran (Linux's ru_maxrss of a child
        # also counts this parent's size when it forked: a parent holding the last tool's
        # answers read as the peak of every small run); for a JVM child, the sampled tree.
        mem=max(high_water or usage.ru_maxrss * 1024, tree_peak) / 2**20,
        results=None,
    )
    if os.waitstatus_to_exitcode(status) != 0:
        print(f"  {tool}: failed (exit {os.waitstatus_to_exitcode(status)})")
        return run
    if tool in COMMANDS:
        outputs = COMMANDS[tool]
        run.results = cli_answers(out_path) if "json" in outputs else {}
        if "report" in outputs:
            run.results["report_mib"] = os.path.getsize(report) / 2**20
            os.unlink(report)
    else:
        with open(out_path) as fh:
            run.results = json.load(fh)
    os.unlink(out_path)
    return run


def best_of_rounds(
    n: int, tools: list[str], path: Path, timeout: float, mem_cap: float | None = None
) -> dict[str, Run]:
    """Each tool's fastest of ``n`` runs, taken in rounds (one run of every tool per round), so
    that no tool always runs first or last: on a VM the memory a process is handed costs more
    the first time the host backs it, which favours whoever follows a big run. A tool killed
    for memory is not run again."""
    runs: dict[str, list[Run]] = {tool: [] for tool in tools}
    for _ in range(max(1, n)):
        for tool in tools:
            if not any(r.killed for r in runs[tool]):
                runs[tool].append(measure(tool, path, timeout, mem_cap))
    return {
        tool: min(rs, key=lambda r: r.wall if r.wall == r.wall and not r.killed else math.inf)
        for tool, rs in runs.items()
    }


def same(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Names of the results that differ (floats compared to 1e-6 relative); rework when both
    computed it (pm4py lists only activities some case repeats)."""
    bad = []
    if REWORK in a and REWORK in b:
        ours = {k: v for k, v in a[REWORK].items() if v}
        if ours != {k: v for k, v in b[REWORK].items() if v}:
            bad.append(REWORK)
    for key in ANSWERS:
        x, y = a[key], b.get(key)
        if y is None:
            bad.append(key)
            continue
        if key == "perf":
            ok = x.keys() == y.keys() and all(
                math.isclose(p, q, rel_tol=1e-6, abs_tol=1e-3)
                for k in x
                for p, q in zip(x[k], y[k], strict=True)
            )
        elif key == "durations":
            ok = all(math.isclose(x[k], y[k], rel_tol=1e-9, abs_tol=1e-3) for k in x)
        else:
            ok = x == y
        if not ok:
            bad.append(key)
    return bad


def bytecode_for_serviceloop() -> str:
    """Byte-compile what ``serviceloop analyze`` imports like an installed package, once,
    before timing: the package, the ``serviceloop`` script's module, its commands (the script
    imports the one it runs) and the analytics.

    pm4py and Polars were installed by pip with their ``.pyc`` files; an editable install under
    ``PYTHONDONTWRITEBYTECODE=1`` has none (or stale ones), so each child would compile the
    source again. The answers are not cached: only the compiled modules, as in any installation.
    """
    import compileall

    import serviceloop

    root = Path(serviceloop.__file__).parent
    if not sys.dont_write_bytecode:
        return ""  # the first child writes them, as usual
    for module in ("__init__.py", "cli.py"):
        compileall.compile_file(str(root / module), quiet=1)
    for package in ("commands", "analytics"):
        compileall.compile_dir(str(root / package), quiet=1)
    return f"{root}/{{__init__,cli}}.py, commands/, analytics/"


def sanity(results: dict[str, Any] | None, path: Path) -> list[str]:
    """What does not add up in a big run's answers (no reference tool finishes there)."""
    import polars as pl

    if results is None:
        return ["no answers"]
    rows = pl.scan_parquet(path).select(pl.len()).collect().item()
    events, cases = results["events"], results["cases"]
    checks = {
        "events = rows in the file": events == rows,
        "cases = sum of start activities": cases == sum(results["start"].values()),
        "cases = sum of end activities": cases == sum(results["end"].values()),
        "cases = sum of variant counts": cases == sum(results["variants"].values()),
        "events = sum of variant lengths": events
        == sum(n * (k.count("|") + 1) for k, n in results["variants"].items()),
        "DFG pairs = events - cases": sum(results["dfg"].values()) == events - cases,
        "cases = case durations": cases == results["durations"]["count"],
        "durations are >= 0": results["durations"]["min"] >= 0,
        "every DFG edge has a performance": results["perf"].keys() == results["dfg"].keys(),
    }
    return [name for name, ok in checks.items() if not ok]


def ensure_log(n: int, variety: str = "markov") -> Path:
    sys.path.insert(0, str(HERE))
    from _gen_log import generate

    prefix = "log" if variety == "markov" else variety
    path = DATA / f"{prefix}_{_label(n)}.parquet"
    if not path.exists():
        print(f"generating {path} ...", flush=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        if n >= BIG:
            from _gen_log import write_big_parquet

            write_big_parquet(n, path, variety=variety)
        else:
            generate(n, variety=variety).write_parquet(path)
    return path


def ensure_xes(n: int | None) -> Path:
    sys.path.insert(0, str(HERE))
    import polars as pl
    from _gen_log import generate, write_xes

    if n is None:
        path = DATA / "helpdesk.xes"
        if not path.exists():
            df = pl.read_csv(HELPDESK / "helpdesk_full.csv").select(
                pl.col("Case ID").alias("case_id"),
                pl.col("Activity").alias("activity"),
                pl.col("Complete Timestamp")
                .str.to_datetime("%Y/%m/%d %H:%M:%S%.f", time_zone="UTC")
                .alias("timestamp"),
                pl.col("Resource").alias("resource"),
            )
            DATA.mkdir(parents=True, exist_ok=True)
            write_xes(df, path)
        return path
    path = DATA / f"log_{_label(n)}.xes"
    if not path.exists():
        print(f"writing {path} ...", flush=True)
        write_xes(generate(n), path)
    return path


def _label(n: int) -> str:
    return f"{n // 1_000_000}m" if n % 1_000_000 == 0 else f"{n // 1000}k"


def _row(name: str, run: Run, base: Run | None) -> str:
    if run.killed:
        return f"  {name:<20} did not finish: {run.killed} ({run.mem:.0f} MiB held)"
    ratio = ""
    if base is not None and run.wall == run.wall:
        ratio = (
            f"{run.wall / base.wall:6.1f}x {run.cpu / base.cpu:6.1f}x {run.mem / base.mem:6.1f}x"
        )
    return f"  {name:<20} {run.wall:8.2f} s {run.cpu:7.2f} s {run.mem:8.0f} MiB  {ratio}"


HEADER = f"  {'tool':<20} {'wall':>10} {'cpu':>9} {'peak':>12}   ratios: wall    cpu    memory"


def print_speedups(measured: dict[str, Run]) -> None:
    """How many times faster each ServiceLoop run is than each pm4py path, wall and CPU."""
    refs = {t: r for t, r in measured.items() if t.startswith("pm4py") and not r.killed}
    ours = {t: r for t, r in measured.items() if t.startswith("serviceloop") and not r.killed}
    if not refs or not ours:
        return
    print("  speed-up over pm4py (wall / cpu), same run:")
    heads = "".join(f"{'vs ' + t:>22}" for t in refs)
    print(f"  {'':<20}{heads}")
    for tool, run in ours.items():
        cells = "".join(
            f"{f'{ref.wall / run.wall:.1f}x / {ref.cpu / run.cpu:.1f}x':>22}"
            for ref in refs.values()
        )
        print(f"  {tool:<20}{cells}")


def child(tool: str, log: str, out: str) -> int:
    """One measured tool: its answers go to ``out`` as JSON."""
    results = CHILDREN[tool](log)
    with open(out, "w") as fh:
        json.dump(results, fh)
    return 0


def main() -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1e6,1e7", help="comma-separated event counts")
    ap.add_argument("--quick", action="store_true", help="skip pm4py at 10M+ and the big XES")
    ap.add_argument(
        "--variety",
        default="distinct",
        choices=("distinct", "markov"),
        help="distinct: nearly every case its own variant; markov: a few thousand variants",
    )
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--xes-size", default="1e6", help="events in the generated XES (0: none)")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--repeat", type=int, default=1, help="runs per tool; the fastest counts")
    ap.add_argument("--no-xes", action="store_true", help="skip the XES import comparison")
    ap.add_argument(
        "--mem-cap-gib",
        type=float,
        default=None,
        help=f"kill any tool whose processes hold more (default: 8 from {BIG:,} events on)",
    )
    ap.add_argument("--child", nargs=3, metavar=("TOOL", "LOG", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        return child(*args.child)

    compiled = bytecode_for_serviceloop()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f} at start "
        f"(cpu = user + system seconds, robust when other work shares the machine)"
    )
    if compiled:
        print(f"byte-compiled {compiled} (as pip does for installed packages, pm4py and Polars)")
    tools = [t for t in args.tools.split(",") if t]
    failures = 0
    for n in [int(float(s)) for s in args.sizes.split(",") if s]:
        path = ensure_log(n, args.variety)
        big = n >= BIG
        cap_gib = args.mem_cap_gib if args.mem_cap_gib is not None else (8.0 if big else None)
        cap = cap_gib * 2**30 if cap_gib is not None else None
        print(
            f"\n{n:,} events ({path.name}): library: load + DFG + performance DFG + variants + "
            "durations; the command: every analysis and its output files; pm4py: the library's "
            "analyses plus start/end activities and rework"
        )
        if cap_gib is not None:
            print(f"  (every tool under a {cap_gib:g} GiB cap on its process tree's memory)")
        print(f"  load average {os.getloadavg()[0]:.1f} before this size")
        print(HEADER)
        ours_name = "serviceloop-large" if big else "serviceloop"
        chosen = [ours_name if big and t == "serviceloop" else t for t in tools]
        if big:  # the command would need --large, which writes no report
            chosen = [t for t in chosen if t not in COMMANDS]
        if args.quick and n >= 10_000_000:
            chosen = [t for t in chosen if t.startswith("serviceloop")]
        measured = best_of_rounds(args.repeat, chosen, path, args.timeout, cap)
        ours = measured.get(ours_name)
        commands = {t: r for t, r in measured.items() if t in COMMANDS and r.results}
        for tool, run in measured.items():
            base = ours if tool != ours_name else None
            print(_row(tool, run, base))
            if tool in commands:
                res = commands[tool].results or {}
                wrote = []
                if "json_mib" in res:
                    wrote.append(
                        f"{res['json_mib']:.0f} MiB of JSON ({len(res['variants']):,} variants)"
                    )
                if "report_mib" in res:
                    wrote.append(f"a {res['report_mib']:.1f} MiB report")
                print(f"  {'':<22} wrote {' and '.join(wrote)}")
            if ours and ours.results is not None and run.results is not None and base:
                if tool in COMMANDS:
                    continue  # checked against pm4py below, rework included
                diff = same(ours.results, run.results)
                print(
                    f"  {'':<22} results identical to ServiceLoop: "
                    f"{'yes' if not diff else 'NO: ' + ', '.join(diff)}"
                )
                failures += bool(diff)
            if tool.startswith("pm4py") and run.results:
                for name, command in commands.items():
                    if not command.results or "dfg" not in command.results:
                        continue  # the report alone writes no JSON to compare
                    diff = same(command.results, run.results)
                    print(
                        f"  {'':<22} {name}'s JSON (rework included) identical: "
                        f"{'yes' if not diff else 'NO: ' + ', '.join(diff)}"
                    )
                    failures += bool(diff)
        print_speedups(measured)
        if big and ours is not None:
            problems = sanity(ours.results, path)
            print(
                f"  {'':<22} ServiceLoop's answers add up (events, cases, DFG, variants, "
                f"durations): {'yes' if not problems else 'NO: ' + '; '.join(problems)}"
            )
            if ours.results is not None:
                print(
                    f"  {'':<22} {ours.results['events']:,} events, {ours.results['cases']:,} "
                    f"cases, {len(ours.results['variants']):,} variants, "
                    f"{ours.results['parts']} parts"
                )
            failures += bool(problems)

    xes_sizes: list[int | None] = [] if args.no_xes else [None]
    if not args.quick and not args.no_xes and int(float(args.xes_size)):
        xes_sizes.append(int(float(args.xes_size)))
    for xes_n in xes_sizes:
        path = ensure_xes(xes_n)
        label = "helpdesk_full as XES" if xes_n is None else f"{xes_n:,} events as XES"
        print(f"\nXES import: {label} ({path.stat().st_size / 2**20:.0f} MiB)")
        print(HEADER)
        measured = best_of_rounds(args.repeat, list(XES_TOOLS), path, args.timeout)
        xes_ours = measured["serviceloop-xes"]
        for tool, run in measured.items():
            xes_base = xes_ours if tool != "serviceloop-xes" else None
            print(_row(tool, run, xes_base))
            if run.results is not None and xes_ours.results is not None and xes_base:
                ok = run.results == xes_ours.results
                print(f"  {'':<22} same events and cases: {'yes' if ok else 'NO'}")
                failures += not ok
    return 1 if failures else 0


if __name__ == "__main__":
    # Children skip argument parsing: the parent wrote their command line.
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        sys.exit(child(*sys.argv[2:]))
    sys.exit(main())
