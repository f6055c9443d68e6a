"""Computed Insights pages, kept by log version, and served while a newer one is computed.

Over unchanged data the same page is the same answer, so a repeat view only renders it. A few
answers are kept in the process, and each is written beside the columnar log copy, so a fresh
server process (another worker, a restart) finds it too instead of computing it over the whole
history again. A new event changes the log version, so the kept answer is no longer the page.

Computing a page again costs seconds of CPU over millions of events. On a log of at least
:func:`inline_limit` events, the first load after new events therefore shows the page's newest
kept answer, saying plainly when it was computed ("as of HH:MM, updating"), and computes the
page at the new version in a background thread (one at a time per process, and one process per
page: a lock file beside the answers); the next load finds it. On a smaller log, or when no answer
of the page was kept, or when the log was written again whole (an erasure: the kept answer may
name erased cases), the page is computed before it is shown, as before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import pickle
import queue
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone, translation

from serviceloop.insights import logstore, pages
from serviceloop.insights.filelock import file_lock
from serviceloop.insights.keptlogs import computing_page, on_forget
from serviceloop.insights.logstore import Version
from serviceloop.insights.selectors import LogFilters, event_log_and_version, log_version_key
from serviceloop.processes.models import ProcessVersion

__all__ = [
    "INLINE_BELOW",
    "Answer",
    "PageKey",
    "page_answer",
    "pending_refreshes",
    "run_later",
]

logger = logging.getLogger(__name__)

Builder = Callable[[pages.Scope], dict[str, Any]]
#: A page and what makes it that page: name, filter query, language, time zone.
PageKey = tuple[str, str, str, str]
LogAt = tuple[str, Version]  # the copy's generation and the log version

#: Logs with fewer events than this (the newest event id) compute a page before showing it.
INLINE_BELOW = 1_000_000


def inline_limit() -> int:
    """``INSIGHTS_INLINE_BELOW`` if set, else :data:`INLINE_BELOW`."""
    return int(getattr(settings, "INSIGHTS_INLINE_BELOW", INLINE_BELOW))


@dataclass(frozen=True)
class LogShown:
    n_cases: int


@dataclass(frozen=True)
class ScopeShown:
    """What the templates read of a scope, kept instead of the scope and its decoded log (which
    would hold millions of rows per kept page)."""

    version: ProcessVersion | None
    mixed_versions: bool
    log: LogShown

    @classmethod
    def of(cls, scope: pages.Scope) -> ScopeShown:
        return cls(scope.version, scope.mixed_versions, LogShown(scope.log.n_cases))


@dataclass(frozen=True)
class Answer:
    """A computed page: what the templates read, the log it was computed over, and when."""

    scope: ScopeShown
    context: dict[str, Any]
    at: LogAt
    computed_at: dt.datetime


class _Answers:
    """Answers by page and log version: a few in the process, each also written as a file (the
    older versions' file of a page deleted when a newer one is written)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[PageKey, Answer] = OrderedDict()
        self.lock = threading.Lock()

    def latest(self, key: PageKey, now: LogAt) -> Answer | None:
        """The answer of the page at ``now``, else the newest kept one at another version (the
        file may be newer than the process's own: another process computed it)."""
        with self.lock:
            mine = self.items.get(key)
            if mine is not None:
                self.items.move_to_end(key)
        if mine is not None and mine.at == now:
            return mine
        found = _answer_read(key)
        if found is None or (mine is not None and _newer(mine.at, found.at)):
            return mine
        if mine is None or found.at != mine.at:
            self._keep(key, found)
        return found

    def put(self, key: PageKey, answer: Answer) -> None:
        self._keep(key, answer)
        _answer_write(key, answer)

    def _keep(self, key: PageKey, answer: Answer) -> None:
        with self.lock:
            self.items[key] = answer
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


def _newer(a: LogAt, b: LogAt) -> bool:
    return a[0] == b[0] and a[1] > b[1]


def _answer_path(key: PageKey) -> tuple[Path, str]:
    """The folder of answers and the name of ``key``'s file (one per page and filters)."""
    page = hashlib.sha256(repr(key).encode()).hexdigest()[:24]
    return logstore.store_directory() / "answers", page


#: Answer files kept beside the copy: beyond this many, the least recently used go (each set of
#: filters a manager tries leaves one file per page).
ANSWER_FILES_KEPT = 500


def _answer_read(key: PageKey) -> Answer | None:
    folder, name = _answer_path(key)
    path = folder / f"{name}.pickle"
    try:
        data = path.read_bytes()
        os.utime(path)  # used now: the last to be cleared away
    except FileNotFoundError:
        return None
    # Written by this application into its own data folder (as trusted as the database file).
    found = pickle.loads(data)  # noqa: S301
    return found if isinstance(found, Answer) else None  # an older format: computed again


def _answer_write(key: PageKey, answer: Answer) -> None:
    folder, name = _answer_path(key)
    folder.mkdir(parents=True, exist_ok=True)
    current = _answer_read(key)
    if current is not None and _newer(current.at, answer.at):
        return  # another process wrote a newer one meanwhile
    for older in folder.glob(f"{name}-*.pickle"):  # named by version before 2026-12-06
        older.unlink(missing_ok=True)
    tmp = folder / f"{name}.{uuid.uuid4().hex}.tmp"
    tmp.write_bytes(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
    os.replace(tmp, folder / f"{name}.pickle")
    _clear_least_used(folder)


def _clear_least_used(folder: Path) -> None:
    """Delete the least recently used answer files beyond :data:`ANSWER_FILES_KEPT`."""
    files = []
    for path in folder.glob("*.pickle"):
        try:
            files.append((path.stat().st_mtime, path))
        except FileNotFoundError:  # another process cleared it meanwhile
            continue
    if len(files) <= ANSWER_FILES_KEPT:
        return
    files.sort()
    for _, path in files[: len(files) - ANSWER_FILES_KEPT]:
        path.unlink(missing_ok=True)


_answers = _Answers(size=32)
on_forget.append(_answers.clear)


def _compute(key: PageKey, filters: LogFilters, build: Builder, at: LogAt) -> Answer | None:
    began = timezone.now()
    with computing_page():  # then the kept logs let go of what only this page needed
        log, version = event_log_and_version(filters, at)
        if log is None:
            return None
        scope = pages.scope_build(filters, log)
        answer = Answer(ScopeShown.of(scope), build(scope), version, began)
    _answers.put(key, answer)
    return answer


def page_answer(key: PageKey, filters: LogFilters, build: Builder) -> tuple[Answer | None, bool]:
    """The page for ``key`` and whether it is an older version's, being updated: the kept answer
    at the current log version, else (a big log) the newest kept one while the page is computed
    in the background, else computed now. None: the filters leave no log."""
    now = log_version_key()
    found = _answers.latest(key, now)
    if found is not None and found.at == now:
        return found, False
    if found is not None and found.at[0] == now[0] and now[1][0] >= inline_limit():
        _refresh_later(key, filters, build)
        return found, True
    return _compute(key, filters, build, now), False


# -- computing in the background ----------------------------------------------------------------
_pending: set[PageKey] = set()
_pending_lock = threading.Lock()


def _refresh_later(key: PageKey, filters: LogFilters, build: Builder) -> None:
    with _pending_lock:
        if key in _pending:
            return
        _pending.add(key)
    language, zone = key[2], key[3]

    def refresh() -> None:
        try:
            with _page_lock(key) as mine:
                if not mine:
                    return  # another process is computing it; its file will be read
                with translation.override(language), timezone.override(zone):
                    _compute(key, filters, build, log_version_key())
        except Exception:  # a failed refresh leaves the page to be computed on its next load
            logger.exception("insights: computing %s again failed", key[0])
        finally:
            with _pending_lock:
                _pending.discard(key)

    run_later(refresh)


def _page_lock(key: PageKey) -> AbstractContextManager[bool]:
    """A lock file per page, taken without waiting: False while another process computes it."""
    folder, name = _answer_path(key)
    return file_lock(folder / f"{name}.lock", wait=False)


_jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
_runner: threading.Thread | None = None
_runner_lock = threading.Lock()


def _run_jobs() -> None:
    while True:
        job = _jobs.get()
        try:
            job()
        finally:
            connection.close()  # this thread's own connection


def _in_background(job: Callable[[], None]) -> None:
    """One thread per process runs the refreshes in turn (each holds a whole log in memory)."""
    global _runner
    with _runner_lock:
        if _runner is None or not _runner.is_alive():
            _runner = threading.Thread(target=_run_jobs, name="insights-refresh", daemon=True)
            _runner.start()
    _jobs.put(job)


#: How a refresh is started: a background thread (tests run it in their own thread instead).
run_later: Callable[[Callable[[], None]], None] = _in_background


def pending_refreshes() -> int:
    """Pages this process is computing again or has queued (benchmarks wait for them)."""
    with _pending_lock:
        return len(_pending)
