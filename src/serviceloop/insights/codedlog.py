"""The coded log of every case, per view, kept on disk beside the columnar copy and mapped.

A page never computed before, in a fresh process, read the whole copy and coded it for the
engine first: 1.8 s of CPU on the stage view at a million cases, 6 s on the all-events view (32M
events). The coded log is the same for every process at one log version, so it is written once
as uncompressed Arrow IPC and memory-mapped by the next process (~0.1 s): the columns stay in the
file (the page cache), nothing is decoded or copied. With it go what the log was coded with (the
names of its activities, people and cases, the case keys in code order, the cases' attributes,
the staff, the team and category names, the ids of the copy's late window it holds) and the log
version and copy generation it is at.

Each write goes into a folder of its own (the coded log a file per column, ``log.<i>.arrow``,
each in one piece); ``<view>.json`` names the folder, the files' sizes and what the log is at,
and is replaced atomically after the files are written, so a reader never sees half a log. A
file that is missing, of another size or unreadable makes the stored log be ignored (the caller
reads the copy and writes the log again): never a wrong page, never a crash.
A stored log at another generation of the copy (an erasure, another database) or ahead of the
copy is not used.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from serviceloop.analytics._schema import A, C, R
from serviceloop.insights import logstore
from serviceloop.insights.filelock import file_lock
from serviceloop.insights.logstore import Version

__all__ = [
    "FORMAT",
    "UNREADABLE",
    "Stored",
    "Version",
    "age",
    "ahead",
    "directory",
    "discard",
    "folder_at",
    "load",
    "mapped",
    "mapped_beside",
    "stored_version",
    "write",
    "write_beside",
]

logger = logging.getLogger(__name__)

FORMAT = 2
_FILES = ("cases", "percase", "staff", "held")  # beside ``log.<i>``: one per coded column


@dataclass
class Stored:
    """A coded log as it was written (see the module docstring): ``coded`` the engine's table,
    ``percase`` each case code's ``key`` (the case's id), ``case_id``, ``version`` and
    ``status`` in code order; ``cases`` the kept cases' rows; ``names`` the team and category
    names it was coded with; ``name_counts`` the rows of each activity and person code (the
    splice's memo)."""

    version: Version
    generation: str
    coded: pl.DataFrame
    activity_names: pl.Series
    resource_names: pl.Series | None
    percase: pl.DataFrame
    cases: pl.DataFrame
    staff: pl.DataFrame
    held: pl.Series
    names: dict[str, dict[str, str]]
    name_counts: dict[str, np.ndarray]


#: What makes a stored file be ignored (damaged, truncated, of another shape): the caller reads
#: or computes afresh instead.
UNREADABLE = (
    OSError,
    KeyError,
    TypeError,
    ValueError,
    pa.ArrowException,
    pl.exceptions.PolarsError,
)


def directory() -> Path:
    return logstore.store_directory() / "coded"


def _pointer(view: str) -> Path:
    return directory() / f"{view}.json"


def _read_pointer(view: str) -> dict[str, Any] | None:
    try:
        raw = json.loads(_pointer(view).read_text())
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) and raw.get("format") == FORMAT else None


def stored_version(view: str) -> tuple[str, Version] | None:
    """The generation and log version of the stored log of ``view`` (its pointer alone)."""
    raw = _read_pointer(view)
    try:
        return (str(raw["generation"]), _version(raw["version"])) if raw else None
    except (KeyError, TypeError, ValueError):
        return None


def age(view: str) -> float | None:
    """Seconds since the stored log of ``view`` was written (None: none is)."""
    try:
        return max(time.time() - _pointer(view).stat().st_mtime, 0.0)
    except OSError:
        return None


def _version(raw: Any) -> Version:
    first, second, third = (int(value) for value in raw)
    return first, second, third


def mapped(path: Path) -> pl.DataFrame:
    """The Arrow IPC file at ``path``, its columns views of the mapped file (not copied)."""
    with pa.memory_map(str(path)) as source:
        table = pa.ipc.open_file(source).read_all()
    return pl.from_arrow(table, rechunk=False)  # type: ignore[return-value]


def load(view: str, generation: str) -> Stored | None:
    """The stored log of ``view`` if it is of the copy's ``generation`` and whole; else None."""
    raw = _read_pointer(view)
    if raw is None or raw.get("generation") != generation:
        return None
    try:
        folder = directory() / str(raw["folder"])
        sizes: dict[str, int] = raw["sizes"]
        columns = [f"log.{index}" for index in range(int(raw["columns"]))]
        for name in (*columns, *_FILES):
            if (folder / f"{name}.arrow").stat().st_size != sizes[name]:
                raise ValueError(f"{name}.arrow is not the size written")
        frames = {name: mapped(folder / f"{name}.arrow") for name in _FILES}
        percase = frames["percase"]
        coded = pl.concat([mapped(folder / f"{name}.arrow") for name in columns], how="horizontal")
        resource = raw["resource_names"]
        _check_codes(coded, percase.height, len(raw["activity_names"]), resource)
        counts = {
            column: np.asarray(values, dtype=np.int64)
            for column, values in raw["name_counts"].items()
        }
        return Stored(
            version=_version(raw["version"]),
            generation=generation,
            coded=coded.with_columns(pl.col(C).set_sorted()),
            activity_names=pl.Series("activity", raw["activity_names"], pl.String),
            resource_names=None if resource is None else pl.Series("resource", resource, pl.String),
            percase=percase,
            cases=frames["cases"],
            staff=frames["staff"],
            held=frames["held"].to_series(),
            names={key: dict(value) for key, value in raw["names"].items()},
            name_counts=counts,
        )
    except UNREADABLE:
        logger.warning("insights: the stored coded log of %s is damaged; ignored", view)
        return None


def _check_codes(coded: pl.DataFrame, cases: int, activities: int, resources: Any) -> None:
    """Every code of ``coded`` names a case, activity and person the stored names hold (a cheap
    check, a few maxima: a file of another log or a damaged one fails it)."""
    if not coded.height:
        return
    limits = {C: cases, A: activities, R: 0 if resources is None else len(resources)}
    for column, limit in limits.items():
        if column not in coded.columns:
            raise ValueError(f"the log has no column {column}")
        low, high = coded[column].min(), coded[column].max()
        if high is not None and (int(high) >= limit or int(low) < 0):  # type: ignore[arg-type]
            raise ValueError(f"the log's {column} codes name more than it stores")


def _writer(view: str) -> AbstractContextManager[bool]:
    """A lock per view taken without waiting: False while another process writes the log."""
    return file_lock(directory() / f"{view}.lock", wait=False)


def discard(view: str) -> None:
    """Forget the stored log of ``view`` (found unusable: the log read instead is written in its
    place). Left alone while another process writes one."""
    with _writer(view) as mine:
        if mine:
            _pointer(view).unlink(missing_ok=True)


def _write_frame(frame: pl.DataFrame, path: Path) -> int:
    # Text as Arrow's string views, the engine's own: mapped again without building them.
    table = frame.to_arrow(compat_level=pl.CompatLevel.newest())
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        # One record batch per piece the columns are in (not copied into one): a spliced log's
        # columns are views of several.
        writer.write_table(table, max_chunksize=1 << 40)
    return path.stat().st_size


def write(view: str, stored: Stored) -> bool:
    """Write ``stored`` as the log of ``view`` (False when another process is writing it, or a
    newer one is stored already). Older folders are deleted: a process that mapped one keeps
    its pages (the files are unlinked, not changed)."""
    with _writer(view) as mine:
        if not mine:
            return False
        current = stored_version(view)
        if (
            current is not None
            and current[0] == stored.generation
            and ahead(current[1], stored.version)
        ):
            return False
        name = f"{view}-{uuid.uuid4().hex[:12]}"
        folder = directory() / name
        folder.mkdir(parents=True)
        try:
            # Each coded column a file of its own, in one piece: a spliced log's pieces are
            # copied one column at a time (its largest 0.26 GB at 32M events), not all at once
            # beside the mapped log they are views of (2.15 GB in the worker).
            sizes = {}
            for index, column in enumerate(stored.coded.columns):
                part = stored.coded.select(column)
                if part.n_chunks() > 1:
                    part = part.rechunk()
                sizes[f"log.{index}"] = _write_frame(part, folder / f"log.{index}.arrow")
                del part
            frames = {
                "cases": stored.cases,
                "percase": stored.percase,
                "staff": stored.staff,
                "held": stored.held.to_frame("id"),
            }
            sizes |= {
                key: _write_frame(frame, folder / f"{key}.arrow") for key, frame in frames.items()
            }
            raw = {
                "format": FORMAT,
                "folder": name,
                "columns": stored.coded.width,
                "generation": stored.generation,
                "version": list(stored.version),
                "sizes": sizes,
                "activity_names": stored.activity_names.to_list(),
                "resource_names": (
                    None if stored.resource_names is None else stored.resource_names.to_list()
                ),
                "names": stored.names,
                "name_counts": {key: value.tolist() for key, value in stored.name_counts.items()},
            }
            tmp = directory() / f"{view}.{uuid.uuid4().hex}.tmp"
            tmp.write_text(json.dumps(raw))
            os.replace(tmp, _pointer(view))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        for old in directory().glob(f"{view}-*"):
            if old.name != name:
                shutil.rmtree(old, ignore_errors=True)
        return True


def ahead(held: Version, other: Version) -> bool:
    """Whether a log at ``held`` holds events one at ``other`` lacks (same erasure mark)."""
    return held[0] > other[0] or (held[0] == other[0] and held[1] > other[1])


def folder_at(view: str, generation: str, version: Version) -> Path | None:
    """The folder of the stored log of ``view`` if it is at ``generation`` and ``version``
    (what is stored beside that log goes into it, and goes with it); else None."""
    raw = _read_pointer(view)
    try:
        if raw is None or (str(raw["generation"]), _version(raw["version"])) != (
            generation,
            version,
        ):
            return None
        return directory() / str(raw["folder"])
    except (KeyError, TypeError, ValueError):
        return None


def write_beside(
    folder: Path, frames: Mapping[str, pl.DataFrame], raw: dict[str, Any], manifest: str
) -> None:
    """Write what is computed over a stored log beside it: each of ``frames`` as
    ``<name>.arrow`` (uncompressed, to be mapped) and ``raw`` with their sizes and heights as
    the JSON ``manifest``, into a folder renamed into place as ``folder`` last, so a reader sees
    all of it or none. Raises when the write fails or another process put ``folder`` there
    first (nothing of this write is left)."""
    tmp = folder.with_name(f"{folder.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.mkdir()
        sizes, heights = {}, {}
        for name, frame in frames.items():
            path = tmp / f"{name}.arrow"
            frame.write_ipc(path, compression="uncompressed")
            sizes[name], heights[name] = path.stat().st_size, frame.height
        (tmp / manifest).write_text(json.dumps({**raw, "sizes": sizes, "heights": heights}))
        os.rename(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def mapped_beside(folder: Path, name: str, raw: dict[str, Any]) -> pl.DataFrame:
    """The frame ``name`` written by :func:`write_beside`, mapped from its file (views of the
    file, not copied), if it is the size and holds the rows its manifest ``raw`` says."""
    path = folder / f"{name}.arrow"
    if path.stat().st_size != raw["sizes"][name]:
        raise ValueError(f"{name}.arrow is not the size written")
    frame = mapped(path)
    if frame.height != raw["heights"][name]:
        raise ValueError(f"{name}.arrow does not hold the rows written")
    return frame
