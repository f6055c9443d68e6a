"""What a process holds of the kept logs between pages and while it makes one: the memos worth
their bytes only, the other logs let go of before a log is made, and a filter set derived
without consuming the kept log of every case."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from serviceloop.analytics._schema import T2
from serviceloop.insights import keptlogs, logcoding, pages
from serviceloop.insights.selectors import LogFilters, event_log
from tests.insights.conftest import PAGE_CONTEXTS, Log, walk

pytestmark = pytest.mark.django_db


def _context(filters: LogFilters, page: str) -> dict[str, Any]:
    """The page computed as the server computes it (then the kept logs let go of memos)."""
    with keptlogs.computing_page():
        log = event_log(filters)
        assert log is not None
        return PAGE_CONTEXTS[page](pages.scope_build(filters, log))


def _every_case(view: str) -> logcoding._Kept:
    return keptlogs._kept[LogFilters(view=view).database_key()]  # type: ignore[arg-type]


@pytest.mark.parametrize("view", ["stages", "events"])
def test_between_pages_a_kept_log_holds_only_the_memos_worth_their_bytes(
    live_log: Log, view: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every memo above ``SMALL_MEMO`` goes once the page is computed (here: every memo), but
    each case's attributes, the names' row counts and the conformance check; each page computed
    after them in the same process equals the page computed in a fresh one."""
    monkeypatch.setattr(keptlogs, "SMALL_MEMO", 0)
    filters = LogFilters(view=view)  # type: ignore[arg-type]
    in_turn = {page: _context(filters, page) for page in PAGE_CONTEXTS}
    log = _every_case(view).log
    assert log is not None
    assert log.has_memo(logcoding.CASES_MEMO)
    assert not log.has_memo(("runs", T2)) and not log.has_memo("case_step_keys")
    assert not log.has_memo("insights.stored_steps")  # given again with the sorts it gave
    assert "_with_next" not in log.__dict__
    held = {key[0] if isinstance(key, tuple) else key for key in log._memo}
    assert held <= {"insights.cases", "insights.name_counts", "insights.conformance"}
    assert ("insights.conformance" in held) == (view == "stages")
    for page, context in in_turn.items():
        keptlogs.forget_kept_logs()
        assert _context(filters, page) == context, page


def test_small_memos_stay_and_the_big_ones_go(
    live_log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    filters = LogFilters()
    _context(filters, "performance")
    log = _every_case("stages").log
    assert log is not None
    assert log.has_memo(("runs", T2))  # a few hundred bytes here: under SMALL_MEMO, kept
    monkeypatch.setattr(keptlogs, "SMALL_MEMO", 0)
    _context(filters, "overview")
    assert not log.has_memo(("runs", T2))


def test_memos_stay_until_the_last_page_computing_is_done(
    live_log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two pages computed at once (threads): the first one done leaves the memos the other
    may still read; the last one done lets them go."""
    monkeypatch.setattr(keptlogs, "SMALL_MEMO", 0)
    filters = LogFilters()
    with keptlogs.computing_page():
        _context(filters, "performance")  # done while the outer page still computes
        log = _every_case("stages").log
        assert log is not None
        assert log.has_memo(("runs", T2))
    assert not log.has_memo(("runs", T2))


def test_the_server_lets_go_of_memos_after_each_page(
    live_log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keptlogs, "SMALL_MEMO", 0)
    client = Client()
    client.force_login(live_log.manager)
    assert client.get(reverse("insights:performance")).status_code == 200
    log = _every_case("stages").log
    assert log is not None
    assert not log.has_memo(("runs", T2)) and "_with_next" not in log.__dict__
    assert log.has_memo(logcoding.CASES_MEMO)


def test_before_a_log_is_made_the_other_logs_go_down_to_half_the_budget(
    live_log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the logs least recently used, and never the log being brought up to date nor the
    current log of every case of its view (what a filter set is derived from)."""
    stages, normal, high = (
        LogFilters(),
        LogFilters(priorities=("normal",)),
        LogFilters(priorities=("high",)),
    )
    events = LogFilters(view="events")
    for filters in (events, normal, stages):
        event_log(filters)
    weights = {key: kept.log.held_bytes() for key, kept in keptlogs._kept.items() if kept.log}
    # Half the budget holds the log of every stage visit alone, not with another log.
    budget = 2 * weights[stages.database_key()] + 1
    assert budget // 2 < weights[stages.database_key()] + min(weights.values())
    monkeypatch.setattr(keptlogs, "KEPT_BYTES", budget)
    beside: list[list[str]] = []
    derived = keptlogs._derived

    def recorded(*args: Any) -> logcoding._Kept:
        beside.append(list(keptlogs._kept))
        return derived(*args)

    monkeypatch.setattr(keptlogs, "_derived", recorded)
    assert event_log(high) is not None
    # The log of every event and the normal cases' went first; the log of every stage visit,
    # current, stayed to be derived from (and was).
    assert beside == [[stages.database_key()]]
    assert high.database_key() in keptlogs._kept

    # A new event: the log brought up to date stays while the others go.
    walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 1)])
    monkeypatch.setattr(keptlogs, "KEPT_BYTES", 1)
    spliced: list[list[str]] = []
    brought = keptlogs._brought_up_to_date

    def recorded_splice(*args: Any) -> logcoding._Kept | None:
        spliced.append(list(keptlogs._kept))
        return brought(*args)

    monkeypatch.setattr(keptlogs, "_brought_up_to_date", recorded_splice)
    assert event_log(high) is not None
    assert spliced == [[high.database_key()]]


@pytest.mark.parametrize("view", ["stages", "events"])
def test_a_filter_set_derived_from_the_kept_log_of_every_case_leaves_it_whole(
    live_log: Log, view: str
) -> None:
    """Derived from a log kept in the process, whose columns the pages still read (a log mapped
    for the derive alone gives up its columns as they are taken: the derive tests of
    ``test_coded_store.py`` hold both to a log read from the copy)."""
    every = LogFilters(view=view)  # type: ignore[arg-type]
    event_log(every)
    base = _every_case(view).log
    assert base is not None
    before = base.coded().clone()
    assert event_log(LogFilters(view=view, priorities=("normal",))) is not None  # type: ignore[arg-type]
    assert _every_case(view).log is base
    assert base.coded().equals(before)
