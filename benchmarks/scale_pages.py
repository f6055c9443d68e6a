"""Time every page and endpoint over a big database, cold and warm, and print a table.

Fill a database first (``benchmarks/scale_fill.py``), then, in the same environment:

    DATABASE_URL=postgres://.../sl_scale python benchmarks/scale_pages.py [--explain]

Requests go through Django's test client in this process, logged in as ``manager`` (pages) or
with a manager's API token (API), so the figures are the server's own time without a network.
"Cold" is the first request of that URL in this process (for Insights: nothing kept in memory,
the log read from the database); "warm" repeats it at once. Database buffers are whatever earlier
requests left: the script does not restart the database or drop the OS's caches. ``--explain``
prints the database's plan (EXPLAIN ANALYZE) of the case lists the searches and filters run.
The last line gives the process's peak memory.
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import time
from typing import Any

PAGES = [
    # workspace queues, filters and searches
    ("workspace", "/work/?queue=team"),
    ("workspace", "/work/?queue=unassigned"),
    ("workspace", "/work/?queue=overdue"),
    ("workspace", "/work/?queue=all&status=open&priority=high"),
    ("workspace", "/work/?queue=all&team={team}&stage={stage}&priority=high"),
    ("workspace", "/work/?queue=all&q={number}"),
    ("workspace", "/work/?queue=all&q={email}"),
    ("workspace", "/work/?queue=all&q={name}"),
    ("workspace", "/work/?queue=all&q=projector"),
    ("workspace", "/work/?queue=all&q=no-such-thing-anywhere"),
    ("workspace", "/work/?queue=all&q=%C2%B9"),
    ("workspace", "/work/cases/{number}/"),
    # full-text search: a word in many titles, the text of every message, none, Chinese, one letter
    ("workspace", "/work/search/?q=projector"),
    ("workspace", "/work/search/?q=thanks"),
    ("workspace", "/work/search/?q=no-such-thing-anywhere"),
    ("workspace", "/work/search/?q=%E9%80%80%E6%AC%BE"),
    ("workspace", "/work/search/?q=a"),
    ("workspace", "/work/search/?q={number}"),
    ("workspace", "/work/search/?q={email}"),
    # the portal, as the sample case's customer
    ("portal", "/portal/"),
    ("portal", "/portal/search/?q=projector"),
    ("portal", "/portal/search/?q=thanks"),
    # API
    ("api", "/api/cases/?limit=25"),
    ("api", "/api/cases/?search={number}"),
    ("api", "/api/cases/?search={email}"),
    ("api", "/api/cases/?search=projector"),
    ("api", "/api/cases/?search=no-such-thing-anywhere"),
    ("api", "/api/cases/?team={team}&stage={stage}&priority=high"),
    ("api", "/api/cases/search?q=projector"),
    ("api", "/api/cases/search?q=thanks"),
    ("api", "/api/cases/search?q=no-such-thing-anywhere"),
    ("api-agent", "/api/cases/?limit=25"),
    ("api-agent", "/api/cases/search?q=projector"),
    ("api-agent", "/api/cases/search?q=thanks"),
    ("api", "/api/cases/{number}"),
    ("api", "/api/cases/{number}/events"),
    # Insights, both views
    ("insights", "/insights/"),
    ("insights", "/insights/process/"),
    ("insights", "/insights/process/map/?measure=performance&activities=50&paths=50"),
    ("insights", "/insights/bottlenecks/"),
    ("insights", "/insights/rework/"),
    ("insights", "/insights/variants/"),
    ("insights", "/insights/handovers/"),
    ("insights", "/insights/?view=events"),
    ("insights", "/insights/bottlenecks/?view=events"),
    ("insights", "/insights/variants/?view=events"),
    ("insights", "/insights/handovers/?view=events"),
    ("insights", "/insights/?team={team_id}&start={month_start}&end={month_end}"),
]


def _sample() -> dict[str, Any]:
    """Values to put in the URLs: a case near the middle, its customer, a team and a stage."""
    from datetime import timedelta

    from django.utils import timezone

    from serviceloop.accounts.models import Team
    from serviceloop.cases.models import Case

    middle = Case.objects.order_by().values_list("id", flat=True).last() // 2
    case = Case.objects.select_related("customer", "team", "stage").get(pk=middle)
    team = Team.objects.get(code="frontline")
    today = timezone.localdate()
    return {
        "number": case.number,
        "email": case.customer.email.upper(),
        "name": case.customer.name.split()[0].lower() + " " + case.customer.name.split()[1][:3],
        "team": team.code,
        "team_id": team.pk,
        "stage": "analysis",
        "month_start": (today - timedelta(days=30)).isoformat(),
        "month_end": today.isoformat(),
    }


def _explain_text_search(term: str) -> None:
    """The plans of the full-text search's two steps (the walk of the newest rows, then the GIN
    index), each under the planner settings the search pins."""
    from django.db import OperationalError, connection, transaction
    from django.test.utils import CaptureQueriesContext

    from serviceloop.cases.models import Case, Message
    from serviceloop.cases.search_query import (
        CASE_TEXT_SQL,
        GIN_TIMEOUT_MS,
        MESSAGE_TEXT_SQL,
        QUERY_CANCELED,
        WALK,
        _pg_ids,
        text_matches,
    )
    from serviceloop.cases.search_text import parse_terms

    for model, column in ((Case, CASE_TEXT_SQL), (Message, MESSAGE_TEXT_SQL)):
        matching = text_matches(model.objects.order_by(), column, "", parse_terms(term))
        top = model.objects.order_by("-id").values_list("id", flat=True).first() or 0
        for walk in (True, False):
            with CaptureQueriesContext(connection) as queries:
                _pg_ids(matching, ">" if walk else "<=", top - WALK, walk=walk)
            sql = [q["sql"] for q in queries.captured_queries]
            pinned = next(q for q in sql if "set_config" in q)
            select = next(q for q in sql if " FROM " in q)
            step = "walk of the newest rows" if walk else "GIN index"
            print(f"\n== text search {term!r} in {model._meta.db_table}: {step}")
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(pinned)
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + select)
                    print("\n".join(row[0] for row in cursor.fetchall()))
            except OperationalError as error:
                if getattr(error.__cause__, "sqlstate", None) != QUERY_CANCELED:
                    raise
                # The search itself stops there too and says there are more matches.
                print(f"(stopped by its statement_timeout of {GIN_TIMEOUT_MS} ms)")


def _portal_user(number: str) -> Any:
    """A portal login for the sample case's customer (the fill makes customers without one)."""
    from serviceloop.accounts.models import User
    from serviceloop.cases.models import Case

    customer = Case.objects.select_related("customer").get(number=number).customer
    if customer.user_id is None:
        user = User.objects.create_user(
            username=f"scale-customer-{customer.pk}", email=customer.email, role="customer"
        )
        customer.user = user
        customer.save(update_fields=["user"])
    return customer.user


def _explain(sql: str, params: Any) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--explain", action="store_true")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated groups (workspace,portal,api,api-agent,insights)",
    )
    parser.add_argument("--match", default="", help="only the URLs containing this text")
    parser.add_argument("--skip", default="", help="leave out the URLs containing this text")
    args = parser.parse_args()
    # Local runs over plain HTTP with a throw-away key (production refuses to start without one).
    os.environ.setdefault("SERVICELOOP_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("SERVICELOOP_HTTPS", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serviceloop.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from serviceloop.accounts.models import User
    from serviceloop.accounts.services import api_token_create
    from serviceloop.cases.models import Case, CaseEvent
    from serviceloop.insights.keptlogs import forget_kept_logs

    settings.ALLOWED_HOSTS = ["*"]
    manager = User.objects.get(username="manager")
    client = Client()
    client.force_login(manager)
    _, key = api_token_create(user=manager, name="scale-pages")
    api = Client(headers={"Authorization": f"Bearer {key}"})
    values = _sample()
    agent = User.objects.filter(role="agent", agent_profile__team__code=values["team"]).first()
    _, agent_key = api_token_create(user=agent, name="scale-pages")
    agent_api = Client(headers={"Authorization": f"Bearer {agent_key}"})
    portal = Client()
    portal.force_login(_portal_user(values["number"]))
    clients = {"api": api, "api-agent": agent_api, "portal": portal}
    groups = set(filter(None, args.only.split(","))) or {
        "workspace",
        "portal",
        "api",
        "api-agent",
        "insights",
    }
    print(
        f"{connection.vendor}: {Case.objects.count():,} cases, "
        f"{CaseEvent.objects.order_by().values('id').count():,} events"
    )
    client.get(
        "/work/?queue=team", secure=True
    )  # imports and first connection are not a page's cost
    print(f"{'page':78s} {'cold ms':>9s} {'warm ms':>9s}  status")
    for group, template in PAGES:
        if group not in groups or args.match not in template:
            continue
        if args.skip and args.skip in template:
            continue
        url = template.format(**values)
        who = clients.get(group, client)
        if group == "insights":
            forget_kept_logs()
        began = time.perf_counter()
        response = who.get(url, secure=True)
        cold = time.perf_counter() - began
        began = time.perf_counter()
        who.get(url, secure=True)
        warm = time.perf_counter() - began
        print(f"{url:78s} {cold * 1000:9.0f} {warm * 1000:9.0f}  {response.status_code}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak:.0f} MB")
    if not args.explain:
        return
    from django.core.exceptions import EmptyResultSet

    from serviceloop.cases.selectors import case_list

    for filters in (
        {"search": values["number"]},
        {"search": values["email"]},
        {"search": values["name"]},
        {"search": "projector"},
        {"search": "no-such-thing-anywhere"},
        {"queue": "unassigned"},
        {"team": values["team"], "stage": values["stage"], "priority": "high"},
    ):
        print(f"\n== case_list({filters})")
        try:
            sql, params = case_list(user=manager, **filters)[:26].query.sql_with_params()
        except EmptyResultSet:  # the search found no id: the list runs no query at all
            print("(no query: nothing matched)")
            continue
        print(_explain(sql, params))
    for term in ("projector", "thanks", "退款"):
        _explain_text_search(term)


if __name__ == "__main__":
    main()
