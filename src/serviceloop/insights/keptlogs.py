"""The log of each set of database-level filters kept in the process, coded for the engine: the
cache of kept logs, its byte budget and the memos kept between pages.

A log is kept in the process (not in Django's cache, which would pickle millions of rows on every
page) with the log's version: a page over unchanged data reads nothing, and after new events only
the cases they touch are read from the copy and spliced into the coded log
(:func:`event_log_version`, :mod:`.splicing`). A fresh process maps the coded log of every case
stored beside the copy (:mod:`.storedlogs`, :mod:`.codedlog`) instead of coding the copy
(:mod:`.copyrows`, :mod:`.logcoding`), and derives a filter set on case attributes or a time
window from it by a mask over its cases (:mod:`.derivedlogs`). The pages read these logs through
:mod:`serviceloop.insights.selectors`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

from serviceloop.analytics import EventLog
from serviceloop.cases.models import CaseEvent
from serviceloop.insights import codedlog, logcoding, logstore, storedlogs
from serviceloop.insights.copyrows import LATE_WINDOW, _every_case
from serviceloop.insights.derivedlogs import _derived
from serviceloop.insights.logcoding import CASES_MEMO, _Kept
from serviceloop.insights.logfilters import LogFilters, View
from serviceloop.insights.logstore import Version
from serviceloop.insights.splicing import _brought_up_to_date, _in_one_piece
from serviceloop.insights.storedlogs import _keep_on_disk, _stored_kept, stored_log_at

__all__ = [
    "KEPT_BYTES",
    "KEPT_LOGS",
    "SMALL_MEMO",
    "coded_logs_keep",
    "computing_page",
    "event_log_version",
    "forget_kept_logs",
    "on_forget",
]

# -- the log kept in memory, brought up to date from the columnar copy --------------------------------
#: Sets of filters kept per process (least recently used dropped first)...
KEPT_LOGS = 6
#: ...and the bytes their logs and the memos kept over them (:data:`SMALL_MEMO`) may hold
#: together, the one used last included (it always stays): the log of every event at 32M events
#: (0.8 GB) is then kept alone, so a page over it computes beside nothing else, and a server
#: process computing every page in turn stays under 1.6 GB.
KEPT_BYTES = 800_000_000


def event_log_version() -> Version:
    """(newest event id, events in the last :data:`LATE_WINDOW` ids, erasure mark): changes
    whenever the log does, and costs index probes, not a count of the whole log.

    Events are only appended, so a new one moves the newest id, and one committed late moves the
    window's count. The one removal there is, an audited erasure (``core.append_only.lifted``),
    drops and re-creates the table's triggers: on PostgreSQL their ids are the mark. SQLite's mark
    is the number of ids missing below the newest (it numbers rows without gaps, so only an
    erasure adds one; counting is cheap at the sizes SQLite serves).
    """
    table = CaseEvent._meta.db_table
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT m.last, (SELECT count(*) FROM {table} WHERE id > m.last - %s), "  # noqa: S608
            f"(SELECT coalesce(sum(oid::int8), 0) FROM pg_trigger "
            f"WHERE tgrelid = '{table}'::regclass) "
            f"FROM (SELECT coalesce(max(id), 0) AS last FROM {table}) m"
        )
    else:
        sql = (
            f"SELECT m.last, (SELECT count(*) FROM {table} WHERE id > m.last - %s), "  # noqa: S608
            f"m.last - (SELECT count(*) FROM {table}) "
            f"FROM (SELECT coalesce(max(id), 0) AS last FROM {table}) m"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, [LATE_WINDOW])
        last, recent, mark = cursor.fetchone()
    return int(last), int(recent), int(mark)


_kept: OrderedDict[str, _Kept] = OrderedDict()
_kept_lock = threading.Lock()


def _first(filters: LogFilters, state: logstore.StoreState) -> _Kept:
    """The log for ``filters`` when this process keeps none: every case's from its coded log on
    disk where one is stored (brought up to date by a splice when the copy moved on), else read
    whole from the copy."""
    if _every_case(filters):
        stored = _stored_kept(filters.view, state)
        if stored is not None:
            if stored.version == state.version:
                return stored
            updated = _brought_up_to_date(stored, filters, state)
            if updated is not None:
                return updated
            del stored
        return logcoding._read(filters, state)
    return _again(filters, state)


def _again(filters: LogFilters, state: logstore.StoreState) -> _Kept:
    """The log for ``filters`` made whole again: derived from the log of every case where the
    log is at hand, else read from the copy."""
    if not _every_case(filters):
        base = _every_case_log(filters.view, state)
        if base is not None:
            return _derived(*base, filters, state)
    return logcoding._read(filters, state)


def _every_case_log(view: View, state: logstore.StoreState) -> tuple[_Kept, bool] | None:
    """The log of every case at ``state``, kept in this process or mapped from disk (spliced
    with the events since it was written, when it is fewer than :data:`REWRITE_AFTER` event ids
    behind), and whether it is the caller's alone (mapped for it: not kept); None when neither
    is at hand."""
    with _kept_lock:
        kept = _kept.get(LogFilters(view=view).database_key())
    if kept is not None and (kept.generation, kept.version) == (state.generation, state.version):
        return kept, False
    on_disk = codedlog.stored_version(view)
    if on_disk is None or on_disk[0] != state.generation:
        return None
    if state.version[0] - on_disk[1][0] >= storedlogs.REWRITE_AFTER:
        return None  # far behind: reading the filter set's rows costs less than the splice
    stored = _stored_kept(view, state)
    if stored is not None and stored.version != state.version:
        stored = _brought_up_to_date(stored, LogFilters(view=view), state)  # None: read the set
    return None if stored is None else (stored, True)


def coded_logs_keep(after_write: Callable[[EventLog], None] | None = None) -> None:
    """Keep the coded log of every case on disk, both views, for the worker's copy-keeping
    thread (so page loads seldom code the whole copy, and map it in one piece): written when
    none is stored, or brought up to date and written again when it is :data:`REWRITE_AFTER`
    event ids behind, :data:`REWRITE_AGE` seconds old and behind, or behind by events the
    pages cannot splice onto it. ``after_write`` is given each log just written (what is
    computed over it may be stored beside it). Nothing stays in this process but the last
    state found to splice."""
    state = logstore.sync(event_log_version())
    for view in ("stages", "events"):
        on_disk = codedlog.stored_version(view)
        if on_disk is not None and on_disk[0] == state.generation:
            if not codedlog.ahead(state.version, on_disk[1]):
                continue
            age = codedlog.age(view)
            if (
                state.version[0] - on_disk[1][0] < storedlogs.REWRITE_AFTER
                and (age is not None and age < storedlogs.REWRITE_AGE)
                and _splices(view, state)
            ):
                continue
        filters = LogFilters(view=view)
        kept = _first(filters, state)
        _keep_on_disk(filters, kept, worker=True)
        if after_write is not None and kept.log is not None and stored_log_at(kept.log):
            after_write(kept.log)
        del kept


#: Per view, the copy's generation and version last found to splice onto the stored log.
_spliced_at: dict[View, tuple[str, Version]] = {}


def _splices(view: View, state: logstore.StoreState) -> bool:
    """Whether a page can bring the stored log of ``view`` up to ``state`` by a splice. It
    cannot when the new events name an activity, a person or a category the stored log does
    not code (the codes of every row would move) or touch too many cases: every page process
    would then read the whole copy (8-9 s of CPU and 2.5 GB at 32M events) until the log is
    written again, so the worker writes it at once. Tried once per version of the copy."""
    if _spliced_at.get(view) == (state.generation, state.version):
        return True
    stored = _stored_kept(view, state)
    if stored is None:
        return False
    if stored.version != state.version:
        stored = _brought_up_to_date(stored, LogFilters(view=view), state)
        if stored is None:
            return False
    _spliced_at[view] = (state.generation, state.version)
    return True


def _kept_log(filters: LogFilters, version: Version | None = None) -> _Kept:
    """The log for ``filters``: kept while unchanged, brought up to date after new events, read
    again whole from the columnar copy the first time or after an erasure. ``version``: the log
    version just probed, if it was."""
    key = filters.database_key()
    version = version or event_log_version()
    with _kept_lock:
        kept = _kept.get(key)
        if kept is not None:
            _kept.move_to_end(key)
    if kept is not None and kept.version == version:
        return kept
    state = logstore.sync(version)
    if kept is not None and (kept.generation, kept.version) == (state.generation, state.version):
        return kept
    _make_room(filters, state)
    if kept is not None and kept.generation == state.generation:
        updated = _brought_up_to_date(kept, filters, state)
        if updated is None:  # let go of the old log (and what was computed over it) first
            with _kept_lock:
                _kept.pop(key, None)
            kept = None
            updated = _again(filters, state)
        elif updated.log is not kept.log:
            # Let go of the old log and what was computed over it before the spliced one (views
            # of its columns) is copied into one piece: beside them, a page over 32M events
            # computed again after a new event held 2.4 GB.
            with _kept_lock:
                if _kept.get(key) is kept:
                    _kept.pop(key)
        kept = updated
    else:
        kept = _first(filters, state)
    _keep_on_disk(filters, kept)
    kept = _in_one_piece(kept)
    with _kept_lock:
        _kept[key] = kept
        _kept.move_to_end(key)
        while len(_kept) > KEPT_LOGS or (len(_kept) > 1 and _held_bytes() > KEPT_BYTES):
            _kept.popitem(last=False)
    return kept


def _held_bytes() -> int:
    return sum(kept.log.held_bytes() for kept in _kept.values() if kept.log is not None)


def _make_room(filters: LogFilters, state: logstore.StoreState) -> None:
    """Before the log of ``filters`` is made (or brought up to date), let go of the other kept
    logs, least recently used first, until they hold at most half of :data:`KEPT_BYTES`: the
    making holds the new log and what it is made from beside them (deriving 60 % of the cases of
    32M events beside another such log and a few smaller ones peaked at 1.9 GB). Kept: the log
    of ``filters`` (a splice reads it) and the current log of every case of its view (a
    filter set is derived from it)."""
    own, base = filters.database_key(), LogFilters(view=filters.view).database_key()
    now = (state.generation, state.version)
    with _kept_lock:
        for key, kept in list(_kept.items()):
            if _held_bytes() <= KEPT_BYTES // 2:
                break
            if key == own or (key == base and (kept.generation, kept.version) == now):
                continue
            del _kept[key]


#: Between pages a kept log holds, beside its rows, only the memos worth their bytes: each case's
#: attributes and the names' row counts (what a splice reads), the conformance check (seconds to
#: compute again), and any of at most :data:`SMALL_MEMO` bytes (a page's own tables). The rest
#: (the next-event table, the steps sorted by edge and by case, the counts per case and activity:
#: 0.6-0.9 GB at 32M events, under a second each to compute again) goes once no page is being
#: computed: the pages computed over them are kept as answers.
SMALL_MEMO = 16 * 2**20
_KEPT_MEMOS = (CASES_MEMO[0], "insights.name_counts", "insights.conformance")
#: Memos that stand for others they gave the log (the stored step sorts): they go every time, so
#: that what they gave is given again once it went.
_GIVING_MEMOS = ("insights.stored_steps",)

_computing = 0
_computing_lock = threading.Lock()


@contextmanager
def computing_page() -> Iterator[None]:
    """Around the computing of a page over kept logs: when the last page computing in this process
    is done, every kept log lets go of the memos not worth holding (:data:`SMALL_MEMO`). Pages
    computed at once (threads) keep theirs until the last one is done."""
    global _computing
    with _computing_lock:
        _computing += 1
    try:
        yield
    finally:
        with _computing_lock:  # held while letting go, so that no page starts meanwhile
            _computing -= 1
            if not _computing:
                _drop_memos()


def _drop_memos() -> None:
    with _kept_lock:
        logs = [kept.log for kept in _kept.values() if kept.log is not None]
    for log in logs:
        log.drop_memos(_worth_keeping)


def _worth_keeping(key: Any, size: int) -> bool:
    head = key[0] if isinstance(key, tuple) and key else key
    if head in _GIVING_MEMOS:
        return False
    return head in _KEPT_MEMOS or size <= SMALL_MEMO


#: Called by :func:`forget_kept_logs`: what else keeps answers computed from the kept logs.
on_forget: list[Callable[[], None]] = []


def forget_kept_logs() -> None:
    """Drop every kept log, and every answer kept from them (tests, benchmarks' cold runs, a
    worker that must free memory)."""
    with _kept_lock:
        _kept.clear()
    logstore.forget_verified()
    for forget in on_forget:
        forget()
