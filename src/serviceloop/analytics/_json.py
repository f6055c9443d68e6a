"""JSON out of results: as Python objects (``to_dict``) or written by the engine from columns.

A result describes its JSON once, as a *document*: nested dicts and lists whose leaves are
scalars or Polars frames (a frame stands for its list of row objects). :func:`to_python` turns a
document into plain Python; :func:`write_json` writes the same content without building a
Python object per row: frames are written by Polars, from their columns, so 100,000 variants
take milliseconds instead of seconds. Both give the same content (NaN and infinity become
``null``, datetimes ISO strings as ``datetime.isoformat`` writes them, dates ``YYYY-MM-DD``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import math
import os
import sys
from collections import deque
from collections.abc import Callable, Mapping
from typing import IO, Any, cast

import polars as pl

from ._threads import beside

if sys.platform != "win32":
    import fcntl

__all__ = ["clean", "records", "to_python", "write_json"]

_PIECES_FROM = 50_000  # rows: below, one writer is quick enough
_PIECE_ROWS = 65_536  # rows rendered at a time beyond that (about 14 MiB of variants)
_PIPE_BYTES = 1 << 20  # what a pipe between a piece's writer and the output holds


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
        elif doc.height < _PIECES_FROM:
            _json_ready(doc).write_json(cast("io.IOBase", out))  # any binary stream
        else:
            _write_pieces(_json_ready(doc), out)
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


def _write_pieces(frame: pl.DataFrame, out: IO[bytes]) -> None:
    """A big frame (all the variants of a million cases) rendered in pieces of about
    ``_PIECE_ROWS`` rows, two at once beside the one being written (Polars' writer uses one
    core and releases the GIL), each copied into ``out`` in order.

    Polars writes each piece into a pipe of its own, straight from its buffer, and this thread
    copies it on through one small buffer: the writer's buffers are the same few sizes again
    and again, so the allocator reuses what it holds. Rendered as two halves (95 MiB each for
    the ten-million-event log's variants) they took 50,000-65,000 fresh pages, and the second
    went through a scratch file copied in by the kernel.
    """
    count = max(2, -(-frame.height // _PIECE_ROWS))
    size = -(-frame.height // count)
    starts = list(range(0, frame.height, size))
    ahead: deque[tuple[io.FileIO, Callable[[], None]]] = deque()

    def render(start: int) -> None:
        piece = frame.slice(start, size)
        read_end, write_end = os.pipe()
        _widen(write_end)
        reader = open(read_end, "rb", buffering=0)  # noqa: SIM115 - closed once copied
        try:
            ahead.append((reader, beside(lambda: _render_into(piece, write_end))))
        except BaseException:
            os.close(write_end)
            reader.close()
            raise

    buffer = bytearray(_PIPE_BYTES)
    try:
        out.write(b"[")
        for start in starts[:3]:
            render(start)
        for i in range(len(starts)):
            reader, rendered = ahead[0]
            if i:
                out.write(b",")
            _copy_inside(reader, out, buffer)
            ahead.popleft()
            reader.close()
            rendered()  # raises what the writer raised
            if i + 3 < len(starts):
                render(starts[i + 3])
        out.write(b"]")
    finally:
        while ahead:  # none left running behind an error: a closed pipe stops its writer
            reader, rendered = ahead.popleft()
            reader.close()
            with contextlib.suppress(BaseException):
                rendered()


def _widen(pipe: int) -> None:
    """Let a pipe hold ``_PIPE_BYTES`` (Linux; 64 KiB by default): fewer, bigger copies."""
    resize = getattr(fcntl, "F_SETPIPE_SZ", None) if sys.platform != "win32" else None
    if resize is not None:
        with contextlib.suppress(OSError):  # above the system's maximum: the default size
            fcntl.fcntl(pipe, resize, _PIPE_BYTES)


def _render_into(frame: pl.DataFrame, write_end: int) -> None:
    """Polars writes a real file's descriptor itself, not through Python's ``write``."""
    with open(write_end, "wb") as fh:
        frame.write_json(fh)


def _copy_inside(reader: io.FileIO, out: IO[bytes], buffer: bytearray) -> None:
    """Copy one rendered JSON array from a pipe into ``out`` without its "[" and "]"."""
    view = memoryview(buffer)
    opening, closing = True, b""
    while n := reader.readinto(buffer):
        chunk = view[1:n] if opening else view[:n]
        opening = False
        if not chunk:
            continue
        if closing:
            out.write(closing)
        out.write(chunk[:-1])
        closing = bytes(chunk[-1:])  # held back until more comes: the last one is the "]"


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
