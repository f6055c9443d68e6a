"""Render every Insights page cold (a fresh process), warm, and after one new event; time and memory.

Over the demo (its own data directory) or a big database (``benchmarks/scale_fill.py``):

    SERVICELOOP_DATA_DIR=/tmp/sl-demo serviceloop demo --no-serve
    SERVICELOOP_DATA_DIR=/tmp/sl-demo python benchmarks/insights_pages.py
    DATABASE_URL=postgres://.../sl_scale SERVICELOOP_DATA_DIR=/tmp/sl-scale \\
        python benchmarks/insights_pages.py [--new-event] [--pages 0,3] [--no-answers]

Each page runs in a process of its own, so "cold" is what a freshly started server pays: its
worker loaded as ``serviceloop.wsgi`` loads it before serving (Django, the URL conf, every view,
the API and the engine imported: "start", timed apart), nothing in memory; the columnar copy of the log (``insights.logstore``)
and the answers kept beside it are on disk, as a running site has them. ``--no-answers`` deletes
the kept answers first, so the page is computed (what the first view of a filter set costs after
a restart): over the coded log of every case stored beside the copy (``insights.codedlog``,
mapped; kept by the worker), spliced with the events since it was written. ``--no-coded`` also
deletes that, so the first page of each view reads and codes the whole copy (and writes it). "Warm" loads the page again in that process. With ``--new-event`` one
event is then appended (a priority change of an open case, through the case service) and the page
loaded again: the copy and the kept log take only that event; at 1M events and more the page
kept at the older version is shown, saying so, while it is computed again in the background
(printed: how long that took, and the load of the fresh page); below that it is computed at once.
``--in-turn`` computes every page in turn in one such process instead, printing what it holds
after each page and its peak so far (a long-lived worker's memory).
The first run over a database writes the copy (minutes at 30M events): run it once before timing.
Prints wall and CPU seconds and the process's peak memory (max RSS) per page. ``--steps stages``
(or ``events``) times instead, in one process, each step of a page computed from the copy: the
log read and coded (after a new event: the touched cases spliced in), the version per case,
conformance, two pages' analyses (with ``--new-event``, again after one new event).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

PAGES = [
    "/insights/",
    "/insights/process/",
    "/insights/process/map/?measure=performance&activities=50&paths=50",
    "/insights/bottlenecks/",
    "/insights/rework/",
    "/insights/variants/",
    "/insights/handovers/",
    "/insights/?view=events",
    "/insights/handovers/?view=events",
    "/insights/?priority=high&channel=email&top_variants=5",
    # A filter on case attributes that keeps most cases.
    "/insights/?priority=normal",
    "/insights/?priority=normal&view=events",
    # Every page of the all-events view, and a time window (a year; one team in one month).
    "/insights/process/?view=events",
    "/insights/process/map/?measure=performance&activities=50&paths=50&view=events",
    "/insights/bottlenecks/?view=events",
    "/insights/rework/?view=events",
    "/insights/variants/?view=events",
    "/insights/?start=2025-01-01&end=2025-12-31",
    "/insights/?start=2025-01-01&end=2025-12-31&view=events",
    "/insights/bottlenecks/?teams=2&start=2026-06-01&end=2026-06-30",
]


def _setup(*, as_server: bool = False) -> None:
    """Django set up; ``as_server``: loaded as a server's worker is before its first request."""
    # Local runs over plain HTTP with a throw-away key (production refuses to start without one).
    os.environ.setdefault("SERVICELOOP_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("SERVICELOOP_HTTPS", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serviceloop.settings")
    if as_server:
        import serviceloop.wsgi  # noqa: F401 -- Django, the URL conf, every view and API schema
    else:
        import django

        django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]


def _timed(
    client: object, page: str, shown: dict[str, object] | None = None
) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    response = client.get(page)  # type: ignore[attr-defined]
    if response.status_code != 200:
        raise SystemExit(f"{page}: HTTP {response.status_code}")
    if shown is not None:
        shown["stale"] = b"insights-stale" in response.content  # the "as of HH:MM" note
    return time.perf_counter() - wall, time.process_time() - cpu


def _one(page: str, user: str, new_event: bool) -> None:
    """Cold, warm and (optionally) after one new event, in this fresh process; JSON out."""
    wall, cpu = time.perf_counter(), time.process_time()
    _setup(as_server=True)
    start = (time.perf_counter() - wall, time.process_time() - cpu)
    from django.test import Client

    from serviceloop.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username=user))
    out: dict[str, object] = {"page": page, "start": start}
    out["cold"] = _timed(client, page)
    out["warm"] = _timed(client, page)
    if new_event:
        _new_event(user)
        cpu = time.process_time()
        out["after_event"] = _timed(client, page, out)
        if out["stale"]:
            # The page was the kept one, "as of HH:MM, updating": time until the fresh one is
            # kept (the background thread's CPU is the process's too), then load it.
            from serviceloop.insights import answers

            began = time.perf_counter()
            while answers.pending_refreshes():
                time.sleep(0.05)
            out["refresh"] = (time.perf_counter() - began, time.process_time() - cpu)
            out["fresh"] = _timed(client, page)
    out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def _steps(view: str, user: str, new_event: bool) -> None:
    """Where a computed page's time goes: each step of the overview and handovers over the
    all-cases log of ``view``, timed in this process (and again after one new event)."""
    from serviceloop.insights import keptlogs, pages
    from serviceloop.insights.selectors import LogFilters

    sampler = _RssSampler()

    def step(name: str, compute: Callable[[], T]) -> T:
        wall, cpu = time.perf_counter(), time.process_time()
        sampler.reset()
        out = compute()
        peak, now = sampler.reset(), _rss_mb()
        print(
            f"{name:44s} {time.perf_counter() - wall:7.2f}s ({time.process_time() - cpu:5.2f})"
            f" {peak:6.0f}MB {now:6.0f}MB",
            flush=True,
        )
        return out

    filters = LogFilters(view=view)  # type: ignore[arg-type]
    keptlogs.forget_kept_logs()

    def computed(label: str) -> None:
        kept = step(f"{label}the log mapped (or read, coded)", lambda: keptlogs._kept_log(filters))
        log = kept.log
        assert log is not None
        scope = step(f"{label}version per case", lambda: pages.scope_build(filters, log))
        step(f"{label}conformance", scope.conformance)
        step(f"{label}overview's analyses", lambda: pages.overview_context(scope))
        step(f"{label}handovers' analyses", lambda: pages.handovers_context(scope))

    print(
        f"{'step (' + view + ' view, all cases)':44s} {'wall (CPU)':>15s}"
        " peak RSS in the step, RSS after it"
    )
    computed("")
    if new_event:
        _new_event(user)
        computed("after one new event: ")


def _in_turn(pages: list[str], user: str) -> None:
    """Every page computed in turn by one process loaded as the server's worker is (the kept
    answers deleted before each): what a long-lived worker holds between pages, and its peak."""
    _setup(as_server=True)
    from django.test import Client

    from serviceloop.accounts.models import User
    from serviceloop.insights import logstore

    client = Client()
    client.force_login(User.objects.get(username=user))
    print(f"{'page':84s} {'computed':>14s} {'held':>8s} {'peak':>8s}")
    for page in pages:
        shutil.rmtree(logstore.store_directory() / "answers", ignore_errors=True)
        wall, cpu = _timed(client, page)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{page:84s} {wall:6.2f}s ({cpu:5.2f}) {_rss_mb():6.0f}MB {peak:6.0f}MB")


def _rss_mb() -> float:
    """This process's resident memory now (Linux), in MB."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class _RssSampler:
    """The process's peak resident memory since the last :meth:`reset`, sampled every 5 ms by a
    thread (``ru_maxrss`` only gives the peak since the process began, not a step's own)."""

    def __init__(self) -> None:
        self._peak = _rss_mb()
        self._lock = threading.Lock()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            rss = _rss_mb()
            with self._lock:
                self._peak = max(self._peak, rss)
            time.sleep(0.005)

    def reset(self) -> float:
        """The peak since the last reset; the next peak starts from now."""
        with self._lock:
            peak, self._peak = max(self._peak, _rss_mb()), _rss_mb()
        return peak


def _new_event(user: str) -> None:
    """A priority change of the newest open case, through the case service."""
    from serviceloop.accounts.models import User
    from serviceloop.cases.models import Case
    from serviceloop.cases.services import case_update

    case = Case.objects.exclude(status="closed").order_by("-id").first()
    if case is None:
        raise SystemExit("no open case to change")
    other = "high" if case.priority != "high" else "normal"
    case_update(case=case, actor=User.objects.get(username=user), changes={"priority": other})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--user", default="manager", help="a manager or admin username")
    parser.add_argument("--pages", default="", help="indexes of the pages to time (default all)")
    parser.add_argument("--new-event", action="store_true", help="also time after one new event")
    parser.add_argument("--no-answers", action="store_true", help="delete kept answers first")
    parser.add_argument(
        "--no-coded", action="store_true", help="delete the stored coded logs first (and answers)"
    )
    parser.add_argument(
        "--steps", choices=["stages", "events"], help="time each step of a computed page instead"
    )
    parser.add_argument(
        "--in-turn", action="store_true", help="compute every page in turn in one process"
    )
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(args.one, args.user, args.new_event)
        return
    if args.steps:
        _setup()
        _steps(args.steps, args.user, args.new_event)
        print("wall seconds (CPU seconds of the process); load average:", os.getloadavg())
        return
    chosen = [PAGES[int(i)] for i in args.pages.split(",")] if args.pages else PAGES
    if args.in_turn:
        _in_turn(chosen, args.user)
        print("wall seconds (CPU seconds); load average:", os.getloadavg())
        return
    _setup()
    from serviceloop.cases.models import Case, CaseEvent
    from serviceloop.insights import logstore
    from serviceloop.insights.keptlogs import event_log_version

    version = event_log_version()
    print(f"{Case.objects.count()} cases, newest event id {version[0]}")
    began = time.perf_counter()
    state = logstore.sync(version)  # the copy is written once, then only grown
    print(f"columnar copy brought up to date in {time.perf_counter() - began:.1f} s")
    del CaseEvent, state
    print(
        f"{'page':66s} {'start':>14s} {'cold':>14s} {'warm':>14s} {'after 1 event':>14s} {'max RSS':>8s}"
        f"  (kept page shown: computed again in {'wall (CPU)':>14s}, then loaded in)"
    )
    for page in chosen:
        if args.no_answers or args.no_coded:
            shutil.rmtree(logstore.store_directory() / "answers", ignore_errors=True)
        if args.no_coded:
            shutil.rmtree(logstore.store_directory() / "coded", ignore_errors=True)
        command = [sys.executable, __file__, "--one", page, "--user", args.user]
        if args.new_event:
            command.append("--new-event")
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode:
            raise SystemExit(f"{page}: {done.stderr[-2000:]}")
        row = json.loads(done.stdout.strip().splitlines()[-1])

        def cell(name: str, row: dict[str, object] = row) -> str:
            if name not in row:
                return "-"
            wall, cpu = row[name]  # type: ignore[misc]
            return f"{wall:6.2f}s ({cpu:5.2f})"

        line = (
            f"{page:66s} {cell('start'):>14s} {cell('cold'):>14s} {cell('warm'):>14s} {cell('after_event'):>14s}"
            f" {row['max_rss_mb']:6.0f}MB"
        )
        if row.get("stale"):
            line += f"  (kept page shown: {cell('refresh'):>14s}, {cell('fresh'):>14s})"
        print(line)
    print("wall seconds (CPU seconds of the process); load average:", os.getloadavg())


if __name__ == "__main__":
    main()
