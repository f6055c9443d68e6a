"""The step statistics' sorts stored beside the stored coded log (``insights.storedsteps``): the
worker writes them, and a log that is the stored one or was made from it (new events spliced
in, a filter set's cases) takes them, with the same figures as a log that sorts its own steps,
on both views; a narrowed log, a small filter set, and stored sorts that are missing, damaged,
of another log version or generation, or of other activity names, are not used (the log sorts
its own): never a wrong page, never a crash."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from serviceloop import analytics
from serviceloop.analytics import EventLog, _steps
from serviceloop.analytics._schema import T2
from serviceloop.analytics._steps import case_step_keys
from serviceloop.insights import codedlog, keptlogs, lineage, pages, storedsteps
from serviceloop.insights.selectors import LogFilters, event_log
from serviceloop.insights.storedlogs import stored_log_at
from tests.analytics._logs import copy_of
from tests.insights.conftest import PAGE_CONTEXTS, Log, rewrite_stored, walk

pytestmark = pytest.mark.django_db

VIEWS = ("stages", "events")
#: The pages that read the step statistics' sorts.
STEP_PAGES = ("process", "performance", "rework")


def _stored_log(view: str) -> tuple[EventLog, tuple[str, str, codedlog.Version]]:
    """The log of every case of ``view`` in a fresh process, mapped from the stored log, with
    the step sorts stored beside it."""
    keptlogs.forget_kept_logs()
    log = event_log(LogFilters(view=view))  # type: ignore[arg-type]
    assert log is not None
    at = stored_log_at(log)
    assert at is not None
    storedsteps.keep(log)
    keptlogs.forget_kept_logs()
    log = event_log(LogFilters(view=view))  # type: ignore[arg-type]
    assert log is not None and stored_log_at(log) == at
    return log, at


def _figures(log: EventLog, filters: LogFilters) -> list[Any]:
    """The step pages' contexts and the library's frames they come from."""
    scope = pages.scope_build(filters, log)
    contexts = [PAGE_CONTEXTS[name](scope) for name in STEP_PAGES]
    frames = [
        analytics.dfg(log),
        analytics.activity_times(log),
        analytics.bottlenecks(log),
        analytics.rework(log),
        analytics.rework_by_attribute(log, "team"),
    ]
    return [*contexts, *frames]


def _assert_same(log: EventLog, filters: LogFilters, *, taken: bool) -> None:
    """``log`` takes the stored sorts (``taken``: it sorts none of its steps) or not, and its
    figures are those of a log that sorts its own steps."""
    own = copy_of(log)
    assert pages.with_stored_steps(log) is taken
    if taken:
        with pytest.MonkeyPatch.context() as patch:
            for name in ("_edge_runs", "_case_step_keys"):
                patch.setattr(_steps, name, functools.partial(_not_for, log, getattr(_steps, name)))
            _figures(log, filters)
    got, want = _figures(log, filters), _figures(own, filters)
    for mine, theirs in zip(got, want, strict=True):
        if isinstance(mine, pl.DataFrame):
            assert mine.equals(theirs) and mine.schema == theirs.schema
        else:
            assert mine == theirs
    assert case_step_keys(log).equals(case_step_keys(own), check_dtypes=True)  # type: ignore[union-attr]
    runs = log.memo(("runs", T2), lambda: None)
    theirs = own.memo(("runs", T2), lambda: None)
    assert runs is not None and theirs is not None and runs.counts() == theirs.counts()


def _not_for(log: EventLog, sort: Any, of: EventLog, *args: Any) -> Any:
    assert of is not log, "sorted again"
    return sort(of, *args)


@pytest.mark.parametrize("view", VIEWS)
def test_the_stored_log_takes_its_stored_sorts(live_log: Log, view: str) -> None:
    log, at = _stored_log(view)
    parts = storedsteps.load(*at)
    assert parts is not None and parts.n_cases == log.n_cases
    _assert_same(log, LogFilters(view=view), taken=True)  # type: ignore[arg-type]


@pytest.mark.parametrize("view", VIEWS)
def test_a_spliced_log_takes_them_with_the_touched_cases_made_again(
    live_log: Log, view: str
) -> None:
    _stored_log(view)
    walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 1)])
    walk(live_log.again, live_log.version, live_log.manager, [])
    filters = LogFilters(view=view)  # type: ignore[arg-type]
    spliced = event_log(filters)
    assert spliced is not None and stored_log_at(spliced) is None
    origin = lineage.origin(spliced)
    assert origin is not None and origin.codes is not None and origin.codes.null_count() > 0
    _assert_same(spliced, filters, taken=True)


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("new_event", [False, True])
def test_a_filter_sets_log_takes_them_by_a_mask(
    live_log: Log, monkeypatch: pytest.MonkeyPatch, view: str, new_event: bool
) -> None:
    _stored_log(view)
    if new_event:
        walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 1)])
    monkeypatch.setattr(storedsteps, "PARTS_SHARE", 0.0)
    filters = LogFilters(view=view, priorities=("normal",))  # type: ignore[arg-type]
    filtered = event_log(filters)
    assert filtered is not None and lineage.origin(filtered) is not None
    _assert_same(filtered, filters, taken=True)


def test_a_small_filter_set_sorts_its_own_steps(
    live_log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below :data:`storedsteps.PARTS_SHARE` of the stored cases, sorting costs less than a
    mask over every stored step."""
    log, _ = _stored_log("events")
    filters = LogFilters(view="events", priorities=("normal",))
    filtered = event_log(filters)
    assert filtered is not None and filtered.n_cases / log.n_cases == 0.5
    monkeypatch.setattr(storedsteps, "PARTS_SHARE", 0.6)
    _assert_same(filtered, filters, taken=False)


def test_a_narrowed_log_sorts_its_own_steps(live_log: Log) -> None:
    """The library's filters of whole cases keep the wider log's codes: not made here."""
    _stored_log("events")
    filters = LogFilters(view="events", min_hours=1)
    narrowed = event_log(filters)
    assert narrowed is not None and lineage.origin(narrowed) is not None
    _assert_same(narrowed, filters, taken=False)


def test_a_copy_of_the_stored_log_takes_them_as_they_are(live_log: Log) -> None:
    log, _ = _stored_log("events")
    copy = copy_of(log)
    lineage.copied(copy, log)
    _assert_same(copy, LogFilters(view="events"), taken=True)


def test_the_worker_stores_them_as_it_writes_the_logs(live_log: Log) -> None:
    keptlogs.coded_logs_keep(after_write=pages.stored_keep)
    for view in VIEWS:
        stored = codedlog.stored_version(view)
        assert stored is not None
        assert storedsteps.load(view, *stored) is not None
    assert len(list(codedlog.directory().glob(f"*/steps-{storedsteps.FORMAT}"))) == 2


def _folder(at: tuple[str, str, codedlog.Version]) -> Path:
    folder = codedlog.folder_at(*at)
    assert folder is not None
    return folder / f"steps-{storedsteps.FORMAT}"


def _with_json(folder: Path, **changes: Any) -> None:
    raw = json.loads((folder / "steps.json").read_text())
    (folder / "steps.json").write_text(json.dumps(raw | changes))


DAMAGES = {
    "runs truncated": lambda f: (f / "runs.arrow").write_bytes(
        (f / "runs.arrow").read_bytes()[:-64]
    ),
    "keys zeroed": lambda f: (f / "keys.arrow").write_bytes(
        b"\0" * (f / "keys.arrow").stat().st_size
    ),
    "keys missing": lambda f: (f / "keys.arrow").unlink(),
    "description missing": lambda f: (f / "steps.json").unlink(),
    "description cut": lambda f: (f / "steps.json").write_text((f / "steps.json").read_text()[:40]),
    "foreign runs": lambda f: rewrite_stored(
        f, "runs", pl.read_ipc(f / "runs.arrow").rename({"case": "other"}), "steps.json"
    ),
    "foreign keys": lambda f: rewrite_stored(
        f, "keys", pl.read_ipc(f / "keys.arrow").cast(pl.Int64), "steps.json"
    ),
    "foreign pairs": lambda f: rewrite_stored(
        f, "pairs", pl.read_ipc(f / "pairs.arrow").cast({"cases": pl.Int64}), "steps.json"
    ),
    "activities missing": lambda f: (f / "activities.arrow").unlink(),
    "another generation": lambda f: _with_json(f, generation="another"),
    "another version": lambda f: _with_json(f, version=[1, 2, 3]),
    "another format": lambda f: _with_json(f, format=0),
    "other activity names": lambda f: _with_json(f, activity_names=["a", "b"]),
    "an impossible packing": lambda f: _with_json(f, bits=99),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
@pytest.mark.parametrize("spliced", [False, True])
def test_damaged_or_foreign_sorts_are_not_used(live_log: Log, damage: str, spliced: bool) -> None:
    log, at = _stored_log("events")
    DAMAGES[damage](_folder(at))
    filters = LogFilters(view="events")
    if spliced:
        walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 1)])
    else:
        keptlogs.forget_kept_logs()
    log = event_log(filters)  # type: ignore[assignment]
    assert log is not None
    if damage != "other activity names":
        assert storedsteps.load(*at) is None
    _assert_same(log, filters, taken=False)


def test_sorts_of_another_log_version_are_neither_read_nor_written(live_log: Log) -> None:
    _log, (view, generation, version) = _stored_log("events")
    parts = storedsteps.load(view, generation, version)
    assert parts is not None
    later = (version[0] + 1, version[1] + 1, version[2])
    assert storedsteps.load(view, generation, later) is None
    assert storedsteps.load(view, "another", version) is None
    assert storedsteps.load("stages", generation, version) is None
    assert not storedsteps.write(view, generation, later, parts)
    assert not storedsteps.write(view, generation, version, parts)  # stored already
