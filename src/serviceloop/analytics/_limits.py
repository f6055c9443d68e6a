"""Checks a log file passes before it is loaded, so that a small file cannot take the machine.

A log reader holds the whole log in memory, so a file that *declares* or *expands to* far more
than it weighs (a "bomb") is refused from what can be read cheaply, with memory bounded:

- Parquet: the footer's row count and the decompressed size of the columns to read;
- CSV: the header's column count (read with a cap, so a million-column header costs nothing),
  then the longest line (so no field is longer) and, for ``.csv.gz``, the expansion, in one
  streaming pass;
- XES: the prolog, parsed token by token (comments, processing instructions, whitespace) up to
  the root element, so no DTD or entity declaration can hide behind padding or a comment; for
  ``.xes.gz`` the expansion, streamed.

Every limit is a field of :class:`ReadLimits`; readers take ``limits=`` and the CLI
``--limit NAME=VALUE``. Errors name the file, what was found and the limit to raise.
"""

from __future__ import annotations

import dataclasses
import gzip
import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InvalidParameterError, LogFormatError

__all__ = ["ReadLimits", "check_csv", "check_parquet", "check_xes"]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class ReadLimits:
    """How much a log file may hold before it is loaded into memory.

    Parameters
    ----------
    max_events
        Rows a file may declare (Parquet) or hold. Bigger Parquet logs are mined part by part
        with :func:`~serviceloop.analytics.mine_large_parquet` (``analyze --large``).
    max_bytes
        Bytes of data after decompression (Parquet columns read, ``.gz`` contents, a CSV).
    max_expansion
        How many times its own size a compressed file may expand to.
    max_columns
        Columns of a CSV header.
    max_field_bytes
        Bytes of one CSV line, hence of any field in it.
    max_prolog_bytes
        Bytes of an XES file before its ``<log>`` element (declaration, comments).

    Examples
    --------
    >>> ReadLimits().with_options(max_events="2e7").max_events
    20000000
    """

    max_events: int = 20_000_000
    max_bytes: int = 8 << 30
    max_expansion: int = 200
    max_columns: int = 10_000
    max_field_bytes: int = 1 << 20
    max_prolog_bytes: int = 1 << 20

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidParameterError(f"{f.name} must be a positive integer, not {value!r}")

    def with_options(self, **options: Any) -> ReadLimits:
        """A copy with some limits replaced (numbers or strings such as ``"1e8"``)."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise InvalidParameterError(
                f"unknown limit(s) {', '.join(map(repr, unknown))}; the limits are "
                f"{', '.join(sorted(known))}"
            )
        return dataclasses.replace(self, **{k: _count(k, v) for k, v in options.items()})

    @classmethod
    def parse(cls, items: Sequence[str]) -> ReadLimits:
        """From ``NAME=VALUE`` strings (the CLI's ``--limit``)."""
        options: dict[str, Any] = {}
        for item in items:
            name, sep, value = item.partition("=")
            if not sep:
                raise InvalidParameterError(f"--limit {item}: expected NAME=VALUE")
            options[name.strip().replace("-", "_")] = value.strip()
        return cls().with_options(**options)


def _count(name: str, value: Any) -> int:
    try:
        number = float(value) if isinstance(value, str) else value
        whole = int(number)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{name} must be a number, not {value!r}") from None
    if whole != number:
        raise InvalidParameterError(f"{name} must be a whole number, not {value!r}")
    return whole


def _refuse(path: Path, found: str, limit: str, value: int) -> LogFormatError:
    return LogFormatError(
        f"{found}, over the limit of {value:,} ({limit}); if the file is trusted, raise it "
        f"(limits={limit}=... or --limit {limit}=...)",
        path=str(path),
    )


# -- Parquet ------------------------------------------------------------------------------------
def check_parquet(path: Path, columns: Sequence[str] | None, limits: ReadLimits) -> None:
    """Refuse from the footer alone: declared rows and the decompressed size of ``columns``
    (all columns when None). The footer is decoded here (Thrift compact protocol, a few
    fields) rather than by pyarrow, whose import alone costs a small run a fifth of its time."""
    meta = _parquet_footer(path)
    rows = int(meta.get(3, 0))
    if rows > limits.max_events:
        raise _refuse(path, f"declares {rows:,} rows", "max_events", limits.max_events)
    wanted = None if columns is None else set(columns)
    unpacked = packed = 0
    for group in meta.get(4, []):
        for chunk in group.get(1, []):
            column = chunk.get(3, {})
            name = column.get(3, [b""])[0].decode("utf-8", "replace")
            if wanted is None or name in wanted:
                unpacked += int(column.get(6, 0))
                packed += int(column.get(7, 0))
    if unpacked > limits.max_bytes:
        raise _refuse(path, f"declares {unpacked:,} bytes of data", "max_bytes", limits.max_bytes)
    if packed and unpacked > limits.max_expansion * packed:
        raise _refuse(
            path,
            f"expands {unpacked // packed:,} times ({packed:,} to {unpacked:,} bytes)",
            "max_expansion",
            limits.max_expansion,
        )


_MAX_FOOTER = 64 << 20


def _parquet_footer(path: Path) -> dict[int, Any]:
    """The file's FileMetaData as ``{field id: value}`` (structs nested the same way)."""
    not_parquet = LogFormatError("not a readable Parquet file (no Parquet footer)", path=str(path))
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, 2)
            if size < 12:
                raise not_parquet
            fh.seek(size - 8)
            tail = fh.read(8)
            length = int.from_bytes(tail[:4], "little")
            if tail[4:] != b"PAR1" or length > size - 12:
                raise not_parquet
            if length > _MAX_FOOTER:
                raise LogFormatError(
                    f"a Parquet footer of {length:,} bytes is refused", path=str(path)
                )
            fh.seek(size - 8 - length)
            footer = fh.read(length)
    except OSError as exc:
        raise LogFormatError(f"cannot read: {exc}", path=str(path)) from exc
    try:
        value, _end = _CompactReader(footer).struct(0)
    except (IndexError, ValueError, RecursionError) as exc:
        raise LogFormatError(
            f"not a readable Parquet file (footer: {exc})", path=str(path)
        ) from exc
    return value


class _CompactReader:
    """Just enough of Thrift's compact protocol to read a Parquet footer."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def varint(self, pos: int) -> tuple[int, int]:
        shift = result = 0
        while True:
            byte = self.data[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result, pos
            shift += 7
            if shift > 70:
                raise ValueError("varint too long")

    def zigzag(self, pos: int) -> tuple[int, int]:
        n, pos = self.varint(pos)
        return (n >> 1) ^ -(n & 1), pos

    def value(self, kind: int, pos: int, depth: int) -> tuple[Any, int]:
        if depth > 32:
            raise ValueError("nested too deep")
        if kind in (1, 2):  # booleans inside a struct carry their value in the type
            return kind == 1, pos
        if kind == 3:
            return self.data[pos], pos + 1
        if kind in (4, 5, 6):
            return self.zigzag(pos)
        if kind == 7:
            return self.data[pos : pos + 8], pos + 8
        if kind == 8:
            n, pos = self.varint(pos)
            if pos + n > len(self.data):
                raise ValueError("binary runs past the footer")
            return self.data[pos : pos + n], pos + n
        if kind in (9, 10):
            head = self.data[pos]
            pos += 1
            n, inner = head >> 4, head & 0x0F
            if n == 15:
                n, pos = self.varint(pos)
            if n > len(self.data):
                raise ValueError("list longer than the footer")
            items = []
            for _ in range(n):
                if inner in (1, 2):  # booleans in a list take a byte each
                    items.append(self.data[pos] == 1)
                    pos += 1
                else:
                    item, pos = self.value(inner, pos, depth + 1)
                    items.append(item)
            return items, pos
        if kind == 11:
            n, pos = self.varint(pos)
            if n == 0:
                return {}, pos
            types = self.data[pos]
            pos += 1
            out = {}
            for _ in range(n):
                k, pos = self.value(types >> 4, pos, depth + 1)
                v, pos = self.value(types & 0x0F, pos, depth + 1)
                out[k if not isinstance(k, list) else tuple(k)] = v
            return out, pos
        if kind == 12:
            return self.struct(pos, depth + 1)
        raise ValueError(f"unknown Thrift type {kind}")

    def struct(self, pos: int, depth: int = 0) -> tuple[dict[int, Any], int]:
        fields: dict[int, Any] = {}
        last = 0
        while True:
            head = self.data[pos]
            pos += 1
            if head == 0:
                return fields, pos
            delta, kind = head >> 4, head & 0x0F
            if delta:
                last += delta
            else:
                last, pos = self.zigzag(pos)
            fields[last], pos = self.value(kind, pos, depth)


# -- CSV ----------------------------------------------------------------------------------------
def check_csv(path: Path, limits: ReadLimits) -> str:
    """Check a CSV (or ``.csv.gz``) and return its header line.

    The header is read with a cap and its columns counted; then one streaming pass finds the
    longest line and, for gzip, stops as soon as the expansion passes the limit.
    """
    header = _header(path, limits)
    compressed = max(path.stat().st_size, 1)
    total = 0
    carry = 0  # bytes of the line the previous chunk ended in
    rows = 0  # lines before this chunk
    for chunk in _chunks(path):
        total += len(chunk)
        _check_size(path, total, compressed, limits)
        lines = chunk.split(b"\n")  # in C: the longest line without a Python loop per row
        lengths = [len(x) for x in lines]
        lengths[0] += carry
        longest = max(lengths)
        if longest > limits.max_field_bytes:
            at = lengths.index(longest)
            raise _refuse(
                path,
                f"row {rows + at + 1} is longer than {limits.max_field_bytes:,} bytes",
                "max_field_bytes",
                limits.max_field_bytes,
            )
        carry = lengths[-1]
        rows += len(lines) - 1
    events = rows - 1 + (carry > 0)  # the header is a line; the last may lack its newline
    if events > limits.max_events:
        raise _refuse(path, f"holds {events:,} rows", "max_events", limits.max_events)
    return header


def _check_size(path: Path, total: int, compressed: int, limits: ReadLimits) -> None:
    if total > limits.max_bytes:
        raise _refuse(path, f"holds over {limits.max_bytes:,} bytes", "max_bytes", limits.max_bytes)
    if path.suffix == ".gz" and total > limits.max_expansion * compressed:
        raise _refuse(
            path,
            f"expands over {limits.max_expansion} times its {compressed:,} bytes",
            "max_expansion",
            limits.max_expansion,
        )


def _header(path: Path, limits: ReadLimits) -> str:
    cap = limits.max_field_bytes + 1
    try:
        with _open(path) as fh:
            raw = fh.readline(cap)
    except (OSError, EOFError, zlib.error) as exc:
        raise LogFormatError(f"cannot read: {exc}", path=str(path)) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LogFormatError(f"the header is not UTF-8: {exc}", path=str(path)) from exc
    columns = 1 + max(text.count(s) for s in (",", ";", "\t", "|"))
    if columns > limits.max_columns:
        more = "" if raw.endswith(b"\n") else "over "
        raise _refuse(
            path, f"the header has {more}{columns:,} columns", "max_columns", limits.max_columns
        )
    if not raw.endswith(b"\n") and len(raw) >= cap:
        raise _refuse(
            path,
            f"the header is longer than {limits.max_field_bytes:,} bytes",
            "max_field_bytes",
            limits.max_field_bytes,
        )
    return text


def _open(path: Path) -> Any:
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def _chunks(path: Path) -> Iterator[bytes]:
    """The file's bytes (decompressed), a megabyte at a time."""
    try:
        with _open(path) as fh:
            while chunk := fh.read(_CHUNK):
                yield chunk
    except (OSError, EOFError, zlib.error) as exc:
        raise LogFormatError(f"cannot read: {exc}", path=str(path)) from exc


# -- XES ----------------------------------------------------------------------------------------
_NAME = re.compile(rb"[A-Za-z_][\w.\-]*(:[A-Za-z_][\w.\-]*)?")


def check_xes(path: Path, limits: ReadLimits) -> None:
    """Parse the prolog up to the root element, refusing DTDs; for ``.xes.gz`` stream the
    rest to bound its expansion."""
    _check_prolog(path, limits)
    if path.suffix != ".gz":
        _check_size(path, path.stat().st_size, 1, limits)
        return
    compressed = max(path.stat().st_size, 1)
    total = 0
    for chunk in _chunks(path):
        total += len(chunk)
        _check_size(path, total, compressed, limits)


def _check_prolog(path: Path, limits: ReadLimits) -> None:
    """XML 1.0 prolog: ``XMLDecl? Misc* (doctypedecl Misc*)?`` then the root element, where
    Misc is a comment, a processing instruction or white space. Walking it token by token means
    nothing in a comment is mistaken for markup and no padding pushes a DTD out of sight."""
    unsafe = "XML document type declarations and entities are refused (unsafe XML)"
    buf = b""
    pos = 0
    eof = False
    chunks = _chunks(path)

    def more() -> bool:
        nonlocal buf, eof
        if eof:
            return False
        if len(buf) > limits.max_prolog_bytes:
            raise _refuse(
                path,
                f"its prolog (before <log>) is longer than {limits.max_prolog_bytes:,} bytes",
                "max_prolog_bytes",
                limits.max_prolog_bytes,
            )
        chunk = next(chunks, b"")
        if not chunk:
            eof = True
            return False
        buf += chunk
        return True

    def need(n: int) -> bool:
        while len(buf) < pos + n:
            if not more():
                return False
        return True

    def skip_to(marker: bytes) -> None:
        nonlocal pos
        while (end := buf.find(marker, pos)) < 0:
            if not more():
                raise LogFormatError("not an XES file (the prolog never ends)", path=str(path))
        pos = end + len(marker)

    need(4)
    if buf.startswith(b"\xef\xbb\xbf"):
        pos = 3
    elif buf[:2] in (b"\xff\xfe", b"\xfe\xff") or buf[:4] == b"\x00\x00\xfe\xff":
        raise LogFormatError("only UTF-8 XES files are read", path=str(path))
    while True:
        while need(1) and buf[pos : pos + 1] in b" \t\r\n":
            pos += 1
        if not need(1):
            raise LogFormatError("not an XES file (no <log> element)", path=str(path))
        if buf[pos : pos + 1] != b"<":
            raise LogFormatError("not an XES file (text before the <log> element)", path=str(path))
        need(9)
        head = buf[pos : pos + 9]
        if head.startswith(b"<?"):
            skip_to(b"?>")
        elif head.startswith(b"<!--"):
            pos += 4
            skip_to(b"-->")
        elif head.upper().startswith((b"<!DOCTYPE", b"<!ENTITY", b"<!")):
            raise LogFormatError(unsafe, path=str(path))
        else:
            need(64)
            name = _NAME.match(buf, pos + 1)
            local = name.group(0).split(b":")[-1] if name else b""
            if local.lower() != b"log":
                raise LogFormatError(
                    "not an XES file (its root element is not <log>)", path=str(path)
                )
            return
