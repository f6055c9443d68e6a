"""The conformance check as it was before it worked per distinct stage sequence (commit 07a865b
of ``serviceloop.analytics.conformance``): every step over every stage event and case. Kept
unchanged as the reference the faster check must equal, frame for frame."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import polars as pl

from serviceloop.analytics._schema import US, A, C, S, T
from serviceloop.analytics.errors import EmptyLogError
from serviceloop.analytics.eventlog import EventLog, from_polars
from serviceloop.analytics.process_model import ProcessSpec

__all__ = ["check_conformance"]

_STAGE, _NEXT, _PREV, _FIRST, _OK, _DUR = "__stage", "__next", "__prev", "__first", "__ok", "__dur"
_NULL_STAGE = pl.lit(None, pl.String)
_MAX_BIT_STAGES = 63  # visited stages per case fit in one Int64 bitmask up to this many stages


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
    st = (
        ev.with_columns(pl.lit(act_stage).gather(A).alias(_STAGE))
        .filter(pl.col(_STAGE).is_not_null())
        .select(cols)
    )
    same_prev = pl.col(C) == pl.col(C).shift(1)
    same_next = pl.col(C) == pl.col(C).shift(-1)
    st = st.with_columns(
        (~same_prev.fill_null(False)).alias(_FIRST),
        pl.when(same_prev).then(pl.col(_STAGE).shift(1)).alias(_PREV),
        pl.when(same_next).then(pl.col(T).shift(-1)).alias(_NEXT),
    )
    edge_code = d.edge_code()
    allowed_codes = pl.Series(list(d.allowed), dtype=pl.Int64)
    dur = ((pl.col(T) - pl.col(S)) if has_start else (pl.col(_NEXT) - pl.col(T))) / US
    st = st.with_columns(
        pl.when(pl.col(_FIRST))
        .then(pl.col(_STAGE) == d.start_idx)
        .otherwise(edge_code.is_in(allowed_codes.implode()))
        .alias(_OK),
        dur.cast(pl.Float64).alias(_DUR),
        pl.lit(d.standard).gather(pl.col(_STAGE)).alias("__std"),
    )
    return st


def _transitions(st: pl.DataFrame, d: _Design) -> pl.DataFrame:
    """Every observed move with its declared kind and whether it is allowed, most first."""
    edge_code = d.edge_code()
    kinds = pl.DataFrame(
        {"__edge": list(d.allowed), "kind": list(d.allowed.values())},
        schema={"__edge": pl.Int64, "kind": pl.String},
    )
    moves = (
        st.group_by(_PREV, _STAGE, _OK)
        .agg(pl.len().alias("count"), pl.col(C).n_unique().alias("cases"))
        .with_columns(edge_code.alias("__edge"))
        .join(kinds, on="__edge", how="left")
    )
    transitions = moves.select(
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


def _per_case(ev: pl.DataFrame, st: pl.DataFrame, d: _Design) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per case (coded): events, moves, allowed moves, fitness, completion, skipped mandatory
    stages, visits over standard, conformity; and the skipped (case, stage) pairs."""
    over = _over_standard()
    ends = pl.Series(d.end_idx, dtype=pl.Int32).implode()
    use_bits = len(d.codes) <= _MAX_BIT_STAGES
    bits = pl.Series([1 << i for i in range(len(d.codes))] if use_bits else [], dtype=pl.Int64)
    per_case = (
        st.with_columns(pl.col(_STAGE).is_in(ends).alias("__end"))
        .group_by(C)
        .agg(
            pl.len().alias("stage_events"),
            pl.col(_OK).sum().alias("allowed_moves"),
            pl.col(_OK).first().alias("starts_at_start"),
            pl.col("__end").any().alias("completed"),
            over.sum().alias("over_standard"),
            *(
                [pl.lit(bits).gather(pl.col(_STAGE)).bitwise_or().alias("__visited")]
                if use_bits
                else []
            ),
        )
    )
    # Skipped mandatory stages, long form (case, stage), for completed cases: a bit test per
    # mandatory stage on the per-case set of visited stages (a bitmask), or, for processes
    # with more stages than bits, (case x mandatory stage) minus the visited pairs.
    done = per_case.filter(pl.col("completed"))
    if use_bits:
        parts = [
            done.filter((pl.col("__visited") & (1 << m)) == 0).select(
                C, pl.lit(m, pl.Int32).alias(_STAGE)
            )
            for m in d.mandatory
        ]
        skips_long = (
            pl.concat(parts)
            if parts
            else pl.DataFrame(schema={C: per_case.schema[C], _STAGE: pl.Int32})
        ).sort(C, _STAGE)
    else:
        must = pl.DataFrame({_STAGE: d.mandatory}, schema={_STAGE: pl.Int32})
        skips_long = (
            done.select(C)
            .join(must, how="cross")
            .join(st.select(C, _STAGE).unique(), on=[C, _STAGE], how="anti")
            .sort(C, _STAGE)
        )
    skipped_per_case = (
        skips_long.with_columns(pl.lit(d.code_s).gather(pl.col(_STAGE)).alias("skipped"))
        .group_by(C)
        .agg(pl.col("skipped"))
    )
    all_cases = ev.group_by(C).agg(pl.len().alias("events"))
    cases = (
        all_cases.join(per_case, on=C, how="left")
        .with_columns(
            pl.col("stage_events").fill_null(0).cast(pl.Int64),
            pl.col("allowed_moves").fill_null(0).cast(pl.Int64),
            pl.col("starts_at_start").fill_null(False),
            pl.col("completed").fill_null(False),
            pl.col("over_standard").fill_null(0).cast(pl.Int64),
        )
        .join(skipped_per_case, on=C, how="left")
        .with_columns(pl.col("skipped").fill_null(pl.lit([], pl.List(pl.String))))
        .with_columns(
            pl.col("stage_events").alias("moves"),
            pl.when(pl.col("stage_events") > 0)
            .then(pl.col("allowed_moves") / pl.col("stage_events"))
            .alias("fitness"),
        )
        .with_columns(
            (
                (pl.col("moves") > 0)
                & (pl.col("allowed_moves") == pl.col("moves"))
                & (pl.col("skipped").list.len() == 0)
            ).alias("conforming")
        )
        .sort(C)
    )
    return cases, skips_long


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
    st: pl.DataFrame, skips_long: pl.DataFrame, log: EventLog, d: _Design
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One row per wrong start, disallowed transition and skipped mandatory stage; and the
    disallowed moves still coded (the summary counts their cases)."""
    bad = st.filter(~pl.col(_OK)).select(
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
        .sort([C, "__t"], nulls_last=True)
        .select(
            log.decode_case(C).alias("case_id"),
            "kind",
            "source",
            "target",
            _utc("__t").alias("timestamp"),
        )
    )
    return deviations, bad


def _variants(st: pl.DataFrame, cases: pl.DataFrame, d: _Design) -> pl.DataFrame:
    """Variants of the stage sequence (what the definition speaks about), most frequent first."""
    seqs = st.group_by(C, maintain_order=True).agg(pl.col(_STAGE).alias("__seq"))
    var = (
        cases.select(C, "moves", "allowed_moves", "conforming")
        .join(seqs, on=C, how="left")
        .with_columns(pl.col("__seq").fill_null(pl.lit([], pl.List(pl.Int32))))
        .group_by("__seq")
        .agg(
            pl.len().alias("count"),
            pl.col(C).min().alias("__firstcase"),
            pl.col("moves").sum(),
            pl.col("allowed_moves").sum(),
            pl.col("conforming").sum().alias("conforming"),
        )
        .sort(["count", "__firstcase"], descending=[True, False])
    )
    variants = var.select(
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
    return variants


def _stage_times(st: pl.DataFrame, log: EventLog, d: _Design) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Time in each stage against its standard, and the visits over standard."""
    has_start = S in st.columns
    over = _over_standard()
    per_stage = st.group_by(_STAGE).agg(
        pl.len().alias("visits"),
        pl.col(_DUR).count().alias("measured"),
        pl.col(_DUR).mean().alias("mean_seconds"),
        pl.col(_DUR).median().alias("median_seconds"),
        pl.col(_DUR).quantile(0.9, interpolation="linear").alias("p90_seconds"),
        over.sum().alias("over_standard"),
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
    over_standard = st.filter(over).select(
        log.decode_case(C).alias("case_id"),
        pl.lit(d.code_s).gather(pl.col(_STAGE)).alias("stage"),
        _utc(pl.col(S) if has_start else pl.col(T)).alias("entered"),
        pl.col(_DUR).alias("seconds"),
        pl.col("__std").alias("standard_seconds"),
        (pl.col(_DUR) - pl.col("__std")).alias("over_seconds"),
    )
    return stage_times, over_standard


def _summary(
    spec: ProcessSpec,
    ev: pl.DataFrame,
    st: pl.DataFrame,
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
    mapped_events = int(st.height)
    summary = {
        "cases": n_cases,
        "events": int(ev.height),
        "stage_events": mapped_events,
        "unmapped_events": int(ev.height) - mapped_events,
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


def check_conformance(
    log: EventLog | pl.DataFrame | pl.LazyFrame, spec: ProcessSpec
) -> ConformanceResult:
    """Check ``log`` against ``spec``; see the module docstring for the definitions.

    ``log`` is an :class:`EventLog` or a frame with the canonical columns ``case_id``,
    ``activity``, ``timestamp`` (and optionally ``start_timestamp``).

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
    d = _Design.of(spec)
    ev = log.coded()
    act_stage = pl.Series(_stage_of_activities(log.activities, spec), dtype=pl.Int32)
    activities = _activity_mapping(ev, log.activity_names, act_stage, d)
    st = _stage_events(ev, act_stage, d)
    transitions = _transitions(st, d)
    cases, skips_long = _per_case(ev, st, d)
    case_frame = _case_frame(cases, log)
    deviations, bad = _deviations(st, skips_long, log, d)
    variants = _variants(st, cases, d)
    stage_times, over_standard = _stage_times(st, log, d)

    summary = _summary(spec, ev, st, activities, cases, bad, over_standard)
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
