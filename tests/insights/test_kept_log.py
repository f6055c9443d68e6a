"""The log Insights keeps in memory is brought up to date by event id, and always equals what a
fresh read of the database gives: new events, cases leaving or entering the filters, late
commits and erasures included."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest
from django.db import connection, models, transaction
from django.test.utils import CaptureQueriesContext

from serviceloop.cases.models import CaseEvent
from serviceloop.cases.services import case_assign, case_reopen
from serviceloop.core import append_only
from serviceloop.insights import selectors
from serviceloop.insights.selectors import LogFilters, event_log, event_table
from tests.factories import AgentFactory, CaseFactory
from tests.insights.conftest import Log, walk

pytestmark = pytest.mark.django_db


def _same_as_fresh(filters: LogFilters) -> None:
    kept = selectors._kept_log(filters).table
    fresh = event_table(filters)
    assert kept.to_pylist() == fresh.to_pylist()


@pytest.mark.parametrize("view", ["stages", "events"])
def test_new_events_are_read_alone_and_give_the_fresh_answer(live_log: Log, view: str) -> None:
    filters = LogFilters(view=view)  # type: ignore[arg-type]
    assert event_log(filters) is not None
    walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 1)])
    with CaptureQueriesContext(connection) as queries:
        selectors._kept_log(filters)
    event_reads = [
        q["sql"] for q in queries.captured_queries if '"cases_caseevent"."kind"' in q["sql"]
    ]
    # Besides the version probe and single-row probes, only the events after the kept ones are
    # read (into the columnar copy, then from it into the kept log): never the whole history.
    assert len(event_reads) == 1
    assert '"cases_caseevent"."id" >' in event_reads[0]
    _same_as_fresh(filters)


def test_cases_leaving_and_entering_the_filters_follow(live_log: Log) -> None:
    case = live_log.fresh
    team = case.team
    assert team is not None
    filters = LogFilters(teams=(team.pk,))
    numbers = lambda: {row["case_id"] for row in selectors._kept_log(filters).table.to_pylist()}  # noqa: E731
    assert case.number in numbers()
    # The case goes to another team's agent: it leaves the filtered log.
    case = case_assign(case=case, assignee=AgentFactory(), actor=live_log.manager)
    assert case.number not in numbers()
    _same_as_fresh(filters)
    # It comes back to an agent of the team: its whole history enters again.
    case_assign(case=case, assignee=AgentFactory(team=team), actor=live_log.manager)
    assert case.number in numbers()
    _same_as_fresh(filters)
    # A new case of the team enters too.
    CaseFactory(actor=None, at=case.created_at + timedelta(days=2))
    _same_as_fresh(filters)


def test_a_reopening_and_a_late_commit_are_picked_up(live_log: Log) -> None:
    filters = LogFilters()
    selectors._kept_log(filters)
    case_reopen(case=live_log.standard, actor=live_log.manager, reason="again")
    _same_as_fresh(filters)
    # An event committed after a newer one keeps the newest id: the kept log has not seen it,
    # the count of the window below the newest id has moved, and the window is read again.
    kept = selectors._kept_log(filters)
    late = int(kept.rows["id"].max())  # type: ignore[arg-type]
    kept.rows = kept.rows.filter(pl.col("id") != late)
    kept.version = (kept.version[0], kept.version[1] - 1, kept.version[2])
    assert late in selectors._kept_log(filters).rows["id"].to_list()
    _same_as_fresh(filters)


def test_an_erasure_reads_the_log_again(live_log: Log) -> None:
    filters = LogFilters(view="events")
    selectors._kept_log(filters)
    oldest = CaseEvent.objects.order_by("id").first()
    assert oldest is not None
    with transaction.atomic(), append_only.lifted(CaseEvent._meta.db_table):
        models.QuerySet(CaseEvent).filter(pk=oldest.pk)._raw_delete("default")
    _same_as_fresh(filters)
    assert selectors._kept_log(filters).table.num_rows == CaseEvent.objects.count()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="ADBC reads PostgreSQL only")
def test_adbc_and_copy_read_the_same_columns() -> None:
    """Outside a transaction the log is read through ADBC, inside through COPY: same frame."""
    from serviceloop.cases import eventlog
    from tests.factories import build_process_version

    build_process_version(is_default=True)
    for _ in range(3):
        CaseFactory()
    queryset = eventlog._events_queryset(
        kinds=None,
        case_lookups=None,
        case_range=None,
        window=(None, None),
        window_exempt=(),
        after_id=None,
        holders=True,
    )
    sql, params = queryset.query.sql_with_params()
    schema = dict(eventlog.RAW_SCHEMA) | {"timestamp": pl.String}
    through_copy = eventlog._copy_frame(sql, params, schema)
    through_adbc = eventlog._adbc_frame(connection.ops.compose_sql(sql, params), schema)
    as_time = {"timestamp": eventlog.parse_timestamps(through_copy["timestamp"])}
    assert (
        through_copy.with_columns(**as_time)
        .sort("id")
        .equals(
            through_adbc.with_columns(pl.col("timestamp").cast(pl.Datetime("us", "UTC"))).sort("id")
        )
    )
    assert through_copy.height == CaseEvent.objects.count() > 0


def _assert_coded_as_the_general_build(filters: LogFilters) -> None:
    """The log coded straight from the kept rows is the one the library's general build makes
    of the same rows: same codes, order, names and attributes."""
    from serviceloop.analytics import from_polars

    kept = selectors._kept_log(filters)
    direct = selectors._coded_log(kept.rows, kept.cases)
    general = from_polars(kept.frame(), duplicates="keep")
    assert direct.coded().equals(general.coded())
    assert direct.coded().schema == general.coded().schema
    for names in ("activity_names", "case_names", "resource_names"):
        assert getattr(direct, names).to_list() == getattr(general, names).to_list(), names
    assert direct.attributes == general.attributes


@pytest.mark.parametrize(
    "filters",
    [LogFilters(), LogFilters(view="events"), LogFilters(priorities=("normal", "low"))],
    ids=["stages", "events", "filtered"],
)
def test_the_coded_log_is_the_general_build_also_after_new_events(
    live_log: Log, filters: LogFilters
) -> None:
    _assert_coded_as_the_general_build(filters)
    walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 1)])
    _assert_coded_as_the_general_build(filters)
    case_reopen(case=live_log.standard, actor=live_log.manager, reason="again")
    CaseFactory(actor=None, at=live_log.fresh.created_at + timedelta(days=1))
    _assert_coded_as_the_general_build(filters)


@pytest.mark.parametrize("view", ["stages", "events"])
def test_an_event_dated_before_its_cases_last_one_is_read_in_time_order(
    live_log: Log, view: str
) -> None:
    """The copy's newer file holds an event older than the case's events in the first file:
    reading the copy afresh still orders the case's rows by time."""
    filters = LogFilters(view=view)  # type: ignore[arg-type]
    selectors._kept_log(filters)  # the copy is written: the case's events are in its first file
    case_reopen(
        case=live_log.standard,
        actor=live_log.manager,
        reason="dated back",
        at=live_log.standard.created_at + timedelta(minutes=30),
    )
    selectors.forget_kept_logs()  # a fresh process reads the copy's two files
    _same_as_fresh(filters)
