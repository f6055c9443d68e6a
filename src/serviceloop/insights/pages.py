"""What each Insights page shows, computed from the filtered live log by the analytics library.

A :class:`Scope` is the log plus the process version it is compared with: the version chosen in
the filters, else the one most of the log's cases ran on. Each ``*_context`` function returns the
template context of one page; the views only parse the request and render.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from django.utils import timezone
from django.utils.translation import gettext as _

from serviceloop import analytics
from serviceloop.analytics import EventLog
from serviceloop.analytics._schema import A, C  # the coded log's activity and case columns
from serviceloop.analytics.conformance import (
    ConformanceParts,
    ConformanceResult,
    check_conformance,
    combine_parts,
    conformance_from_parts,
    conformance_parts,
)
from serviceloop.analytics.process_model import ProcessSpec
from serviceloop.insights import charts, lineage, storedconformance, storedsteps
from serviceloop.insights.formatting import (
    activity_labeller,
    choice_label,
    format_count,
    format_duration,
    format_share,
)
from serviceloop.insights.logcoding import CASES_MEMO
from serviceloop.insights.process_map import Measure, discovered_dot
from serviceloop.insights.selectors import (
    LogFilters,
    end_stage_names,
    filter_categories,
    filter_teams,
    staff_names,
)
from serviceloop.insights.storedlogs import stored_log_at
from serviceloop.processes.flowchart import version_dot
from serviceloop.processes.models import ProcessVersion
from serviceloop.processes.selectors import process_version_get
from serviceloop.processes.services import process_spec_from_version

__all__ = [
    "REWORK_ATTRIBUTES",
    "Scope",
    "case_attributes",
    "cases_with_repeats",
    "conformance_of",
    "handovers_context",
    "overview_context",
    "performance_context",
    "process_context",
    "repeats_by_blocks",
    "repeats_by_masks",
    "rework_context",
    "scope_build",
    "stored_conformance_keep",
    "stored_keep",
    "variants_context",
    "with_stored_steps",
]

REWORK_ATTRIBUTES = ("team", "category", "priority", "channel")


@dataclass
class Scope:
    filters: LogFilters
    log: EventLog
    version: ProcessVersion | None
    spec: ProcessSpec | None
    label: Callable[[str], str]
    _conformance: ConformanceResult | None = None
    _cases: pl.DataFrame | None = None

    @property
    def cases(self) -> pl.DataFrame:
        """One row per case: ``case_id``, ``version``, ``status`` (once per request)."""
        if self._cases is None:
            self._cases = case_attributes(self.log, "version", "status")
        return self._cases

    @property
    def compares(self) -> bool:
        """Conformance is meaningful on the stage view, against a version."""
        return self.spec is not None and self.filters.view == "stages"

    @property
    def mixed_versions(self) -> bool:
        """Whether the log holds cases of versions other than the compared one."""
        return self.filters.version is None and self.cases["version"].n_unique() > 1

    def conformance(self) -> ConformanceResult | None:
        if not self.compares:
            return None
        if self._conformance is None:
            assert self.spec is not None
            spec = self.spec
            # Every page over one kept log checks it against the same design: once per log.
            self._conformance = self.log.memo(
                ("insights.conformance", spec), lambda: conformance_of(self.log, spec)
            )
        return self._conformance

    def version_label(self, version_id: object) -> str:
        if self.version is not None and version_id == self.version.pk:
            return str(self.version)
        return _("version #%(id)s") % {"id": version_id}


def conformance_of(log: EventLog, spec: ProcessSpec) -> ConformanceResult:
    """``log`` checked against ``spec``. Over the stored log of every case: the result stored
    beside it when there is one, else computed and stored there with each case's parts (the
    next fresh process at that log version takes it: 1.3 s of CPU at a million cases). Over a
    log made from a stored one (a filter set's cases, or new events spliced in;
    :mod:`.lineage`) whose parts are stored: those parts of the cases it holds untouched and
    fresh parts of the others, aggregated (the same result). Else computed."""
    at = stored_log_at(log)
    if at is not None:
        stored = storedconformance.load(*at, spec)
        if stored is not None:
            return stored
        parts = conformance_parts(log, spec, runs=True)
        result = conformance_from_parts(log, spec, parts)
        storedconformance.write(*at, spec, result, parts)
        return result
    origin = lineage.origin(log)
    if origin is not None and origin.codes is None:  # the stored log's rows, copied
        stored = storedconformance.load(*origin.at, spec)
        if stored is not None:
            return stored
    stored_parts = None if origin is None else storedconformance.load_parts(*origin.at, spec)
    if origin is None or stored_parts is None or log.n_cases < stored_parts.n_cases * PARTS_SHARE:
        return check_conformance(log, spec)
    combined = _parts_of(log, spec, origin, stored_parts)
    if combined is None:
        return check_conformance(log, spec)
    return conformance_from_parts(log, spec, combined)


#: A log made from a stored one is checked from the stored parts when it holds at least this
#: share of the stored log's cases; a smaller one is checked whole, which costs less than
#: picking its cases' parts out of the stored ones (a team's 935 of a million cases: 0.03 s
#: of CPU checked, 0.08 s from the parts).
PARTS_SHARE = 0.25


def _parts_of(
    log: EventLog, spec: ProcessSpec, origin: lineage.Origin, stored: ConformanceParts
) -> ConformanceParts | None:
    """The parts of ``log``'s cases: the stored ones of its cases untouched since the stored
    log (each moved to its code in ``log``), and fresh ones of the others (their rows alone);
    None when the lineage does not fit the log or the parts (never expected)."""
    codes = origin.stored_codes(log.n_cases)  # by code of log: its code in the stored log
    present = pl.int_range(log.n_cases, dtype=pl.Int64, eager=True)
    if codes.len() != log.n_cases:  # a narrowed log: some codes, as they were
        present = log.coded()[C].unique(maintain_order=True).cast(pl.Int64)
    if not present.len() or int(present.max()) >= codes.len():  # type: ignore[arg-type]
        return None
    mapped = codes.gather(present)
    if mapped.drop_nulls().len() and int(mapped.max()) >= stored.n_cases:  # type: ignore[arg-type]
        return None
    untouched = mapped.is_not_null()
    code_in_log = pl.repeat(None, stored.n_cases, dtype=pl.Int64, eager=True)
    if untouched.any():
        code_in_log = code_in_log.scatter(mapped.filter(untouched), present.filter(untouched))
    pieces = [(stored, code_in_log.gather(stored.cases["__code"]))]
    if not untouched.all():
        fresh = conformance_parts(log, spec, cases=present.filter(~untouched))
        pieces.append((fresh, fresh.cases["__code"].cast(pl.Int64)))
    return combine_parts(pieces)


def stored_conformance_keep(log: EventLog) -> None:
    """Store the conformance of the stored stage log ``log`` (just written by the worker)
    against the design its pages compare it with, so the first page of a fresh process does not
    compute it (nothing for the all-events view, which is not compared)."""
    at = stored_log_at(log)
    if at is not None:
        scope_build(LogFilters(view=at[0]), log).conformance()


def stored_keep(log: EventLog) -> None:
    """What the pages compute over the stored log ``log`` (just written by the worker) and keep
    beside it: the step statistics' sorts (:mod:`.storedsteps`) and the stage log's conformance
    (:func:`stored_conformance_keep`)."""
    storedsteps.keep(log)
    stored_conformance_keep(log)


def with_stored_steps(log: EventLog, *sorts: str) -> bool:
    """Give ``log`` the step statistics' ``sorts`` (``"runs"``: the durations by pair, which
    the map's medians, the waits and the activity times read; ``"keys"``: one key per event by
    case, which the map's cases per pair and the rework read; both when none is named) from
    those stored beside the stored log it is or was made from, once per log; False when there
    are none that fit (the analyses sort)."""
    wanted = sorts or ("runs", "keys")
    return log.memo(("insights.stored_steps", wanted), lambda: storedsteps.install(log, wanted))


def case_attributes(log: EventLog, *names: str) -> pl.DataFrame:
    """``case_id`` and the named case attributes (the same on every event of a case), one row per
    case, read from the coded log: decoding every event's names would cost more than the pages."""
    coded = log.coded().select(C, *names)
    return coded.filter(pl.col(C).is_first_distinct()).select(
        log.decode_case(C).alias("case_id"),
        *(
            pl.col(n).cast(pl.String) if isinstance(coded.schema[n], pl.Enum) else pl.col(n)
            for n in names
        ),
    )


def scope_build(filters: LogFilters, log: EventLog) -> Scope:
    cases = log.memo(CASES_MEMO, lambda: case_attributes(log, "version", "status"))
    version_id = filters.version
    if version_id is None:
        counts = cases.group_by("version").agg(pl.len().alias("n"))
        version_id = counts.sort(["n", "version"], descending=[True, True])["version"][0]
    version: ProcessVersion | None
    try:
        version = process_version_get(int(version_id))
    except ProcessVersion.DoesNotExist:
        version = None
    spec = process_spec_from_version(version) if version is not None else None
    stages = [(s.name, s.name_zh) for s in version.stages.all()] if version is not None else []
    return Scope(
        filters=filters,
        log=log,
        version=version,
        spec=spec,
        label=activity_labeller(stages),
        _cases=cases,
    )


# -- overview -----------------------------------------------------------------------------------------
#: Rows of the coded log looked at together by :func:`cases_with_repeats` (whole cases).
REPEAT_BLOCK = 1 << 21


def cases_with_repeats(log: EventLog, *, block: int = REPEAT_BLOCK) -> int:
    """How many cases have an activity more than once: the cases of ``analytics.rework_cases``
    with repeats. The library's table pairs every event with the next (kept on the log) and
    took 0.5 GB more at 32M events; the overview needs only this count: from each case's set of
    activities as bits (up to :data:`MASK_BITS` activities), else from the coded rows, a block
    of whole cases at a time."""
    if len(log.activity_names) <= MASK_BITS:
        return repeats_by_masks(log, block=block)
    return repeats_by_blocks(log, block=block)


#: Activities a log may have for :func:`repeats_by_masks` (one bit each in an unsigned 64-bit).
MASK_BITS = 64


def repeats_by_masks(log: EventLog, *, block: int = REPEAT_BLOCK) -> int:
    """:func:`cases_with_repeats` as the cases whose events outnumber the activities they have:
    each event's activity as one bit, OR-ed per case over each case's run of rows (the rows are
    in case order) and its bits counted, a block of whole cases at a time (at 32M events 0.09 s
    of CPU, where the streaming engine's group-by by case took 0.5 s and the sorts of
    :func:`repeats_by_blocks` 0.5 s). A null activity sets no bit, but counts as an event."""
    n = len(log.activity_names)
    width = np.uint8 if n <= 8 else np.uint16 if n <= 16 else np.uint32 if n <= 32 else np.uint64
    one = width(1)
    total = 0
    for rows in _case_blocks(log, block):
        cases, activities = rows[C], rows[A]
        bits = np.left_shift(one, activities.fill_null(0).to_numpy().astype(width, copy=False))
        if activities.null_count():
            bits[activities.is_null().to_numpy()] = 0
        codes = cases.to_numpy()
        first = np.empty(codes.shape[0], dtype=bool)
        first[0] = True
        np.not_equal(codes[1:], codes[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        seen = np.bitwise_or.reduceat(bits, starts)
        events = np.diff(np.append(starts, codes.shape[0]))
        total += int(np.count_nonzero(np.bitwise_count(seen) < events))
    return total


def _case_blocks(log: EventLog, block: int) -> Iterator[pl.DataFrame]:
    """The coded rows of ``log`` in blocks of about ``block`` rows, each of whole cases (a
    case longer than a block is a block of its own)."""
    coded = log.coded()
    codes = coded[C]
    start = 0
    while start < coded.height:
        end = min(start + block, coded.height)
        if end < coded.height:  # cut before the case the block would split
            end = int(codes.search_sorted(codes[end], side="left"))
            if end <= start:  # one case longer than a block: the block is that case
                end = int(codes.search_sorted(codes[start], side="right"))
        yield coded.slice(start, end - start)
        start = end


def repeats_by_blocks(log: EventLog, *, block: int = REPEAT_BLOCK) -> int:
    """:func:`cases_with_repeats` from the coded rows a block of whole cases at a time, for any
    number of activities."""
    width = len(log.activity_names)
    total = 0
    for rows in _case_blocks(log, block):
        # Each (case, activity) as one integer, sorted: a repeat is a value equal to the one
        # before it (a hash of the pairs took 1.3 s at 7.2M visits, the sort 0.2 s).
        pairs = (rows[C].cast(pl.UInt64) * width + rows[A].cast(pl.UInt64)).sort()
        total += (pairs.filter(pairs == pairs.shift(1)) // width).n_unique()
    return total


def overview_context(scope: Scope) -> dict[str, Any]:
    log = scope.log
    status = scope.cases.select("case_id", "status")
    durations = analytics.case_durations(log)
    if durations["case_id"].equals(status["case_id"]):  # both in code order: side by side
        durations = durations.with_columns(status["status"])  # (a join took 0.3 s at 1M cases)
    else:
        durations = durations.join(status, on="case_id", how="left")
    closed = durations.filter(pl.col("status") == "closed")["duration_seconds"]
    with_rework = cases_with_repeats(log)
    ends = end_stage_names()
    conf = scope.conformance()
    kpis = [
        (_("Cases"), format_count(log.n_cases), ""),
        (_("Events"), format_count(log.n_events), ""),
        (
            _("Still open"),
            format_count(durations.height - closed.len()),
            _("cases not closed yet"),
        ),
        (
            _("Median duration"),
            format_duration(closed.median() if closed.len() else None),  # type: ignore[arg-type]
            _("of closed cases"),
        ),
        (
            _("90th percentile"),
            format_duration(closed.quantile(0.9, interpolation="linear") if closed.len() else None),
            _("of closed cases"),
        ),
        (
            _("Rework"),
            format_share(with_rework / log.n_cases if log.n_cases else None),
            _("cases that repeat a stage or step"),
        ),
    ]
    if conf is not None:
        kpis.append(
            (
                _("Conformance"),
                format_share(conf.summary["case_fitness"]),
                _("cases that follow the design exactly; %(moves)s of moves allowed")
                % {"moves": format_share(conf.summary["move_fitness"])},
            )
        )
    zone = timezone.get_current_timezone_name()  # days as the help desk lives them
    return {
        "kpis": kpis,
        "histogram": charts.duration_histogram(closed),
        "throughput_day": charts.throughput_chart(
            analytics.throughput(log, every="day", closed_activities=ends, time_zone=zone)
        ),
        "throughput_week": charts.throughput_chart(
            analytics.throughput(log, every="week", closed_activities=ends, time_zone=zone)
        ),
    }


# -- process map -----------------------------------------------------------------------------------
def _deviation_pairs(
    conf: ConformanceResult, activities: list[str]
) -> tuple[set[tuple[str, str]], set[str]]:
    """Activity pairs that are disallowed moves, and activities where a start is wrong."""
    by_code: dict[str, list[str]] = {}
    for activity, code in conf.activities.select("activity", "stage").rows():
        if code is not None and activity in activities:
            by_code.setdefault(code, []).append(activity)
    bad = conf.transitions.filter(~pl.col("allowed"))
    pairs: set[tuple[str, str]] = set()
    starts: set[str] = set()
    for source, target in bad.select("source", "target").rows():
        for t in by_code.get(target, []):
            if source is None:
                starts.add(t)
            else:
                pairs.update((s, t) for s in by_code.get(source, []))
    return pairs, starts


def process_map_dot(
    scope: Scope, *, measure: Measure, activities: float, paths: float
) -> dict[str, Any]:
    with_stored_steps(scope.log)
    pmap = analytics.process_map(scope.log, activities=activities, paths=paths)
    conf = scope.conformance()
    pairs, starts = _deviation_pairs(conf, scope.log.activities) if conf else (set(), set())
    dot = discovered_dot(
        pmap,
        measure=measure,
        disallowed=pairs,
        bad_starts=starts,
        label=scope.label,
        duration=format_duration,
        number=format_count,
    )
    shown = pmap.edges.select("source", "target").rows()
    return {
        "dot": dot,
        "measure": measure,
        "activities": activities,
        "paths": paths,
        "shown_nodes": pmap.nodes.height,
        "total_nodes": len(scope.log.activities),
        "shown_edges": len(shown),
        "hidden_deviations": len(pairs - set(shown)),
    }


LATE_SHARE, MOSTLY_LATE_SHARE = 0.2, 0.5
EXAMPLES = 5


def _deviation_examples(
    conf: ConformanceResult,
) -> dict[tuple[str, str | None, str], list[str]]:
    """A few case numbers per deviation (kind, source, target), so the manager can open them."""
    grouped = (
        conf.deviations.group_by("kind", "source", "target")
        .agg(pl.col("case_id").unique().sort().head(EXAMPLES))
        .rows()
    )
    return {(kind, source, target): cases for kind, source, target, cases in grouped}


def highlight_designed(dot: str, *, late: dict[str, float], skipped: set[str]) -> str:
    """The designed flow chart with its deviations: stages whose visits often exceed the time
    standard filled orange (>= 20 %) or red (>= 50 %), mandatory stages that closed cases skipped
    with a dashed red border. DOT merges a repeated node statement's attributes into the node."""
    lines = []
    for code in sorted(set(late) | skipped):
        share = late.get(code) or 0.0
        style, attrs = ["rounded"], []
        if share >= LATE_SHARE:
            style.append("filled")
            attrs.append(f'fillcolor="{"#fecaca" if share >= MOSTLY_LATE_SHARE else "#fed7aa"}"')
            note = _("%(share)s of visits over the time standard") % {"share": format_share(share)}
            attrs.append('tooltip="{}"'.format(note.replace("\\", "").replace('"', "'")))
        if code in skipped:
            style.append("dashed")
            attrs += ['color="#dc2626"', "penwidth=2"]
        if attrs:
            lines.append(f'  "s_{code}" [style="{",".join(style)}", {", ".join(attrs)}];')
    if not lines:
        return dot
    head, _sep, _tail = dot.rstrip().rpartition("}")
    return head + "\n".join(lines) + "\n}\n"


def process_context(
    scope: Scope, *, measure: Measure, activities: float, paths: float
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "map": process_map_dot(scope, measure=measure, activities=activities, paths=paths)
    }
    if scope.version is not None:
        designed = version_dot(
            scope.version,
            stages=scope.version.stages.all(),
            transitions=scope.version.transitions.all(),
        )
        # Top to bottom, like the discovered map, so the two fit side by side.
        context["designed_dot"] = designed.replace("rankdir=LR", "rankdir=TB", 1)
    conf = scope.conformance()
    if conf is None or scope.spec is None:
        return context
    names = {s.code: s.name for s in scope.spec.stages}
    ends = {s.code for s in scope.spec.end_stages}

    def stage(code: str | None) -> str:
        return _("(case start)") if code is None else scope.label(names.get(code, code))

    bad = conf.transitions.filter(~pl.col("allowed"))
    skipped = (
        conf.deviations.filter(pl.col("kind") == "skipped")
        .group_by("target")
        .agg(pl.len().alias("cases"))
        .sort(["cases", "target"], descending=[True, False])
    )
    completed = conf.summary["completed_cases"] or 0
    examples = _deviation_examples(conf)
    if "designed_dot" in context:
        late = {
            row["stage"]: row["share_over"]
            for row in conf.stage_times.iter_rows(named=True)
            if row["share_over"] is not None
        }
        context["designed_dot"] = highlight_designed(
            context["designed_dot"], late=late, skipped=set(skipped["target"].to_list())
        )
    over = conf.stage_times.filter(pl.col("over_standard") > 0).sort(
        "share_over", descending=True, nulls_last=True
    )
    context.update(
        {
            "summary": {
                "case_fitness": format_share(conf.summary["case_fitness"]),
                "move_fitness": format_share(conf.summary["move_fitness"]),
                "conforming": format_count(conf.summary["conforming_cases"]),
                "cases": format_count(conf.summary["cases"]),
                "unmapped": conf.summary["unmapped_activities"],
            },
            "disallowed": [
                {
                    "source": stage(s),
                    "target": stage(t),
                    "count": format_count(n),
                    "cases": format_count(c),
                    # Out of an end stage: a closed case was reopened (not a designed transition).
                    "reopened": s in ends,
                    "examples": examples.get(("start" if s is None else "transition", s, t), []),
                }
                for s, t, n, c in bad.select("source", "target", "count", "cases").rows()
            ],
            "skipped": [
                {
                    "stage": stage(code),
                    "cases": format_count(n),
                    "share": format_share(n / completed if completed else None),
                    "examples": examples.get(("skipped", None, code), []),
                }
                for code, n in skipped.rows()
            ],
            "over_standard": [
                {
                    "stage": stage(row["stage"]),
                    "standard": format_duration(row["standard_seconds"]),
                    "median": format_duration(row["median_seconds"]),
                    "over": format_count(row["over_standard"]),
                    "share": format_share(row["share_over"]),
                }
                for row in over.iter_rows(named=True)
            ],
        }
    )
    return context


# -- performance --------------------------------------------------------------------------------------
def _bottleneck_rows(scope: Scope, frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "what": (
                f"{scope.label(row['source'])} → {scope.label(row['target'])}"
                if row["kind"] == "edge"
                else scope.label(row["target"])
            ),
            "count": format_count(row["count"]),
            "median": format_duration(row["median_seconds"]),
            "p90": format_duration(row["p90_seconds"]),
            "total": format_duration(row["total_seconds"]),
            "share": format_share(row["share"]),
            "bar": round(100 * (row["share"] or 0), 1),
        }
        for row in frame.iter_rows(named=True)
    ]


def _stage_time_rows(scope: Scope, top: int) -> list[dict[str, Any]]:
    """Total time spent in each stage (from entering it to the case's next event), most first."""
    times = analytics.activity_times(scope.log).filter(pl.col("sojourn_total_seconds") > 0)
    grand = times["sojourn_total_seconds"].sum() or 1.0
    frame = (
        times.select(
            pl.lit("activity").alias("kind"),
            pl.lit(None, pl.String).alias("source"),
            pl.col("activity").alias("target"),
            "count",
            pl.col("sojourn_median_seconds").alias("median_seconds"),
            pl.col("sojourn_p90_seconds").alias("p90_seconds"),
            pl.col("sojourn_total_seconds").alias("total_seconds"),
            (pl.col("sojourn_total_seconds") / grand).alias("share"),
        )
        .sort(["total_seconds", "target"], descending=[True, False])
        .head(top)
    )
    return _bottleneck_rows(scope, frame)


def performance_context(scope: Scope, *, top: int = 12) -> dict[str, Any]:
    log = scope.log
    with_stored_steps(log, "runs")
    ranked = analytics.bottlenecks(log)
    paths = ranked.filter(pl.col("kind") == "edge").head(top)
    if scope.filters.view == "stages":
        # A stage event marks entering the stage, so the time until the next event is spent *in*
        # it; blaming the next stage for it would point at the stage after the bottleneck.
        where = (
            _("Where time goes"),
            _("Time from entering each stage to the next step; most total time first."),
            _stage_time_rows(scope, top),
        )
    else:
        where = (
            _("Where cases wait"),
            _("Time before each step, from any step before it; most total waiting first."),
            _bottleneck_rows(scope, ranked.filter(pl.col("kind") == "activity").head(top)),
        )
    context: dict[str, Any] = {
        "bottleneck_tables": [
            ("waits-title", *where),
            (
                "paths-title",
                _("Slowest paths"),
                _("Time between two steps; most total waiting first."),
                _bottleneck_rows(scope, paths),
            ),
        ]
    }
    conf = scope.conformance()
    if conf is not None and scope.spec is not None:
        ends = {s.code for s in scope.spec.end_stages}
        rows = [
            row
            for row in conf.stage_times.iter_rows(named=True)
            if row["stage"] not in ends and (row["measured"] or row["standard_seconds"])
        ]
        context["stage_chart"] = charts.stage_time_bars(
            [dict(row, label=scope.label(row["name"])) for row in rows]
        )
        context["stages"] = [
            {
                "stage": scope.label(row["name"]),
                "visits": format_count(row["measured"]),
                "median": format_duration(row["median_seconds"]),
                "p90": format_duration(row["p90_seconds"]),
                "standard": format_duration(row["standard_seconds"]),
                "over": format_count(row["over_standard"]),
                "share": format_share(row["share_over"]),
                "late": (row["share_over"] or 0) > 0.2,
            }
            for row in rows
        ]
    else:
        times = analytics.activity_times(log)
        context["activities"] = [
            {
                "activity": scope.label(row["activity"]),
                "count": format_count(row["count"]),
                "wait": format_duration(row["wait_median_seconds"]),
                "sojourn": format_duration(row["sojourn_median_seconds"]),
                "sojourn_p90": format_duration(row["sojourn_p90_seconds"]),
            }
            for row in times.iter_rows(named=True)
        ]
    return context


# -- rework -------------------------------------------------------------------------------------------
def rework_context(scope: Scope) -> dict[str, Any]:
    log = scope.log
    with_stored_steps(log, "keys")
    per_activity = [
        {
            "activity": scope.label(row["activity"]),
            "cases": format_count(row["cases"]),
            "repeated": format_count(row["cases_repeated"]),
            "share": format_share(row["share_repeated"]),
            "repeats": format_count(row["repeats"]),
            "self_loops": format_count(row["self_loops"]),
            "bar": round(100 * (row["share_repeated"] or 0), 1),
        }
        for row in analytics.rework(log).iter_rows(named=True)
    ]
    titles = {
        "team": _("By team"),
        "category": _("By category"),
        "priority": _("By priority"),
        "channel": _("By channel"),
    }
    names = {
        "team": {team.name: team.display_name for team in filter_teams()},
        "category": {category.name: category.display_name for category in filter_categories()},
    }
    by_attribute = []
    for attribute in REWORK_ATTRIBUTES:
        frame = analytics.rework_by_attribute(log, attribute)
        by_attribute.append(
            {
                "title": titles[attribute],
                "rows": [
                    {
                        "value": choice_label(attribute, value, names),
                        "cases": format_count(cases),
                        "with_rework": format_count(with_rework),
                        "share": format_share(share),
                        "mean": f"{mean:.2f}" if mean is not None else "—",
                        "bar": round(100 * (share or 0), 1),
                    }
                    for value, cases, with_rework, share, mean in frame.rows()
                ],
            }
        )
    return {"per_activity": per_activity, "by_attribute": by_attribute}


# -- variants -----------------------------------------------------------------------------------------
def variants_context(scope: Scope, *, top: int = 25) -> dict[str, Any]:
    frame = analytics.variants(scope.log)
    fitness: dict[tuple[str, ...], float | None] = {}
    stage_of: dict[str, str] = {}
    conf = scope.conformance()
    if conf is not None:
        # Conformance speaks of stage-code sequences; map each activity variant onto one.
        stage_of = {a: s for a, s in conf.activities.select("activity", "stage").rows() if s}
        for stages, share in conf.variants.select("stages", "share_conforming").rows():
            fitness[tuple(stages)] = share
    shown = frame.head(top)
    rows = []
    covered = 0.0
    for activities, count, share, length in shown.rows():
        covered += share
        rows.append(
            {
                "steps": [scope.label(a) for a in activities],
                "count": format_count(count),
                "share": format_share(share),
                "covered": format_share(covered),
                "length": length,
                "conforms": fitness.get(tuple(stage_of[a] for a in activities if a in stage_of)),
                "bar": round(100 * share, 1),
            }
        )
    return {
        "variants": rows,
        "total_variants": format_count(frame.height),
        "shown": shown.height,
        "covered": format_share(covered),
        "compares": conf is not None,
    }


# -- handovers ----------------------------------------------------------------------------------------
def handovers_context(scope: Scope, *, top: int = 40) -> dict[str, Any]:
    """Who passes work to whom, by the names people read (the log keeps usernames)."""
    log = scope.log
    names = staff_names()
    named = {"source": pl.col("source").replace(names), "target": pl.col("target").replace(names)}
    frame = analytics.handovers(log).with_columns(**named)
    workload = analytics.resource_workload(log).with_columns(pl.col("resource").replace(names))
    return {
        "handovers": [
            {
                "source": source,
                "target": target,
                "count": format_count(count),
                "cases": format_count(cases),
                "median": format_duration(median),
            }
            for source, target, count, cases, median in frame.head(top)
            .select("source", "target", "count", "cases", "median_seconds")
            .rows()
        ],
        "total_handovers": format_count(int(frame["count"].sum() or 0)),
        "graph": charts.handover_graph(frame),
        "workload": [
            {
                "resource": row["resource"],
                "events": format_count(row["events"]),
                "cases": format_count(row["cases"]),
                "activities": row["activities"],
            }
            for row in workload.head(top).iter_rows(named=True)
        ],
    }
