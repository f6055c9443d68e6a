"""Conformance: how far a log departs from the designed process (a :class:`ProcessSpec`).

Activities map to stages by stage code, name or Chinese name (exactly, else ignoring case
and surrounding spaces when that is unambiguous); events of other activities (replies,
assignments, ...) are reported as unmapped and left out of the stage sequence. Over the
stage sequence of each case:

* every stage event is a **move**. The first move of a case is allowed when it enters the
  start stage; every later move when the transition from the previous stage is declared (any
  kind). A repeated stage (``delivery -> delivery``) is not a declared transition, so it is a
  deviation too. **Move fitness** = allowed moves / moves.
* **skipped stages**: for cases that reached an end stage, the mandatory stages (those on every
  path from start to end, :meth:`ProcessSpec.mandatory_stages`) that the case never visited.
* **time in stage**: start to completion when the log has start timestamps, otherwise from
  this stage event to the case's next stage event; a visit is **over standard** when that time
  exceeds the stage's ``time_standard_minutes``. (Time standards are reported, they do not
  change fitness.)
* a case **conforms** when it has stage events, all its moves are allowed and it skipped no
  mandatory stage. **Case fitness** = conforming cases / cases.

Everything is computed with vectorised Polars expressions over the coded log (a Spark log is
collected first). Results are Polars frames; :meth:`ConformanceResult.to_dict` gives JSON.

What depends only on a case's stage sequence (its moves, which are allowed, completion, skipped
stages, conformity, the transitions it adds) is worked out once per distinct sequence and handed
to its cases: a million cases follow a few dozen sequences. Only the times (and the deviations'
timestamps) are read per event. Grouping by case walks the runs of the case-sorted log.

:func:`check_conformance` is two halves. :func:`conformance_parts` takes what each case is made
of (its stage sequence, events, visits and their times, wrong moves, visits over standard:
:class:`ConformanceParts`); :func:`conformance_from_parts` aggregates the parts of every case of
a log into the result. So a log whose cases are those of another (a subset of them, or the
same cases with a few replaced by new events) is checked from the other's parts
(:func:`combine_parts`) plus fresh parts of its new cases, with the same answer, frame for
frame. The steps read in order: index the design (:class:`_Design`), map activities to stages,
take the stage events, number each case's stage sequence, judge each sequence, then
transitions, per-case results, deviations, variants, stage times and the summary, one function
each. They stay in one module because they share the private column names and the design index;
split, each part would import them back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from ._order import SortedRuns, _split, sorted_runs
from ._schema import US, A, C, S, T
from .errors import EmptyLogError, InvalidParameterError
from .eventlog import EventLog, from_polars
from .process_model import ProcessSpec

__all__ = [
    "ConformanceParts",
    "ConformanceResult",
    "check_conformance",
    "combine_parts",
    "conformance_from_parts",
    "conformance_parts",
]

_STAGE, _NEXT, _PREV, _FIRST, _OK, _DUR = "__stage", "__next", "__prev", "__first", "__ok", "__dur"
_US, _POS, _CODE, _SID, _AT = "__us", "__pos", "__code", "__sid", "__at"
_NULL_STAGE = pl.lit(None, pl.String)


@dataclass(frozen=True)
class ConformanceResult:
    """Conformance of one log to one process definition (see the module docstring).

    Frames
    ------
    ``activities``: activity, stage (code or null), events, cases: how each activity mapped.
    ``transitions``: source, target (stage codes; source null for a case's first move),
    kind (declared kind or null), allowed, count, cases: every observed move, most first.
    ``cases``: case_id, events, stage_events, moves, allowed_moves, fitness, starts_at_start,
    completed, skipped (list of codes), over_standard, conforming.
    ``deviations``: case_id, kind ("start" | "transition" | "skipped"), source, target,
    timestamp: one row per wrong start, disallowed transition and skipped mandatory stage.
    ``variants``: stages (the case's stage sequence, codes), count, moves, allowed_moves,
    fitness, conforming, share_conforming: per stage variant, most frequent first (unmapped
    activities left out, so replies or assignments do not split variants).
    ``stage_times``: stage, name, visits, measured, mean/median/p90_seconds,
    standard_seconds, over_standard, share_over: per stage, in process order.
    ``over_standard``: case_id, stage, entered (UTC), seconds, standard_seconds, over_seconds.
    """

    process: str
    summary: dict[str, Any]
    activities: pl.DataFrame
    transitions: pl.DataFrame
    cases: pl.DataFrame
    deviations: pl.DataFrame
    variants: pl.DataFrame
    stage_times: pl.DataFrame
    over_standard: pl.DataFrame

    def to_dict(self, *, top_variants: int | None = None, cases: bool = False) -> dict[str, Any]:
        """JSON-ready dict: summary, mapping, disallowed moves, skips, stage times, variants.

        Per-case rows are left out unless ``cases=True`` (they grow with the log).
        """
        skipped = (
            self.deviations.filter(pl.col("kind") == "skipped")
            .group_by("target")
            .agg(pl.len().alias("cases"))
            .rename({"target": "stage"})
            .sort(["cases", "stage"], descending=[True, False])
        )
        variants = self.variants if top_variants is None else self.variants.head(top_variants)
        out: dict[str, Any] = {
            "process": self.process,
            "summary": {k: _clean(v) for k, v in self.summary.items()},
            "activities": _records(self.activities),
            "unmapped_activities": _records(
                self.activities.filter(pl.col("stage").is_null()).drop("stage")
            ),
            "disallowed_transitions": _records(
                self.transitions.filter(~pl.col("allowed")).drop("allowed", "kind")
            ),
            "transitions": _records(self.transitions),
            "skipped_stages": _records(skipped),
            "stage_times": _records(self.stage_times),
            "variants": _records(variants),
        }
        if cases:
            out["cases"] = _records(self.cases)
            out["deviations"] = _records(self.deviations)
            out["over_standard"] = _records(self.over_standard)
        return out


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, list):
        return [_clean(x) for x in v]
    return v


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [{k: _clean(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]


def _stage_of_activities(names: list[str], spec: ProcessSpec) -> list[int | None]:
    """Stage index for each activity name (exact key first, then case-insensitive if unique)."""
    index = {s.code: i for i, s in enumerate(spec.stages)}
    folded: dict[str, set[int]] = {}
    for i, stage in enumerate(spec.stages):
        for key in stage.keys:
            folded.setdefault(key.strip().casefold(), set()).add(i)
    out: list[int | None] = []
    for name in names:
        found = spec.find_stage(name)
        if found is not None:
            out.append(index[found.code])
            continue
        hits = folded.get(name.strip().casefold(), set())
        out.append(next(iter(hits)) if len(hits) == 1 else None)
    return out


def _utc(col: str | pl.Expr) -> pl.Expr:
    expr = pl.col(col) if isinstance(col, str) else col
    return pl.from_epoch(expr, "us").dt.replace_time_zone("UTC")


@dataclass(frozen=True)
class _Design:
    """The process definition as indices: stage ``i`` is ``codes[i]``; an allowed move from stage
    ``a`` to ``b`` is the edge code ``a * n + b``."""

    codes: list[str]
    names: list[str]
    start_idx: int
    end_idx: list[int]
    mandatory: list[int]
    n: int
    allowed: dict[int, str]  # edge code -> the transition's kind
    standard: pl.Series  # per stage: time standard in seconds, or null
    code_s: pl.Series

    @classmethod
    def of(cls, spec: ProcessSpec) -> _Design:
        codes = [s.code for s in spec.stages]
        start = spec.start_stage
        n = max(len(codes), 1)
        return cls(
            codes=codes,
            names=[s.name for s in spec.stages],
            start_idx=codes.index(start.code) if start is not None else -1,
            end_idx=[codes.index(s.code) for s in spec.end_stages],
            mandatory=[codes.index(c) for c in spec.mandatory_stages()],
            n=n,
            allowed={
                codes.index(t.source) * n + codes.index(t.target): t.kind
                for t in spec.transitions
                if t.source in codes and t.target in codes
            },
            standard=pl.Series(
                [
                    float(s.time_standard_minutes * 60) if s.time_standard_minutes else None
                    for s in spec.stages
                ],
                dtype=pl.Float64,
            ),
            code_s=pl.Series(codes, dtype=pl.String),
        )

    def edge_code(self) -> pl.Expr:
        """The edge code of each stage event's move (null for a case's first)."""
        return pl.col(_PREV).cast(pl.Int64) * self.n + pl.col(_STAGE).cast(pl.Int64)

    def move_allowed(self) -> pl.Expr:
        """Whether each move is allowed: a case's first (``_FIRST``) when it enters the start
        stage, a later one when its transition is declared."""
        allowed_codes = pl.Series(list(self.allowed), dtype=pl.Int64)
        return (
            pl.when(pl.col(_FIRST))
            .then(pl.col(_STAGE) == self.start_idx)
            .otherwise(self.edge_code().is_in(allowed_codes.implode()))
        )


def _over_standard() -> pl.Expr:
    """A stage visit longer than its stage's time standard."""
    return (pl.col(_DUR) > pl.col("__std")).fill_null(False)


def _activity_mapping(
    ev: pl.DataFrame, act_names: pl.Series, act_stage: pl.Series, d: _Design
) -> pl.DataFrame:
    """How each activity maps to a stage: activity, stage (or null), events, cases."""
    per_act = ev.group_by(A).agg(pl.len().alias("events"), pl.col(C).n_unique().alias("cases"))
    activities = (
        per_act.select(
            pl.lit(act_names).gather(A).alias("activity"),
            pl.lit(act_stage).gather(A).alias("__s"),
            pl.col("events").cast(pl.Int64),
            pl.col("cases").cast(pl.Int64),
        )
        .select(
            "activity",
            pl.when(pl.col("__s").is_not_null())
            .then(pl.lit(d.code_s).gather(pl.col("__s").fill_null(0)))
            .otherwise(_NULL_STAGE)
            .alias("stage"),
            "events",
            "cases",
        )
        .sort(["events", "activity"], descending=[True, False])
    )
    return activities


def _stage_events(ev: pl.DataFrame, act_stage: pl.Series, d: _Design) -> pl.DataFrame:
    """The stage events in case order (the coded log is sorted by case, time, file order), each
    with its previous stage, whether the move is allowed, its duration and its stage's standard."""
    has_start = S in ev.columns
    cols = [C, T, _STAGE] + ([S] if has_start else [])
    st = ev.with_columns(pl.lit(act_stage).gather(A).alias(_STAGE))
    if act_stage.null_count():  # some activities map to no stage (the filter copies the log)
        st = st.filter(pl.col(_STAGE).is_not_null())
    st = st.select(cols)
    same_prev = pl.col(C) == pl.col(C).shift(1)
    same_next = pl.col(C) == pl.col(C).shift(-1)
    st = st.with_columns(
        (~same_prev.fill_null(False)).alias(_FIRST),
        pl.when(same_prev).then(pl.col(_STAGE).shift(1)).alias(_PREV),
        pl.when(same_next).then(pl.col(T).shift(-1)).alias(_NEXT),
    )
    micros = (pl.col(T) - pl.col(S)) if has_start else (pl.col(_NEXT) - pl.col(T))
    st = st.with_columns(micros.alias(_US))
    st = st.with_columns(
        d.move_allowed().alias(_OK),
        _seconds(),
        pl.lit(d.standard).gather(pl.col(_STAGE)).alias("__std"),
    )
    return st


def _seconds() -> pl.Expr:
    """A visit's time in seconds (``_DUR``) from its microseconds (``_US``): one expression for
    the check over a whole log and over parts, so both divide alike."""
    return (pl.col(_US) / US).cast(pl.Float64).alias(_DUR)


def _in_case_order(ev: pl.DataFrame) -> pl.DataFrame:
    """``ev`` with its case column flagged sorted when it is (the coded log is sorted by case,
    time and file order): grouping by case then walks runs instead of hashing 7M rows."""
    if ev[C].is_sorted():
        return ev.with_columns(pl.col(C).set_sorted())
    return ev


def _case_variants(ev: pl.DataFrame, st: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per case (by case code): events, visits over standard and the number ``__v`` of its stage
    sequence; and the distinct sequences (``__v``, ``__seq``), numbered in order of their first
    case. Everything that depends only on the sequence is then worked out once per sequence."""
    per_case = st.group_by(C, maintain_order=True).agg(
        pl.col(_STAGE).alias("__seq"), _over_standard().sum().alias("over_standard")
    )
    if st.height == ev.height:  # no unmapped events: every case has stage events
        cases = per_case.with_columns(pl.col("__seq").list.len().alias("events"))
    else:
        cases = (
            ev.group_by(C, maintain_order=True)
            .agg(pl.len().alias("events"))
            .join(per_case, on=C, how="left", maintain_order="left")
            .with_columns(
                pl.col("__seq").fill_null(pl.lit([], pl.List(pl.Int32))),
                pl.col("over_standard").fill_null(0),
            )
        )
    cases = cases.sort(C)
    seqs = cases.select("__seq").unique(maintain_order=True).with_row_index("__v")
    cases = cases.join(seqs, on="__seq", how="left", maintain_order="left").drop("__seq")
    return cases, seqs


def _variant_moves(seqs: pl.DataFrame, d: _Design) -> pl.DataFrame:
    """Every move of each distinct stage sequence: ``__v``, previous stage, stage, allowed."""
    moves = seqs.select("__v", pl.col("__seq").alias(_STAGE)).explode(_STAGE)
    moves = moves.filter(pl.col(_STAGE).is_not_null())
    same_prev = pl.col("__v") == pl.col("__v").shift(1)
    moves = moves.with_columns(
        (~same_prev.fill_null(False)).alias(_FIRST),
        pl.when(same_prev).then(pl.col(_STAGE).shift(1)).alias(_PREV),
    )
    return moves.with_columns(d.move_allowed().alias(_OK))


def _transitions(moves: pl.DataFrame, counts: pl.Series, d: _Design) -> pl.DataFrame:
    """Every observed move with its declared kind and whether it is allowed, most first: the
    moves of each distinct sequence weighted by its number of cases ``counts[__v]``."""
    edge_code = d.edge_code()
    kinds = pl.DataFrame(
        {"__edge": list(d.allowed), "kind": list(d.allowed.values())},
        schema={"__edge": pl.Int64, "kind": pl.String},
    )
    per_variant = (
        moves.group_by("__v", _PREV, _STAGE, _OK)
        .agg(pl.len().cast(pl.Int64).alias("__n"))
        .with_columns(pl.lit(counts).gather(pl.col("__v")).alias("__k"))
    )
    grouped = (
        per_variant.group_by(_PREV, _STAGE, _OK)
        .agg(
            (pl.col("__n") * pl.col("__k")).sum().alias("count"),
            pl.col("__k").sum().alias("cases"),
        )
        .with_columns(edge_code.alias("__edge"))
        .join(kinds, on="__edge", how="left")
    )
    transitions = grouped.select(
        pl.when(pl.col(_PREV).is_not_null())
        .then(pl.lit(d.code_s).gather(pl.col(_PREV).fill_null(0)))
        .otherwise(_NULL_STAGE)
        .alias("source"),
        pl.lit(d.code_s).gather(pl.col(_STAGE)).alias("target"),
        pl.col("kind"),
        pl.col(_OK).alias("allowed"),
        pl.col("count").cast(pl.Int64),
        pl.col("cases").cast(pl.Int64),
    ).sort(["count", "source", "target"], descending=[True, False, False], nulls_last=False)
    return transitions


def _variant_verdicts(seqs: pl.DataFrame, moves: pl.DataFrame, d: _Design) -> pl.DataFrame:
    """Per distinct stage sequence (row ``__v``): moves, allowed moves, whether it starts at the
    start stage, reaches an end stage, its skipped mandatory stages (codes, in process order)
    and whether it conforms."""
    ends = pl.Series(d.end_idx, dtype=pl.Int32).implode()
    per_v = moves.group_by("__v").agg(
        pl.len().cast(pl.Int64).alias("moves"),
        pl.col(_OK).sum().cast(pl.Int64).alias("allowed_moves"),
        pl.col(_OK).first().alias("starts_at_start"),
        pl.col(_STAGE).is_in(ends).any().alias("completed"),
    )
    verdicts = (
        seqs.select("__v")
        .join(per_v, on="__v", how="left")
        .with_columns(
            pl.col("moves").fill_null(0),
            pl.col("allowed_moves").fill_null(0),
            pl.col("starts_at_start").fill_null(False),
            pl.col("completed").fill_null(False),
        )
    )
    # Skipped mandatory stages of the sequences that reach an end: (sequence x mandatory
    # stage) minus the stages the sequence visits.
    must = pl.DataFrame({_STAGE: d.mandatory}, schema={_STAGE: pl.Int32})
    skipped = (
        verdicts.filter(pl.col("completed"))
        .select("__v")
        .join(must, how="cross")
        .join(moves.select("__v", _STAGE).unique(), on=["__v", _STAGE], how="anti")
        .sort("__v", _STAGE)
        .group_by("__v", maintain_order=True)
        .agg(pl.col(_STAGE).alias("__skipped_idx"))
    )
    return (
        verdicts.join(skipped, on="__v", how="left")
        .with_columns(pl.col("__skipped_idx").fill_null(pl.lit([], pl.List(pl.Int32))))
        .with_columns(
            pl.col("__skipped_idx")
            .list.eval(pl.lit(d.code_s).gather(pl.element()))
            .alias("skipped"),
            pl.when(pl.col("moves") > 0)
            .then(pl.col("allowed_moves") / pl.col("moves"))
            .alias("fitness"),
        )
        .with_columns(
            (
                (pl.col("moves") > 0)
                & (pl.col("allowed_moves") == pl.col("moves"))
                & (pl.col("skipped").list.len() == 0)
            ).alias("conforming")
        )
        .sort("__v")
    )


def _case_frame(cases: pl.DataFrame, log: EventLog) -> pl.DataFrame:
    """The per-case rows as the result shows them (case ids decoded)."""
    return cases.select(
        log.decode_case(C).alias("case_id"),
        pl.col("events").cast(pl.Int64),
        "stage_events",
        "moves",
        "allowed_moves",
        "fitness",
        "starts_at_start",
        "completed",
        "skipped",
        "over_standard",
        "conforming",
    )


def _deviations(
    wrong: pl.DataFrame, skips_long: pl.DataFrame, log: EventLog, d: _Design
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One row per wrong start, disallowed transition and skipped mandatory stage, from the
    moves that are not allowed (``wrong``: case, first, previous stage, stage, time, in event
    order) and the skipped (case, stage) pairs; and the disallowed moves still coded (the
    summary counts their cases). Equal times keep event order, skips process order."""
    bad = wrong.select(
        pl.col(C),
        pl.when(pl.col(_FIRST)).then(pl.lit("start")).otherwise(pl.lit("transition")).alias("kind"),
        pl.when(pl.col(_PREV).is_not_null())
        .then(pl.lit(d.code_s).gather(pl.col(_PREV).fill_null(0)))
        .otherwise(_NULL_STAGE)
        .alias("source"),
        pl.lit(d.code_s).gather(pl.col(_STAGE)).alias("target"),
        pl.col(T).alias("__t"),
    )
    skips = skips_long.select(
        C,
        pl.lit("skipped").alias("kind"),
        _NULL_STAGE.alias("source"),
        pl.lit(d.code_s).gather(pl.col(_STAGE)).alias("target"),
        pl.lit(None, pl.Int64).alias("__t"),
    )
    deviations = (
        pl.concat([bad, skips])
        .sort([C, "__t"], nulls_last=True, maintain_order=True)
        .select(
            log.decode_case(C).alias("case_id"),
            "kind",
            "source",
            "target",
            _utc("__t").alias("timestamp"),
        )
    )
    return deviations, bad


def _per_case(cases: pl.DataFrame, verdicts: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per case (coded): events, moves, allowed moves, fitness, completion, skipped mandatory
    stages, visits over standard, conformity, taken from its sequence's verdict; and the
    skipped (case, stage) pairs in case and process order."""
    v = cases["__v"]
    taken = verdicts.select(
        pl.col("moves").alias("stage_events"),
        "allowed_moves",
        "starts_at_start",
        "completed",
        "skipped",
        "moves",
        "fitness",
        "conforming",
    )[v]
    per_case = pl.concat(
        [
            cases.select(
                C, pl.col("events").cast(pl.Int64), pl.col("over_standard").cast(pl.Int64)
            ),
            taken,
        ],
        how="horizontal",
    )
    skipped_of_v = verdicts.select("__v", pl.col("__skipped_idx").alias(_STAGE)).explode(_STAGE)
    skips_long = (
        cases.select(C, "__v")
        .join(skipped_of_v.filter(pl.col(_STAGE).is_not_null()), on="__v", how="inner")
        .select(C, _STAGE)
        .sort(C, _STAGE)
    )
    return per_case, skips_long


def _variants(
    verdicts: pl.DataFrame, seqs: pl.DataFrame, counts: pl.Series, d: _Design
) -> pl.DataFrame:
    """Variants of the stage sequence (what the definition speaks about), most frequent first
    (ties: the variant whose first case comes first)."""
    k = pl.col("count")
    var = (
        verdicts.select("__v", "moves", "allowed_moves", "conforming")
        .with_columns(
            pl.lit(counts).gather(pl.col("__v")).alias("count"),
            seqs["__seq"],
        )
        .with_columns(
            (pl.col("moves") * k).alias("moves"),
            (pl.col("allowed_moves") * k).alias("allowed_moves"),
            pl.when(pl.col("conforming")).then(k).otherwise(0).alias("conforming"),
        )
        .sort(["count", "__v"], descending=[True, False])
    )
    return var.select(
        pl.col("__seq").list.eval(pl.lit(d.code_s).gather(pl.element())).alias("stages"),
        pl.col("count").cast(pl.Int64),
        pl.col("moves").cast(pl.Int64),
        pl.col("allowed_moves").cast(pl.Int64),
        pl.when(pl.col("moves") > 0)
        .then(pl.col("allowed_moves") / pl.col("moves"))
        .alias("fitness"),
        pl.col("conforming").cast(pl.Int64),
        (pl.col("conforming") / pl.col("count")).alias("share_conforming"),
    )


def _stage_times(
    visits: pl.DataFrame,
    over: pl.DataFrame,
    log: EventLog,
    d: _Design,
    runs: SortedRuns | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Time in each stage against its standard, and the visits over standard: from every stage
    visit's stage and microseconds (``visits``, in event order) and the visits over standard
    (``over``: case code, stage, time entered, microseconds, in event order). The mean is
    taken beside the counts: alone in a group-by, Polars sums a group's floats chunk by chunk,
    and visits in pieces (parts merged, a spliced log) would differ from them in one in the
    last bits (a test holds the two equal)."""
    visits = visits.select(_STAGE, _US).with_columns(_seconds())
    per_stage = visits.group_by(_STAGE).agg(
        pl.len().alias("visits"),
        pl.col(_DUR).count().alias("measured"),
        pl.col(_DUR).mean().alias("mean_seconds"),
    )
    over_per_stage = over.group_by(_STAGE).agg(pl.len().alias("over_standard"))
    per_stage = per_stage.join(over_per_stage, on=_STAGE, how="left").join(
        _stage_quantiles(visits, len(d.codes), runs), on=_STAGE, how="left"
    )
    stage_times = (
        pl.DataFrame(
            {
                _STAGE: list(range(len(d.codes))),
                "stage": d.codes,
                "name": d.names,
                "standard_seconds": d.standard,
            },
            schema={
                _STAGE: pl.Int32,
                "stage": pl.String,
                "name": pl.String,
                "standard_seconds": pl.Float64,
            },
        )
        .join(per_stage, on=_STAGE, how="left")
        .with_columns(
            pl.col("visits").fill_null(0).cast(pl.Int64),
            pl.col("measured").fill_null(0).cast(pl.Int64),
            pl.col("over_standard").fill_null(0).cast(pl.Int64),
        )
        .with_columns(
            pl.when(pl.col("standard_seconds").is_not_null() & (pl.col("measured") > 0))
            .then(pl.col("over_standard") / pl.col("measured"))
            .alias("share_over")
        )
        .sort(_STAGE)
        .select(
            "stage",
            "name",
            "visits",
            "measured",
            "mean_seconds",
            "median_seconds",
            "p90_seconds",
            "standard_seconds",
            "over_standard",
            "share_over",
        )
    )
    over_standard = over.with_columns(
        _seconds(), pl.lit(d.standard).gather(pl.col(_STAGE)).alias("__std")
    ).select(
        log.decode_case(C).alias("case_id"),
        pl.lit(d.code_s).gather(pl.col(_STAGE)).alias("stage"),
        _utc(_AT).alias("entered"),
        pl.col(_DUR).alias("seconds"),
        pl.col("__std").alias("standard_seconds"),
        (pl.col(_DUR) - pl.col("__std")).alias("over_seconds"),
    )
    return stage_times, over_standard


def _stage_quantiles(
    st: pl.DataFrame, n_stages: int, runs: SortedRuns | None = None
) -> pl.DataFrame:
    """The median and 90th percentile of each stage's time (``_STAGE``, ``median_seconds``,
    ``p90_seconds``): from one sort of the visits' stages and integer durations packed together
    (:func:`._order.sorted_runs`), where Polars' group-by sorted each stage's visits apart
    (0.85 s of 1.9 s at 7.2M visits). Equal to that group-by to the bit: its rank counts the
    group's nulls (``(n - 1) * q + nulls``, nulls first), so the interpolation does too.
    ``st``: each visit's stage, microseconds (``_US``) and seconds (``_DUR``); ``runs``: its
    measured visits sorted so already (:func:`_sorted_visits`), if they are."""
    timed = st.select(_STAGE, pl.col(_US).alias("__us"))
    if runs is None:
        runs = _sorted_visits(st, n_stages)
    if runs is None:  # a stage and a duration do not fit in 64 bits together
        return st.group_by(_STAGE).agg(
            pl.col(_DUR).median().alias("median_seconds"),
            pl.col(_DUR).quantile(0.9, interpolation="linear").alias("p90_seconds"),
        )
    nulls = dict(timed.filter(pl.col("__us").is_null())[_STAGE].value_counts().rows())
    counts = runs.counts()
    wanted: list[int] = []  # rows of runs.packed to read
    plan: list[tuple[int, int, float] | None] = []  # (lower, upper, fraction) per stage and q
    for q in (0.5, 0.9):
        for stage, n in enumerate(counts):
            if n == 0:
                plan.append(None)
                continue
            missing = nulls.get(stage, 0)
            at = float(n - 1) * q + missing  # as Polars: nulls sort first
            low, high = int(at), math.ceil(at)
            start = runs.starts[stage] - missing
            plan.append((len(wanted), len(wanted) + 1, at - low))
            wanted += [start + low, start + high]
    values = _order_values(timed.with_columns(st[_DUR]), runs, wanted)
    out: list[float | None] = []
    for step in plan:
        if step is None:
            out.append(None)
            continue
        lower, upper = values[step[0]], values[step[1]]
        out.append(lower if lower == upper else step[2] * (upper - lower) + lower)
    return pl.DataFrame(
        {
            _STAGE: pl.Series(range(runs.n_keys), dtype=pl.Int32),
            "median_seconds": pl.Series(out[: runs.n_keys], dtype=pl.Float64),
            "p90_seconds": pl.Series(out[runs.n_keys :], dtype=pl.Float64),
        }
    )


def _sorted_visits(visits: pl.DataFrame, n_stages: int) -> SortedRuns | None:
    """The measured visits' (stage, microseconds) sorted in one pass (:func:`sorted_runs`)."""
    measured = visits.select(_STAGE, _US).filter(pl.col(_US).is_not_null())
    return sorted_runs(measured[_STAGE], measured[_US], max(n_stages, 1))


def _sorted_visits_of_cases(
    visits: pl.DataFrame, n_stages: int
) -> tuple[SortedRuns, pl.Series] | None:
    """:func:`_sorted_visits` with each sorted visit's case position beside it (what a subset
    of the cases takes its sorted visits from by a mask, without sorting them again), packed
    as :func:`sorted_runs` packs them; None when they do not fit 64 bits."""
    measured = visits.select(_POS, _STAGE, _US).filter(pl.col(_US).is_not_null())
    n_keys = max(n_stages, 1)
    if measured.height == 0:
        empty = SortedRuns(pl.Series([], dtype=pl.UInt64), 0, 0, [0] * (n_keys + 1))
        return empty, pl.Series([], dtype=measured[_POS].dtype)
    low, high = int(measured[_US].min()), int(measured[_US].max())  # type: ignore[arg-type]
    bits = (high - low).bit_length()
    if bits + max(1, (n_keys - 1).bit_length()) > 64:
        return None
    packing = SortedRuns(pl.Series([], dtype=pl.UInt64), bits, low, [0] * (n_keys + 1))
    packed = _pack(packing, measured)
    if packed is None:  # a stage outside the design's (never expected)
        return None
    order = pl.DataFrame({"__p": packed, _POS: measured[_POS]}).sort("__p")
    return _split(order["__p"], bits, low, n_keys), order[_POS]


def _pack(runs: SortedRuns, frame: pl.DataFrame) -> pl.Series | None:
    """The measured visits of ``frame`` (``_STAGE``, ``_US``) packed as ``runs`` packs them,
    in their order; None when one does not fit the packing."""
    frame = frame.filter(pl.col(_US).is_not_null())
    width = 1 << runs.bits
    shifted = frame[_US].cast(pl.Int64) - runs.offset
    if frame.height and (
        int(shifted.min()) < 0  # type: ignore[arg-type]
        or int(shifted.max()) >= width  # type: ignore[arg-type]
        or int(frame[_STAGE].min()) < 0  # type: ignore[arg-type]
        or int(frame[_STAGE].max()) >= runs.n_keys  # type: ignore[arg-type]
    ):
        return None
    return frame[_STAGE].cast(pl.UInt64) * pl.Series([width], dtype=pl.UInt64) + shifted.cast(
        pl.UInt64
    )


def _masked_runs(
    runs: SortedRuns, cases: pl.Series, keep: pl.Series, added: pl.DataFrame
) -> SortedRuns | None:
    """``runs`` of the cases ``keep`` flags (``cases``: each sorted visit's case position) and
    the visits ``added``: a mask and a merge, not a sort of the kept millions."""
    new = _pack(runs, added)
    if new is None:
        return None
    kept = runs.packed.filter(keep.gather(cases)).to_frame("__p")
    merged = kept.merge_sorted(new.sort().to_frame("__p"), key="__p")["__p"].rechunk()
    return _split(merged, runs.bits, runs.offset, runs.n_keys)


def _patched(runs: SortedRuns, removed: pl.DataFrame, added: pl.DataFrame) -> SortedRuns | None:
    """``runs`` without the visits ``removed`` and with those ``added`` (``_STAGE``, ``_US``):
    the sorted visits of a log a few cases on, without sorting the millions it kept again (a
    few slices and one merge); None when an added visit does not fit the packing or a removed
    one is not there (the caller sorts them all)."""
    gone, new = _pack(runs, removed), _pack(runs, added)
    if gone is None or new is None:
        return None
    gone, new = gone.sort(), new.sort()
    rows: list[int] = []
    if gone.len():
        firsts = runs.packed.search_sorted(gone, side="left").to_list()
        previous, repeat = None, 0
        for value, first in zip(gone.to_list(), firsts, strict=True):
            repeat = repeat + 1 if value == previous else 0
            rows.append(first + repeat)
            previous = value
        if rows[-1] >= runs.packed.len() or not runs.packed.gather(rows).equals(gone):
            return None
    pieces, start = [], 0
    for row in rows:
        pieces.append(runs.packed.slice(start, row - start))
        start = row + 1
    pieces.append(runs.packed.slice(start))
    kept = pl.concat(pieces, rechunk=False).to_frame("__p")
    merged = kept.merge_sorted(new.to_frame("__p"), key="__p")["__p"].rechunk()
    return _split(merged, runs.bits, runs.offset, runs.n_keys)


def _order_values(timed: pl.DataFrame, runs: SortedRuns, rows: list[int]) -> list[float]:
    """The durations in seconds (``_DUR`` as the group-by sees it) at ``rows`` of the sorted
    runs. Taken from the frame, not converted again: the engine's division of microseconds into
    seconds may differ in the last bit between kernels (with or without nulls), and the
    group-by orders the floats. Equal microseconds are ordered by their floats, as it does."""
    mask = (1 << runs.bits) - 1
    packed = runs.packed.gather(rows)
    # Where each wanted value's run of equal microseconds starts: its rank among them.
    first = runs.packed.search_sorted(packed, side="left").to_list()
    keys = [(int(v) >> runs.bits, (int(v) & mask) + runs.offset) for v in packed.to_list()]
    micros = sorted({value for _, value in keys})
    found = (
        timed.filter(pl.col("__us").is_in(pl.Series(micros, dtype=pl.Int64).implode()))
        .group_by(_STAGE, "__us")
        .agg(pl.col(_DUR).sort())
    )
    floats = {(stage, us): seconds for stage, us, seconds in found.rows()}
    return [floats[key][row - start] for key, row, start in zip(keys, rows, first, strict=True)]


def _summary(
    spec: ProcessSpec,
    n_events: int,
    mapped_events: int,
    activities: pl.DataFrame,
    cases: pl.DataFrame,
    bad: pl.DataFrame,
    over_standard: pl.DataFrame,
) -> dict[str, Any]:
    """The headline counts and fitness values."""
    n_cases = cases.height
    n_moves = int(cases["moves"].sum())
    n_allowed = int(cases["allowed_moves"].sum())
    n_conf = int(cases["conforming"].sum())
    summary = {
        "cases": n_cases,
        "events": n_events,
        "stage_events": mapped_events,
        "unmapped_events": n_events - mapped_events,
        "unmapped_activities": int(activities["stage"].null_count()),
        "cases_without_stage_events": int((cases["moves"] == 0).sum()),
        "moves": n_moves,
        "allowed_moves": n_allowed,
        "move_fitness": n_allowed / n_moves if n_moves else None,
        "conforming_cases": n_conf,
        "case_fitness": n_conf / n_cases if n_cases else None,
        "completed_cases": int(cases["completed"].sum()),
        "cases_with_wrong_start": int(((cases["moves"] > 0) & ~cases["starts_at_start"]).sum()),
        "cases_with_disallowed_transitions": int(
            bad.filter(pl.col("kind") == "transition")[C].n_unique()
        ),
        "cases_skipping_mandatory_stages": int((cases["skipped"].list.len() > 0).sum()),
        "mandatory_stages": list(spec.mandatory_stages()),
        "visits_over_standard": int(over_standard.height),
        "cases_over_standard": int((cases["over_standard"] > 0).sum()),
    }
    return summary


@dataclass(frozen=True)
class ConformanceParts:
    """What the check of each case is made of, so the result over any set of whole cases is an
    aggregation of their parts (:func:`conformance_from_parts`) instead of a check of every
    event: a log with a few cases replaced (spliced) takes the others' parts as they were, and
    a subset of the cases takes theirs.

    Cases are numbered by position (``__pos``, 0 up, in the order of the log's rows); every
    frame is in that order, a case's rows in event order:

    ``cases``: ``__code`` (the case's code in the log described), ``events``,
    ``over_standard`` (its visits over standard), ``__sid`` (its stage sequence, a row of
    ``sequences``). ``sequences``: the distinct stage sequences (stage indices of the design).
    ``visits``: ``__pos``, ``__stage``, ``__us`` (microseconds in the stage, null when
    unmeasured), every stage event. ``wrong``: ``__pos``, ``__first``, ``__prev``,
    ``__stage``, ``__ts``: the moves that are not allowed. ``over``: ``__pos``, ``__stage``,
    ``__at`` (entered), ``__us``: the visits over standard. Stage indices are the design's, so
    parts are of one design (:func:`conformance_parts`' ``spec``). ``runs``: the measured
    visits' (stage, microseconds) sorted (the stage times' median and 90th percentile are read
    from them), when made: a combination that keeps most cases of parts with runs patches them
    with the visits that go and come instead of sorting millions again; ``runs_cases``: each
    sorted visit's case position (a subset of the cases masks the runs with it).
    """

    cases: pl.DataFrame
    sequences: pl.Series
    visits: pl.DataFrame
    wrong: pl.DataFrame
    over: pl.DataFrame
    runs: SortedRuns | None = None
    runs_cases: pl.Series | None = None

    @property
    def n_cases(self) -> int:
        return self.cases.height

    def frames(self) -> dict[str, pl.DataFrame]:
        """Every frame by name (``sequences`` as a one-column frame): what is stored."""
        return {
            "cases": self.cases,
            "sequences": self.sequences.to_frame("__seq"),
            "visits": self.visits,
            "wrong": self.wrong,
            "over": self.over,
            "runs": pl.DataFrame(
                {
                    "__packed": self.runs.packed if self.runs else pl.Series([], dtype=pl.UInt64),
                    _POS: (
                        self.runs_cases
                        if self.runs is not None and self.runs_cases is not None
                        else pl.repeat(
                            None,
                            self.runs.packed.len() if self.runs else 0,
                            dtype=pl.UInt32,
                            eager=True,
                        )
                    ),
                }
            ),
            "runs_of": pl.DataFrame(
                [(self.runs.bits, self.runs.offset, self.runs.n_keys)] if self.runs else [],
                schema={"bits": pl.Int64, "offset": pl.Int64, "keys": pl.Int64},
                orient="row",
            ),
        }

    @classmethod
    def of_frames(cls, frames: dict[str, pl.DataFrame]) -> ConformanceParts:
        """The parts :meth:`frames` gave; ``InvalidParameterError`` when a frame lacks a column
        or has another type (a damaged or foreign file)."""
        for name, want in _PARTS_SCHEMA.items():
            frame = frames[name]
            got = {k: frame.schema.get(k) for k in want}
            if any(got[k] is None or not _same_kind(got[k], want[k]) for k in want):
                raise InvalidParameterError(f"the conformance parts' {name} frame is not theirs")
        runs, runs_cases = None, None
        if frames["runs_of"].height == 1:
            bits, offset, n_keys = frames["runs_of"].row(0)
            runs = _split(frames["runs"]["__packed"], bits, offset, n_keys)
            cases_of_runs = frames["runs"][_POS]
            if not cases_of_runs.null_count():
                runs_cases = cases_of_runs
        return cls(
            cases=frames["cases"],
            sequences=frames["sequences"].get_column("__seq"),
            visits=frames["visits"],
            wrong=frames["wrong"],
            over=frames["over"],
            runs=runs,
            runs_cases=runs_cases,
        )


_INT = (pl.UInt32, pl.UInt64, pl.Int32, pl.Int64)
_PARTS_SCHEMA: dict[str, dict[str, Any]] = {
    "cases": {_CODE: _INT, "events": _INT, "over_standard": _INT, _SID: _INT},
    "sequences": {"__seq": (pl.List(pl.Int32),)},
    "visits": {_POS: _INT, _STAGE: (pl.Int32,), _US: (pl.Int64,)},
    "wrong": {
        _POS: _INT,
        _FIRST: (pl.Boolean,),
        _PREV: (pl.Int32,),
        _STAGE: (pl.Int32,),
        T: (pl.Int64,),
    },
    "over": {_POS: _INT, _STAGE: (pl.Int32,), _AT: (pl.Int64,), _US: (pl.Int64,)},
    "runs": {"__packed": (pl.UInt64,), _POS: _INT},
    "runs_of": {"bits": (pl.Int64,), "offset": (pl.Int64,), "keys": (pl.Int64,)},
}


def _same_kind(dtype: Any, kinds: tuple[Any, ...]) -> bool:
    return any(dtype == kind for kind in kinds)


def _position_type(n: int) -> pl.DataType:
    return pl.UInt32() if n < 2**32 else pl.UInt64()


def conformance_parts(
    log: EventLog, spec: ProcessSpec, *, cases: pl.Series | None = None, runs: bool = False
) -> ConformanceParts:
    """The per-case parts of checking ``log`` against ``spec``; only of the cases whose codes
    ``cases`` lists (the log's case column is sorted: whole cases are sliced out), else of every
    case; ``runs``: with the visits sorted (what is stored to be combined later). See
    :class:`ConformanceParts`."""
    d = _Design.of(spec)
    ev = _in_case_order(log.coded())
    if cases is not None:
        ev = _cases_of(ev, cases)
    act_stage = pl.Series(_stage_of_activities(log.activities, spec), dtype=pl.Int32)
    parts = _parts(ev, act_stage, d)
    if runs:
        found = _sorted_visits_of_cases(parts.visits, len(d.codes))
        if found is not None:
            parts = replace(parts, runs=found[0], runs_cases=found[1])
    return parts


def _cases_of(ev: pl.DataFrame, cases: pl.Series) -> pl.DataFrame:
    """The rows of the cases coded ``cases``: slices of the sorted log (a few hundred cases of
    7M rows cost slices, not a pass), else a filter."""
    wanted = cases.cast(ev[C].dtype).unique().sort()
    if not ev[C].is_sorted() or wanted.len() > 10_000:
        return ev.filter(pl.col(C).is_in(wanted.implode()))
    starts = ev[C].search_sorted(wanted, side="left").to_list()
    ends = ev[C].search_sorted(wanted, side="right").to_list()
    pieces = [ev.slice(a, b - a) for a, b in zip(starts, ends, strict=True) if b > a]
    if not pieces:
        return ev.clear()
    return _in_case_order(pl.concat(pieces))


def _parts(ev: pl.DataFrame, act_stage: pl.Series, d: _Design) -> ConformanceParts:
    """:class:`ConformanceParts` of the coded rows ``ev`` (in case order)."""
    pos_type = _position_type(ev.height)
    first = (pl.col(C) != pl.col(C).shift(1)).fill_null(True)
    codes = ev.filter(first)[C]  # each case's code, in the order of its rows
    dense = ev[C].flags["SORTED_ASC"] and (codes.is_empty() or int(codes[-1]) == codes.len() - 1)
    if not dense:  # number the cases by position (rows of the log in case order, any codes)
        ev = ev.with_columns(pl.col(C).rle_id().cast(pos_type).set_sorted())
    st = _stage_events(ev, act_stage, d)
    case_variants, seqs = _case_variants(ev, st)
    per_case = case_variants.select(
        pl.lit(codes).gather(pl.col(C)).alias(_CODE),
        "events",
        "over_standard",
        pl.col("__v").alias(_SID),
    )
    at = S if S in st.columns else T
    position = pl.col(C).cast(pos_type).alias(_POS)
    return ConformanceParts(
        cases=per_case,
        sequences=seqs["__seq"],
        visits=st.select(position, _STAGE, _US),
        wrong=st.filter(~pl.col(_OK)).select(position, _FIRST, _PREV, _STAGE, T),
        over=st.filter(_over_standard()).select(position, _STAGE, pl.col(at).alias(_AT), _US),
    )


def combine_parts(
    pieces: list[tuple[ConformanceParts, pl.Series]],
) -> ConformanceParts:
    """The parts of a log made of the cases of ``pieces``: each is (parts, each of its cases'
    code in that log, or null for a case it does not keep). The log's rows are in case-code
    order (as a coded log is), so its cases are numbered in code order; a piece's kept cases
    keep their order (e.g. the cases a filter keeps, or those a splice did not touch).

    Raises
    ------
    InvalidParameterError
        When there is no piece, a piece's codes are not one per case, or two cases are given
        one code.
    """
    if not pieces:
        raise InvalidParameterError("no conformance parts to combine")
    for parts, codes in pieces:
        if codes.len() != parts.n_cases:
            raise InvalidParameterError(
                f"{codes.len()} codes given for {parts.n_cases} cases of conformance parts"
            )
    kept = pl.concat(
        [
            pl.DataFrame(
                {
                    "__piece": pl.repeat(i, parts.n_cases, dtype=pl.UInt32, eager=True),
                    "__row": pl.int_range(parts.n_cases, dtype=pl.UInt64, eager=True),
                    _CODE: codes.cast(pl.Int64),
                }
            )
            for i, (parts, codes) in enumerate(pieces)
        ]
    ).filter(pl.col(_CODE).is_not_null())
    if kept[_CODE].n_unique() != kept.height:
        raise InvalidParameterError("two cases of the conformance parts are given one code")
    pos_type = _position_type(kept.height)
    kept = kept.sort(_CODE).with_row_index(_POS).with_columns(pl.col(_POS).cast(pos_type))
    sequences = pl.concat([p.sequences for p, _ in pieces]).unique(maintain_order=True)
    global_ids = sequences.to_frame("__seq").with_row_index("__global")
    mine = [kept.filter(pl.col("__piece") == i) for i in range(len(pieces))]
    with_sids = []
    for parts, _ in pieces:
        remap = (
            parts.sequences.to_frame("__seq")
            .join(global_ids, on="__seq", how="left", maintain_order="left")["__global"]
            .cast(pl.UInt32)
        )
        cases = parts.cases
        if not remap.equals(pl.int_range(remap.len(), dtype=pl.UInt32, eager=True)):
            cases = cases.with_columns(pl.lit(remap).gather(pl.col(_SID)).alias(_SID))
        with_sids.append(cases)
    runs = [_runs(m) for m in mine]
    sorted_visits = None
    if all(r is not None for r in runs) and sum(len(r or ()) for r in runs) <= RUNS_LIMIT:
        pieces_runs = [
            (p, c, r or []) for (p, _), c, r in zip(pieces, with_sids, runs, strict=True)
        ]
        combined = _sliced(pieces_runs, pos_type)
        first = pieces[0][0]
        added = _kept_visits(pieces[1:])
        if first.runs is not None and sum(a.height for a in added) <= PATCH_LIMIT:
            gone = _gone_visits(first, runs[0] or [])
            if gone.height <= PATCH_LIMIT:
                sorted_visits = _patched(
                    first.runs,
                    gone,
                    pl.concat(added, how="vertical_relaxed") if added else first.visits.clear(),
                )
    else:
        combined = _masked(pieces, with_sids, mine, pos_type)
        first = pieces[0][0]
        if first.runs is not None and first.runs_cases is not None:
            keep = pl.repeat(False, first.n_cases, eager=True)
            if mine[0].height:
                keep = keep.scatter(mine[0]["__row"], True)
            added = _kept_visits(pieces[1:])
            sorted_visits = _masked_runs(
                first.runs,
                first.runs_cases,
                keep,
                pl.concat(added, how="vertical_relaxed") if added else first.visits.clear(),
            )
    cases = combined["cases"]
    cases = cases.with_columns(
        kept[_CODE].cast(cases[_CODE].dtype if cases.height else pl.Int64).alias(_CODE)
    )
    return ConformanceParts(
        cases=cases,
        sequences=sequences,
        visits=combined["visits"],
        wrong=combined["wrong"],
        over=combined["over"],
        runs=sorted_visits,
    )


def _kept_visits(pieces: list[tuple[ConformanceParts, pl.Series]]) -> list[pl.DataFrame]:
    """The visits of the cases each piece keeps (those given a code)."""
    return [
        parts.visits.filter(pl.lit(codes.is_not_null()).gather(pl.col(_POS)))
        for parts, codes in pieces
    ]


def _gone_visits(parts: ConformanceParts, runs: list[tuple[int, int, int]]) -> pl.DataFrame:
    """The visits of ``parts``' cases that no run keeps (rows between the runs)."""
    column = parts.visits[_POS]
    gaps, at = [], 0
    for row, _, length in runs:
        if row > at:
            gaps.append((at, row))
        at = row + length
    if at < parts.n_cases:
        gaps.append((at, parts.n_cases))
    if not gaps:
        return parts.visits.clear()
    lows = column.search_sorted(pl.Series([a for a, _ in gaps]).cast(column.dtype), side="left")
    highs = column.search_sorted(pl.Series([b for _, b in gaps]).cast(column.dtype), side="left")
    return pl.concat(
        [
            parts.visits.slice(low, high - low)
            for low, high in zip(lows.to_list(), highs.to_list(), strict=True)
        ]
    )


#: The first piece's sorted visits are patched when at most this many visits go and as many
#: come (a splice); beyond, the combined visits are sorted again.
PATCH_LIMIT = 100_000
#: A combination whose kept cases make at most this many runs (cases consecutive in their parts
#: and in the new log) is made of slices of the parts' frames; beyond, of masks.
RUNS_LIMIT = 2_000
_CASE_FRAMES = ("visits", "wrong", "over")


def _runs(mine: pl.DataFrame) -> list[tuple[int, int, int]] | None:
    """The kept cases of one piece (``__row`` in its parts, ``__pos`` in the new log, in new
    order) as runs (first row, first position, length) consecutive in both; None when their
    rows are not in their new order or make more than :data:`RUNS_LIMIT` runs."""
    if mine.height == 0:
        return []
    rows, places = mine["__row"].cast(pl.Int64), mine[_POS].cast(pl.Int64)
    if not rows.is_sorted():
        return None
    breaks = ((rows.diff() != 1) | (places.diff() != 1)).fill_null(True).arg_true()
    if breaks.len() > RUNS_LIMIT:
        return None
    starts = breaks.to_list()
    ends = [*starts[1:], mine.height]
    first_rows, first_places = rows.gather(breaks).to_list(), places.gather(breaks).to_list()
    return [
        (row, place, end - start)
        for row, place, start, end in zip(first_rows, first_places, starts, ends, strict=True)
    ]


def _sliced(
    pieces: list[tuple[ConformanceParts, pl.DataFrame, list[tuple[int, int, int]]]],
    pos_type: pl.DataType,
) -> dict[str, pl.DataFrame]:
    """The combined frames as slices of the pieces' frames, one per run, their positions moved
    by a constant: a splice of a few cases into millions of rows copies nothing else."""
    out: dict[str, list[tuple[int, pl.DataFrame]]] = {"cases": [], **{n: [] for n in _CASE_FRAMES}}
    for parts, cases, runs in pieces:
        if not runs:
            continue
        out["cases"] += [(place, cases.slice(row, length)) for row, place, length in runs]
        firsts = pl.Series([row for row, _, _ in runs], dtype=pl.Int64)
        lasts = pl.Series([row + length for row, _, length in runs], dtype=pl.Int64)
        for name in _CASE_FRAMES:
            frame: pl.DataFrame = getattr(parts, name)
            column = frame[_POS]
            starts = column.search_sorted(firsts.cast(column.dtype), side="left").to_list()
            ends = column.search_sorted(lasts.cast(column.dtype), side="left").to_list()
            for (row, place, _), start, end in zip(runs, starts, ends, strict=True):
                if end <= start:
                    continue
                piece = frame.slice(start, end - start)
                if place != row or column.dtype != pos_type:
                    piece = piece.with_columns(
                        (pl.col(_POS).cast(pl.Int64) + (place - row)).cast(pos_type)
                    )
                out[name].append((place, piece))
    empty = pieces[0][0]
    frames = {}
    for name, segments in out.items():
        segments.sort(key=lambda segment: segment[0])
        if segments:
            frames[name] = pl.concat(
                [f for _, f in segments], how="vertical_relaxed", rechunk=False
            )
        else:
            base = pieces[0][1] if name == "cases" else getattr(empty, name)
            frames[name] = base.clear()
    return frames


def _masked(
    pieces: list[tuple[ConformanceParts, pl.Series]],
    cases_of: list[pl.DataFrame],
    mine: list[pl.DataFrame],
    pos_type: pl.DataType,
) -> dict[str, pl.DataFrame]:
    """The combined frames by a mask of each piece's rows and a merge (cases kept scattered:
    a filter set's)."""
    case_parts: list[pl.DataFrame] = []
    frames: dict[str, list[pl.DataFrame]] = {name: [] for name in _CASE_FRAMES}
    for (parts, _), cases, kept in zip(pieces, cases_of, mine, strict=True):
        new_pos = pl.repeat(None, parts.n_cases, dtype=pos_type, eager=True)
        if kept.height:
            new_pos = new_pos.scatter(kept["__row"], kept[_POS])
        case_parts.append(
            cases.with_columns(new_pos.alias(_POS)).filter(pl.col(_POS).is_not_null())
        )
        for name in frames:
            frame: pl.DataFrame = getattr(parts, name)
            frames[name].append(
                frame.with_columns(pl.lit(new_pos).gather(pl.col(_POS)).alias(_POS)).filter(
                    pl.col(_POS).is_not_null()
                )
            )
    out = {name: _merged(found) for name, found in frames.items()}
    out["cases"] = pl.concat(case_parts, how="vertical_relaxed").sort(_POS).drop(_POS)
    return out


def _merged(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Frames of disjoint cases merged into case order, each case's rows in their order: by a
    merge of sorted runs (a splice adds a few cases to millions of rows), else a stable sort."""
    frames = [f for f in frames if f.height] or frames[:1]
    if all(f[_POS].is_sorted() for f in frames):
        out = frames[0]
        for other in frames[1:]:
            out = out.merge_sorted(other.cast(dict(out.schema)), key=_POS)  # type: ignore[arg-type]
        return out
    return pl.concat(frames, how="vertical_relaxed").sort(_POS, maintain_order=True)


def conformance_from_parts(
    log: EventLog, spec: ProcessSpec, parts: ConformanceParts
) -> ConformanceResult:
    """The result of :func:`check_conformance` of ``log`` against ``spec`` aggregated from
    ``parts`` (of ``spec``, one per case of ``log``, in the order of its rows: those
    :func:`conformance_parts` or :func:`combine_parts` gave), equal to it frame for frame. Only
    the activity mapping reads the log's rows; the rest is the parts'.

    Raises
    ------
    EmptyLogError
        When the log has no events.
    InvalidParameterError
        When the parts are not of as many cases and events as the log.
    """
    if log.n_events == 0:
        raise EmptyLogError("the log has no events (did a filter remove them all?)")
    if parts.n_cases != log.n_cases or int(parts.cases["events"].sum()) != log.n_events:
        raise InvalidParameterError(
            f"the conformance parts are of {parts.n_cases} cases and "
            f"{int(parts.cases['events'].sum())} events, the log has {log.n_cases} and "
            f"{log.n_events}"
        )
    d = _Design.of(spec)
    ev = log.coded()
    act_stage = pl.Series(_stage_of_activities(log.activities, spec), dtype=pl.Int32)
    activities = _activity_mapping(ev, log.activity_names, act_stage, d)
    code_of = parts.cases[_CODE]
    # Per case, by code: its sequence numbered in order of the first case that has it.
    case_variants = parts.cases.select(
        pl.col(_CODE).alias(C), "events", "over_standard", _SID
    ).sort(C)
    first = case_variants[_SID].unique(maintain_order=True)
    v_of_sid = pl.Series([0] * parts.sequences.len(), dtype=pl.UInt32).scatter(
        first, pl.int_range(first.len(), dtype=pl.UInt32, eager=True)
    )
    case_variants = case_variants.with_columns(
        pl.lit(v_of_sid).gather(pl.col(_SID)).alias("__v")
    ).drop(_SID)
    seqs = pl.DataFrame(
        {"__seq": parts.sequences.gather(first)}, schema={"__seq": pl.List(pl.Int32)}
    ).with_row_index("__v")
    moves = _variant_moves(seqs, d)
    verdicts = _variant_verdicts(seqs, moves, d)
    counts = case_variants.group_by("__v").agg(pl.len().cast(pl.Int64)).sort("__v")["len"]
    transitions = _transitions(moves, counts, d)
    cases, skips_long = _per_case(case_variants, verdicts)
    case_frame = _case_frame(cases, log)
    by_code = pl.lit(code_of).gather(pl.col(_POS)).alias(C)
    wrong = parts.wrong.select(by_code, _FIRST, _PREV, _STAGE, T)
    deviations, bad = _deviations(wrong, skips_long, log, d)
    variants = _variants(verdicts, seqs, counts, d)
    over = parts.over.select(by_code, _STAGE, _AT, _US)
    runs = parts.runs
    if runs is not None and runs.n_keys != max(len(d.codes), 1):
        runs = None  # sorted for another design's stages
    stage_times, over_standard = _stage_times(parts.visits, over, log, d, runs)
    summary = _summary(
        spec, log.n_events, parts.visits.height, activities, cases, bad, over_standard
    )
    return ConformanceResult(
        process=spec.code,
        summary=summary,
        activities=activities,
        transitions=transitions,
        cases=case_frame,
        deviations=deviations,
        variants=variants,
        stage_times=stage_times,
        over_standard=over_standard,
    )


def check_conformance(
    log: EventLog | pl.DataFrame | pl.LazyFrame, spec: ProcessSpec
) -> ConformanceResult:
    """Check ``log`` against ``spec``; see the module docstring for the definitions.

    ``log`` is an :class:`EventLog` or a frame with the canonical columns ``case_id``,
    ``activity``, ``timestamp`` (and optionally ``start_timestamp``). The check is each case's
    parts (:func:`conformance_parts`) aggregated (:func:`conformance_from_parts`).

    Raises
    ------
    EmptyLogError
        When the log has no events.

    Examples
    --------
    >>> import polars as pl
    >>> from serviceloop.analytics.process_model import parse_process_yaml
    >>> spec = parse_process_yaml('''
    ... process: {code: p, name: P}
    ... stages: [{code: a, name: A, start: true}, {code: b, name: B, end: true}]
    ... transitions: [{from: a, to: b}]''')
    >>> log = pl.DataFrame({"case_id": [1, 1, 2], "activity": ["A", "B", "B"],
    ...                     "timestamp": [0, 60, 0]})
    >>> r = check_conformance(log, spec)
    >>> r.summary["move_fitness"], r.summary["conforming_cases"]
    (0.6666666666666666, 1)
    """
    if not isinstance(log, EventLog):
        log = from_polars(log, duplicates="keep")
    if log.n_events == 0:
        raise EmptyLogError("the log has no events (did a filter remove them all?)")
    return conformance_from_parts(log, spec, conformance_parts(log, spec))
