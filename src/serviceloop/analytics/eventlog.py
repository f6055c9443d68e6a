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
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from ._engine import Engine, PolarsEngine, get_engine
from ._schema import (
    ACTIVITY,
    CASE_ID,
    RESOURCE,
    START_TIMESTAMP,
    TIMESTAMP,
    A,
    C,
    I,
    R,
    S,
    T,
)
from ._timestamps import to_epoch_us

if TYPE_CHECKING:
    import pyarrow as pa

from .errors import (
    DuplicateEventError,
    EmptyLogError,
    InvalidParameterError,
    LogFormatError,
    MissingColumnError,
    MissingValueError,
)

__all__ = ["EventLog", "from_arrow", "from_polars", "read_csv", "read_parquet", "read_xes"]

Duplicates = Literal["error", "keep", "drop"]
_POS = "__pos"
DEFAULT_NULLS = ("", "?", "NA", "N/A", "null", "NULL", "None")


class EventLog:
    """An event log, coded and sorted once, ready for every analysis.

    Build one with :func:`read_csv`, :func:`read_xes`, :func:`read_parquet`,
    :func:`from_arrow` or :func:`from_polars`; analyses take it as their first argument.

    Examples
    --------
    >>> import polars as pl
    >>> log = from_polars(pl.DataFrame({
    ...     "case_id": ["a", "a", "b"], "activity": ["Open", "Close", "Open"],
    ...     "timestamp": ["2024-01-01 09:00", "2024-01-01 10:00", "2024-01-02 09:00"]}))
    >>> log.n_events, log.n_cases, log.activities
    (3, 2, ['Close', 'Open'])
    """

    def __init__(
        self,
        events: Any,
        *,
        activity_names: pl.Series,
        case_names: pl.Series,
        resource_names: pl.Series | None,
        attributes: tuple[str, ...],
        engine: Engine,
        source: str | None = None,
    ) -> None:
        self._events = events
        self.activity_names = activity_names
        self.case_names = case_names
        self.resource_names = resource_names
        self.attributes = attributes
        self.engine = engine
        self.source = source

    # -- facts -------------------------------------------------------------------------------
    @property
    def activities(self) -> list[str]:
        """Activity names, sorted (the activity code is the position in this list)."""
        return self.activity_names.to_list()

    @property
    def has_start(self) -> bool:
        """Whether events carry a start timestamp (waiting vs processing time)."""
        return S in self.columns

    @property
    def has_resource(self) -> bool:
        """Whether events carry a resource (workload, handovers)."""
        return R in self.columns

    @property
    def columns(self) -> list[str]:
        return list(self.engine.lazy(self._events).collect_schema().names())

    @cached_property
    def _counts(self) -> tuple[int, int]:
        import narwhals as nw

        out = self.engine.collect(
            self.engine.lazy(self._events).select(n=nw.len(), c=nw.col(C).n_unique())
        )
        return int(out["n"][0] or 0), int(out["c"][0] or 0)

    @property
    def n_events(self) -> int:
        return self._counts[0]

    @property
    def n_cases(self) -> int:
        return self._counts[1]

    def __repr__(self) -> str:
        where = f" from {self.source}" if self.source else ""
        return (
            f"<EventLog{where}: {self.n_events} events, {self.n_cases} cases, "
            f"{len(self.activity_names)} activities, engine={self.engine.name}>"
        )

    # -- engine plumbing used by the analyses --------------------------------------------------
    def lazy(self) -> Any:
        """The coded table as a Narwhals LazyFrame (for analyses written once)."""
        return self.engine.lazy(self._events)

    @cached_property
    def _with_next(self) -> Any:
        return self.engine.with_next(self._events)

    def lazy_steps(self) -> Any:
        """The coded table plus the next event of the same case (computed once per log)."""
        return self.engine.lazy(self._with_next)

    def _derive(self, events: Any) -> EventLog:
        """A log over a subset of these events (filters), sharing the dictionaries."""
        return EventLog(
            events,
            activity_names=self.activity_names,
            case_names=self.case_names,
            resource_names=self.resource_names,
            attributes=self.attributes,
            engine=self.engine,
            source=self.source,
        )

    def with_engine(self, engine: str | Engine) -> EventLog:
        """Return the same log on another engine (``"polars"`` or ``"spark"``)."""
        target = get_engine(engine)
        return EventLog(
            target.adopt(self.coded()),
            activity_names=self.activity_names,
            case_names=self.case_names,
            resource_names=self.resource_names,
            attributes=self.attributes,
            engine=target,
            source=self.source,
        )

    def coded(self) -> pl.DataFrame:
        """The coded, sorted event table as a Polars frame (collects from Spark if needed)."""
        if isinstance(self.engine, PolarsEngine):
            return self._events  # type: ignore[no-any-return]
        return self.engine.collect(self.lazy().sort(C, T, I))

    # -- decoding ------------------------------------------------------------------------------
    def decode_activity(self, codes: pl.Expr | str) -> pl.Expr:
        """Expression turning an activity-code column into names."""
        return _decode(codes, self.activity_names)

    def decode_case(self, codes: pl.Expr | str) -> pl.Expr:
        return _decode(codes, self.case_names)

    def decode_resource(self, codes: pl.Expr | str) -> pl.Expr:
        if self.resource_names is None:
            return pl.lit(None, pl.String)
        return _decode(codes, self.resource_names)

    def to_polars(self) -> pl.DataFrame:
        """The log with names and UTC datetimes again (canonical columns + attributes)."""
        ev = self.coded()
        cols = [
            self.decode_case(C).alias(CASE_ID),
            self.decode_activity(A).alias(ACTIVITY),
            pl.from_epoch(T, "us").dt.replace_time_zone("UTC").alias(TIMESTAMP),
        ]
        if S in ev.columns:
            cols.append(pl.from_epoch(S, "us").dt.replace_time_zone("UTC").alias(START_TIMESTAMP))
        if R in ev.columns:
            cols.append(self.decode_resource(R).alias(RESOURCE))
        return ev.select([*cols, *self.attributes])


def _decode(codes: pl.Expr | str, names: pl.Series) -> pl.Expr:
    col = pl.col(codes) if isinstance(codes, str) else codes
    return pl.lit(names).gather(col)


# -- building -----------------------------------------------------------------------------------
def _build(
    frame: pl.DataFrame,
    *,
    case: str,
    activity: str,
    timestamp: str,
    start_timestamp: str | None,
    resource: str | None,
    lifecycle: str | None,
    attributes: Sequence[str] | None,
    timestamp_format: str | None,
    day_first: bool,
    timezone: str,
    duplicates: Duplicates,
    engine: str | Engine,
    path: str | None,
    row_offset: int,
) -> EventLog:
    if duplicates not in ("error", "keep", "drop"):
        raise InvalidParameterError(
            f"duplicates must be 'error', 'keep' or 'drop', not {duplicates!r}"
        )
    available = frame.columns
    mapped = [case, activity, timestamp, start_timestamp, resource, lifecycle]
    for col in mapped:
        if col is not None and col not in available:
            raise MissingColumnError(col, available, path=path)
    used = {c for c in mapped if c is not None}
    if attributes is None:
        attrs = [c for c in available if c not in used and not c.startswith("__")]
    else:
        attrs = list(attributes)
        for col in attrs:
            if col not in available:
                raise MissingColumnError(col, available, path=path)
    frame = frame.select([*dict.fromkeys([*(c for c in mapped if c), *attrs])]).with_row_index(I)
    frame = frame.with_columns(pl.col(I).cast(pl.Int64))
    if frame.height == 0:
        raise EmptyLogError(f"{path or 'the log'} has no events")

    if lifecycle is not None:
        frame = _apply_lifecycle(frame, case, activity, timestamp, lifecycle, start_timestamp)
        if "__lc_start" in frame.columns:
            start_timestamp = "__lc_start"

    for col in (case, activity, timestamp):
        nulls = frame[col].is_null()
        if nulls.any():
            at = int(nulls.arg_true()[0])
            raise MissingValueError(
                column=col, row=int(frame[I][at]) + row_offset, count=int(nulls.sum()), path=path
            )
    ts_opts: dict[str, Any] = {
        "row_col": I,
        "row_offset": row_offset,
        "timestamp_format": timestamp_format,
        "day_first": day_first,
        "timezone": timezone,
        "path": path,
    }
    cols: list[pl.Series | pl.Expr] = [to_epoch_us(frame, timestamp, **ts_opts).alias(T)]
    if start_timestamp is not None:
        start = to_epoch_us(frame, start_timestamp, **ts_opts)
        cols.append(start.alias(S))

    act = frame[activity].cast(pl.String)
    activity_names = act.unique().sort()
    cols.append(act.cast(pl.Enum(activity_names)).to_physical().alias(A))
    resource_names = None
    if resource is not None:
        res = frame[resource].cast(pl.String)
        resource_names = res.drop_nulls().unique().sort()
        cols.append(res.cast(pl.Enum(resource_names)).to_physical().alias(R))

    case_str = frame[case].cast(pl.String)
    pos = pl.int_range(frame.height, dtype=pl.Int64, eager=True)  # I may skip filtered rows
    coded = frame.select(I, *dict.fromkeys(attrs)).with_columns(
        _first_rows(case_str, pos), *cols, pos.alias(_POS)
    )
    coded = _shared_sort(coded)
    starts = pl.col(C) != pl.col(C).shift(1).fill_null(-1)
    # Two cases sharing a 64-bit hash would share a run: a second, independent hash must then
    # change inside the run (odds 2**-128; comparing the strings themselves costs a string gather).
    check = case_str.hash(seed=0x5EED).gather(coded[_POS])
    if (~coded.select(starts).to_series() & (check != check.shift(1))).any():
        # A 64-bit hash collision merged two cases: code them by the strings instead.
        coded = _shared_sort(coded.with_columns(_first_rows(case_str, pos, exact=True)))
    case_names = case_str.gather(coded.filter(starts)[C])
    coded = coded.with_columns(pl.col(C).rle_id().cast(pl.Int64).set_sorted()).drop(_POS)
    coded = _check_duplicates(coded, duplicates, path, row_offset)
    keep = [c for c in (C, A, T, S, R, I) if c in coded.columns]
    coded = coded.select(*keep, *attrs)
    eng = get_engine(engine)
    return EventLog(
        eng.adopt(coded),
        activity_names=activity_names,
        case_names=case_names,
        resource_names=resource_names,
        attributes=tuple(attrs),
        engine=eng,
        source=path,
    )


def _first_rows(case: pl.Series, rows: pl.Series, *, exact: bool = False) -> pl.Series:
    """Case code = the position of the case's first row: first-appearance order, no string sort.

    Grouping by the 64-bit hash of the id is much cheaper than by the string; the caller checks
    that no two cases shared a hash (and then retries with ``exact=True``).
    """
    key = case if exact else case.hash()
    return pl.DataFrame({"k": key, I: rows}).select(pl.col(I).min().over("k")).to_series().alias(C)


def _shared_sort(coded: pl.DataFrame) -> pl.DataFrame:
    """The one sort: by (case, time, file order).

    Real exports are grouped by case or ordered by time. Grouped and time-ordered within cases:
    no sort. Time-ordered: a stable sort by case alone is enough. Otherwise the full sort.
    """
    in_order = (pl.col(T) >= pl.col(T).shift(1)) | (pl.col(C) != pl.col(C).shift(1))
    if coded.select((pl.col(C).diff() >= 0).all() & in_order.fill_null(True).all()).item():
        return coded
    by_case = coded.sort(C, maintain_order=True)
    if by_case.select(in_order.fill_null(True).all()).item():
        return by_case
    return by_case.sort(C, T, I)


def _apply_lifecycle(
    frame: pl.DataFrame,
    case: str,
    activity: str,
    timestamp: str,
    lifecycle: str,
    start_timestamp: str | None,
) -> pl.DataFrame:
    """Keep 'complete' events; pair the k-th 'start' of an activity with its k-th 'complete'."""
    kind = frame[lifecycle].cast(pl.String).str.to_lowercase().fill_null("complete")
    frame = frame.with_columns(kind.alias("__lc"))
    complete = frame.filter(pl.col("__lc") == "complete")
    starts = frame.filter(pl.col("__lc") == "start")
    if starts.height and start_timestamp is None:
        key = [case, activity]
        nth = pl.int_range(pl.len()).over(key).alias("__nth")
        starts = starts.sort(I).select(*key, nth, pl.col(timestamp).alias("__lc_start"))
        complete = (
            complete.sort(I)
            .with_columns(nth)
            .join(starts, on=[*key, "__nth"], how="left", nulls_equal=False)
        )
        complete = complete.with_columns(
            pl.coalesce("__lc_start", timestamp).alias("__lc_start")
        ).drop("__nth")
    return complete.drop("__lc").sort(I)


def _check_duplicates(
    coded: pl.DataFrame, duplicates: Duplicates, path: str | None, row_offset: int
) -> pl.DataFrame:
    """Duplicates share case and time, so only rows tied on (case, time) need a full check."""
    if duplicates == "keep":
        return coded
    key = [c for c in (C, A, T, S, R) if c in coded.columns]
    tied = (pl.col(C) == pl.col(C).shift(1)) & (pl.col(T) == pl.col(T).shift(1))
    tied = tied | tied.shift(-1)
    suspects = coded.filter(tied.fill_null(False))
    if suspects.height == 0:
        return coded
    first = pl.col(I).min().over(key).alias("__first")
    dup = suspects.select(I, first).filter(pl.col(I) != pl.col("__first")).sort(I)
    if dup.height == 0:
        return coded
    if duplicates == "drop":
        return coded.filter(~pl.col(I).is_in(dup[I].implode()))
    raise DuplicateEventError(
        row=int(dup[I][0]) + row_offset,
        duplicate_of=int(dup["__first"][0]) + row_offset,
        count=dup.height,
        path=path,
    )


# -- readers ------------------------------------------------------------------------------------
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
    return _build(
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
    log never has to fit in this process (``path`` may then be a directory of Parquet files).

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
    return _build(
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
    return _build(
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
    return _build(
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
