"""The live log read by ``event_table`` / ``event_log``: rows, order, attributes, filters, cache."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection, models, transaction
from django.test.utils import CaptureQueriesContext

from serviceloop.analytics import EventLog
from serviceloop.cases.models import CaseEvent
from serviceloop.core import append_only
from serviceloop.insights.keptlogs import forget_kept_logs
from serviceloop.insights.selectors import LOG_COLUMNS, LogFilters, event_log, event_table
from tests.factories import ServiceProcessFactory, build_process_version
from tests.insights.conftest import DAY0, Log, walk

pytestmark = pytest.mark.django_db

STANDARD = ["Intake", "Needs analysis", "Delivery", "Closed"]
DETOUR = ["Intake", "Delivery", "Needs analysis", "Delivery", "Closed", "Delivery"]


def _sequences(table) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    out: dict[str, list[str]] = {}
    for case_id, activity in zip(
        table["case_id"].to_pylist(), table["activity"].to_pylist(), strict=True
    ):
        out.setdefault(case_id, []).append(activity)
    return out


def _cases(log: EventLog) -> set[str]:
    """The cases a (filtered) log still holds; ``case_names`` is the unfiltered dictionary."""
    return set(log.to_polars()["case_id"].unique().to_list())


def test_stage_view_has_one_row_per_stage_entered_in_case_and_time_order(live_log: Log) -> None:
    table = event_table(LogFilters())
    assert table.column_names == list(LOG_COLUMNS)
    assert _sequences(table) == {
        live_log.standard.number: STANDARD,
        live_log.again.number: STANDARD,
        live_log.detour.number: DETOUR,  # the reopen re-enters Delivery
        live_log.fresh.number: ["Intake"],
    }
    # rows are grouped by case and ordered by time within each case
    rows = table.select(["case_id", "timestamp"]).to_pylist()
    for earlier, later in itertools.pairwise(rows):
        if earlier["case_id"] == later["case_id"]:
            assert earlier["timestamp"] <= later["timestamp"]
    first = table.slice(0, 1).to_pylist()[0]
    assert first["timestamp"] == DAY0
    assert first["timestamp"].tzinfo is not None


def test_stage_view_carries_the_case_attributes(live_log: Log) -> None:
    table = event_table(LogFilters())
    by_case = {row["case_id"]: row for row in table.to_pylist()}
    standard = by_case[live_log.standard.number]
    assert standard["priority"] == "high"
    assert standard["channel"] == "email"
    assert standard["category"] == "Hardware"
    assert standard["version"] == live_log.version.pk
    assert standard["status"] == "closed"
    assert standard["resource"] == live_log.manager.username
    assert by_case[live_log.detour.number]["status"] == "open"
    assert by_case[live_log.fresh.number]["category"] is None


def test_all_events_view_holds_every_event(live_log: Log) -> None:
    table = event_table(LogFilters(view="events"))
    assert table.num_rows == CaseEvent.objects.count()
    activities = set(table["activity"].to_pylist())
    assert {"Case created", "Intake", "Closed", "Reopened"} <= activities


def test_event_log_counts_cases_events_and_activities(live_log: Log) -> None:
    log = event_log(LogFilters())
    assert log is not None
    assert (log.n_cases, log.n_events) == (4, 4 + 4 + 6 + 1)
    assert log.activities == ["Closed", "Delivery", "Intake", "Needs analysis"]
    assert set(log.attributes) >= {"team", "category", "priority", "channel", "version"}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (LogFilters(priorities=("high",)), {"standard"}),
        (LogFilters(channels=("portal",)), {"again", "fresh"}),
        (LogFilters(start=DAY0.date() + dt.timedelta(days=1)), {"detour", "fresh"}),
        (LogFilters(end=DAY0.date()), {"standard", "again"}),
        (
            LogFilters(
                start=DAY0.date() + dt.timedelta(days=1), end=DAY0.date() + dt.timedelta(days=2)
            ),
            {"detour"},
        ),
        (
            LogFilters(start=DAY0.date() + dt.timedelta(days=2), time_mode="intersecting"),
            {"detour", "fresh"},  # the detour was reopened on day 3
        ),
        (
            LogFilters(end=DAY0.date() + dt.timedelta(days=1), time_mode="completed"),
            {"standard", "again"},
        ),
        (LogFilters(min_hours=8), {"again", "detour"}),
        (LogFilters(max_hours=7), {"standard", "fresh"}),
        (LogFilters(top_variants=1), {"standard", "again"}),
    ],
)
def test_filters_keep_the_matching_cases(
    live_log: Log, filters: LogFilters, expected: set[str]
) -> None:
    log = event_log(filters)
    assert log is not None
    numbers = {getattr(live_log, name).number for name in expected}
    assert _cases(log) == numbers


def test_team_category_and_version_filters(live_log: Log) -> None:
    hardware = event_log(LogFilters(categories=(live_log.hardware.pk,)))
    assert hardware is not None
    assert _cases(hardware) == {live_log.standard.number, live_log.detour.number}

    team_id = live_log.standard.team_id
    assert team_id is not None
    by_team = event_log(LogFilters(teams=(team_id,)))
    assert by_team is not None
    assert live_log.standard.number in _cases(by_team)

    other = build_process_version(
        process=ServiceProcessFactory(), analysis_checklist=(), analysis_required=()
    )
    from tests.factories import CaseFactory

    case = CaseFactory(process_version=other, at=DAY0, actor=live_log.manager)
    walk(case, other, live_log.manager, [("analysis", 1)])
    only_other = event_log(LogFilters(version=other.pk))
    assert only_other is not None
    assert _cases(only_other) == {case.number}
    assert only_other.n_events == 2


def test_filters_that_keep_nothing_give_no_log(live_log: Log) -> None:
    assert event_log(LogFilters(priorities=("urgent",))) is None
    assert event_log(LogFilters(start=DAY0.date() + dt.timedelta(days=30))) is None
    assert event_log(LogFilters(min_hours=1000)) is None


def test_empty_database_gives_no_log(db: None) -> None:
    assert event_table(LogFilters()).num_rows == 0
    assert event_log(LogFilters()) is None


def test_loading_the_log_makes_no_query_per_event(
    live_log: Log, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    # The version, the newest event; one read each of the events and the cases into the copy;
    # from the copy into the log: the team, category and staff names; the team and category
    # names again for the coded log stored beside the copy.
    with django_assert_max_num_queries(9):
        log = event_log(LogFilters(view="events"))
    assert log is not None and log.n_events == CaseEvent.objects.count() > 20
    # A fresh process finds the copy and the coded log: the version, that the copy's newest
    # event is still there, the staff, team and category names; no event is read.
    forget_kept_logs()
    with CaptureQueriesContext(connection) as queries:
        again = event_log(LogFilters(view="events"))
    assert again is not None and again.n_events == log.n_events
    assert not [q for q in queries.captured_queries if '"cases_caseevent"."kind"' in q["sql"]]
    assert len(queries) == 5


def test_unchanged_log_is_not_read_again(live_log: Log, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    assert event_log(LogFilters()) is not None
    with django_assert_num_queries(1):  # only the newest event id
        again = event_log(LogFilters())
    assert again is not None and again.n_cases == 4


def test_a_new_event_invalidates_the_cached_log(live_log: Log) -> None:
    before = event_log(LogFilters())
    assert before is not None and before.n_events == 15
    walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 1)])
    with CaptureQueriesContext(connection) as queries:
        after = event_log(LogFilters())
    assert after is not None and after.n_events == 16
    # The version, the new events and the cases they touch (in one transaction: a savepoint
    # here, and its release), the newest event now; the team, category and staff names.
    assert len(queries) == 9


def test_an_erased_event_invalidates_the_cached_log(live_log: Log) -> None:
    """Data erasure may delete events without moving the newest id: the log is read again."""
    assert event_log(LogFilters(view="events")).n_events == CaseEvent.objects.count()  # type: ignore[union-attr]
    oldest = CaseEvent.objects.order_by("id").first()
    assert oldest is not None
    with transaction.atomic(), append_only.lifted(CaseEvent._meta.db_table):  # the erasure path
        models.QuerySet(CaseEvent).filter(pk=oldest.pk)._raw_delete("default")
    after = event_log(LogFilters(view="events"))
    assert after is not None and after.n_events == CaseEvent.objects.count()
