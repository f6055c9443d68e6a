"""The case log kept on disk in columns, so that a fresh server process reads it in a second.

Reading 30 million events out of the database takes minutes however it is done (row by row, COPY,
ADBC: ``benchmarks/read_columns.py``; the server's scan dominates), so Insights reads this copy
instead. Events are only appended, so the copy grows by ranges of event ids: each sync reads the
events after the newest it holds (and re-reads the last :data:`LATE_WINDOW` ids, where a
transaction that committed late may have left one) and writes them as a new segment. Per event it
keeps what both views of :mod:`serviceloop.insights.selectors` need:

``stages/``  one row per event that enters a stage (:func:`serviceloop.cases.eventlog.entered_stage`)
``events/``  one row per event, activity = the event's label

Both: ``__case``, ``id``, ``activity``, ``timestamp``, ``actor``. Case attributes change (team,
category, priority, status), so ``cases/`` holds each case's current row (ids, not names: names
are joined when read, so a renamed team shows its new name); the cases of newly read events are
written again in a later file, and the last row of a case wins. An erasure (the mark of
:func:`serviceloop.insights.keptlogs.event_log_version`) or a database that is not the one the
copy was made from makes the copy be written again whole.

``meta.json`` lists the files that make the copy; it is replaced atomically after they are
written, and a lock file serialises writers (several server processes share one copy).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import polars as pl
from django.conf import settings
from django.db import connection, transaction
from django.db.models import TextField
from django.db.models.functions import Cast

from serviceloop.cases.eventlog import entered_stage, fetch_frame, parse_timestamps, read_events
from serviceloop.cases.models import Case, CaseEvent
from serviceloop.insights.filelock import file_lock

__all__ = [
    "BUILD_BATCH",
    "CASE_SCHEMA",
    "LATE_WINDOW",
    "ROW_SCHEMA",
    "StoreState",
    "Version",
    "View",
    "scan_cases",
    "scan_rows",
    "store_directory",
    "sync",
]

#: The two views of the log (a folder of the copy each; :mod:`serviceloop.insights.selectors`).
View = Literal["stages", "events"]
#: A log's version: (newest event id, events in the late window, erasure mark).
Version = tuple[int, int, int]

#: Events committed out of id order (concurrent transactions take ids before they commit) land
#: within this many ids of the newest one; a sync re-reads that window and skips what it holds.
LATE_WINDOW = 10_000
#: Event ids read per query while the copy is first written (bounds the memory of a build).
BUILD_BATCH = 1_000_000
#: Segments beyond this many are merged into one (each new event batch adds one).
MAX_SEGMENTS = 24
#: Files of at least this many rows are not merged again (see :func:`_compact`).
KEEP_ROWS = 100_000
FORMAT = 1

ROW_SCHEMA: dict[str, Any] = {
    "__case": pl.Int64,
    "id": pl.Int64,
    "activity": pl.String,
    "timestamp": pl.Datetime("us", "UTC"),
    "actor": pl.Int64,
}
CASE_SCHEMA: dict[str, Any] = {
    "__case": pl.Int64,
    "case_id": pl.String,
    "team_id": pl.Int64,
    "category_id": pl.Int64,
    "priority": pl.String,
    "channel": pl.String,
    "version": pl.Int64,
    "status": pl.String,
    "created_at": pl.String,
}


@dataclass
class StoreState:
    """What ``meta.json`` says: the log version the copy holds and its files, oldest first."""

    version: Version
    last: tuple[int, int, str]  # the newest event held: id, case, timestamp (identity check)
    database: str
    generation: str  # new each time the copy is written whole
    stages: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)  # deleted at the next sync

    def files(self, part: str) -> list[Path]:
        root = store_directory()
        return [root / name for name in getattr(self, part)]


def store_directory() -> Path:
    """``INSIGHTS_LOG_DIR`` if set, else ``insights-log`` in the data folder."""
    configured = getattr(settings, "INSIGHTS_LOG_DIR", None)
    return Path(configured) if configured else Path(settings.DATA_DIR) / "insights-log"


def _database_name() -> str:
    settings_dict = connection.settings_dict
    return f"{connection.vendor}:{settings_dict.get('HOST') or ''}:{settings_dict['NAME']}"


def _read_state() -> StoreState | None:
    path = store_directory() / "meta.json"
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    if raw.get("format") != FORMAT:
        return None
    return StoreState(
        version=tuple(raw["version"]),  # type: ignore[arg-type]
        last=tuple(raw["last"]),  # type: ignore[arg-type]
        database=raw["database"],
        generation=raw["generation"],
        stages=raw["stages"],
        events=raw["events"],
        cases=raw["cases"],
        retired=raw["retired"],
    )


def _write_state(state: StoreState) -> None:
    root = store_directory()
    raw = {
        "format": FORMAT,
        "version": list(state.version),
        "last": list(state.last),
        "database": state.database,
        "generation": state.generation,
        "stages": state.stages,
        "events": state.events,
        "cases": state.cases,
        "retired": state.retired,
    }
    tmp = root / f"meta.{uuid.uuid4().hex}.tmp"
    tmp.write_text(json.dumps(raw))
    os.replace(tmp, root / "meta.json")


def _locked() -> AbstractContextManager[bool]:
    return file_lock(store_directory() / "lock")


def _write(frame: pl.DataFrame, part: str, tag: str) -> str:
    """Write ``frame`` as a new file of ``part``; returns its name relative to the store."""
    root = store_directory()
    (root / part).mkdir(parents=True, exist_ok=True)
    name = f"{part}/{tag}-{uuid.uuid4().hex[:8]}.parquet"
    tmp = root / f"{name}.tmp"
    frame.write_parquet(tmp, compression="lz4", statistics=True, row_group_size=1 << 20)
    os.replace(tmp, root / name)
    return name


# -- reading the database ---------------------------------------------------------------------------
def _rows_of(events: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The stage rows and event rows of events read by :func:`read_events`."""
    base = events.rename({"case": "__case"})
    stages = (
        base.with_columns(entered_stage().alias("__stage"))
        .filter(pl.col("__stage").is_not_null())
        .select("__case", "id", pl.col("__stage").alias("activity"), "timestamp", "actor")
    )
    return stages, base.select(list(ROW_SCHEMA))


def _read_range(after_id: int, until_id: int) -> pl.DataFrame:
    return read_events(after_id=after_id, until_id=until_id)


def _read_cases(ids: list[int] | None) -> pl.DataFrame:
    cases = Case.objects.all() if ids is None else Case.objects.filter(id__in=ids)
    queryset = (
        cases.order_by()
        .annotate(created=Cast("created_at", TextField()))
        .values_list(
            "id",
            "number",
            "team_id",
            "category_id",
            "priority",
            "channel",
            "process_version_id",
            "status",
            "created" if connection.vendor == "sqlite" else "created_at",
        )
    )
    frame = fetch_frame(queryset, CASE_SCHEMA)
    return frame.with_columns(parse_timestamps(frame["created_at"]).alias("created_at"))


def _last_event(until_id: int) -> tuple[int, int, str]:
    row = (
        CaseEvent.objects.filter(id__lte=until_id)
        .order_by("-id")
        .values_list("id", "case_id", "timestamp")
        .first()
    )
    return (0, 0, "") if row is None else (row[0], row[1], row[2].isoformat())


#: Copies this process found to be of its database (checked once per copy and newest event).
_verified: set[tuple[str, str, tuple[int, int, str]]] = set()


def _still_ours(state: StoreState) -> bool:
    """The database is the one the copy was made from: its newest held event is still there,
    unchanged (a restored or re-created database fails this)."""
    if state.database != _database_name():
        return False
    if state.last[0] == 0:
        return True
    mark = (state.database, state.generation, state.last)
    if mark in _verified:
        return True
    row = CaseEvent.objects.filter(id=state.last[0]).values_list("case_id", "timestamp").first()
    if row is None or (row[0], row[1].isoformat()) != tuple(state.last[1:]):
        return False
    _verified.add(mark)
    return True


# -- keeping the copy ------------------------------------------------------------------------------
def sync(version: Version) -> StoreState:
    """Bring the copy to ``version`` (what :func:`event_log_version` just gave) and return its
    state: only new events and the cases they touch are read, unless an erasure or another
    database makes the whole log be written again."""
    with _locked():
        state = _read_state()
        if (
            state is None
            or state.version[2] != version[2]
            or not _still_ours(state)
            or not _complete(state)
        ):
            return _rebuild(version, state)
        if _covers(state.version, version):
            return state
        return _append(state, version)


def _complete(state: StoreState) -> bool:
    """Every file the copy lists is there (a file removed by hand or a half-restored folder
    means writing the copy again, not a failing page)."""
    return all(
        path.exists() for part in ("stages", "events", "cases") for path in state.files(part)
    )


def _covers(held: Version, asked: Version) -> bool:
    """Whether a copy at ``held`` holds every event of ``asked`` (same erasure mark): another
    process may have brought it further already. At one newest id, the window's count only grows."""
    return held[0] > asked[0] or (held[0] == asked[0] and held[1] >= asked[1])


def _rebuild(version: Version, old: StoreState | None) -> StoreState:
    if old is not None:
        _delete_retired(old)
    state = StoreState(
        version=version,
        last=_last_event(version[0]),
        database=_database_name(),
        generation=uuid.uuid4().hex,
    )
    after = 0
    while after < version[0]:
        until = min(after + BUILD_BATCH, version[0])
        stages, events = _rows_of(_read_range(after, until))
        tag = f"{after + 1:012d}"
        if events.height:
            state.stages.append(_write(stages, "stages", tag))
            state.events.append(_write(events, "events", tag))
        after = until
    state.cases.append(_write(_read_cases(None), "cases", "base"))
    if old is not None:
        state.retired = old.stages + old.events + old.cases
    _write_state(state)
    _verified.add((state.database, state.generation, state.last))
    return state


def _held_ids(state: StoreState, after_id: int) -> pl.Series:
    if not state.events:
        return pl.Series("id", [], pl.Int64)
    return (
        pl.scan_parquet(state.files("events"))
        .filter(pl.col("id") > after_id)
        .select("id")
        .collect()["id"]
    )


def _append(state: StoreState, version: Version) -> StoreState:
    since = max(state.version[0] - LATE_WINDOW, 0)
    # One transaction: the events and their cases from one snapshot, read through COPY (a few
    # rows; loading the columnar driver in a fresh process would cost more than reading them).
    with transaction.atomic():
        raw = _read_range(since, version[0])
        raw = raw.filter(~pl.col("id").is_in(_held_ids(state, since).implode()))
        touched = raw["case"].unique().sort().to_list()
        cases = _read_cases(touched) if raw.height else None
    new = StoreState(
        version=version,
        last=_last_event(version[0]),
        database=state.database,
        generation=state.generation,
        stages=list(state.stages),
        events=list(state.events),
        cases=list(state.cases),
        retired=list(state.retired),
    )
    _delete_retired(new)
    if cases is not None:
        stages, events = _rows_of(raw)
        tag = f"{int(events['id'].min()):012d}"  # type: ignore[arg-type]
        new.stages.append(_write(stages, "stages", tag))
        new.events.append(_write(events, "events", tag))
        new.cases.append(_write(cases, "cases", tag))
    for part in ("stages", "events", "cases"):
        if len(getattr(new, part)) > MAX_SEGMENTS:
            _compact(new, part)
    _write_state(new)
    _verified.add((new.database, new.generation, new.last))
    return new


def _rows_in(name: str) -> int:
    return int(pl.scan_parquet(store_directory() / name).select(pl.len()).collect().item())


def _compact(state: StoreState, part: str) -> None:
    """Merge the newest small files of ``part`` into one; files of :data:`KEEP_ROWS` rows or more
    stay as they are (merging them again would rewrite millions of rows every few dozen new
    events, in a page load). After the copy is first written, its batch files are big: then every
    file but the first is merged, once."""
    names: list[str] = getattr(state, part)
    small = 0
    while small < len(names) - 1 and _rows_in(names[-1 - small]) < KEEP_ROWS:
        small += 1
    cut = len(names) - small
    if small < 2 or cut + 1 > MAX_SEGMENTS:
        cut = 1
    head, tail = names[:cut], names[cut:]
    frame = pl.read_parquet([store_directory() / name for name in tail])
    if part == "cases":
        frame = frame.unique("__case", keep="last", maintain_order=True)
    merged = _write(frame, part, tail[0].rsplit("/", 1)[1].split("-", 1)[0])
    setattr(state, part, [*head, merged])
    state.retired = [*state.retired, *tail]


def _delete_retired(state: StoreState) -> None:
    """Delete files no state lists any more. A reader that listed them a moment ago may still be
    scanning them, so they go one sync after the one that retired them."""
    root = store_directory()
    for name in state.retired:
        (root / name).unlink(missing_ok=True)
    state.retired = []


def forget_verified() -> None:
    """Check each copy against the database again, as a fresh process would."""
    _verified.clear()


def forget() -> None:
    """Delete the copy and what this process knows of it (tests; a data folder moved to another
    database needs nothing of this: the identity check writes the copy again)."""
    _verified.clear()
    shutil.rmtree(store_directory(), ignore_errors=True)


# -- reading the copy ----------------------------------------------------------------------------
def scan_rows(state: StoreState, view: View) -> pl.LazyFrame:
    """The view's rows (:data:`ROW_SCHEMA`), in no particular order."""
    files = state.files(view)
    if not files:
        return pl.LazyFrame(schema=ROW_SCHEMA)
    return pl.scan_parquet(files)


def scan_cases(state: StoreState) -> pl.LazyFrame:
    """Each case's current row (:data:`CASE_SCHEMA`, ``created_at`` a UTC timestamp), in no
    particular order."""
    files = state.files("cases")
    if not files:
        schema = dict(CASE_SCHEMA, created_at=pl.Datetime("us", "UTC"))
        return pl.LazyFrame(schema=schema)
    if len(files) == 1:
        return pl.scan_parquet(files)
    # The first file holds every case the copy was written with, the later ones the cases new
    # events touched since: only those are made unique (1M rows made unique took 0.38 s).
    newer = pl.scan_parquet(files[1:]).unique("__case", keep="last", maintain_order=True)
    base = pl.scan_parquet(files[0]).join(newer.select("__case"), on="__case", how="anti")
    return pl.concat([base, newer])
