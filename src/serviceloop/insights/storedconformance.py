"""The conformance of the every-case stage log, stored beside its coded log (:mod:`.codedlog`).

Checking the stage log against a design cost a fresh process 1.3 s of CPU at a million cases,
on every page of the stage view, and gives the same result in every process at one log version.
So the first process to compute it over the stored log writes it into that log's folder, under a
stable key of the design; the next process at the same generation and version reads it (a few
Arrow files, mapped: 152 MB at a million cases, mostly the per-case frames). The frames are
uncompressed Arrow IPC files, the process code and summary JSON (with the key, the log's
generation and version, each file's size and rows); a folder per design, written under a
temporary name and renamed into place, so a reader never sees half a result. A newer stored log
is written into a new folder, and this one is deleted with the old log. A result that is
missing, damaged, of another design or of another log version is ignored (the caller computes
it): never a wrong page, never a crash.

Beside the result, each case's parts of it (:class:`~serviceloop.analytics.conformance.
ConformanceParts`: its stage sequence, visits, wrong moves, visits over standard; 7.2M visits at
a million cases; and the visits sorted by stage and time, so a splice patches them instead of
sorting them again), so a log made from the stored one (a filter set's cases, or the stored log
with the cases new events touched read again: :mod:`.lineage`) is checked by aggregating the
stored parts of its untouched cases and fresh parts of the others (:func:`load_parts`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import fields
from pathlib import Path
from typing import Any

import polars as pl

from serviceloop.analytics.conformance import ConformanceParts, ConformanceResult
from serviceloop.analytics.errors import InvalidParameterError
from serviceloop.analytics.process_model import ProcessSpec, dump_process_yaml
from serviceloop.insights import codedlog

__all__ = ["FORMAT", "load", "load_parts", "spec_key", "write"]

logger = logging.getLogger(__name__)

FORMAT = 4
#: The result's frames, each a file ``<name>.arrow`` (every field but ``process`` and ``summary``).
_FRAMES = tuple(f.name for f in fields(ConformanceResult) if f.name not in ("process", "summary"))
#: The per-case parts' frames, each a file ``parts-<name>.arrow``.
_PARTS = ("cases", "sequences", "visits", "wrong", "over", "runs", "runs_of")


def spec_key(spec: ProcessSpec) -> str:
    """A stable key of ``spec``: the hash of its canonical YAML (the same design, the same key in
    every process; any change to a stage, transition or standard, another key)."""
    return hashlib.sha256(dump_process_yaml(spec).encode()).hexdigest()[:32]


def _folder(view: str, generation: str, version: codedlog.Version, key: str) -> Path | None:
    base = codedlog.folder_at(view, generation, version)
    return None if base is None else base / f"conformance-{FORMAT}-{key}"


def _checked(
    view: str, generation: str, version: codedlog.Version, spec: ProcessSpec
) -> tuple[Path, dict[str, Any]] | None:
    """The folder stored for ``spec`` beside the stored log of ``view`` at ``generation`` and
    ``version`` and its description, if it is of them (raises when it is damaged)."""
    key = spec_key(spec)
    folder = _folder(view, generation, version, key)
    if folder is None or not folder.is_dir():
        return None
    raw = json.loads((folder / "result.json").read_text())
    if (
        raw["format"] != FORMAT
        or raw["key"] != key
        or raw["generation"] != generation
        or tuple(raw["version"]) != tuple(version)
        or raw["process"] != spec.code
    ):
        raise ValueError("the stored result is of another log or design")
    return folder, raw


def load(
    view: str, generation: str, version: codedlog.Version, spec: ProcessSpec
) -> ConformanceResult | None:
    """The result stored for ``spec`` beside the stored log of ``view``, if that log is at
    ``generation`` and ``version`` and the result is whole and of them; else None."""
    try:
        found = _checked(view, generation, version, spec)
        if found is None:
            return None
        folder, raw = found
        frames = {name: codedlog.mapped_beside(folder, name, raw) for name in _FRAMES}
        return ConformanceResult(process=raw["process"], summary=dict(raw["summary"]), **frames)
    except codedlog.UNREADABLE as exc:
        logger.warning(
            "insights: the stored conformance of %s is unusable (%s); ignored", view, exc
        )
        return None


def load_parts(
    view: str, generation: str, version: codedlog.Version, spec: ProcessSpec
) -> ConformanceParts | None:
    """The per-case parts stored for ``spec`` beside the stored log of ``view`` (one per case
    of that log, in its code order), if that log is at ``generation`` and ``version`` and they
    are whole, of them and of the parts' shape; else None."""
    try:
        found = _checked(view, generation, version, spec)
        if found is None:
            return None
        folder, raw = found
        return ConformanceParts.of_frames(
            {name: codedlog.mapped_beside(folder, f"parts-{name}", raw) for name in _PARTS}
        )
    except (*codedlog.UNREADABLE, InvalidParameterError) as exc:
        logger.warning(
            "insights: the stored conformance parts of %s are unusable (%s); ignored", view, exc
        )
        return None


def write(
    view: str,
    generation: str,
    version: codedlog.Version,
    spec: ProcessSpec,
    result: ConformanceResult,
    parts: ConformanceParts,
) -> bool:
    """Store ``result`` and its per-case ``parts`` (of ``spec`` over the every-case log of
    ``view`` at ``generation`` and ``version``) beside that log; False when the stored log is
    at another version (nothing is written), the result is stored already or the write failed
    (the pages are unchanged)."""
    key = spec_key(spec)
    folder = _folder(view, generation, version, key)
    if folder is None or folder.exists():
        return False
    raw = {
        "format": FORMAT,
        "key": key,
        "generation": generation,
        "version": list(version),
        "process": result.process,
        "summary": result.summary,
    }
    try:
        written = {name: getattr(result, name) for name in _FRAMES}
        written |= {f"parts-{name}": frame for name, frame in parts.frames().items()}
        codedlog.write_beside(folder, written, raw, "result.json")
    except (OSError, TypeError, ValueError, pl.exceptions.PolarsError) as exc:
        if not folder.exists():  # else another process stored it first
            logger.warning("insights: the conformance of %s was not stored: %s", view, exc)
        return False
    return True
