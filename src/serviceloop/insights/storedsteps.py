"""The step statistics' two sorts of the every-case log, stored beside its coded log (:mod:`.codedlog`).

The process map, the bottlenecks and the rework read every step of the log sorted twice: the
durations by edge (the medians and 90th percentiles of the DFG, the waits and the activity
times) and one key per event by case (the DFG's cases per pair, the rework): 0.4-0.8 s each at
32M events, in every fresh process, at every log version and for every filter set. Both are
per case (:class:`~serviceloop.analytics._stepparts.StepParts`: each sorted step keeps its
case), so the worker writes them once beside the stored log, as it writes it, and a page process
takes them: over the stored log as they are; over a log made from it (a filter set's cases by a
mask, new events spliced in: :mod:`.lineage`) with the kept cases' entries masked and moved to
their codes and the other cases' entries made from their rows and merged in
(:func:`~serviceloop.analytics._stepparts.install_parts`). Everything computed over them is
computed as before, so the pages are the same.

The files are uncompressed Arrow IPC (mapped when read: 0.5 GB at 32M events, in the page
cache), with ``steps.json`` (the format, the log's generation and version, the activity names,
each file's size and rows) written last, in a folder renamed into place, so a reader never sees
half of it. Missing, damaged, of another log version or generation, or of other activity names:
ignored (the page sorts as before): never a wrong page, never a crash.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import polars as pl

from serviceloop.analytics import EventLog
from serviceloop.analytics._order import SortedRuns, _split
from serviceloop.analytics._stepparts import StepParts, install_parts, step_parts
from serviceloop.insights import codedlog, lineage

__all__ = ["FORMAT", "PARTS_SHARE", "install", "keep", "load", "write"]

logger = logging.getLogger(__name__)

FORMAT = 2
_FILES = ("runs", "keys", "pairs", "activities")
#: The columns and types of the counts' frames (as :class:`StepParts` has them).
_COUNTS = {
    "pairs": {"__edge": pl.Int64, "cases": pl.UInt32},
    "activities": {"__act": pl.Int64, "count": pl.UInt32, "cases": pl.UInt32},
}
#: A log made from the stored one takes the stored sorts when it holds at least this share of
#: the stored log's cases; a smaller one sorts its own steps, which costs less than masking
#: every stored step.
PARTS_SHARE = 0.25


def _folder(view: str, generation: str, version: codedlog.Version) -> Path | None:
    base = codedlog.folder_at(view, generation, version)
    return None if base is None else base / f"steps-{FORMAT}"


def write(view: str, generation: str, version: codedlog.Version, parts: StepParts) -> bool:
    """Store ``parts`` (of the every-case log of ``view`` at ``generation`` and ``version``)
    beside that log; False when that log is not the stored one, the parts are stored already or
    the write failed (the pages sort as before)."""
    folder = _folder(view, generation, version)
    if folder is None or folder.exists():
        return False
    # Written as they are (a few pieces each, as sorted): one copy more of 0.5 GB in the
    # worker would cost more than a mapped column of a few chunks costs a page.
    frames = {
        "runs": pl.DataFrame({"packed": parts.runs.packed, "case": parts.runs_case}),
        "keys": parts.keys.to_frame("keys"),
        "pairs": parts.pairs,
        "activities": parts.activities,
    }
    raw = {
        "format": FORMAT,
        "generation": generation,
        "version": list(version),
        "activity_names": list(parts.activity_names),
        "n_cases": parts.n_cases,
        "bits": parts.runs.bits,
        "offset": parts.runs.offset,
        "n_keys": parts.runs.n_keys,
    }
    try:
        codedlog.write_beside(folder, frames, raw, "steps.json")
    except (OSError, TypeError, ValueError, pl.exceptions.PolarsError) as exc:
        if not folder.exists():  # else another process stored them first
            logger.warning("insights: the step statistics of %s were not stored: %s", view, exc)
        return False
    return True


def load(view: str, generation: str, version: codedlog.Version) -> StepParts | None:
    """The parts stored beside the stored log of ``view``, if it is at ``generation`` and
    ``version`` and they are whole and of it; else None."""
    folder = _folder(view, generation, version)
    if folder is None or not folder.is_dir():
        return None
    try:
        raw = json.loads((folder / "steps.json").read_text())
        if (
            raw["format"] != FORMAT
            or raw["generation"] != generation
            or tuple(raw["version"]) != tuple(version)
        ):
            raise ValueError("they are of another log")
        runs, keys, pairs, activities = (
            codedlog.mapped_beside(folder, name, raw) for name in _FILES
        )
        for name, frame in (("pairs", pairs), ("activities", activities)):
            if dict(frame.schema) != _COUNTS[name]:
                raise ValueError(f"{name}.arrow does not hold the counts written")
        packed, cases = runs["packed"], runs["case"]
        if packed.dtype != pl.UInt64 or cases.dtype != pl.UInt32:
            raise ValueError("runs.arrow does not hold packed steps and their cases")
        if keys["keys"].dtype not in (pl.UInt32, pl.UInt64):
            raise ValueError("keys.arrow does not hold case-step keys")
        bits, offset, n_keys = int(raw["bits"]), int(raw["offset"]), int(raw["n_keys"])
        if not 0 <= bits <= 64 or n_keys < 1:
            raise ValueError("the packing is not one the runs can have")
        return StepParts(
            runs=_runs(packed, bits, offset, n_keys),
            runs_case=cases,
            keys=keys["keys"].alias("__edge"),
            activity_names=tuple(str(name) for name in raw["activity_names"]),
            n_cases=int(raw["n_cases"]),
            pairs=pairs,
            activities=activities,
        )
    except codedlog.UNREADABLE as exc:
        logger.warning("insights: the stored step statistics of %s are unusable (%s)", view, exc)
        return None


def _runs(packed: pl.Series, bits: int, offset: int, n_keys: int) -> SortedRuns:
    return _split(packed.alias("__act"), bits, offset, n_keys)


def keep(log: EventLog) -> None:
    """Store the parts of ``log`` when it is a stored log of every case (the worker calls it as
    it writes one): the pages of a fresh process then take them instead of sorting."""
    at = lineage.stored_at(log)
    if at is None or (folder := _folder(*at)) is None or folder.exists():
        return
    parts = step_parts(log)
    if parts is not None:
        write(*at, parts)


def install(log: EventLog, sorts: tuple[str, ...] = ("runs", "keys")) -> bool:
    """Give ``log`` the step ``sorts`` (of :data:`~serviceloop.analytics._stepparts.SORTS`)
    made from the stored parts, when it is the stored log or was made from it (:mod:`.lineage`)
    and holds at least :data:`PARTS_SHARE` of its cases; False (nothing given: the analyses
    sort as before) otherwise."""
    at = lineage.stored_at(log)
    origin = lineage.origin(log)
    if at is None and origin is None:
        return False
    parts = load(*(at if at is not None else origin.at))  # type: ignore[union-attr]
    if parts is None:
        return False
    if at is not None:
        return install_parts(log, parts, None, sorts)
    assert origin is not None
    if log.n_cases < parts.n_cases * PARTS_SHARE:
        return False
    return install_parts(log, parts, origin.codes, sorts)
