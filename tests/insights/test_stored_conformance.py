"""The conformance of the every-case stage log stored beside its coded log
(``insights.storedconformance``): a fresh process at the same log version takes it, and it
equals the result computed afresh; one of another version, generation or design, or a damaged
one, is never used. Its per-case parts check a filter set's log and a log spliced with new
events (the parts of the untouched cases, fresh parts of the touched ones): the same result as
checking that log whole."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from serviceloop.analytics.conformance import (
    ConformanceParts,
    ConformanceResult,
    check_conformance,
    conformance_parts,
)
from serviceloop.analytics.process_model import ProcessSpec
from serviceloop.insights import codedlog, keptlogs, lineage, pages, storedconformance
from serviceloop.insights.selectors import LogFilters, event_log
from serviceloop.insights.storedlogs import stored_log_at
from serviceloop.processes.services import process_spec_from_version
from tests.analytics._logs import copy_of
from tests.conformance_checks import assert_same_conformance
from tests.insights.conftest import PAGE_CONTEXTS, Log, rewrite_stored, walk

pytestmark = pytest.mark.django_db


def _spec(live_log: Log) -> ProcessSpec:
    return process_spec_from_version(live_log.version)


def _stored_log() -> tuple[Any, tuple[str, str, codedlog.Version]]:
    """The stage log of a fresh process, mapped from the stored log, and what it is at."""
    keptlogs.forget_kept_logs()
    log = event_log(LogFilters())
    assert log is not None
    at = stored_log_at(log)
    assert at is not None
    return log, at


def _computed(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What the pages check from now on, not taken from disk: "whole" for a log checked whole,
    the number of cases for fresh parts of the cases of a log that stored parts lack."""
    calls: list[Any] = []

    def counted(log: Any, spec: ProcessSpec) -> ConformanceResult:
        calls.append("whole")
        return check_conformance(log, spec)

    def counted_parts(
        log: Any, spec: ProcessSpec, *, cases: Any = None, runs: bool = False
    ) -> ConformanceParts:
        calls.append("whole" if cases is None else cases.len())
        return conformance_parts(log, spec, cases=cases, runs=runs)

    monkeypatch.setattr(pages, "check_conformance", counted)
    monkeypatch.setattr(pages, "conformance_parts", counted_parts)
    return calls


def _result_folder(at: tuple[str, str, codedlog.Version], spec: ProcessSpec) -> Path:
    folder = codedlog.folder_at(*at)
    assert folder is not None
    return folder / f"conformance-{storedconformance.FORMAT}-{storedconformance.spec_key(spec)}"


def test_the_stored_result_equals_one_computed_afresh(
    live_log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _spec(live_log)
    log, at = _stored_log()
    assert at[0] == "stages"
    assert storedconformance.load(*at, spec) is None
    calls = _computed(monkeypatch)
    first = pages.conformance_of(log, spec)  # computed and stored
    assert calls == ["whole"]
    log, again_at = _stored_log()  # a fresh process at the same version
    assert again_at == at
    stored = pages.conformance_of(log, spec)
    assert calls == ["whole"]  # taken from disk
    assert_same_conformance(stored, first)
    assert_same_conformance(stored, check_conformance(log, spec))


@pytest.mark.parametrize(
    "filters",
    [
        LogFilters(priorities=("normal",)),
        LogFilters(priorities=("high", "low")),
        LogFilters(channels=("portal",)),
        LogFilters(priorities=("urgent",)),  # no case: no log
    ],
)
def test_a_filter_sets_log_is_checked_from_the_stored_parts_of_its_cases(
    live_log: Log, monkeypatch: pytest.MonkeyPatch, filters: LogFilters
) -> None:
    spec = _spec(live_log)
    log, at = _stored_log()
    pages.conformance_of(log, spec)  # stores the result and the parts
    assert storedconformance.load_parts(*at, spec) is not None
    calls = _computed(monkeypatch)
    filtered = event_log(filters)
    if filtered is None:
        return
    assert stored_log_at(filtered) is None and lineage.origin(filtered) is not None
    assert filtered.n_cases < log.n_cases
    assert_same_conformance(pages.conformance_of(filtered, spec), check_conformance(filtered, spec))
    assert calls == []  # aggregated from the stored parts, nothing checked


def test_a_team_filter_after_new_events_takes_fresh_parts_of_the_touched_cases(
    live_log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _spec(live_log)
    log, _ = _stored_log()
    pages.conformance_of(log, spec)
    walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 1)])
    team = live_log.fresh.team
    assert team is not None
    calls = _computed(monkeypatch)
    filtered = event_log(LogFilters(teams=(team.pk,)))
    assert filtered is not None and stored_log_at(filtered) is None
    assert_same_conformance(pages.conformance_of(filtered, spec), check_conformance(filtered, spec))
    assert calls == [1]  # the touched case alone


@pytest.mark.parametrize(
    "filters",
    [
        LogFilters(min_hours=1),
        LogFilters(max_hours=8),  # the cases of the second and third codes go
        LogFilters(start=dt.date(2020, 1, 1), end=dt.date(2099, 12, 31)),
        LogFilters(top_variants=2),
        LogFilters(priorities=("normal", "low"), min_hours=1, top_variants=3),
    ],
)
@pytest.mark.parametrize("new_event", [False, True])
def test_a_narrowed_log_is_checked_from_the_stored_parts_of_its_cases(
    live_log: Log, monkeypatch: pytest.MonkeyPatch, filters: LogFilters, new_event: bool
) -> None:
    """The library's filters of whole cases keep them under their codes: their stored parts
    are taken (and fresh parts of a case a new event touched)."""
    spec = _spec(live_log)
    log, _ = _stored_log()
    pages.conformance_of(log, spec)
    if new_event:
        walk(live_log.again, live_log.version, live_log.manager, [])
        walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 1)])
    monkeypatch.setattr(pages, "PARTS_SHARE", 0.0)
    calls = _computed(monkeypatch)
    narrowed = event_log(filters)
    assert narrowed is not None and stored_log_at(narrowed) is None
    assert lineage.origin(narrowed) is not None
    if filters.max_hours:
        assert narrowed.n_cases == 2 and narrowed.coded()["__case"].unique().to_list() == [0, 3]
    assert_same_conformance(pages.conformance_of(narrowed, spec), check_conformance(narrowed, spec))
    assert calls in ([], [1])  # at most the touched case, checked alone
    assert new_event or calls == []


def test_a_result_of_another_version_generation_or_design_is_not_used(
    live_log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _spec(live_log)
    log, at = _stored_log()
    result = pages.conformance_of(log, spec)
    view, generation, version = at
    assert storedconformance.load(view, generation, version, spec) is not None
    later = (version[0] + 1, version[1] + 1, version[2])
    assert storedconformance.load(view, generation, later, spec) is None
    assert storedconformance.load(view, "another", version, spec) is None
    assert storedconformance.load("events", generation, version, spec) is None
    other = replace(spec, transitions=spec.transitions[:-1])
    assert storedconformance.spec_key(other) != storedconformance.spec_key(spec)
    assert storedconformance.load(view, generation, version, other) is None
    # Nor is one written for a version the stored log is not at.
    parts = storedconformance.load_parts(*at, spec)
    assert parts is not None
    assert storedconformance.load_parts(view, generation, later, spec) is None
    assert storedconformance.load_parts(view, generation, version, other) is None
    assert not storedconformance.write(view, generation, later, spec, result, parts)
    # A result file moved under another design's key (a foreign file) is refused.
    foreign = _result_folder(at, other)
    _result_folder(at, spec).rename(foreign)
    assert storedconformance.load(view, generation, version, other) is None
    # After new events the log is spliced in a fresh process: not the stored one; its parts
    # are under the other design's key now, so it is checked whole.
    walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 1)])
    keptlogs.forget_kept_logs()
    spliced = event_log(LogFilters())
    assert spliced is not None and stored_log_at(spliced) is None
    calls = _computed(monkeypatch)
    assert_same_conformance(pages.conformance_of(spliced, spec), check_conformance(spliced, spec))
    assert calls == ["whole"]


@pytest.mark.parametrize("fresh_process", [False, True])
def test_a_spliced_log_takes_the_stored_parts_of_its_untouched_cases(
    live_log: Log, monkeypatch: pytest.MonkeyPatch, fresh_process: bool
) -> None:
    """New events touch a case: the log spliced (in this process, or in a fresh one from the
    stored log) is checked from the stored parts and fresh parts of that case alone."""
    spec = _spec(live_log)
    log, at = _stored_log()
    pages.conformance_of(log, spec)
    walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 1)])
    walk(live_log.again, live_log.version, live_log.manager, [])
    if fresh_process:
        keptlogs.forget_kept_logs()
    calls = _computed(monkeypatch)
    spliced = event_log(LogFilters())
    assert spliced is not None and stored_log_at(spliced) is None
    origin = lineage.origin(spliced)
    assert origin is not None and origin.at == at
    patched = []
    combine = pages.combine_parts

    def seen(pieces: Any) -> ConformanceParts:
        out = combine(pieces)
        patched.append(out.runs is not None)
        return out

    monkeypatch.setattr(pages, "combine_parts", seen)
    assert_same_conformance(pages.conformance_of(spliced, spec), check_conformance(spliced, spec))
    assert calls == [1]  # the case the new event touched
    assert patched == [True]  # the stored sorted visits patched, not sorted again


@pytest.mark.parametrize(
    "damage",
    [
        "truncated",
        "garbage",
        "missing",
        "no summary",
        "another log",
        "parts truncated",
        "parts missing",
        "parts of another shape",
    ],
)
def test_a_damaged_result_is_ignored(
    live_log: Log, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    spec = _spec(live_log)
    log, at = _stored_log()
    want = pages.conformance_of(log, spec)
    folder = _result_folder(at, spec)
    if damage.startswith("parts"):
        visits = folder / "parts-visits.arrow"
        if damage == "parts truncated":
            visits.write_bytes(visits.read_bytes()[:-64])
        elif damage == "parts missing":
            (folder / "parts-sequences.arrow").unlink()
        else:  # a frame of the right size and rows but another column
            rewrite_stored(
                folder,
                "parts-visits",
                pl.read_ipc(visits).rename({"__us": "__other"}),
                "result.json",
            )
        assert storedconformance.load_parts(*at, spec) is None
        assert storedconformance.load(*at, spec) is not None  # the result itself is whole
        walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 1)])
        calls = _computed(monkeypatch)
        spliced = event_log(LogFilters())
        assert spliced is not None
        assert_same_conformance(
            pages.conformance_of(spliced, spec), check_conformance(spliced, spec)
        )
        assert calls == ["whole"]
        return
    if damage == "truncated":
        path = folder / "cases.arrow"
        path.write_bytes(path.read_bytes()[:-64])
    elif damage == "garbage":
        path = folder / "variants.arrow"
        path.write_bytes(b"\0" * path.stat().st_size)
    elif damage == "missing":
        (folder / "stage_times.arrow").unlink()
    else:
        raw = json.loads((folder / "result.json").read_text())
        if damage == "no summary":
            del raw["summary"]
        else:
            raw["version"] = [0, 0, 0]
        (folder / "result.json").write_text(json.dumps(raw))
    assert storedconformance.load(*at, spec) is None
    log, _ = _stored_log()
    calls = _computed(monkeypatch)
    assert_same_conformance(pages.conformance_of(log, spec), want)
    assert calls == ["whole"]


def test_pages_with_the_stored_result_equal_pages_computed_without_it(live_log: Log) -> None:
    log, at = _stored_log()
    without = {
        name: build(pages.scope_build(LogFilters(), log)) for name, build in PAGE_CONTEXTS.items()
    }
    assert storedconformance.load(*at, _spec(live_log)) is not None  # the pages stored it
    log, _ = _stored_log()
    with_stored = {
        name: build(pages.scope_build(LogFilters(), log)) for name, build in PAGE_CONTEXTS.items()
    }
    assert with_stored == without


def test_the_worker_stores_the_stage_logs_conformance_as_it_writes_the_log(
    live_log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    keptlogs.coded_logs_keep(after_write=pages.stored_conformance_keep)
    stored = codedlog.stored_version("stages")
    assert stored is not None
    at = ("stages", *stored)
    assert storedconformance.load(*at, _spec(live_log)) is not None
    assert not list(codedlog.directory().glob("events-*/conformance-*"))  # not compared
    log, log_at = _stored_log()
    assert log_at == at
    calls = _computed(monkeypatch)
    scope = pages.scope_build(LogFilters(), log)
    assert pages.overview_context(scope)
    assert calls == []  # the fresh process's first page took it from disk
    conformance = scope.conformance()
    assert conformance is not None
    assert_same_conformance(conformance, check_conformance(log, _spec(live_log)))


def test_a_filter_set_of_few_cases_is_checked_whole(
    live_log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below :data:`pages.PARTS_SHARE` of the stored cases, checking the log costs less than
    picking its cases' parts: it is checked whole, with the same result."""
    spec = _spec(live_log)
    log, _ = _stored_log()
    pages.conformance_of(log, spec)
    filtered = event_log(LogFilters(priorities=("normal",)))
    assert filtered is not None and filtered.n_cases / log.n_cases == 0.5
    monkeypatch.setattr(pages, "PARTS_SHARE", 0.6)
    calls = _computed(monkeypatch)
    assert_same_conformance(pages.conformance_of(filtered, spec), check_conformance(filtered, spec))
    assert calls == ["whole"]


def test_a_lineage_that_does_not_fit_the_log_is_not_used(
    live_log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Codes of a stored log that has fewer cases, or codes past the stored parts: the log is
    checked whole, never a wrong page nor a crash."""
    spec = _spec(live_log)
    log, at = _stored_log()
    pages.conformance_of(log, spec)
    filtered = event_log(LogFilters(priorities=("normal",)))
    assert filtered is not None
    calls = _computed(monkeypatch)
    for codes in ([0], [0, 99]):
        lineage._origins[filtered] = lineage.Origin(at, pl.Series(codes, dtype=pl.Int64))
        assert_same_conformance(
            pages.conformance_of(filtered, spec), check_conformance(filtered, spec)
        )
    assert calls == ["whole", "whole"]
    # Nor is one passed on to a log made from it with as many flags as it has not cases.
    lineage.derived(log, filtered, pl.Series([True] * 5))
    assert lineage.origin(log) is not None and lineage.origin(log).codes is None  # unchanged


def test_a_copy_of_the_stored_log_takes_the_stored_result(
    live_log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log that is the stored log's rows case for case (its columns copied into one piece)
    keeps its lineage, and so the stored result."""
    spec = _spec(live_log)
    log, _ = _stored_log()
    want = pages.conformance_of(log, spec)
    copy = copy_of(log)
    lineage.copied(copy, log)
    assert stored_log_at(copy) is None
    calls = _computed(monkeypatch)
    assert_same_conformance(pages.conformance_of(copy, spec), want)
    assert calls == []
