"""Checking an upload before it is stored: size, real content type (sniffed from the bytes, never
the client's word), a name whose extension agrees with the content, and a sanitised file name."""

from __future__ import annotations

import os
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings

from serviceloop.cases.exceptions import (
    FILE_EMPTY,
    FILE_MISMATCH,
    FILE_TOO_LARGE,
    FILE_TYPE,
    FILE_TYPE_UNRECOGNISED,
    InvalidInputError,
    Problem,
)

__all__ = ["CheckedUpload", "check_upload", "sanitize_filename", "sniff_content_type"]

PDF, PNG, JPEG, GIF = "application/pdf", "image/png", "image/jpeg", "image/gif"
TEXT, CSV, ZIP = "text/plain", "text/csv", "application/zip"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Extension -> the sniffed types a file with that name may have.
EXTENSIONS: dict[str, frozenset[str]] = {
    ".pdf": frozenset({PDF}),
    ".png": frozenset({PNG}),
    ".jpg": frozenset({JPEG}),
    ".jpeg": frozenset({JPEG}),
    ".gif": frozenset({GIF}),
    ".txt": frozenset({TEXT}),
    ".log": frozenset({TEXT}),
    ".csv": frozenset({TEXT}),
    ".zip": frozenset({ZIP, DOCX, XLSX}),
    ".docx": frozenset({DOCX}),
    ".xlsx": frozenset({XLSX}),
}
SNIFF_BYTES = 8192
MAX_NAME = 200


@dataclass(frozen=True)
class CheckedUpload:
    name: str
    content_type: str
    size: int


def sanitize_filename(name: str | None) -> str:
    """The base name only, NFC-normalised, without control or path characters or leading dots;
    at most ``MAX_NAME`` characters with the extension kept. Unicode letters (中文) stay."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFC", base)
    cleaned = "".join(
        "_" if ch in '<>:"|?*' or unicodedata.category(ch).startswith("C") else ch for ch in base
    )
    cleaned = cleaned.strip().lstrip(".").strip()
    if not cleaned:
        return "attachment"
    stem, ext = os.path.splitext(cleaned)
    if len(cleaned) > MAX_NAME:
        ext = ext[:16]
        cleaned = stem[: MAX_NAME - len(ext)] + ext
    return cleaned


def _zip_type(stream: IO[bytes]) -> str:
    stream.seek(0)
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return ""
    if "word/document.xml" in names:
        return DOCX
    if "xl/workbook.xml" in names:
        return XLSX
    return ZIP


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            head.decode(encoding)
        except UnicodeDecodeError as exc:
            # A multi-byte character cut by the sniff window is fine.
            if exc.start >= len(head) - 4 and encoding == "utf-8":
                return True
            continue
        return True
    return False


def sniff_content_type(stream: IO[bytes], *, name: str = "") -> str:
    """The content type the bytes show (magic numbers; UTF-8/GB18030 text), or "" if unknown."""
    stream.seek(0)
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_type(stream)
    if head and _is_text(head):
        return CSV if name.lower().endswith(".csv") else TEXT
    return ""


def check_upload(file: Any) -> CheckedUpload:
    """Validate an uploaded file (Django ``File``/``UploadedFile``); raise InvalidInputError."""
    name = sanitize_filename(getattr(file, "name", None))
    size = getattr(file, "size", None)
    if size is None:
        file.seek(0, os.SEEK_END)
        size = file.tell()
    if size == 0:
        raise InvalidInputError.for_field("file", Problem(FILE_EMPTY))
    limit = settings.ATTACHMENT_MAX_BYTES
    if size > limit:
        raise InvalidInputError.for_field("file", Problem(FILE_TOO_LARGE, {"max": limit}))
    sniffed = sniff_content_type(file, name=name)
    allowed = set(settings.ATTACHMENT_ALLOWED_TYPES)
    if not sniffed or sniffed not in allowed:
        problem = (
            Problem(FILE_TYPE, {"detail": sniffed}) if sniffed else Problem(FILE_TYPE_UNRECOGNISED)
        )
        raise InvalidInputError.for_field("file", problem)
    ext = os.path.splitext(name)[1].lower()
    if ext:
        expected = EXTENSIONS.get(ext)
        base_type = TEXT if sniffed == CSV else sniffed
        if expected is None:
            raise InvalidInputError.for_field("file", Problem(FILE_TYPE, {"detail": ext}))
        if base_type not in expected:
            raise InvalidInputError.for_field(
                "file", Problem(FILE_MISMATCH, {"sniffed": sniffed, "name": name})
            )
    return CheckedUpload(name=name, content_type=sniffed, size=int(size))
