"""JSON out of results: as Python objects (``to_dict``) or written by the engine from columns.

A result describes its JSON once, as a *document*: nested dicts and lists whose leaves are
scalars or Polars frames (a frame stands for its list of row objects). :func:`to_python` turns a
document into plain Python; :func:`write_json` writes the same content without building a
Python object per row: frames are written by Polars, from their columns, so 100,000 variants
take milliseconds instead of seconds. Both give the same content (NaN and infinity become
``null``, datetimes ISO strings as ``datetime.isoformat`` writes them, dates ``YYYY-MM-DD``).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import os
import stat
import tempfile
from collections.abc import Mapping
from typing import IO, Any, cast

import polars as pl

from ._threads import beside

__all__ = ["clean", "records", "to_python", "write_json"]

_HALVES_FROM = 50_000  # rows: below, one writer is quick enough


def clean(v: Any) -> Any:
    """NaN / infinity become ``None`` (JSON has neither), dates ISO strings; lists recursively."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    if isinstance(v, list):
        return [clean(x) for x in v]
    return v


def records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as JSON-ready dicts."""
    return [{k: clean(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]


def to_python(doc: Any) -> Any:
    """A document as plain JSON-ready Python (frames become lists of row dicts)."""
    if isinstance(doc, pl.DataFrame):
        return records(doc)
    if isinstance(doc, Mapping):
        return {k: to_python(v) for k, v in doc.items()}
    if isinstance(doc, list | tuple):
        return [to_python(v) for v in doc]
    return clean(doc)


def write_json(doc: Any, out: IO[bytes]) -> None:
    """Write a document as compact UTF-8 JSON to a binary stream.

    Examples
    --------
    >>> import io
    >>> buf = io.BytesIO()
    >>> write_json({"n": 2, "rows": pl.DataFrame({"a": ["x", "y"], "v": [1.5, float("nan")]})},
    ...            buf)
    >>> buf.getvalue().decode()
    '{"n":2,"rows":[{"a":"x","v":1.5},{"a":"y","v":null}]}'
    """
    if isinstance(doc, pl.DataFrame):
        if doc.height == 0:
            out.write(b"[]")
        elif doc.height < _HALVES_FROM:
            _json_ready(doc).write_json(cast("io.IOBase", out))  # any binary stream
        else:
            _write_halves(_json_ready(doc), out)
    elif isinstance(doc, Mapping):
        out.write(b"{")
        for i, (key, value) in enumerate(doc.items()):
            if i:
                out.write(b",")
            out.write(_dumps(str(key)))
            out.write(b":")
            write_json(value, out)
        out.write(b"}")
    elif isinstance(doc, list | tuple):
        out.write(b"[")
        for i, value in enumerate(doc):
            if i:
                out.write(b",")
            write_json(value, out)
        out.write(b"]")
    else:
        out.write(_dumps(clean(doc)))


def _write_halves(frame: pl.DataFrame, out: IO[bytes]) -> None:
    """A big frame (all the variants of a million cases) written as two halves at once: Polars'
    writer uses one core and releases the GIL, so the second half is rendered beside the first
    and the two arrays are joined into one.

    Into a file, the first half is written by Polars straight into ``out`` and the second to a
    file of its own, copied in by the kernel: rendered in memory, the ten-million-event log's
    190 MiB of variants took a fifth of a million fresh pages (each a page fault) and two more
    copies; both halves to files of their own, a copy of the first half more.
    """
    half = frame.height // 2
    if _file_descriptor(out) is None:
        second = beside(lambda: _rendered(frame.slice(half)))
        first = _rendered(frame.slice(0, half))
        out.write(first[:-1])  # without its closing "]"
        out.write(b",")
        out.write(second()[1:])  # without its opening "["
        return
    with tempfile.TemporaryDirectory(prefix=".serviceloop-json-", dir=_folder(out)) as folder:
        path = os.path.join(folder, "second.json")
        second_done = beside(lambda: frame.slice(half).write_json(path))
        try:
            frame.slice(0, half).write_json(cast("io.IOBase", out))  # straight into the file
        finally:
            second_done()
        out.seek(out.tell() - 1)  # over its closing "]"
        out.write(b",")
        _append(out, path, 1, os.path.getsize(path) - 1)  # without its opening "["


def _file_descriptor(out: IO[bytes]) -> int | None:
    """``out``'s descriptor when it is a regular file (not a pipe, a terminal or memory)."""
    try:
        fd = out.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None
    return fd if stat.S_ISREG(os.fstat(fd).st_mode) else None


def _folder(out: IO[bytes]) -> str | None:
    """The folder of the file ``out`` writes (the same file system: the kernel copies without
    reading the bytes into this process), or None for the system's temporary folder."""
    name = getattr(out, "name", None)
    return os.path.dirname(os.path.abspath(name)) if isinstance(name, str) else None


def _append(out: IO[bytes], source: str, start: int, length: int) -> None:
    """Copy ``length`` bytes of the file ``source`` from ``start`` to where ``out`` stands."""
    out.flush()
    fd = out.fileno()
    position = out.tell()
    copy = getattr(os, "copy_file_range", None)  # Linux; elsewhere, and across file systems
    with open(source, "rb") as src:  # on older kernels, through a buffer
        done = 0
        while done < length:
            if copy is not None:
                try:
                    n = copy(src.fileno(), fd, length - done, start + done)
                except OSError:
                    copy = None
                    continue
            else:
                src.seek(start + done)
                n = os.write(fd, src.read(min(length - done, 1 << 24)))
            if n <= 0:
                raise OSError(f"could not copy {source} into the output")
            done += n
    out.seek(position + length)


def _rendered(frame: pl.DataFrame) -> memoryview:
    buffer = io.BytesIO()
    frame.write_json(buffer)
    return buffer.getbuffer()


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, default=clean).encode("utf-8")


def _json_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """Datetimes as ``isoformat`` writes them (Polars would write naive ones with a space and
    milliseconds where Python writes microseconds); every other type Polars writes as
    :func:`json.dumps` would read back the same (NaN and infinity as null)."""
    cols = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            c = pl.col(name)
            zone = "%:z" if dtype.time_zone else ""
            whole = c.dt.strftime(f"%Y-%m-%dT%H:%M:%S{zone}")
            fraction = c.dt.strftime(f"%Y-%m-%dT%H:%M:%S%.6f{zone}")
            cols.append(
                pl.when(c.dt.microsecond() == 0).then(whole).otherwise(fraction).alias(name)
            )
    return frame.with_columns(cols) if cols else frame
