"""What a fresh server process pays before and for its first request: setup, imports, the page.

    SERVICELOOP_DATA_DIR=/tmp/sl-demo python benchmarks/first_request.py [--pages /work/,/insights/]
        [--runs 3] [--user manager] [--imports 12]

Each run is a process of its own: ``django.setup()`` is timed, a manager is signed in (the session
made directly, no password hashing), then the first request of the page is timed. That request
loads the URL configuration (every app's views, the API and its routers) before the view runs, so
what those modules import at their top is paid here by every freshly started worker. Prints the
median wall and CPU seconds of the setup and of the first request, the number of modules loaded,
which heavy libraries were, and with ``--imports N`` the N slowest imports of one more run
(``python -X importtime``, cumulative: the project's modules and the libraries they import,
with the module that pulled each in).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import time

HEAVY = ("openpyxl", "numpy", "polars", "pyarrow", "narwhals", "pandas", "scipy", "sklearn")


def _one(page: str, user: str) -> None:
    """Setup and the first request, timed in this fresh process; JSON out."""
    os.environ.setdefault("SERVICELOOP_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("SERVICELOOP_HTTPS", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serviceloop.settings")
    wall, cpu = time.perf_counter(), time.process_time()
    import django

    django.setup()
    setup = (time.perf_counter() - wall, time.process_time() - cpu)
    from django.conf import settings
    from django.test import Client

    from serviceloop.accounts.models import User

    settings.ALLOWED_HOSTS = ["*"]
    client = Client()
    client.force_login(User.objects.get(username=user))
    wall, cpu = time.perf_counter(), time.process_time()
    response = client.get(page)
    first = (time.perf_counter() - wall, time.process_time() - cpu)
    if response.status_code != 200:
        raise SystemExit(f"{page}: HTTP {response.status_code}")
    heavy = [name for name in HEAVY if name in sys.modules]
    print(json.dumps({"setup": setup, "first": first, "modules": len(sys.modules), "heavy": heavy}))


def _slowest_imports(stderr: str, count: int) -> list[tuple[float, str, str]]:
    """The ``count`` slowest imports of a ``-X importtime`` log: (seconds, module, imported by)."""
    rows: list[tuple[int, str, int]] = []  # (depth, module, cumulative microseconds)
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        depth = (len(name) - len(name.lstrip(" "))) // 2
        rows.append((depth, name.strip(), int(cumulative)))
    found: list[tuple[float, str, str]] = []
    for i, (depth, name, cumulative) in enumerate(rows):
        # importtime prints a module after everything it imported: its parent is the next
        # line one level up. Shown: the project's modules and what they import directly (not
        # each library's own submodules).
        parent = next((n for d, n, _ in rows[i + 1 :] if d < depth), "")
        if name.startswith("serviceloop") or parent.startswith("serviceloop") or not parent:
            found.append((cumulative / 1e6, name, parent))
    found.sort(reverse=True)
    return found[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", default="/work/,/insights/", help="comma-separated paths")
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per page")
    parser.add_argument("--user", default="manager", help="a manager or admin username")
    parser.add_argument("--imports", type=int, default=0, help="list the N slowest imports")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(args.one, args.user)
        return
    for page in args.pages.split(","):
        runs = []
        for _ in range(args.runs):
            done = subprocess.run(
                [sys.executable, __file__, "--one", page, "--user", args.user],
                capture_output=True,
                text=True,
                check=True,
            )
            runs.append(json.loads(done.stdout.splitlines()[-1]))

        def median(key: str, index: int, runs: list[dict[str, object]] = runs) -> float:
            return statistics.median(run[key][index] for run in runs)  # type: ignore[index]

        print(
            f"{page:14s} setup {median('setup', 0):5.2f}s ({median('setup', 1):4.2f} CPU)"
            f"  first request {median('first', 0):5.2f}s ({median('first', 1):4.2f} CPU)"
            f"  modules {runs[0]['modules']}  heavy: {', '.join(runs[0]['heavy']) or '-'}"  # type: ignore[arg-type]
        )
        if args.imports:
            done = subprocess.run(
                [sys.executable, "-X", "importtime", __file__, "--one", page, "--user", args.user],
                capture_output=True,
                text=True,
                check=True,
            )
            for seconds, name, parent in _slowest_imports(done.stderr, args.imports):
                print(f"    {seconds:6.3f}s  {name:44s} <- {parent or '(top)'}")
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
