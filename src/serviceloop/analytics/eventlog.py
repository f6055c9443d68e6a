"""Loading event logs: CSV, XES / XES.gz, Parquet, Arrow and Polars into one coded table.

Whatever the source, a log becomes an :class:`EventLog`: an integer-coded table (case code,
activity code, UTC epoch microseconds, file order) sorted once by (case, timestamp, file order),
so ties keep file order, plus the dictionaries that turn codes back into names. Every check runs
before the log is returned: a problem raises an :class:`~serviceloop.analytics.errors.AnalyticsError`
naming the file, row, column and value, and nothing half-loaded is ever handed out.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ._build import build_log
from ._engine import Engine, get_engine
from ._limits import ReadLimits, check_csv, check_parquet, check_xes
from ._log import EventLog
from ._mapping import ColumnMapping, resolve
from ._threads import beside
from .errors import EmptyLogError, LogFormatError, MissingColumnError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "ColumnMapping",
    "EventLog",
    "ReadLimits",
    "from_arrow",
    "from_polars",
    "read_csv",
    "read_parquet",
    "read_xes",
]

DEFAULT_NULLS = ("", "?", "NA", "N/A", "null", "NULL", "None")


def read_csv(
    path: str | Path,
    mapping: ColumnMapping | None = None,
    *,
    separator: str | None = None,
    null_values: Sequence[str] = DEFAULT_NULLS,
    engine: str | Engine = "polars",
    limits: ReadLimits | None = None,
    **options: Any,
) -> EventLog:
    """Read a CSV event log.

    Parameters
    ----------
    path
        The file; ``.csv.gz`` is read too.
    mapping
        Which column holds what (:class:`ColumnMapping`); default: ``case_id``, ``activity``,
        ``timestamp``, every other column an attribute.
    separator
        ``None`` guesses ``,``, ``;`` or tab from the header line.
    null_values
        Cells read as empty (real exports write ``?``).
    engine
        ``"polars"`` (default) or ``"spark"``.
    limits
        What the file may hold before it is loaded (:class:`ReadLimits`: columns, line
        length, rows, size and, for ``.csv.gz``, expansion); checked in one streaming pass.
    **options
        Any :class:`ColumnMapping` field (``case="Case ID"``, ``duplicates="keep"``, ...), on
        top of ``mapping``.

    Raises
    ------
    MissingColumnError, MissingValueError, TimestampParseError, EmptyLogError,
    DuplicateEventError, LogFormatError (also a file over its limits), InvalidParameterError

    Examples
    --------
    >>> log = read_csv("helpdesk.csv", case="Case ID", activity="Activity",
    ...                timestamp="Complete Timestamp")  # doctest: +SKIP
    """
    m = resolve(mapping, options)
    p = Path(path)
    if not p.is_file():
        raise LogFormatError("no such file", path=str(path))
    header = check_csv(p, limits or ReadLimits())
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
    mapped = [c for c in dict.fromkeys(m.mapped) if c in frame.columns]
    nulls = list(null_values)
    frame = frame.with_columns(
        pl.col(c).str.strip_chars().replace(nulls, None) if nulls else pl.col(c).str.strip_chars()
        for c in mapped
    )
    # Row 1 is the header line, so data row i (0-based) is row i + 2.
    return build_log(frame, m, engine=engine, path=str(path), row_offset=2)


def read_parquet(
    path: str | Path,
    mapping: ColumnMapping | None = None,
    *,
    engine: str | Engine = "polars",
    limits: ReadLimits | None = None,
    **options: Any,
) -> EventLog:
    """Read a Parquet event log (only the mapped columns are read from disk).

    Same mapping and checks as :func:`read_csv`; rows are counted from 1. Before anything is
    read, the footer's row count and the decompressed size of the columns to read are checked
    against ``limits`` (:class:`ReadLimits`). With
    ``engine="spark"`` (or a ``SparkEngine``) Spark reads and codes the files itself, so the
    log never has to fit in this process (``path`` may then be a directory of Parquet files);
    with ``lifecycle`` or ``timestamp_format`` the log is loaded here and handed to Spark.

    Examples
    --------
    >>> log = read_parquet("log.parquet", resource="resource", attributes=[])  # doctest: +SKIP
    """
    m = resolve(mapping, options)
    p = Path(path)
    if not p.exists():
        raise LogFormatError("no such file", path=str(path))
    eng = get_engine(engine)
    if eng.name == "spark" and m.lifecycle is None and m.timestamp_format is None:
        from ._engine import SparkEngine
        from ._spark_load import spark_read_parquet

        assert isinstance(eng, SparkEngine)
        return spark_read_parquet(str(p), m, engine=eng)
    try:
        lazy = pl.scan_parquet(p)
        names = lazy.collect_schema().names()
    except (pl.exceptions.ComputeError, OSError) as exc:
        raise LogFormatError(f"not a readable Parquet file: {exc}", path=str(path)) from exc
    for col in m.mapped:
        if col not in names:
            raise MissingColumnError(col, names, path=str(path))
    wanted = list(m.mapped)
    wanted += [c for c in names if c not in wanted] if m.attributes is None else list(m.attributes)
    missing = [c for c in wanted if c not in names]
    if missing:
        raise MissingColumnError(missing[0], names, path=str(path))
    if p.is_file():
        check_parquet(p, wanted, limits or ReadLimits())
    # Polars reads without the GIL: the analyses' modules and Narwhals are imported meanwhile
    # (0.03 s, a tenth of a million-event run from the shell).
    reading = beside(lambda: lazy.select(list(dict.fromkeys(wanted))).collect())
    from . import result  # noqa: F401

    frame = reading()
    return build_log(frame, m, engine=engine, path=str(path), row_offset=1)


def from_polars(
    frame: pl.DataFrame | pl.LazyFrame,
    mapping: ColumnMapping | None = None,
    *,
    engine: str | Engine = "polars",
    **options: Any,
) -> EventLog:
    """Build a log from a Polars frame (the live case log arrives this way).

    Columns default to the canonical ``case_id, activity, timestamp``; ``resource`` and
    ``start_timestamp`` columns are used when present. Rows are counted from 1 in errors.

    Examples
    --------
    >>> log = from_polars(pl.DataFrame({"case_id": [1, 1], "activity": ["a", "b"],
    ...                                 "timestamp": [0, 60]}))
    >>> log.n_events
    2
    """
    df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    m = resolve(mapping, options).canonical_defaults(df.columns)
    return build_log(df, m, engine=engine, path=None, row_offset=1)


def from_arrow(
    table: pa.Table | pa.RecordBatch,
    mapping: ColumnMapping | None = None,
    *,
    engine: str | Engine = "polars",
    **options: Any,
) -> EventLog:
    """Build a log from an Arrow table; same arguments as :func:`from_polars`.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from_arrow(pa.table({"case_id": ["x"], "activity": ["a"], "timestamp": [0]})).n_cases
    1
    """
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return from_polars(frame, mapping, engine=engine, **options)


# -- XES ----------------------------------------------------------------------------------------


def read_xes(
    path: str | Path,
    mapping: ColumnMapping | None = None,
    *,
    engine: str | Engine = "polars",
    limits: ReadLimits | None = None,
    **options: Any,
) -> EventLog:
    """Read an XES or XES.gz log with the Rust reader ``rustxes``.

    The mapping defaults to the XES keys (:meth:`ColumnMapping.xes`); trace attributes
    appear as ``case:<key>``. Before parsing, the prolog is read token by token and a DTD or
    entity declaration refused; a ``.xes.gz`` is streamed once to bound its expansion
    (``limits``, :class:`ReadLimits`).
    ``resource`` and ``lifecycle`` are used when the log has them.

    Examples
    --------
    >>> log = read_xes("helpdesk.xes.gz")  # doctest: +SKIP
    """
    m = resolve(mapping, options, base=ColumnMapping.xes())
    p = Path(path)
    if not p.is_file():
        raise LogFormatError("no such file", path=str(path))
    check_xes(p, limits or ReadLimits())
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
    standard = ColumnMapping.xes()
    absent: dict[str, Any] = {}
    if m.resource == standard.resource and m.resource not in frame.columns:
        absent["resource"] = None
    if m.lifecycle == standard.lifecycle and m.lifecycle not in frame.columns:
        absent["lifecycle"] = None
    m = m.with_options(**absent)
    return build_log(frame, m, engine=engine, path=str(path), row_offset=1)
