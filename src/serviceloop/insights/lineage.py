"""Which cases of a kept log are, row for row, those of the stored log of every case it came from.

What is computed per case over the stored coded log (:mod:`.storedconformance`: each case's
conformance parts) holds for a case of another log as long as that case's rows are the stored
ones. The kept logs are made from the stored one in three ways: a filter set on case attributes
keeps some of its cases whole, by a mask (``derivedlogs._derived``), new events replace the cases
they touch (``splicing._spliced``), and the library's filters of whole cases (time window, case
duration, top variants: ``selectors.narrowed``) keep some cases under the codes they had. Each
tells this module, and :func:`origin` then gives, for every case code of the new log, its code in
the stored log, or null for a case read again since (its rows may differ). Logs are held weakly:
a log dropped takes its lineage with it.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, replace

import polars as pl

from serviceloop.analytics import EventLog
from serviceloop.insights import logstore

__all__ = ["Origin", "copied", "derived", "narrowed", "origin", "spliced", "stored", "stored_at"]

#: A stored log's view, the copy's generation and the log version (what its files are keyed by).
At = tuple[logstore.View, str, logstore.Version]


@dataclass(frozen=True)
class Origin:
    """The stored log ``at`` a log came from; ``codes``: by case code of the log (the log may
    hold only some of them: a narrowed log keeps its cases' codes), the case's code in the
    stored log when its rows are the stored ones, else null; None when every case is the stored
    log's own, code for code (the stored log itself, or a copy of it). ``is_stored``: the log
    is the stored log itself (mapped from it, or just written as it), so what is computed over
    it may be stored beside it."""

    at: At
    codes: pl.Series | None
    is_stored: bool = False

    def stored_codes(self, n_cases: int) -> pl.Series:
        """:attr:`codes`, made whole for a log of ``n_cases`` cases."""
        if self.codes is None:
            return pl.int_range(n_cases, dtype=pl.Int64, eager=True)
        return self.codes


_origins: weakref.WeakKeyDictionary[EventLog, Origin] = weakref.WeakKeyDictionary()


def origin(log: EventLog) -> Origin | None:
    """Where ``log``'s cases came from, if it was made from a stored log of every case."""
    return _origins.get(log)


def stored_at(log: EventLog) -> At | None:
    """The key of the stored log ``log`` is, if it is one (not a filtered, spliced, narrowed or
    copied log): what is stored beside it is keyed by it."""
    parent = _origins.get(log)
    return parent.at if parent is not None and parent.is_stored else None


def stored(log: EventLog, at: At) -> None:
    """``log`` is the stored log ``at`` (mapped from it, or just written as it)."""
    _origins[log] = Origin(at, None, is_stored=True)


def derived(log: EventLog, base: EventLog, keep: pl.Series) -> None:
    """``log`` holds the cases of ``base`` that ``keep`` (a flag per case code of ``base``)
    marks, whole and in their order."""
    parent = _origins.get(base)
    if parent is None or (parent.codes is not None and parent.codes.len() != keep.len()):
        return  # not made as told: no lineage (the log is checked whole)
    codes = parent.stored_codes(keep.len()).filter(keep)
    _origins[log] = Origin(parent.at, codes)


def spliced(
    log: EventLog, old: EventLog, gone: pl.Series, fresh_keys: pl.Series, keys: pl.Series
) -> None:
    """``log`` is ``old`` without the cases ``gone`` marks (a flag per case code of ``old``)
    and with the cases of ``fresh_keys`` read again; ``keys``: the case key of each code of
    ``log`` (sorted: the staying cases keep their order)."""
    parent = _origins.get(old)
    if parent is None or (parent.codes is not None and parent.codes.len() != gone.len()):
        return
    staying = parent.stored_codes(gone.len()).filter(~gone)
    places = keys.is_in(fresh_keys.implode()).not_().arg_true()
    if places.len() != staying.len():  # not a splice of ``old`` as described: no lineage
        return
    codes = pl.repeat(None, keys.len(), dtype=pl.Int64, eager=True).scatter(places, staying)
    _origins[log] = Origin(parent.at, codes)


def narrowed(log: EventLog, wider: EventLog) -> EventLog:
    """``log`` holds some of ``wider``'s cases whole, under the codes they have there (a
    library filter of whole cases); returns ``log``."""
    parent = _origins.get(wider)
    if parent is not None and log is not wider:
        _origins[log] = Origin(parent.at, parent.stored_codes(wider.n_cases))
    return log


def copied(log: EventLog, original: EventLog) -> None:
    """``log`` is ``original``'s rows, case for case (e.g. its columns copied into one
    piece): it has its lineage."""
    parent = _origins.get(original)
    if parent is not None:
        _origins[log] = replace(parent, is_stored=False)
