"""Render every Insights page over a loaded database, cold (empty cache) and warm, in ms.

Load the demo first, into its own data directory, then time the pages there:

    SERVICELOOP_DATA_DIR=/tmp/sl-demo serviceloop demo --no-serve
    SERVICELOOP_DATA_DIR=/tmp/sl-demo python benchmarks/insights_pages.py [--repeat 3]

"Cold" clears Django's cache and the logs Insights keeps in memory first, so the log is read from
the database again (what happens the first time a filter set is shown; after a new event only the
new events are read); "warm" renders again over unchanged data. Medians of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--user", default="manager", help="a manager or admin username")
    args = parser.parse_args()

    # Local runs over plain HTTP with a throw-away key (production refuses to start without one).
    os.environ.setdefault("SERVICELOOP_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("SERVICELOOP_HTTPS", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serviceloop.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache
    from django.test import Client

    from serviceloop.accounts.models import User
    from serviceloop.cases.models import Case, CaseEvent
    from serviceloop.insights.selectors import forget_kept_logs

    settings.ALLOWED_HOSTS = ["*"]
    stage_kinds = ["stage_entered", "closed"]
    print(
        f"{Case.objects.count()} cases, {CaseEvent.objects.count()} events "
        f"({CaseEvent.objects.filter(kind__in=stage_kinds).count()} stage events)"
    )
    client = Client()
    client.force_login(User.objects.get(username=args.user))
    pages = [
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
    ]
    client.get(pages[0])  # imports and first use of the engine are not a page's cost
    for page in pages:
        cold, warm = [], []
        for _ in range(args.repeat):
            cache.clear()
            forget_kept_logs()
            start = time.perf_counter()
            response = client.get(page)
            cold.append(time.perf_counter() - start)
            if response.status_code != 200:
                raise SystemExit(f"{page}: HTTP {response.status_code}")
            start = time.perf_counter()
            client.get(page)
            warm.append(time.perf_counter() - start)
        print(
            f"{page:70s} cold {statistics.median(cold) * 1000:6.0f} ms"
            f"   warm {statistics.median(warm) * 1000:6.0f} ms"
        )


if __name__ == "__main__":
    main()
