"""Errors raised by :mod:`serviceloop.analytics`.

One root, specific children that name the file, row, column and value at fault::

    AnalyticsError
    ├── LogFormatError          the file cannot be read safely (unknown format, XML bomb, ...)
    ├── MissingColumnError      a mapped column is not in the log
    ├── MissingValueError       a case id, activity or timestamp cell is empty
    ├── TimestampParseError     a timestamp cell does not parse
    ├── EmptyLogError           no events left to analyse
    ├── DuplicateEventError     the same event appears twice
    ├── InvalidParameterError   an argument is out of range (also a ``ValueError``)
    └── EngineError             the requested engine is not available
"""

from __future__ import annotations

__all__ = [
    "AnalyticsError",
    "DuplicateEventError",
    "EmptyLogError",
    "EngineError",
    "InvalidParameterError",
    "LogFormatError",
    "MissingColumnError",
    "MissingValueError",
    "TimestampParseError",
]


def _where(path: str | None, row: int | None, column: str | None) -> str:
    parts = []
    if path:
        parts.append(str(path))
    if row is not None:
        parts.append(f"row {row}")
    if column is not None:
        parts.append(f"column {column!r}")
    return ", ".join(parts)


class AnalyticsError(Exception):
    """Root of every error the analytics library raises on purpose."""


class LogFormatError(AnalyticsError):
    """The file is not a log we can read safely (format, encoding, unsafe XML)."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class MissingColumnError(AnalyticsError):
    """A column named in the mapping is not in the log."""

    def __init__(self, column: str, available: list[str], *, path: str | None = None) -> None:
        self.column, self.available, self.path = column, available, path
        where = f"{path}: " if path else ""
        super().__init__(
            f"{where}column {column!r} not found; the log has: {', '.join(map(repr, available))}"
        )


class MissingValueError(AnalyticsError):
    """A required cell (case id, activity, timestamp) is empty or a null marker such as '?'."""

    def __init__(self, *, column: str, row: int, count: int, path: str | None = None) -> None:
        self.column, self.row, self.count, self.path = column, row, count, path
        super().__init__(
            f"{_where(path, row, column)}: empty value ({count} empty cell(s) in this column)"
        )


class TimestampParseError(AnalyticsError):
    """A timestamp cell does not match the given or detected format."""

    def __init__(
        self,
        *,
        column: str,
        row: int,
        value: str,
        format: str | None,
        path: str | None = None,
    ) -> None:
        self.column, self.row, self.value, self.format, self.path = column, row, value, format, path
        how = f"format {format!r}" if format else "any known timestamp format"
        super().__init__(f"{_where(path, row, column)}: {value!r} does not match {how}")


class EmptyLogError(AnalyticsError):
    """The log (or what a filter left of it) has no events."""


class DuplicateEventError(AnalyticsError):
    """Two rows describe the same event (same case, activity, timestamp and resource)."""

    def __init__(self, *, row: int, duplicate_of: int, count: int, path: str | None = None) -> None:
        self.row, self.duplicate_of, self.count, self.path = row, duplicate_of, count, path
        super().__init__(
            f"{_where(path, row, None)}: duplicate of row {duplicate_of} "
            f"({count} duplicate event(s)); pass duplicates='keep' or 'drop' to accept them"
        )


class InvalidParameterError(AnalyticsError, ValueError):
    """An argument is out of its allowed range."""


class EngineError(AnalyticsError):
    """The requested engine is unknown or not installed."""
