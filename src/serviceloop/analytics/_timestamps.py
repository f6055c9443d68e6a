"""Turn timestamp columns of any kind into UTC epoch microseconds (Int64).

Strings are parsed with a strftime format or, without one, with the first candidate format that
parses a sample of the column; offsets such as ``+08:00`` or ``Z`` are honoured and naive values
are read in ``timezone``. The first cell that fails is reported with its row and value.
"""

from __future__ import annotations

import polars as pl

from ._schema import US
from .errors import InvalidParameterError, TimestampParseError

__all__ = ["to_epoch_us"]

_DATES_YMD = ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d"]
_DATES_DMY = ["%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y"]
_DATES_MDY = ["%m/%d/%Y", "%m-%d-%Y"]
_TIMES = ["%H:%M:%S%.f", "%H:%M:%S", "%H:%M"]
_SAMPLE = 2000


def _candidates(day_first: bool) -> list[str]:
    dates = _DATES_YMD + (_DATES_DMY + _DATES_MDY if day_first else _DATES_MDY + _DATES_DMY)
    out = []
    for d in dates:
        for t in _TIMES:
            out.append(f"{d} {t}%z")
            out.append(f"{d} {t}")
        out.append(d)
    return out


def _parse(col: pl.Expr, fmt: str, tz: str) -> pl.Expr:
    if "%z" in fmt:
        return col.str.to_datetime(fmt, time_unit="us", time_zone="UTC", strict=False)
    return col.str.to_datetime(fmt, time_unit="us", strict=False).dt.replace_time_zone(
        tz, ambiguous="earliest", non_existent="null"
    )


def _normalise(s: pl.Series) -> pl.Series:
    # chrono's %z wants +hh:mm or +hhmm, so write a trailing Z / UTC as +00:00.
    # ISO's "T" between date and time becomes a space, so mixed writers need one format.
    return (
        s.str.strip_chars()
        .str.replace(r"(?i)(Z| ?UTC)$", "+00:00")
        .str.replace(r"^(\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4})T", "$1 ")
    )


def detect_format(values: pl.Series, *, day_first: bool, tz: str) -> str | None:
    """Return the first candidate format that parses every sampled value, or None."""
    fmt, parsed, total = _best_format(values, day_first=day_first, tz=tz)
    return fmt if total and parsed == total else None


def _best_format(values: pl.Series, *, day_first: bool, tz: str) -> tuple[str | None, int, int]:
    """The candidate parsing the most sampled values (the first such), how many, of how many."""
    sample = _normalise(values.drop_nulls().head(_SAMPLE))
    if sample.len() == 0:
        return None, 0, 0
    frame = sample.to_frame("v")
    best, best_n = None, 0
    for fmt in _candidates(day_first):
        n = int(frame.select(_parse(pl.col("v"), fmt, tz).is_not_null().sum()).item())
        if n == sample.len():
            return fmt, n, n
        if n > best_n:
            best, best_n = fmt, n
    return best, best_n, sample.len()


def to_epoch_us(
    frame: pl.DataFrame,
    column: str,
    *,
    row_col: str | None,
    row_offset: int,
    timestamp_format: str | None,
    day_first: bool,
    timezone: str,
    path: str | None,
) -> pl.Series:
    """Return ``frame[column]`` as UTC epoch microseconds; raise on the first bad cell.

    ``row_col`` holds each row's 0-based position, reported as ``row + row_offset``; None:
    each row is at its own position.

    Examples
    --------
    >>> f = pl.DataFrame({"ts": ["2024-01-02 03:04:05+08:00"], "i": [0]})
    >>> to_epoch_us(f, "ts", row_col="i", row_offset=1, timestamp_format=None,
    ...             day_first=False, timezone="UTC", path=None).to_list()
    [1704135845000000]
    """
    s = frame[column]
    dtype = s.dtype
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            s = s.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
        out = s.dt.epoch("us")
    elif dtype == pl.Date:
        out = s.cast(pl.Datetime("us")).dt.replace_time_zone(timezone).dt.epoch("us")
    elif dtype.is_integer():
        # Epoch numbers: the magnitude tells seconds, milliseconds or microseconds.
        top = int(s.abs().max() or 0)  # type: ignore[arg-type]
        scale = 1 if top > 10**14 else 1000 if top > 10**11 else US
        out = s.cast(pl.Int64) * scale
    elif dtype == pl.String:
        text = _normalise(s)
        fmt = timestamp_format
        if fmt is None:
            # The format most of the values follow: the cells it cannot read are the bad ones,
            # so the error names the first of them, not merely the first value of the column.
            fmt, n_parsed, _total = _best_format(text, day_first=day_first, tz=timezone)
            if fmt is None or n_parsed == 0:
                present = s.is_not_null()
                at = int(present.arg_true()[0]) if present.any() else 0
                raise TimestampParseError(
                    column=column,
                    row=_row(frame, row_col, at) + row_offset,
                    value=str(s[at]) if present.any() else "",
                    format=None,
                    path=path,
                )
        try:
            parsed = text.to_frame("v").select(_parse(pl.col("v"), fmt, timezone)).to_series()
        except pl.exceptions.ComputeError as exc:
            raise InvalidParameterError(f"bad timestamp format {fmt!r}: {exc}") from exc
        out = parsed.dt.epoch("us")
        bad = out.is_null() & s.is_not_null()
        if bad.any():
            at = int(bad.arg_true()[0])
            raise TimestampParseError(
                column=column,
                row=_row(frame, row_col, at) + row_offset,
                value=str(s[at]),
                format=fmt,
                path=path,
            )
    else:
        raise InvalidParameterError(f"column {column!r} has type {dtype}, not a timestamp")
    return out.alias(column)


def _row(frame: pl.DataFrame, row_col: str | None, at: int) -> int:
    """The 0-based source row of the frame's row ``at``."""
    return at if row_col is None else int(frame[row_col][at])
