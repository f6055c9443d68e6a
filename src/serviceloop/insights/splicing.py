"""New events spliced into a kept log: the cases they touch taken out and put back from the copy,
the untouched cases' coded rows kept as views of the old log's columns, and a spliced log copied
into one piece before the pages read it."""

from __future__ import annotations

import dataclasses
from functools import partial

import numpy as np
import polars as pl

from serviceloop.analytics import EventLog
from serviceloop.analytics._engine import get_engine
from serviceloop.analytics._schema import A, C, I, R
from serviceloop.insights import lineage, logstore
from serviceloop.insights.copyrows import (
    LATE_WINDOW,
    _recent_events,
    _staff,
    _stored_cases,
    _stored_rows,
)
from serviceloop.insights.logcoding import (
    CASES_MEMO,
    _case_dtypes,
    _cases_of,
    _code,
    _give_cases,
    _Kept,
)
from serviceloop.insights.logfilters import ATTRIBUTES, LogFilters

__all__ = ["MAX_CHUNKS", "SPLICE_LIMIT"]

#: Beyond this many touched cases the log is read again whole rather than spliced piece by piece.
SPLICE_LIMIT = 5_000
#: A spliced log of more chunks than this is copied into one.
MAX_CHUNKS = 64


def _brought_up_to_date(
    kept: _Kept, filters: LogFilters, state: logstore.StoreState
) -> _Kept | None:
    """The kept log with the cases that events it does not hold touched (the events after the
    kept ones, and late ones in the window below them) taken out and, where the filters still
    keep them, put back from the copy whole. Only those: cases whose events of the window the
    log already holds stay as they are (re-reading them cut the log into thousands of pieces at
    32M events, and joining them copied the whole log).

    The untouched cases' coded rows are kept as they are, renumbered where cases come or go: no
    reading, sorting or coding of the whole history again. A touched case may have left the
    filters (e.g. moved to another team: its rows go) or entered them (its history comes in).
    When the names the log codes change (an activity, a person, a team first or last seen), the
    codes of every row would change: None, and the caller makes the log whole again (having let
    go of this one first: both side by side took 2.7 GB at 32M events)."""
    recent = _recent_events(state, max(kept.version[0] - LATE_WINDOW, 0))
    held = recent.filter(pl.col("id") > max(state.version[0] - LATE_WINDOW, 0))["id"]
    touched = recent.filter(~pl.col("id").is_in(kept.held.implode()))["__case"].unique().sort()
    if kept.log is None or touched.len() > SPLICE_LIMIT:
        return None
    now = _stored_cases(state, filters, ids=touched.to_list())
    cases = pl.concat([kept.cases.filter(~pl.col("__case").is_in(touched.implode())), now])
    fresh = _stored_rows(state, filters.view, now["__case"], few=True)
    gone = kept.keys.is_in(touched.implode())
    if not fresh.height and not gone.any():
        return _Kept(state.version, state.generation, cases, kept.keys, kept.log, kept.staff, held)
    staff = _staff()
    old = kept.log
    dtypes = _case_dtypes(cases)
    if not staff.equals(kept.staff) or any(
        old.coded().schema[name] != dtype for name, dtype in dtypes.items()
    ):
        return None
    fresh_log, fresh_keys = _code(
        fresh,
        now,  # the fresh rows' cases (a join against every kept case took 0.1 s)
        staff,
        dtypes=dtypes,
        activity_names=old.activity_names,
        resource_names=old.resource_names,
    )
    if fresh.height and fresh_log is None:
        return None
    spliced = _spliced(old, kept.keys, gone, fresh_log, fresh_keys)
    if spliced is None:
        return None
    return _Kept(state.version, state.generation, cases, spliced[1], spliced[0], staff, held)


def _spliced(
    old: EventLog,
    old_keys: pl.Series,
    gone: pl.Series,
    fresh: EventLog | None,
    fresh_keys: pl.Series,
) -> tuple[EventLog, pl.Series] | None:
    """``old`` without the cases ``gone`` marks and with the ``fresh`` ones, cases numbered in
    ``__case`` order again, and the case keys in code order; None when the names would change
    (a name only the gone cases used: a fresh coding would drop it and move the codes).

    Built from slices: between two places where a case goes or comes, the old rows stay in
    order and their codes move by one constant, so they stay views of the old log's columns
    (new columns only where codes move), not sorted or merged row by row (a merge took 0.64 s
    at 7.2M rows)."""
    coded = old.coded()
    codes = coded[C]
    code_type = pl.UInt64 if codes.dtype == pl.UInt64 else pl.UInt32
    gone_codes = gone.arg_true()
    starts = codes.search_sorted(gone_codes.cast(code_type), side="left").to_list()
    ends = codes.search_sorted(gone_codes.cast(code_type), side="right").to_list()
    staying_keys = old_keys.filter(~gone)
    keys = pl.concat([staying_keys, fresh_keys]).sort()
    # (row of the old log, 0 to put a fresh case in / 1 to skip a gone one, rows from, to)
    cuts = [(s, 1, s, e) for s, e in zip(starts, ends, strict=True)]
    if fresh is not None:
        block = fresh.coded()[C].search_sorted(
            pl.Series(range(fresh_keys.len() + 1), dtype=code_type)
        )
        # Before the first old case of a greater key (a re-read case: where its old rows were).
        at_row = codes.search_sorted(
            old_keys.search_sorted(fresh_keys).cast(code_type), side="left"
        )
        for index, row in enumerate(at_row.to_list()):
            cuts.append((row, 0, int(block[index]), int(block[index + 1])))
    cuts.sort()
    gone_rows = [coded.slice(s, e - s) for s, e in zip(starts, ends, strict=True)]
    name_counts = _names_hold(old, coded, gone_rows, fresh)
    if name_counts is None:
        return None
    gone_sorted = gone_codes.cast(pl.Int64)
    pieces: list[pl.DataFrame] = []
    placed = [0]  # rows placed so far
    cursor = 0

    def staying_piece(upto: int) -> None:
        if upto <= cursor:
            return
        first = int(codes[cursor])
        shift = int(fresh_keys.search_sorted(old_keys[first])) - int(
            gone_sorted.search_sorted(first)
        )
        piece = coded.slice(cursor, upto - cursor)
        moved = placed[0] - cursor
        if shift or moved:
            piece = piece.with_columns(
                (pl.col(C).cast(pl.Int64) + shift).cast(code_type),
                (pl.col(I).cast(pl.Int64) + moved).cast(code_type),
            )
        pieces.append(piece)
        placed[0] += piece.height

    for row, kind, start, end in cuts:
        staying_piece(row)
        cursor = max(cursor, row)
        if kind == 1:  # a gone case: its rows are skipped
            cursor = end
        else:  # a fresh case: its rows, coded by the old names, under its new code
            assert fresh is not None
            fresh_code = int(fresh.coded()[C][start])
            new_code = int(keys.search_sorted(fresh_keys[fresh_code]))
            first_row = placed[0]
            pieces.append(
                fresh.coded()
                .slice(start, end - start)
                .with_columns(
                    pl.lit(new_code, code_type).alias(C),
                    pl.int_range(first_row, first_row + end - start, dtype=code_type).alias(I),
                )
            )
            placed[0] += end - start
    staying_piece(codes.len())
    # Not copied: the staying pieces are views of the old log's columns (after a few dozen
    # splices the pieces are joined, so the analyses do not walk many small chunks).
    merged = pl.concat(pieces, rechunk=False) if pieces else coded.clear()
    if max(merged.n_chunks("all")) > MAX_CHUNKS:
        merged = merged.rechunk()
    merged = merged.with_columns(pl.col(C).set_sorted())
    # Each case's name, version and status in the new code order: the staying cases' rows of
    # the old log's (untouched, so unchanged) and the fresh ones', not joined again with every
    # kept case (a join of 1M cases took 0.6 s).
    staying = old.memo(CASES_MEMO, lambda: _cases_of(old)).filter(~gone)
    parts = [staying.with_columns(staying_keys.alias("__key"))]
    if fresh is not None:
        fresh_cases = fresh.memo(CASES_MEMO, lambda: _cases_of(fresh))
        parts.append(
            fresh_cases.cast(dict(staying.schema)).with_columns(fresh_keys.alias("__key"))  # type: ignore[arg-type]
        )
    per_case = pl.concat(parts).sort("__key").drop("__key")
    log = EventLog(
        merged,
        activity_names=old.activity_names,
        case_names=per_case["case_id"],
        resource_names=old.resource_names,
        attributes=ATTRIBUTES,
        engine=get_engine("polars"),
    )
    for column, used in name_counts.items():
        log.memo(("insights.name_counts", column), used.copy)
    _give_cases(log, per_case)
    lineage.spliced(log, old, gone, fresh_keys, keys)
    return log, keys


def _names_hold(
    old: EventLog, coded: pl.DataFrame, gone: list[pl.DataFrame], fresh: EventLog | None
) -> dict[str, np.ndarray] | None:
    """How many rows use each activity and person once the gone rows are taken out and the
    fresh ones put in (kept on the log, so the next splice need not count the whole log); None
    when one the old log names would be used no more (the fresh rows were coded by the old
    names, and a fresh coding would drop it)."""
    out: dict[str, np.ndarray] = {}
    held = _name_counts(old)
    for column, names in ((A, old.activity_names), (R, old.resource_names)):
        if names is None:
            continue
        size = names.len()
        used = held[column].copy()
        for part in gone:
            used -= _code_counts(part[column], size)
        if fresh is not None:
            used += _code_counts(fresh.coded()[column], size)
        if (used <= 0).any():
            return None
        out[column] = used
    return out


def _code_counts(values: pl.Series, size: int) -> np.ndarray:
    """How many of ``values`` are each code below ``size``. Counted by the engine: numpy's
    bincount would widen 32M codes to 8 bytes each."""
    found = values.drop_nulls().value_counts()
    out = np.zeros(size, dtype=np.int64)
    out[found[:, 0].to_numpy()] = found["count"].to_numpy()
    return out


def _name_counts(log: EventLog) -> dict[str, np.ndarray]:
    """The rows of each activity and person code of ``log`` (kept on it)."""
    coded = log.coded()
    return {
        column: log.memo(
            ("insights.name_counts", column),
            partial(_code_counts, coded[column], names.len()),
        )
        for column, names in ((A, log.activity_names), (R, log.resource_names))
        if names is not None
    }


def _in_one_piece(kept: _Kept) -> _Kept:
    """``kept`` with its log's columns copied into one piece each when they are in pieces (a
    splice): the pages' analyses copied them again each (the next-event table, the variants'
    group-by: two more copies of the whole log at 32M events, 2.2 GB where one piece keeps the
    page at 1.4 GB). What the splice kept on the log (each case's attributes, the names' row
    counts) goes with it."""
    log = kept.log
    if log is None or max(log.coded().n_chunks("all")) <= 1:
        return kept
    # A column at a time, each taken out of the spliced log (which goes): the pieces of a
    # mapped log are views of a file per column, let go of as its copy is made, so the log is
    # never held twice (copied whole beside the mapped files, 1.9 GB at 32M events).
    frame = log.coded()
    columns = [frame.drop_in_place(name).rechunk() for name in list(frame.columns)]
    whole = EventLog(
        pl.DataFrame(columns).with_columns(pl.col(C).set_sorted()),
        activity_names=log.activity_names,
        case_names=log.case_names,
        resource_names=log.resource_names,
        attributes=log.attributes,
        engine=log.engine,
    )
    log.give_memos(whole, (CASES_MEMO, *(("insights.name_counts", column) for column in (A, R))))
    lineage.copied(whole, log)  # its cases' conformance parts still apply
    return dataclasses.replace(kept, log=whole)
