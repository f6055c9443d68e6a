"""Every Insights page computed from the columnar copy on disk equals the page computed from a
direct read of the database, after new events, a case moved to another team, a reopening and an
erasure; the copy grows by event ids, merges its segments, and is written again whole only when
it must be."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import models, transaction

from serviceloop.analytics import from_arrow
from serviceloop.cases.models import CaseEvent
from serviceloop.cases.services import case_assign, case_reopen
from serviceloop.core import append_only
from serviceloop.insights import keptlogs, logstore, pages
from serviceloop.insights.keptlogs import event_log_version, forget_kept_logs
from serviceloop.insights.selectors import LogFilters, event_log, event_table, narrowed
from tests.factories import AgentFactory, CaseFactory
from tests.insights.conftest import DAY0, PAGE_CONTEXTS, Log, walk

pytestmark = pytest.mark.django_db


def _figures(filters: LogFilters, log: Any) -> dict[str, Any]:
    if log is None:
        return {}
    scope = pages.scope_build(filters, log)
    return {name: build(scope) for name, build in PAGE_CONTEXTS.items()}


def _direct(filters: LogFilters) -> dict[str, Any]:
    table = event_table(filters)
    log = narrowed(from_arrow(table, duplicates="keep"), filters) if table.num_rows else None
    return _figures(filters, log)


def _filter_sets(log: Log) -> list[LogFilters]:
    team = log.fresh.team
    assert team is not None
    day = DAY0.date()
    return [
        LogFilters(),
        LogFilters(view="events"),
        LogFilters(teams=(team.pk,)),
        LogFilters(view="events", teams=(team.pk,), priorities=("high", "low")),
        LogFilters(start=day, end=day + dt.timedelta(days=1), time_mode="intersecting"),
        LogFilters(view="events", start=day + dt.timedelta(days=1), time_mode="completed"),
        LogFilters(categories=(log.hardware.pk,), min_hours=1),
    ]


def _assert_same_pages(log: Log) -> None:
    for filters in _filter_sets(log):
        direct = _direct(filters)
        kept = _figures(filters, event_log(filters))  # brought up to date in this process
        assert kept == direct, filters
    forget_kept_logs()  # a fresh server process: read from the copy on disk
    for filters in _filter_sets(log):
        assert _figures(filters, event_log(filters)) == _direct(filters), filters


def test_pages_from_the_copy_equal_pages_from_the_database(live_log: Log) -> None:
    _assert_same_pages(live_log)
    generation = logstore.sync(event_log_version()).generation
    # New events.
    fresh = walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 2)])
    _assert_same_pages(live_log)
    # A case moved to another team (and back into the filters later).
    team = fresh.team
    moved = case_assign(case=fresh, assignee=AgentFactory(), actor=live_log.manager)
    _assert_same_pages(live_log)
    case_assign(case=moved, assignee=AgentFactory(team=team), actor=live_log.manager)
    _assert_same_pages(live_log)
    # A reopening of a closed case, and a brand new case.
    case_reopen(case=live_log.again, actor=live_log.manager, reason="not fixed")
    CaseFactory(actor=None, at=DAY0 + dt.timedelta(days=4))
    _assert_same_pages(live_log)
    # None of that wrote the copy again whole.
    assert logstore.sync(event_log_version()).generation == generation
    # An erasure: the copy is written again.
    oldest = CaseEvent.objects.order_by("id").first()
    assert oldest is not None
    with transaction.atomic(), append_only.lifted(CaseEvent._meta.db_table):
        models.QuerySet(CaseEvent).filter(pk=oldest.pk)._raw_delete("default")
    _assert_same_pages(live_log)
    assert logstore.sync(event_log_version()).generation != generation


def test_the_copy_grows_by_event_ids_and_merges_its_segments(
    live_log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logstore, "MAX_SEGMENTS", 3)
    first = logstore.sync(event_log_version())
    assert len(first.events) == len(first.stages) == len(first.cases) == 1
    case = live_log.fresh
    for hours, code in [(1, "analysis"), (2, "delivery"), (3, "analysis"), (4, "delivery")]:
        case = walk(case, live_log.version, live_log.manager, [(code, hours)])
        state = logstore.sync(event_log_version())
        assert len(state.events) <= 3
    assert state.generation == first.generation
    held = logstore.scan_rows(state, "events").collect()
    assert sorted(held["id"].to_list()) == list(
        CaseEvent.objects.order_by("id").values_list("id", flat=True)
    )
    # Files merged away are deleted one sync later, never while a reader may still list them.
    walk(case, live_log.version, live_log.manager, [("closed", 5)])
    state = logstore.sync(event_log_version())
    on_disk = {
        str(p.relative_to(logstore.store_directory()))
        for p in logstore.store_directory().glob("*/*.parquet")
    }
    assert on_disk == {*state.stages, *state.events, *state.cases, *state.retired}
    forget_kept_logs()
    assert _figures(LogFilters(), event_log(LogFilters())) == _direct(LogFilters())


def test_a_copy_of_another_database_is_not_used(live_log: Log) -> None:
    state = logstore.sync(event_log_version())
    state.last = (state.last[0], state.last[1], "2001-01-01T00:00:00+00:00")
    logstore._write_state(state)  # as if the database had been restored from another one
    forget_kept_logs()
    assert logstore.sync(event_log_version()).generation != state.generation
    assert _figures(LogFilters(), event_log(LogFilters())) == _direct(LogFilters())


def test_late_commits_below_the_newest_id_are_taken(live_log: Log) -> None:
    """An event that commits after a newer one keeps its lower id: the window is read again."""
    state = logstore.sync(event_log_version())
    newest = CaseEvent.objects.order_by("-id").first()
    assert newest is not None
    # Pretend the copy was made before the newest event committed.
    held = logstore.scan_rows(state, "events").collect()
    assert newest.pk in held["id"].to_list()
    for part in ("stages", "events"):
        for path in state.files(part):
            frame = logstore.pl.read_parquet(path).filter(logstore.pl.col("id") != newest.pk)
            frame.write_parquet(path)
    state.version = (state.version[0], state.version[1] - 1, state.version[2])
    logstore._write_state(state)
    keptlogs.forget_kept_logs()
    again = logstore.sync(event_log_version())
    assert newest.pk in logstore.scan_rows(again, "events").collect()["id"].to_list()
    assert again.generation == state.generation
    assert _figures(LogFilters(), event_log(LogFilters())) == _direct(LogFilters())


def test_a_copy_missing_a_file_is_written_again(live_log: Log) -> None:
    state = logstore.sync(event_log_version())
    state.files("events")[0].unlink()  # removed by hand, or a half-restored data folder
    forget_kept_logs()
    again = logstore.sync(event_log_version())
    assert again.generation != state.generation
    assert all(path.exists() for path in again.files("events"))
    assert _figures(LogFilters(), event_log(LogFilters())) == _direct(LogFilters())


def test_merging_leaves_big_files_as_they_are(
    live_log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the newest small files are merged: a file of many rows is not written again every
    few dozen events (at 30M events that took seconds, in a page load)."""
    monkeypatch.setattr(logstore, "MAX_SEGMENTS", 3)
    monkeypatch.setattr(logstore, "KEEP_ROWS", 10)
    state = logstore.sync(event_log_version())
    assert logstore._rows_in(state.events[0]) >= 10
    case, hours = live_log.fresh, 0
    kept: str | None = None
    while kept is None:
        hours += 1
        case = walk(
            case, live_log.version, live_log.manager, [(("analysis", "delivery")[hours % 2], hours)]
        )
        state = logstore.sync(event_log_version())
        assert len(state.events) <= 3
        big = [name for name in state.events[1:] if logstore._rows_in(name) >= 10]
        kept = big[0] if big else None
    for more in range(hours + 1, hours + 7):
        case = walk(
            case, live_log.version, live_log.manager, [(("analysis", "delivery")[more % 2], more)]
        )
        state = logstore.sync(event_log_version())
        assert state.events[:2] == [state.events[0], kept]  # the big files stay, unmerged
        assert len(state.events) <= 3
    held = logstore.scan_rows(state, "events").collect()
    assert sorted(held["id"].to_list()) == list(
        CaseEvent.objects.order_by("id").values_list("id", flat=True)
    )
    forget_kept_logs()
    assert _figures(LogFilters(), event_log(LogFilters())) == _direct(LogFilters())
