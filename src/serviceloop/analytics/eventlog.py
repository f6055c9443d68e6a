"""Loading event logs: CSV, XES / XES.gz, Parquet, Arrow and Polars into one coded table.

Whatever the source, a log becomes an :class:`EventLog`: an integer-coded table (case code,
activity code, UTC epoch microseconds, file order) sorted once by (case, timestamp, file order),
so ties keep file order, plus the dictionaries that turn codes back into names. Every check runs
before the log is returned: a problem raises an :class:`~serviceloop.analytics.errors.AnalyticsError`
naming the file, row, column and value, and nothing half-loaded is ever handed out.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ._build import Duplicates, build_log
from ._engine import Engine, get_engine
from ._log import EventLog
from ._schema import ACTIVITY, CASE_ID, RESOURCE, START_TIMESTAMP, TIMESTAMP
from .errors import EmptyLogError, LogFormatError, MissingColumnError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["EventLog", "from_arrow", "from_polars", "read_csv", "read_parquet", "read_xes"]

DEFAULT_NULLS = ("", "?", "NA", "N/A", "null", "NULL", "None")


def read_csv(
    path: str | Path,
    *,
    case: str = CASE_ID,
    activity: str = ACTIVITY,
    timestamp: str = TIMESTAMP,
    start_timestamp: str | None = None,
    resource: str | None = None,
    lifecycle: str | None = None,
    attributes: Sequence[str] | None = None,
    timestamp_format: str | None = None,
    day_first: bool = False,
    timezone: str = "UTC",
    separator: str | None = None,
    null_values: Sequence[str] = DEFAULT_NULLS,
    duplicates: Duplicates = "error",
    engine: str | Engine = "polars",
) -> EventLog:
    """Read a CSV event log.

    Parameters
    ----------
    path
        The file; ``.csv.gz`` is read too.
    case, activity, timestamp
        Column names of case id, activity and completion time.
    start_timestamp, resource, lifecycle
        Optional columns. With ``lifecycle``, only 'complete' rows are events and a 'start' row
        gives the start time of the matching 'complete'.
    attributes
        Extra columns to keep (team, channel, ...); ``None`` keeps all the others.
    timestamp_format
        A strftime format (``"%d/%m/%Y %H:%M"``); ``None`` detects it from the data.
    day_first
        When detecting, read ``03/04/2024`` as 3 April.
    timezone
        Zone of timestamps written without an offset; everything is stored in UTC.
    separator
        ``None`` guesses ``,``, ``;`` or tab from the header line.
    null_values
        Cells read as empty (real exports write ``?``).
    duplicates
        ``"error"`` (default) refuses rows repeating case, activity, timestamp and resource;
        ``"keep"`` keeps them (as pm4py does); ``"drop"`` keeps the first.
    engine
        ``"polars"`` (default) or ``"spark"``.

    Raises
    ------
    MissingColumnError, MissingValueError, TimestampParseError, EmptyLogError,
    DuplicateEventError, LogFormatError

    Examples
    --------
    >>> log = read_csv("helpdesk.csv", case="Case ID", activity="Activity",
    ...                timestamp="Complete Timestamp")  # doctest: +SKIP
    """
    p = Path(path)
    if not p.is_file():
        raise LogFormatError("no such file", path=str(path))
    header = _first_line(p)
    sep = separator or max([",", ";", "\t", "|"], key=header.count)
    try:
        frame = pl.read_csv(
            p,
            separator=sep,
            infer_schema=False,
            null_values=list(null_values),
        )
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, UnicodeDecodeError) as exc:
        raise LogFormatError(f"not a readable CSV file: {exc}", path=str(path)) from exc
    # Exports pad cells (" ? "): strip the mapped columns, then their null markers are nulls too.
    mapped = [
        c
        for c in dict.fromkeys((case, activity, timestamp, start_timestamp, resource, lifecycle))
        if c is not None and c in frame.columns
    ]
    nulls = list(null_values)
    frame = frame.with_columns(
        pl.col(c).str.strip_chars().replace(nulls, None) if nulls else pl.col(c).str.strip_chars()
        for c in mapped
    )
    # Row 1 is the header line, so data row i (0-based) is row i + 2.
    return build_log(
        frame,
        case=case,
        activity=activity,
        timestamp=timestamp,
        start_timestamp=start_timestamp,
        resource=resource,
        lifecycle=lifecycle,
        attributes=attributes,
        timestamp_format=timestamp_format,
        day_first=day_first,
        timezone=timezone,
        duplicates=duplicates,
        engine=engine,
        path=str(path),
        row_offset=2,
    )


def _first_line(p: Path) -> str:
    opener: Any = gzip.open if p.suffix == ".gz" else open
    try:
        with opener(p, "rt", encoding="utf-8-sig") as fh:
            return str(fh.readline())
    except (OSError, UnicodeDecodeError) as exc:
        raise LogFormatError(f"cannot read: {exc}", path=str(p)) from exc


def read_parquet(
    path: str | Path,
    *,
    case: str = CASE_ID,
    activity: str = ACTIVITY,
    timestamp: str = TIMESTAMP,
    start_timestamp: str | None = None,
    resource: str | None = None,
    lifecycle: str | None = None,
    attributes: Sequence[str] | None = None,
    timestamp_format: str | None = None,
    day_first: bool = False,
    timezone: str = "UTC",
    duplicates: Duplicates = "error",
    engine: str | Engine = "polars",
) -> EventLog:
    """Read a Parquet event log (only the mapped columns are read from disk).

    Same mapping and checks as :func:`read_csv`; rows are counted from 1. With
    ``engine="spark"`` (or a ``SparkEngine``) Spark reads and codes the files itself, so the
    log never has to fit in this process (``path`` may then be a directory of Parquet files);
    with ``lifecycle`` or ``timestamp_format`` the log is loaded here and handed to Spark.

    Examples
    --------
    >>> log = read_parquet("log.parquet", resource="resource", attributes=[])  # doctest: +SKIP
    """
    p = Path(path)
    if not p.exists():
        raise LogFormatError("no such file", path=str(path))
    eng = get_engine(engine)
    if eng.name == "spark" and lifecycle is None and timestamp_format is None:
        from ._engine import SparkEngine
        from ._spark_load import spark_read_parquet

        assert isinstance(eng, SparkEngine)
        return spark_read_parquet(
            str(p),
            case=case,
            activity=activity,
            timestamp=timestamp,
            start_timestamp=start_timestamp,
            resource=resource,
            attributes=attributes,
            duplicates=duplicates,
            engine=eng,
        )
    try:
        lazy = pl.scan_parquet(p)
        names = lazy.collect_schema().names()
    except (pl.exceptions.ComputeError, OSError) as exc:
        raise LogFormatError(f"not a readable Parquet file: {exc}", path=str(path)) from exc
    mapped = [case, activity, timestamp, start_timestamp, resource, lifecycle]
    for col in mapped:
        if col is not None and col not in names:
            raise MissingColumnError(col, names, path=str(path))
    wanted = [c for c in mapped if c is not None]
    wanted += [c for c in names if c not in wanted] if attributes is None else list(attributes)
    missing = [c for c in wanted if c not in names]
    if missing:
        raise MissingColumnError(missing[0], names, path=str(path))
    frame = lazy.select(list(dict.fromkeys(wanted))).collect()
    return build_log(
        frame,
        case=case,
        activity=activity,
        timestamp=timestamp,
        start_timestamp=start_timestamp,
        resource=resource,
        lifecycle=lifecycle,
        attributes=attributes,
        timestamp_format=timestamp_format,
        day_first=day_first,
        timezone=timezone,
        duplicates=duplicates,
        engine=engine,
        path=str(path),
        row_offset=1,
    )


def from_polars(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    case: str = CASE_ID,
    activity: str = ACTIVITY,
    timestamp: str = TIMESTAMP,
    start_timestamp: str | None = None,
    resource: str | None = None,
    lifecycle: str | None = None,
    attributes: Sequence[str] | None = None,
    timestamp_format: str | None = None,
    day_first: bool = False,
    timezone: str = "UTC",
    duplicates: Duplicates = "error",
    engine: str | Engine = "polars",
) -> EventLog:
    """Build a log from a Polars frame (the live case log arrives this way).

    Columns default to the canonical ``case_id, activity, timestamp``; a ``resource`` column is
    used when present. Rows are counted from 1 in errors.

    Examples
    --------
    >>> log = from_polars(pl.DataFrame({"case_id": [1, 1], "activity": ["a", "b"],
    ...                                 "timestamp": [0, 60]}))
    >>> log.n_events
    2
    """
    df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    if resource is None and RESOURCE in df.columns and case == CASE_ID:
        resource = RESOURCE
    if start_timestamp is None and START_TIMESTAMP in df.columns and case == CASE_ID:
        start_timestamp = START_TIMESTAMP
    return build_log(
        df,
        case=case,
        activity=activity,
        timestamp=timestamp,
        start_timestamp=start_timestamp,
        resource=resource,
        lifecycle=lifecycle,
        attributes=attributes,
        timestamp_format=timestamp_format,
        day_first=day_first,
        timezone=timezone,
        duplicates=duplicates,
        engine=engine,
        path=None,
        row_offset=1,
    )


def from_arrow(table: pa.Table | pa.RecordBatch, **mapping: Any) -> EventLog:
    """Build a log from an Arrow table; same keywords as :func:`from_polars`.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from_arrow(pa.table({"case_id": ["x"], "activity": ["a"], "timestamp": [0]})).n_cases
    1
    """
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return from_polars(frame, **mapping)


# -- XES ----------------------------------------------------------------------------------------
_XES_CASE, _XES_ACT, _XES_TS = "case:concept:name", "concept:name", "time:timestamp"
_XES_RES, _XES_LC = "org:resource", "lifecycle:transition"
_PROLOG_LIMIT = 1 << 20


def _refuse_unsafe_xml(p: Path) -> None:
    """Refuse DTDs: entity expansion (billion laughs) and external entities never get parsed."""
    opener: Any = gzip.open if p.suffix == ".gz" else open
    try:
        with opener(p, "rb") as fh:
            head = fh.read(_PROLOG_LIMIT)
    except (OSError, EOFError) as exc:
        raise LogFormatError(f"cannot read: {exc}", path=str(p)) from exc
    prolog = head.split(b"<log", 1)[0].upper()
    if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog or b"<!ENTITY" in head.upper():
        raise LogFormatError(
            "XML document type declarations and entities are refused (unsafe XML)", path=str(p)
        )
    if b"<log" not in head and b"<LOG" not in head.upper():
        raise LogFormatError("not an XES file (no <log> element)", path=str(p))


def read_xes(
    path: str | Path,
    *,
    case: str = _XES_CASE,
    activity: str = _XES_ACT,
    timestamp: str = _XES_TS,
    start_timestamp: str | None = None,
    resource: str | None = _XES_RES,
    lifecycle: str | None = _XES_LC,
    attributes: Sequence[str] | None = None,
    duplicates: Duplicates = "error",
    engine: str | Engine = "polars",
) -> EventLog:
    """Read an XES or XES.gz log with the Rust reader ``rustxes``.

    Trace attributes appear as ``case:<key>``. Documents with a DTD or entities are refused
    before parsing. ``resource`` and ``lifecycle`` are used when the log has them.

    Examples
    --------
    >>> log = read_xes("helpdesk.xes.gz")  # doctest: +SKIP
    """
    p = Path(path)
    if not p.is_file():
        raise LogFormatError("no such file", path=str(path))
    _refuse_unsafe_xml(p)
    import rustxes

    try:
        frame, _meta = rustxes.import_xes(str(p))
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise LogFormatError(f"not a readable XES file: {exc}", path=str(path)) from exc
    if frame.height == 0:
        raise EmptyLogError(f"{path} has no events")
    frame = frame.drop([c for c in frame.columns if c.startswith("@@")])
    if resource == _XES_RES and resource not in frame.columns:
        resource = None
    if lifecycle == _XES_LC and lifecycle not in frame.columns:
        lifecycle = None
    return build_log(
        frame,
        case=case,
        activity=activity,
        timestamp=timestamp,
        start_timestamp=start_timestamp,
        resource=resource,
        lifecycle=lifecycle,
        attributes=attributes,
        timestamp_format=None,
        day_first=False,
        timezone="UTC",
        duplicates=duplicates,
        engine=engine,
        path=str(path),
        row_offset=1,
    )
