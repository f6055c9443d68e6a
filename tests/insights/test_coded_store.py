"""The coded log of every case kept on disk (``insights.codedlog``): a fresh process maps it
instead of coding the copy, and only when it is of this copy, whole, and brought up to date
equals a log coded afresh; a stale, foreign or damaged one is never used."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from django.db import models, transaction

from serviceloop.accounts.models import User
from serviceloop.cases.models import CaseEvent
from serviceloop.cases.services import case_assign, case_reopen
from serviceloop.core import append_only
from serviceloop.insights import codedlog, keptlogs, logcoding, logstore, selectors, storedlogs
from serviceloop.insights.keptlogs import event_log_version
from serviceloop.insights.selectors import LogFilters, event_table
from tests.factories import AgentFactory, CaseFactory
from tests.insights.conftest import DAY0, Log, walk, whole_reads

pytestmark = pytest.mark.django_db

VIEWS = ["stages", "events"]


def _assert_fresh(filters: LogFilters) -> logcoding._Kept:
    """The kept log equals the database read directly and the copy coded afresh, codes and
    names included."""
    kept = keptlogs._kept_log(filters)
    assert kept.table.to_pylist() == event_table(filters).to_pylist()
    afresh = logcoding._read(filters, logstore.sync(kept.version))
    assert kept.log is not None and afresh.log is not None
    assert kept.log.coded().equals(afresh.log.coded())
    assert kept.log.activity_names.equals(afresh.log.activity_names)
    assert kept.log.case_names.equals(afresh.log.case_names)
    assert kept.log.resource_names is not None and afresh.log.resource_names is not None
    assert kept.log.resource_names.equals(afresh.log.resource_names)
    assert kept.keys.equals(afresh.keys)
    assert kept.cases.sort("__case").equals(afresh.cases.sort("__case"))
    assert kept.held.sort().equals(afresh.held.sort())
    memo = logcoding.CASES_MEMO
    given, coded = kept.log.memo(memo, lambda: None), afresh.log.memo(memo, lambda: None)
    assert given.schema == coded.schema and given.equals(coded)
    return kept


def _fresh_process() -> None:
    keptlogs.forget_kept_logs()


def _pointer(view: str) -> dict[str, object]:
    return json.loads((codedlog.directory() / f"{view}.json").read_text())


def _stored_file(view: str, name: str = "log.1") -> Path:  # the steps' codes
    return codedlog.directory() / str(_pointer(view)["folder"]) / f"{name}.arrow"


@pytest.mark.parametrize("view", VIEWS)
def test_a_fresh_process_maps_the_stored_log_and_splices_new_events(
    live_log: Log, view: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    filters = LogFilters(view=view)  # type: ignore[arg-type]
    written = keptlogs._kept_log(filters)
    assert codedlog.stored_version(view) == (written.generation, written.version)
    _fresh_process()
    reads = whole_reads(monkeypatch)
    assert _assert_fresh(filters).version == written.version
    assert reads == [filters]  # only _assert_fresh's own read: the page's log was mapped
    # New events, a reopening and an assignment: the stored log is brought up to date by the
    # splice in the next fresh process, and equals one coded afresh.
    walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 1)])
    case_reopen(case=live_log.standard, actor=live_log.manager, reason="again")
    case_assign(case=live_log.detour, assignee=live_log.agent, actor=live_log.manager)
    _fresh_process()
    reads.clear()
    kept = keptlogs._kept_log(filters)
    assert reads == []
    assert kept.version == event_log_version()
    # The spliced log's pieces are copied into one, a column at a time, for the pages.
    assert kept.log is not None and max(kept.log.coded().n_chunks("all")) == 1
    _assert_fresh(filters)
    # Fewer than REWRITE_AFTER event ids behind: not written again at each event.
    assert codedlog.stored_version(view) == (written.generation, written.version)
    # A new person (staff the stored log was not coded with) and a new case: read whole.
    case_assign(case=live_log.detour, assignee=AgentFactory(), actor=live_log.manager)
    CaseFactory(actor=None, at=DAY0)
    _fresh_process()
    reads.clear()
    keptlogs._kept_log(filters)
    assert reads == [filters]
    _assert_fresh(filters)


def test_a_stored_log_far_enough_behind_is_written_again_in_one_piece_by_the_worker(
    live_log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    filters = LogFilters()
    first = keptlogs._kept_log(filters)
    monkeypatch.setattr(storedlogs, "REWRITE_AFTER", 1)
    walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 1)])
    kept = keptlogs._kept_log(filters)
    assert kept.version != first.version
    # Spliced (a whole read would have written the log again), then copied into one piece for
    # the pages after it was left unwritten: a page process does not write a spliced log, the
    # worker does.
    assert kept.log is not None and max(kept.log.coded().n_chunks("all")) == 1
    assert codedlog.stored_version("stages") == (first.generation, first.version)
    keptlogs.coded_logs_keep()
    assert codedlog.stored_version("stages") == (kept.generation, kept.version)
    assert len(list(codedlog.directory().glob("stages-*"))) == 1  # the older folder is gone
    _fresh_process()
    reads = whole_reads(monkeypatch)
    mapped = keptlogs._kept_log(filters)
    assert mapped.version == kept.version and reads == []
    assert mapped.log is not None and max(mapped.log.coded().n_chunks("all")) == 1
    _assert_fresh(filters)


def test_the_worker_writes_a_log_behind_again_once_it_is_old(
    live_log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    keptlogs.coded_logs_keep()
    written = codedlog.stored_version("events")
    walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 1)])
    keptlogs.coded_logs_keep()  # one event behind, just written: left as it is
    assert codedlog.stored_version("events") == written
    monkeypatch.setattr(storedlogs, "REWRITE_AGE", 0)
    keptlogs.coded_logs_keep()
    assert codedlog.stored_version("events") == (written[0], event_log_version())  # type: ignore[index]
    _fresh_process()
    _assert_fresh(LogFilters(view="events"))


def test_the_worker_writes_a_log_at_once_when_pages_could_not_splice_the_new_events(
    live_log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    keptlogs.coded_logs_keep()
    written = {view: codedlog.stored_version(view) for view in VIEWS}
    walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 1)])
    keptlogs.coded_logs_keep()  # a step the pages splice: left as it is, young and close
    assert {view: codedlog.stored_version(view) for view in VIEWS} == written
    # A person the stored logs do not code: every page process would read the whole copy.
    case_assign(case=live_log.detour, assignee=AgentFactory(), actor=live_log.manager)
    keptlogs.coded_logs_keep()
    for view in VIEWS:
        assert codedlog.stored_version(view) == (written[view][0], event_log_version())  # type: ignore[index]
    _fresh_process()
    reads = whole_reads(monkeypatch)
    for view in VIEWS:
        _assert_fresh(LogFilters(view=view))  # type: ignore[arg-type]
    assert reads == [LogFilters(view=view) for view in VIEWS]  # _assert_fresh's own reads


@pytest.mark.parametrize("view", VIEWS)
def test_after_an_erasure_the_stored_log_is_not_used(
    live_log: Log, view: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    filters = LogFilters(view=view)  # type: ignore[arg-type]
    before = keptlogs._kept_log(filters)
    oldest = CaseEvent.objects.order_by("id").first()
    assert oldest is not None
    with transaction.atomic(), append_only.lifted(CaseEvent._meta.db_table):
        models.QuerySet(CaseEvent).filter(pk=oldest.pk)._raw_delete("default")
    _fresh_process()
    reads = whole_reads(monkeypatch)
    kept = keptlogs._kept_log(filters)
    assert reads == [filters]  # the copy was written again: its coded log is read afresh
    assert kept.generation != before.generation
    assert codedlog.stored_version(view) == (kept.generation, kept.version)
    _assert_fresh(filters)


def test_a_rewritten_copy_makes_the_stored_log_unused(
    live_log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    filters = LogFilters(view="events")
    before = keptlogs._kept_log(filters)
    stored = codedlog.directory() / "events.json"
    kept_pointer = stored.read_text()
    logstore.forget()  # the copy goes (and with it the stored log); written again whole
    keptlogs.forget_kept_logs()
    logstore.sync(event_log_version())
    codedlog.directory().mkdir(parents=True, exist_ok=True)
    stored.write_text(kept_pointer)  # a pointer of the older copy left behind
    reads = whole_reads(monkeypatch)
    kept = keptlogs._kept_log(filters)
    assert reads == [filters]
    assert kept.generation != before.generation
    _assert_fresh(filters)


@pytest.mark.parametrize("change", ["foreign", "ahead", "other mark"])
def test_a_stored_log_of_a_foreign_or_later_version_is_not_used(
    live_log: Log, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    filters = LogFilters()
    kept = keptlogs._kept_log(filters)
    raw = _pointer("stages")
    if change == "foreign":
        raw["generation"] = "0" * 32
    elif change == "ahead":
        raw["version"] = [kept.version[0] + 5, kept.version[1], kept.version[2]]
    else:
        raw["version"] = [kept.version[0], kept.version[1], kept.version[2] + 1]
    (codedlog.directory() / "stages.json").write_text(json.dumps(raw))
    _fresh_process()
    reads = whole_reads(monkeypatch)
    keptlogs._kept_log(filters)
    assert reads == [filters]
    _assert_fresh(filters)
    # Written again for this copy, so the next fresh process maps it.
    assert codedlog.stored_version("stages") == (kept.generation, kept.version)


@pytest.mark.parametrize(
    "damage", ["truncated", "garbage", "codes", "missing", "pointer", "half-written"]
)
def test_a_damaged_or_half_written_stored_log_is_ignored_and_written_again(
    live_log: Log, damage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    filters = LogFilters(view="events")
    kept = keptlogs._kept_log(filters)
    path = _stored_file("events")
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00" * len(data))
    elif damage == "codes":  # another log's file of the same size: codes beyond its names
        frame = pl.read_ipc(path)
        frame = frame.with_columns(pl.col("__act") + 100)
        codedlog._write_frame(frame, path)
        raw = _pointer("events")
        raw["sizes"]["log.1"] = path.stat().st_size  # type: ignore[index]
        (codedlog.directory() / "events.json").write_text(json.dumps(raw))
    elif damage == "missing":
        _stored_file("events", "percase").unlink()
    elif damage == "pointer":
        pointer = codedlog.directory() / "events.json"
        pointer.write_text(pointer.read_text()[:40])
    else:  # a writer stopped before its pointer: a folder no pointer names, and a tmp file
        (codedlog.directory() / "events-unfinished").mkdir()
        (codedlog.directory() / "events-unfinished" / "log.arrow").write_bytes(data[:100])
        (codedlog.directory() / "events.0123.tmp").write_text("{")
    _fresh_process()
    reads = whole_reads(monkeypatch)
    assert keptlogs._kept_log(filters).version == kept.version
    expected = [] if damage == "half-written" else [filters]
    assert reads == expected
    _assert_fresh(filters)
    _fresh_process()
    reads.clear()
    keptlogs._kept_log(filters)  # written again whole: mapped now
    assert reads == []


def test_a_renamed_person_or_team_makes_the_stored_log_unused(
    live_log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    filters = LogFilters(view="events")
    keptlogs._kept_log(filters)
    User.objects.filter(pk=live_log.agent.pk).update(username="renamed-agent")
    _fresh_process()
    reads = whole_reads(monkeypatch)
    keptlogs._kept_log(filters)
    assert reads == [filters]
    _assert_fresh(filters)
    team = live_log.standard.team
    assert team is not None
    type(team).objects.filter(pk=team.pk).update(name="Renamed team")
    _fresh_process()
    reads.clear()
    keptlogs._kept_log(filters)
    assert reads == [filters]
    _assert_fresh(filters)


def test_the_worker_keeps_both_views_stored(live_log: Log, monkeypatch: pytest.MonkeyPatch) -> None:
    keptlogs.coded_logs_keep()
    version = event_log_version()
    for view in VIEWS:
        stored = codedlog.stored_version(view)
        assert stored is not None and stored[1] == version
    reads = whole_reads(monkeypatch)
    keptlogs.coded_logs_keep()  # unchanged: nothing read, nothing written
    assert reads == []
    for view in VIEWS:
        keptlogs._kept_log(LogFilters(view=view))  # type: ignore[arg-type]
    assert reads == []
    for view in VIEWS:
        _assert_fresh(LogFilters(view=view))  # type: ignore[arg-type]


FILTER_SETS = [
    {"priorities": ("high",)},
    {"priorities": ("normal", "low"), "channels": ("portal",)},
    {"categories": ("hardware",)},
    {"teams": ("team",)},
    {"priorities": ("urgent",)},  # no case
    {"version": "version"},
    {"process": "process"},
    {"priorities": ("high",), "top_variants": 1, "min_hours": 1.0},
]


def _filters(log: Log, view: str, spec: dict[str, object]) -> LogFilters:
    fields = dict(spec)
    if fields.get("categories") == ("hardware",):
        fields["categories"] = (log.hardware.pk,)
    if fields.get("teams") == ("team",):
        assert log.fresh.team is not None
        fields["teams"] = (log.fresh.team.pk,)
    if fields.get("version") == "version":
        fields["version"] = log.version.pk
    if fields.get("process") == "process":
        fields["process"] = log.version.process_id
    return LogFilters(view=view, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("view", VIEWS)
def test_filter_sets_are_derived_from_the_log_of_every_case_as_read(
    live_log: Log, view: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filter set on case attributes is taken from the log of every case by a mask and coded
    again: the same log, codes, names and types as read from the copy; also after new events
    and a reopening, from the log of every case spliced in the process."""
    keptlogs._kept_log(LogFilters(view=view))  # type: ignore[arg-type]
    for step in range(2):
        if step:
            walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 1)])
            case_reopen(case=live_log.standard, actor=live_log.manager, reason="again")
        for spec in FILTER_SETS:
            filters = _filters(live_log, view, spec)
            _fresh_process()
            if step:  # the log of every case brought up to date in this process (spliced)
                keptlogs._kept_log(LogFilters(view=view))  # type: ignore[arg-type]
            reads = whole_reads(monkeypatch)
            kept = keptlogs._kept_log(filters)
            assert reads == []  # derived, not read from the copy
            monkeypatch.undo()
            _assert_as_read(kept, filters)


def _assert_as_read(kept: logcoding._Kept, filters: LogFilters) -> None:
    """``kept`` (derived) is the log read from the copy and coded: rows, codes, names, types,
    case keys, cases and their memo; so is the log the pages get from it (narrowed)."""
    afresh = logcoding._read(filters, logstore.sync(kept.version))
    assert kept.table.to_pylist() == event_table(filters).to_pylist()
    if afresh.log is None:
        assert kept.log is None
        return
    assert kept.log is not None
    assert kept.log.coded().schema == afresh.log.coded().schema
    assert kept.log.coded().equals(afresh.log.coded())
    for name in ("activity_names", "case_names", "resource_names"):
        assert getattr(kept.log, name).equals(getattr(afresh.log, name)), name
    assert kept.keys.equals(afresh.keys)
    assert kept.cases.equals(afresh.cases)
    memo = logcoding.CASES_MEMO
    given, coded = kept.log.memo(memo, lambda: None), afresh.log.memo(memo, lambda: None)
    assert given.schema == coded.schema and given.equals(coded)
    shown, read = selectors.narrowed(kept.log, filters), selectors.narrowed(afresh.log, filters)
    if read is None:
        assert shown is None
        return
    assert shown is not None
    assert shown.coded().equals(read.coded())
    assert shown.to_polars().equals(read.to_polars())


#: (first day, last day) of time windows, days after DAY0: one day, two, open at either end.
WINDOWS = [(0, 0), (1, 2), (None, 1), (2, None), (3, 3)]


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("mode", ["started", "intersecting", "completed", "contained"])
def test_time_windows_are_derived_from_the_log_of_every_case_as_read(
    live_log: Log, view: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A time window is taken from the log of every case too (its cases by their creation, as
    the copy's read picks them), in each of its modes: the same log as read from the copy, and
    the same log narrowed to the window for the pages; also with a case attribute."""
    keptlogs._kept_log(LogFilters(view=view))  # type: ignore[arg-type]
    day = DAY0.date()
    for first, last in WINDOWS:
        for priorities in ((), ("normal",)):
            filters = LogFilters(
                view=view,  # type: ignore[arg-type]
                start=None if first is None else day + timedelta(days=first),
                end=None if last is None else day + timedelta(days=last),
                time_mode=mode,  # type: ignore[arg-type]
                priorities=priorities,
            )
            _fresh_process()
            reads = whole_reads(monkeypatch)
            kept = keptlogs._kept_log(filters)
            assert reads == []  # derived, not read from the copy
            monkeypatch.undo()
            _assert_as_read(kept, filters)


def test_a_filter_set_is_derived_from_a_stored_log_behind_and_read_when_far_behind(
    live_log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    keptlogs._kept_log(LogFilters())
    walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 1)])
    _fresh_process()  # the stored log is one event behind, and no process keeps it
    reads = whole_reads(monkeypatch)
    filters = LogFilters(priorities=("low",))
    keptlogs._kept_log(filters)
    assert reads == []  # the stored log spliced with that event, then masked
    _assert_fresh(filters)
    monkeypatch.setattr(storedlogs, "REWRITE_AFTER", 1)
    _fresh_process()
    reads.clear()
    keptlogs._kept_log(filters)
    assert reads == [filters]  # too far behind: the filter set's rows are read from the copy
    # A time window too: derived from the stored log a little behind, read when far behind.
    window = LogFilters(start=DAY0.date(), end=DAY0.date())
    reads.clear()
    keptlogs._kept_log(window)
    assert reads == [window]
    monkeypatch.setattr(storedlogs, "REWRITE_AFTER", 1_000)
    _fresh_process()
    reads.clear()
    keptlogs._kept_log(window)
    assert reads == []
    _assert_fresh(window)
