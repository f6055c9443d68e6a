"""Mining a Parquet log too big for memory: the same answers, one slice of the cases at a time.

Every analysis here is per case (a case's events are all it needs), so the log is split by a
hash of the case id into parts that each fit in memory: one pass reads the file in row slices
and writes each slice's part of the events (case, activity, time, file row) to a scratch
folder; then each part is loaded like any log (:func:`~serviceloop.analytics.from_polars`, every
check included, rows numbered as in the file) and mined; the partial answers are merged.

Counts add up across parts (cases are never split); medians and percentiles of the DFG need
every duration, so each part hands over its edges' durations (8 bytes an event) and they are
aggregated once at the end. Case order, variant ties and row numbers in errors follow the
file, exactly as when the whole log is loaded, so the frames equal those of :func:`dfg`,
:func:`start_activities`, :func:`end_activities`, :func:`variants`, :func:`case_durations`,
:func:`rework` and :func:`throughput`.
"""

from __future__ import annotations

import math
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import polars as pl

from ._build import build_log
from ._engine import FIRST, VARIANT
from ._json import to_python, write_json
from ._mapping import ColumnMapping, Duplicates
from ._schema import A2, ACTIVITY, CASE_ID, T2, TIMESTAMP, US, A, C, I, T
from ._timestamps import detect_format
from .errors import EmptyLogError, InvalidParameterError, LogFormatError, MissingColumnError
from .performance import duration_summary, rework_table, with_backlog, zone_of
from .result import discovery_parts
from .times import rank_bottlenecks

__all__ = ["LargeLogResult", "mine_large_parquet"]

_ROW = "__file_row"
_PART = "__part"
_DUR = "__dur"
_FIRST_ROW = "__first_row"


@dataclass(frozen=True)
class LargeLogResult:
    """What :func:`mine_large_parquet` found; the frames are those of the in-memory functions."""

    events: int
    cases: int
    parts: int
    dfg: pl.DataFrame
    start_activities: pl.DataFrame
    end_activities: pl.DataFrame
    variants: pl.DataFrame
    case_durations: pl.DataFrame
    rework: pl.DataFrame
    throughput_day: pl.DataFrame
    throughput_week: pl.DataFrame

    def path_bottlenecks(self) -> pl.DataFrame:
        """The ``edge`` rows of :func:`~serviceloop.analytics.bottlenecks`, from the DFG: the
        time between two activities, most total first (waits *before* an activity need every
        duration of its incoming edges at once, which is what this path avoids)."""
        return rank_bottlenecks(
            self.dfg.select(
                pl.lit("edge").alias("kind"),
                "source",
                "target",
                pl.lit("elapsed").alias("time"),
                pl.exclude("source", "target", "cases"),
            )
        )

    def json_document(self, *, top_variants: int | None = None) -> dict[str, Any]:
        """The JSON of :meth:`to_dict` with its tables still frames (for :meth:`write_json`)."""
        names = {*self.start_activities["activity"], *self.end_activities["activity"]}
        names |= {*self.dfg["source"], *self.dfg["target"]}
        return {
            **discovery_parts(
                events=self.events,
                cases=self.cases,
                activities=sorted(names),
                duration_summary=duration_summary(self.case_durations),
                start_activities=self.start_activities,
                end_activities=self.end_activities,
                dfg=self.dfg,
                variants=self.variants,
                top_variants=top_variants,
            ),
            "bottlenecks": self.path_bottlenecks(),
            "rework": self.rework,
            "throughput": {"day": self.throughput_day, "week": self.throughput_week},
        }

    def to_dict(self, *, top_variants: int | None = None) -> dict[str, Any]:
        """JSON-ready dict with the keys of :meth:`AnalysisResult.to_dict` this path computes
        (``rework`` and ``throughput`` included), and ``bottlenecks`` limited to paths between
        two activities."""
        return to_python(self.json_document(top_variants=top_variants))  # type: ignore[no-any-return]

    def write_json(self, out: IO[bytes], *, top_variants: int | None = None) -> None:
        """Write :meth:`to_dict`'s content as compact JSON from the frames' columns."""
        write_json(self.json_document(top_variants=top_variants), out)


def mine_large_parquet(
    path: str | Path,
    *,
    case: str = CASE_ID,
    activity: str = ACTIVITY,
    timestamp: str = TIMESTAMP,
    part_events: int = 8_000_000,
    slice_events: int = 10_000_000,
    duplicates: Duplicates = "error",
    workdir: str | Path | None = None,
    time_zone: str | None = None,
) -> LargeLogResult:
    """DFG (frequency and performance), start / end activities, variants, case durations, rework
    and throughput (days of ``time_zone``, else UTC) of a Parquet log of any size, holding about
    ``part_events`` events in memory at a time.

    ``slice_events`` rows are read per step of the splitting pass; the parts go to a scratch
    folder under ``workdir`` (default: the system's temporary folder; pass a folder on disk if
    that one lives in memory), removed afterwards: about 30 bytes an event (2.8 GB at 100M).

    Examples
    --------
    >>> r = mine_large_parquet("benchmarks/data/log_100m.parquet")  # doctest: +SKIP
    >>> r.events, r.cases, r.parts  # doctest: +SKIP
    (99999884, 15139661, 13)
    """
    if part_events < 1 or slice_events < 1:
        raise InvalidParameterError("part_events and slice_events must be positive")
    zone_of(time_zone)  # an unknown zone fails now, not after the long splitting pass
    p = Path(path)
    if not p.is_file():
        raise LogFormatError("no such file", path=str(path))
    try:
        lazy = pl.scan_parquet(p, row_index_name=_ROW)  # numbers rows without reading them
        names = lazy.collect_schema().names()
        n_rows = int(lazy.select(pl.len()).collect().item())
    except (pl.exceptions.ComputeError, OSError) as exc:
        raise LogFormatError(f"not a readable Parquet file: {exc}", path=str(path)) from exc
    for col in (case, activity, timestamp):
        if col not in names:
            raise MissingColumnError(col, names, path=str(path))
    if n_rows == 0:
        raise EmptyLogError(f"{path} has no events")
    n_parts = max(1, math.ceil(n_rows / part_events))
    fmt = _timestamp_format(lazy, timestamp)
    with tempfile.TemporaryDirectory(prefix="serviceloop-parts-", dir=workdir) as scratch:
        folders, activities = _split(
            lazy, Path(scratch), case, activity, timestamp, n_rows, n_parts, slice_events
        )
        partials = [
            _mine_part(
                folder, activities, case, activity, timestamp, fmt, duplicates, str(path), time_zone
            )
            for folder in folders
        ]
    return _merge([p for p in partials if p is not None], activities, n_parts)


def _split(
    lazy: pl.LazyFrame,
    scratch: Path,
    case: str,
    activity: str,
    timestamp: str,
    n_rows: int,
    n_parts: int,
    slice_events: int,
) -> tuple[list[Path], pl.Series]:
    """Write each slice's events into one file per part (a part's files keep the file order);
    return the part folders and every activity name, sorted.

    Activities travel as codes of one Enum of every name (found first, by a streaming pass
    over that column alone): a byte an event instead of the string, on disk and in memory.
    """
    names = (
        lazy.select(pl.col(activity).cast(pl.String).unique().drop_nulls().sort())
        .collect(engine="streaming")
        .to_series()
    )
    enum = pl.Enum(names)
    folders = [scratch / f"part-{k:04d}" for k in range(n_parts)]
    for folder in folders:
        folder.mkdir()
    part = (pl.col(case).cast(pl.String).hash(seed=0x9A27) % n_parts).alias(_PART)

    def read(start: int) -> pl.DataFrame:
        query = lazy.select(_ROW, case, activity, timestamp).slice(start, slice_events)
        return query.with_columns(part, pl.col(activity).cast(pl.String).cast(enum)).collect()

    # Polars lets go of the GIL: the next slice is read while this one is cut and written.
    starts = range(0, n_rows, slice_events)
    with ThreadPoolExecutor(max_workers=1) as reader:
        pending = reader.submit(read, starts[0])
        for n in range(len(starts)):
            rows = pending.result()
            if n + 1 < len(starts):
                pending = reader.submit(read, starts[n + 1])
            for (k,), piece in rows.partition_by(_PART, as_dict=True, include_key=False).items():
                piece.write_ipc(folders[int(k)] / f"{n:06d}.arrow")  # 3x faster than Parquet
            del rows
    return folders, names


@dataclass(frozen=True)
class _Partial:
    """One part's answers, activities already coded in the merged names (codes of ``names``)."""

    events: int
    cases: int
    edges: dict[tuple[int, int], pl.Series]  # (A, A2) -> seconds of each directly-follows pair
    edge_cases: pl.DataFrame  # A, A2, cases
    start: pl.DataFrame  # activity, count
    end: pl.DataFrame
    variants: pl.DataFrame  # VARIANT (list of codes), count, __first_row
    durations: pl.DataFrame  # case_durations columns + __first_row
    rework: pl.DataFrame  # rework() of the part: its counts add up over parts
    throughput: dict[str, pl.DataFrame]  # "day" / "week" -> throughput() of the part


def _timestamp_format(lazy: pl.LazyFrame, timestamp: str) -> str | None:
    """Timestamps written as text get one format for the whole file, found on its first rows,
    so that no part reads them differently."""
    if lazy.collect_schema()[timestamp] != pl.String:
        return None
    head = lazy.select(pl.col(timestamp).drop_nulls().head(2000)).collect().to_series()
    return detect_format(head, day_first=False, tz="UTC")


def _mine_part(
    folder: Path,
    names: pl.Series,
    case: str,
    activity: str,
    timestamp: str,
    timestamp_format: str | None,
    duplicates: Duplicates,
    path: str,
    time_zone: str | None,
) -> _Partial | None:
    from .discovery import end_activities, start_activities
    from .performance import case_durations, rework, throughput

    files = sorted(folder.glob("*.arrow"))
    if not files:
        return None
    frame = pl.scan_ipc(files).collect()
    mapping = ColumnMapping(
        case=case,
        activity=activity,
        timestamp=timestamp,
        attributes=(),
        timestamp_format=timestamp_format,
        duplicates=duplicates,
    )
    log = build_log(frame, mapping, engine="polars", path=path, row_offset=1, row_index=_ROW)
    del frame
    lut = pl.lit(log.activity_names.cast(pl.Enum(names)).to_physical())
    steps: pl.DataFrame = log._with_next
    pairs = steps.filter(pl.col(A2).is_not_null()).select(
        lut.gather(pl.col(A)).alias(A),
        lut.gather(pl.col(A2)).alias(A2),
        ((pl.col(T2) - pl.col(T)).cast(pl.Float64) / US).alias(_DUR),
        C,
    )
    edge_cases = pairs.group_by(A, A2).agg(pl.col(C).n_unique().alias("cases"))
    # A case first appears at its smallest file row. When file order agrees with time order in
    # every case (exports in time order), that is the row flagged first: no min over all rows.
    rows_in_order = steps.select(
        ((pl.col(I) > pl.col(I).shift(1)) | pl.col(FIRST)).fill_null(True).all()
    ).item()
    if rows_in_order:
        per_case = steps.group_by(C, maintain_order=True).agg(pl.col(A).alias(VARIANT))
        per_case = per_case.with_columns(steps.filter(pl.col(FIRST))[I].alias(_FIRST_ROW))
    else:
        per_case = steps.group_by(C, maintain_order=True).agg(
            pl.col(A).alias(VARIANT), pl.col(I).min().alias(_FIRST_ROW)
        )
    variants = per_case.group_by(VARIANT).agg(pl.len().alias("count"), pl.col(_FIRST_ROW).min())
    return _Partial(
        events=steps.height,
        cases=per_case.height,
        edges={
            (int(a), int(b)): piece.to_series()
            for (a, b), piece in pairs.select(A, A2, _DUR)
            .partition_by([A, A2], as_dict=True, include_key=False)
            .items()
        },
        edge_cases=edge_cases,
        start=start_activities(log),
        end=end_activities(log),
        variants=variants.with_columns(pl.col(VARIANT).list.eval(lut.gather(pl.element()))),
        durations=case_durations(log).with_columns(per_case[_FIRST_ROW]),
        rework=rework(log),
        throughput={
            every: throughput(log, every=every, time_zone=time_zone) for every in ("day", "week")
        },
    )


def _merge(partials: list[_Partial], names: pl.Series, n_parts: int) -> LargeLogResult:
    # One edge at a time: its durations from every part, sorted once for median and p90, then
    # let go, so memory never holds a second copy of all the durations.
    by_edge: dict[tuple[int, int], list[pl.Series]] = {}
    for p in partials:
        while p.edges:
            key, seconds = p.edges.popitem()
            by_edge.setdefault(key, []).append(seconds)
    rows = []
    for a, b in sorted(by_edge):
        x = pl.concat(by_edge.pop((a, b))).sort()
        rows.append(
            (a, b, x.len(), x.mean(), x.median(), x.quantile(0.9, interpolation="linear"), x.sum())
        )
    stats = pl.DataFrame(
        rows,
        schema={
            A: pl.UInt32,
            A2: pl.UInt32,
            "count": pl.Int64,
            "mean_seconds": pl.Float64,
            "median_seconds": pl.Float64,
            "p90_seconds": pl.Float64,
            "total_seconds": pl.Float64,
        },
        orient="row",
    )
    cases = (
        pl.concat([p.edge_cases for p in partials])
        .group_by(A, A2)
        .agg(pl.col("cases").sum().cast(pl.Int64))
        .with_columns(pl.col(A, A2).cast(pl.UInt32))
    )
    decode = pl.lit(names)
    dfg = (
        stats.join(cases, on=[A, A2])
        .select(
            decode.gather(pl.col(A)).alias("source"),
            decode.gather(pl.col(A2)).alias("target"),
            "count",
            "cases",
            "mean_seconds",
            "median_seconds",
            "p90_seconds",
            "total_seconds",
        )
        .sort(["count", "source", "target"], descending=[True, False, False])
    )

    def counts(frames: list[pl.DataFrame]) -> pl.DataFrame:
        return (
            pl.concat(frames)
            .group_by("activity")
            .agg(pl.col("count").sum())
            .sort(["count", "activity"], descending=[True, False])
        )

    total_cases = sum(p.cases for p in partials)
    variants = (
        pl.concat([p.variants for p in partials])
        .group_by(VARIANT)
        .agg(pl.col("count").sum(), pl.col(_FIRST_ROW).min())
        .sort(["count", _FIRST_ROW], descending=[True, False])
        .select(
            pl.col(VARIANT).list.eval(decode.gather(pl.element())).alias("activities"),
            pl.col("count").cast(pl.Int64),
            (pl.col("count") / total_cases).alias("share"),
            pl.col(VARIANT).list.len().cast(pl.Int64).alias("length"),
        )
    )
    case_durations = (
        pl.concat([p.durations for p in partials], rechunk=False).sort(_FIRST_ROW).drop(_FIRST_ROW)
    )
    return LargeLogResult(
        events=sum(p.events for p in partials),
        cases=total_cases,
        parts=n_parts,
        dfg=dfg,
        start_activities=counts([p.start for p in partials]),
        end_activities=counts([p.end for p in partials]),
        variants=variants,
        case_durations=case_durations,
        rework=_merge_rework([p.rework for p in partials]),
        throughput_day=_merge_throughput([p.throughput["day"] for p in partials], step_days=1),
        throughput_week=_merge_throughput([p.throughput["week"] for p in partials], step_days=7),
    )


def _merge_throughput(frames: list[pl.DataFrame], *, step_days: int) -> pl.DataFrame:
    """:func:`~serviceloop.analytics.throughput` of the whole log: opened and closed summed per
    period over every period of the span, the backlog accumulated again."""
    both = pl.concat(frames).group_by("period").agg(pl.col("opened", "closed").sum())
    grid = both.select(
        pl.date_range(pl.col("period").min(), pl.col("period").max(), f"{step_days}d")
    )
    return with_backlog(grid.join(both, on="period", how="left").fill_null(0))


def _merge_rework(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """:func:`~serviceloop.analytics.rework` of the whole log: counts summed, shares recomputed."""
    counts = ["cases", "cases_repeated", "repeats", "self_loops"]
    return rework_table(pl.concat(frames).group_by("activity").agg(pl.col(counts).sum()))
