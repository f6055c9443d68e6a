"""Prefix features: one row per event, describing its case *up to and including* that event.

Every feature is a cumulative or backward-looking window over the case (counts so far, the last
activities, time since the case started and since the previous event, the current resource and
attribute values), so a prefix never sees a later event. Targets (remaining time, next activity,
total duration) are computed apart, by :func:`add_targets`, for training only.

Names are coded with the *model's* vocabularies (built from the training log), never with the
codes of the log at hand: a log scored later has its own activity codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from .._log import EventLog
from .._schema import US, A, C, R, T

__all__ = [
    "CASE",
    "END",
    "Vocabulary",
    "add_targets",
    "build_vocabulary",
    "events_frame",
    "feature_matrix",
    "prefix_features",
]

CASE, ACT, TS, RES = "case", "activity", "ts", "resource"
END = "(end)"  # the "next activity" of a prefix that is the whole case
DAY = 86_400 * US
MAX_COUNTED = 40  # activities that get a count column (the most frequent ones)
MAX_LEVELS = 60  # values kept per categorical column; rarer ones share one "other" code
MAX_PREFIXES = 250  # activity sequences so far that get their own code (the most frequent)
_P = 2_147_483_647  # prime modulus of the prefix hash (values stay far from Int64 overflow)
_B = 1_000_003
_ATTR = "attr:"
_CID = "__case_run"  # 0, 1, 2, ... per run of one case id (each case's events are contiguous)


@dataclass(frozen=True)
class Vocabulary:
    """Names seen in training and their codes; unknown names get ``len(names)``."""

    activities: tuple[str, ...]
    counted: tuple[str, ...]
    resources: tuple[str, ...] | None
    prefixes: tuple[int, ...] = ()
    categorical: dict[str, tuple[str, ...]] = field(default_factory=dict)
    numeric: tuple[str, ...] = ()
    timezone: str = "UTC"

    def to_dict(self) -> dict[str, Any]:
        return {
            "activities": list(self.activities),
            "counted": list(self.counted),
            "resources": None if self.resources is None else list(self.resources),
            "prefixes": list(self.prefixes),
            "categorical": {k: list(v) for k, v in self.categorical.items()},
            "numeric": list(self.numeric),
            "timezone": self.timezone,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocabulary:
        return cls(
            activities=tuple(data["activities"]),
            counted=tuple(data["counted"]),
            resources=None if data["resources"] is None else tuple(data["resources"]),
            prefixes=tuple(data["prefixes"]),
            categorical={k: tuple(v) for k, v in data["categorical"].items()},
            numeric=tuple(data["numeric"]),
            timezone=data["timezone"],
        )

    @property
    def attributes(self) -> tuple[str, ...]:
        return (*self.categorical, *self.numeric)

    def feature_names(self) -> list[str]:
        names = [
            "prefix_length",
            "elapsed_days",
            "gap_days",
            "hour",
            "weekday",
            "start_hour",
            "start_weekday",
            "last_activity",
            "previous_activity",
            "activity_before_previous",
            "distinct_activities",
            "prefix",
            *(f"count:{a}" for a in self.counted),
        ]
        if self.resources is not None:
            names += ["resource", "previous_resource", "handovers"]
        names += [f"{_ATTR}{a}" for a in self.categorical]
        names += [f"{_ATTR}{a}" for a in self.numeric]
        return names

    def categorical_features(self) -> list[str]:
        names = ["last_activity", "previous_activity", "activity_before_previous", "prefix"]
        if self.resources is not None:
            names += ["resource", "previous_resource"]
        return names + [f"{_ATTR}{a}" for a in self.categorical]


def events_frame(log: EventLog) -> pl.DataFrame:
    """The log with names: ``case``, ``activity``, ``ts`` (UTC epoch µs), ``resource``, attributes.

    Rows keep the log's one sort (case, time, file order), so each case is contiguous: every
    function of this module relies on it (filtering rows keeps it).
    """
    ev = log.coded()
    cols = [
        log.decode_case(C).cast(pl.String).alias(CASE),
        log.decode_activity(A).cast(pl.String).alias(ACT),
        pl.col(T).alias(TS),
        (log.decode_resource(R) if R in ev.columns else pl.lit(None, pl.String))
        .cast(pl.String)
        .alias(RES),
    ]
    cols += [pl.col(a).alias(f"{_ATTR}{a}") for a in log.attributes]
    return ev.select(cols)


def _top(values: pl.Series, limit: int) -> tuple[str, ...]:
    counts = values.drop_nulls().cast(pl.String).value_counts(sort=True, name="n")
    counts = counts.sort(["n", values.name], descending=[True, False])
    return tuple(counts[values.name].head(limit).to_list())


def build_vocabulary(
    events: pl.DataFrame, *, attributes: tuple[str, ...], timezone: str
) -> Vocabulary:
    """Vocabularies of a training frame from :func:`events_frame`."""
    activities = tuple(sorted(events[ACT].unique().to_list()))
    counted = _top(events[ACT], MAX_COUNTED)
    has_resource = events[RES].null_count() < events.height
    resources = _top(events[RES], MAX_LEVELS) if has_resource else None
    categorical: dict[str, tuple[str, ...]] = {}
    numeric: list[str] = []
    for name in attributes:
        col = events[f"{_ATTR}{name}"]
        if col.dtype.is_numeric():
            numeric.append(name)
            continue
        as_number = col.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
        if col.null_count() < col.len() and as_number.null_count() == col.null_count():
            numeric.append(name)
        else:
            categorical[name] = _top(col, MAX_LEVELS)
    hashes = _prefix_hash(events, _code(pl.col(ACT), activities))
    top = hashes.value_counts(sort=True, name="n").sort(["n", "h"], descending=[True, False])
    return Vocabulary(
        activities=activities,
        counted=counted,
        resources=resources,
        prefixes=tuple(top["h"].head(MAX_PREFIXES).to_list()),
        categorical=categorical,
        numeric=tuple(numeric),
        timezone=timezone,
    )


def _code(expr: pl.Expr, names: tuple[str, ...]) -> pl.Expr:
    """Code names by the vocabulary; unknown ones get ``len(names)``, missing ones stay null."""
    mapping = {name: i for i, name in enumerate(names)}
    return expr.cast(pl.String).replace_strict(
        mapping, default=len(names), return_dtype=pl.Int32
    ) + pl.when(expr.is_null()).then(None).otherwise(0)


def _prefix_hash(frame: pl.DataFrame, codes: pl.Expr) -> pl.Series:
    """A polynomial hash of the activity sequence so far, times 64 plus its length (capped).

    sum over i of (code_i + 1) * B^i mod P: a cumulative sum, so it vectorises; two different
    sequences of the same length collide with probability about 1/P.
    """
    pos = frame.select(pl.int_range(pl.len()).over(pl.col(CASE).rle_id()).alias("p"))["p"]
    powers = pl.Series(_powers(_int(pos.max()) + 1), dtype=pl.Int64)
    parts = frame.select(pl.col(CASE).rle_id().alias(_CID), codes.cast(pl.Int64).alias("c"))
    parts = parts.with_columns(pos, powers.gather(pos).alias("w"))
    term = ((pl.col("c") + 1) * pl.col("w")) % _P
    out = (term.cum_sum().over(_CID) % _P) * 64 + (pl.col("p") + 1).clip(upper_bound=63)
    return parts.select(out.alias("h"))["h"]


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _powers(n: int) -> list[int]:
    out, x = [], 1
    for _ in range(n):
        out.append(x)
        x = x * _B % _P
    return out


def prefix_features(events: pl.DataFrame, vocab: Vocabulary) -> pl.DataFrame:
    """One row per event: ``case``, ``activity``, ``ts`` and every feature of its prefix."""
    over = pl.col(_CID)  # cases are contiguous: windows over a run id, not hashed strings
    local = pl.from_epoch(TS, "us").dt.replace_time_zone("UTC").dt.convert_time_zone(vocab.timezone)
    act = _code(pl.col(ACT), vocab.activities)
    frame = events.with_columns(act.alias("last_activity"), pl.col(CASE).rle_id().alias(_CID))
    first = pl.col(TS).first().over(over)
    cols: list[pl.Expr] = [
        pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over(over).alias("prefix_length"),
        ((pl.col(TS) - first) / DAY).alias("elapsed_days"),
        ((pl.col(TS) - pl.col(TS).shift(1).over(over)).fill_null(0) / DAY).alias("gap_days"),
        local.dt.hour().cast(pl.Int32).alias("hour"),
        local.dt.weekday().cast(pl.Int32).alias("weekday"),
        local.dt.hour().first().over(over).cast(pl.Int32).alias("start_hour"),
        local.dt.weekday().first().over(over).cast(pl.Int32).alias("start_weekday"),
        pl.col("last_activity").shift(1).over(over).alias("previous_activity"),
        pl.col("last_activity").shift(2).over(over).alias("activity_before_previous"),
    ]
    seen = [
        (pl.col(ACT) == name).cast(pl.Int32).cum_sum().over(over).alias(f"count:{name}")
        for name in vocab.counted
    ]
    cols += seen
    if vocab.resources is not None:
        res = _code(pl.col(RES), vocab.resources)
        cols += [
            res.alias("resource"),
            res.shift(1).over(over).alias("previous_resource"),
            (pl.col(RES).ne_missing(pl.col(RES).shift(1).over(over)) & pl.col(RES).is_not_null())
            .cast(pl.Int32)
            .cum_sum()
            .over(over)
            .sub(1)
            .clip(lower_bound=0)
            .alias("handovers"),
        ]
    for name, levels in vocab.categorical.items():
        col = pl.col(f"{_ATTR}{name}") if f"{_ATTR}{name}" in events.columns else pl.lit(None)
        cols.append(_code(col.forward_fill().over(over), levels).alias(f"{_ATTR}{name}"))
    for name in vocab.numeric:
        col = pl.col(f"{_ATTR}{name}") if f"{_ATTR}{name}" in events.columns else pl.lit(None)
        number = col.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
        cols.append(number.forward_fill().over(over).alias(f"{_ATTR}{name}"))
    frame = frame.with_columns(cols)
    # Distinct activities so far: count columns cover the frequent ones; count the first
    # occurrence of every activity instead, so rare ones count too.
    first_time = pl.struct(_CID, ACT).is_first_distinct()
    prefix = {h: i for i, h in enumerate(vocab.prefixes)}
    frame = frame.with_columns(
        first_time.cast(pl.Int32).cum_sum().over(over).alias("distinct_activities"),
        _prefix_hash(frame, pl.col("last_activity"))
        .replace_strict(prefix, default=len(prefix), return_dtype=pl.Int32)
        .alias("prefix"),
    )
    return frame.select(CASE, ACT, TS, *vocab.feature_names())


def add_targets(frame: pl.DataFrame, vocab: Vocabulary) -> pl.DataFrame:
    """Training targets of each prefix (they look ahead; never features).

    ``remaining_days`` to the case's last event, ``next_code`` (the next activity's code, or
    ``len(activities) + 1`` for the end of the case), ``total_days`` of the whole case.
    """
    over = pl.col(CASE).rle_id()
    end_code = len(vocab.activities) + 1
    last = pl.col(TS).last().over(over)
    return frame.with_columns(
        ((last - pl.col(TS)) / DAY).alias("remaining_days"),
        ((last - pl.col(TS).first().over(over)) / DAY).alias("total_days"),
        _code(pl.col(ACT), vocab.activities)
        .shift(-1)
        .over(over)
        .fill_null(end_code)
        .alias("next_code"),
        pl.len().over(over).cast(pl.Int32).alias("case_length"),
    )


def feature_matrix(frame: pl.DataFrame, vocab: Vocabulary) -> Any:
    """The features as a float64 NumPy matrix (nulls become NaN, LightGBM's missing value)."""
    return (
        frame.select(pl.col(n).cast(pl.Float64) for n in vocab.feature_names())
        .fill_null(float("nan"))
        .to_numpy()
    )
