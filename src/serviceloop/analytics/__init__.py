"""Process analytics over event logs. Imports nothing from Django (nor pandas).

A log is loaded once into an :class:`EventLog`: an integer-coded table (case code, activity
code, UTC epoch microseconds, file order) sorted once by (case, timestamp, file order), so
events with equal timestamps keep their file order. Every analysis is written once (Narwhals
expressions) and runs on Polars (default) or Spark (``log.with_engine("spark")`` or
``engine="spark"`` when loading); results always come back as small Polars frames with names,
seconds and UTC datetimes.

Public API
----------
Loading (``eventlog``); every reader takes one :class:`ColumnMapping` and/or its fields as
keywords (keywords win)::

    ColumnMapping(case="case_id", activity="activity", timestamp="timestamp",
                  start_timestamp=None, resource=None, lifecycle=None, attributes=None,
                  timestamp_format=None, day_first=False, timezone="UTC", duplicates="error")
        .with_options(**fields)  ColumnMapping.xes()   # the XES keys
    read_csv(path, mapping=None, *, separator=None, null_values=("", "?", "NA", ...),
             engine="polars", **fields) -> EventLog
    read_xes(path, mapping=None, *, engine="polars", **fields) -> EventLog  # .xes, .xes.gz;
             # mapping defaults to ColumnMapping.xes()
    read_parquet(path, mapping=None, *, engine="polars", **fields) -> EventLog
                 # engine="spark": Spark reads and codes the files itself (a file or a folder)
    from_polars(frame, mapping=None, *, engine="polars", **fields) -> EventLog  # or LazyFrame
    from_arrow(table, mapping=None, *, engine="polars", **fields) -> EventLog  # the live log
    ReadLimits(max_events=20_000_000, max_bytes=8 GiB, max_expansion=200, max_columns=10_000,
               max_field_bytes=1 MiB, max_prolog_bytes=1 MiB)   # limits= on every file reader:
               # checked before loading (Parquet footer, CSV header and lines, XES prolog, .gz)
    EventLog: .n_events .n_cases .activities .attributes .has_start .has_resource
              .with_engine("polars" | "spark") .to_polars() .coded()

``duplicates``: "error" (default) refuses repeated (case, activity, timestamp, resource) rows,
"keep" keeps them (pm4py's behaviour; helpdesk_full.csv has 127), "drop" keeps the first.
``from_polars`` / ``from_arrow`` pick up ``resource`` / ``start_timestamp`` columns by their
canonical names. Attributes are every other column unless ``attributes=[...]`` is given.

Discovery (``discovery``), each ``(log) -> pl.DataFrame``::

    dfg(log)                 source, target, count, cases, mean/median/p90/total_seconds
    start_activities(log)    activity, count            end_activities(log)  activity, count
    activity_frequencies(log)  activity, count, cases
    variants(log, *, top=None)  activities (list[str]), count, share, length; by count desc,
                                ties: the variant seen first in the log comes first
    process_map(log, *, activities=1.0, paths=1.0, edges=None) -> ProcessMap(nodes, edges,
                                start, end)          # Disco-like sliders, shares in 0..1

Where the time goes (``times``): with start times (a column or lifecycle rows) waiting and
processing are measured apart; without them the gap between two completions is "elapsed",
charged to the activity that completes::

    activity_times(log)       activity, count, wait_time ("waiting" | "elapsed"), wait_*,
                              sojourn_*, [processing_*] (mean, median, p90, total seconds)
    bottlenecks(log, *, top=None)  kind ("edge" | "activity"), source, target, time
                              ("waiting" | "processing" | "elapsed"), count,
                              mean/median/p90/total_seconds, share; most total time first
    rank_bottlenecks(times, *, top=None)  the one ranking (bottlenecks, the CLI, the report and
                              Insights use it): share of all time measured, most total first

Performance (``performance``)::

    case_durations(log)       case_id, start, end, duration_seconds, events
    duration_summary(durations, *, percentiles=(...)) one row: count, mean, median, min, max, p10..
    rework(log)               activity, cases, cases_repeated, share_repeated, repeats, self_loops
    rework_cases(log)         case_id, events, repeats, self_loops, back_edges
    rework_by_attribute(log, attribute)  <attribute>, cases, cases_with_rework,
                              share_with_rework, mean_repeats
    throughput(log, *, every="day" | "week", closed_activities=None, time_zone=None)
                              period, opened, closed, backlog (days of time_zone, else UTC)
    resource_workload(log)    resource, events, cases, activities, [processing_*]
    handovers(log)            source, target (resources), count, cases, mean/median_seconds

Filters (``filters``), each returns a new EventLog::

    filter_time(log, *, start=None, end=None, mode="intersecting")  # contained | started |
                              completed | events; datetimes, dates or ISO strings (UTC if naive)
    filter_attribute(log, attribute, values, *, keep=True, level="case")  # or "event";
                              attribute may be "activity" or "resource"
    filter_activities(log, activities, *, keep=True)
    filter_case_duration(log, *, min_seconds=None, max_seconds=None)
    filter_variants(log, variants=None, *, top=None, keep=True)

Logs bigger than memory (``large``; Polars, one hash slice of the cases at a time)::

    mine_large_parquet(path, *, case=..., activity=..., timestamp=..., part_events=8_000_000,
                       slice_events=10_000_000, duplicates="error", workdir=None, time_zone=None)
        -> LargeLogResult(events, cases, parts, dfg, start_activities, end_activities, variants,
                          case_durations, rework, throughput_day, throughput_week)
                          # frames equal those of the functions above
           .path_bottlenecks(), .to_dict(top_variants=None)

Everything at once (``result``)::

    analyze(log, *, rework_attributes=(), closed_activities=None, percentiles=(...))
        -> AnalysisResult (frozen dataclass of the frames above: events, cases, activities,
           case_durations, duration_summary, dfg, start_activities, end_activities, variants,
           activity_times, bottlenecks, rework, rework_cases, throughput_day, throughput_week,
           resources, handovers, rework_by_attribute)
    AnalysisResult.to_dict(*, top_variants=None) -> {"cases": {"count", "duration_seconds":
        {"mean", "median", "min", "max", "p10", ..., "p90", "p95"}}, "events", "activities",
        "start_activities": {act: n}, "end_activities": {act: n},
        "dfg": [{"source", "target", "count", "cases", "mean_seconds", "median_seconds",
                 "p90_seconds", "total_seconds"}],
        "variants": [{"activities": [...], "count", "share"}], "activity_times": [...],
        "bottlenecks": [...], "rework": [...], "rework_by_attribute": {attr: [...]},
        "throughput": {"day": [...], "week": [...]}, "resources": [...], "handovers": [...]}
    AnalysisResult.write_json(binary_stream, *, top_variants=None, extra=None)  # the same
        content as compact JSON, written by Polars from the frames' columns (the CLI's --json)

Process definitions (``process_model``): the YAML format of a service process, shared with the
Django ``processes`` app::

    parse_process_yaml(text, *, source="<string>") -> ProcessSpec   load_process_yaml(path)
    dump_process_yaml(spec) -> str            # parse(dump(spec)) == spec
    validate_process(spec, *, raise_errors=True) -> list[ProcessProblem]
    ProcessSpec(code, name, description, stages, transitions): .start_stage .end_stages
        .stage(code | name | name_zh) .allowed_edges .edge_kind(a, b) .mandatory_stages()
    StageSpec(code, name, name_zh, team, role, skill, norm, time_standard_minutes, checklist,
              required_fields, start, end)      TransitionSpec(source, target, kind, label)
    ProcessDefinitionError(AnalyticsError).problems: [ProcessProblem(path, message)]

Conformance to a process definition (``conformance``)::

    check_conformance(log | frame, spec) -> ConformanceResult(summary, activities, transitions,
        cases, deviations, variants, stage_times, over_standard).to_dict(*, top_variants, cases)
    # moves = stage events; move_fitness = allowed moves / moves; a case conforms when all its
    # moves are allowed and it skipped no mandatory stage; time standards are reported apart
    conformance_parts(log, spec, *, cases=None, runs=False) -> ConformanceParts  # per case
    combine_parts([(parts, codes), ...]) -> ConformanceParts  # cases of several logs, subsets
    conformance_from_parts(log, spec, parts) -> ConformanceResult  # equal to check_conformance

Offline HTML report (``report``; inlines ECharts and viz.js from ``serviceloop/static/vendor``)::

    render_report(log, result, *, conformance=None, spec=None, title=..., assets=None) -> str
    write_report(path, log, result, *, conformance=None, spec=None, title=None) -> Path
    ReportAssetsError(AnalyticsError): the vendor scripts are missing (run ``make assets``)

Composite evaluation of units x indicators (``scoring``; NumPy, any Polars table)::

    ahp_weights(matrix, labels, *, max_consistency_ratio=0.1) -> AHPResult(weights, lambda_max,
        consistency_index, random_index, consistency_ratio, judgements)   # Saaty eigenvector;
        # CR above the limit raises InconsistentJudgementsError naming the judgements furthest
        # from w_i / w_j            pairwise_matrix({(a, b): 3, ...}, labels) -> matrix
    entropy_weights(table, *, unit="unit", indicators=None, directions=None,
                    normalisation="none" | "minmax", floor=0.0) -> {indicator: weight}
    blend_weights(subjective, objective, *, alpha=0.5, method="linear" | "multiplicative")
    normalise(table, *, unit, indicators, directions, method="minmax" | "vector" | "sum")
    weighted_sum(table, weights, *, unit, indicators, directions, normalisation="minmax")
    topsis(table, weights, *, unit, indicators, directions)
    rank_sum_ratio(table, weights=None, *, ..., ranking="integer" | "non-integer", tiers=3)
        -> Scores(method, weights, scores (unit, score, rank, ...), normalised, contributions,
                  details)          probit_thresholds(tiers) -> Tian's probit cut points

Predictions for open cases (``prediction``; LightGBM, imported on first use)::

    train_predictor(log, *, closed_activities=None, attributes=None, sla_seconds=None,
                    sla_measure="total" | "remaining", timezone="UTC", seed=0, threads=1)
        -> CasePredictor .score(log) (case_id, remaining_seconds, expected_end, next_activity,
           next_probability, [breach_probability]: one row per open case) .save(path)
    load_predictor(path) -> CasePredictor     # a zip of JSON + LightGBM text, no pickle
    evaluate_predictor(log, *, <same options>, protocols=("time_2_3", "time_64_16_20"))
        -> PredictionEvaluation(summary, by_prefix, splits)  # vs per-prefix baselines
    PredictionError(AnalyticsError) > ModelFileError

Simulation (``simulation``; SimPy is the reference engine, a heap engine the fast one)::

    discover_model(log, *, pools=None, pool_attribute=None, staff=None, working_hours=None,
                   time_zone="UTC", min_cases=30, max_utilisation=0.85) -> SimulationModel
        # arrivals per hour of the week, routing with rework, processing times (working time),
        # extraneous delays, pools with staff and working hours; ModelDiscoveryError if too small
    parse_change("staff POOL=+2" | "duration ACT=-20%" | "route A->B=0.1" | "rework A->B=0"
                 | "no-rework" | "remove ACT" | "merge A+B" | "arrivals +20%"
                 | "pattern Sat-Sun 00-24=x0" | "hours Mon-Fri 08-20") -> Change
    parse_scenario("NAME: change; change") -> Scenario(name, changes)
    simulate(model, scenarios=(), *, replications=10, seed=0, weeks=52, warmup_weeks=4,
             sla_seconds=None, engine="fast" | "simpy") -> SimulationResult
        .as_is / .scenarios: measures (cycle time mean/median/p90, SLA, throughput), waiting
        per stage, utilisation per pool: Estimate(mean, low, high) and differences to as-is
    simulate_log(model, *, weeks, warmup_weeks=4, seed=0) -> pl.DataFrame   # a simulated log

Staffing (``staffing``)::

    erlang_c(traffic, agents)   erlang_c_service_level(...)   erlang_c_asa(...)
    erlang_a(*, arrivals_per_hour, handle_seconds, patience_seconds, agents, target_seconds)
        -> ErlangAResult(p_wait, p_abandon, service_level, asa_seconds, occupancy)
    agents_needed(*, arrivals_per_hour, handle_seconds, target_seconds, service_level,
                  max_occupancy=1.0, patience_seconds=None) -> int
    forecast_volume(log, *, weeks=4, time_zone="UTC", test_weeks=4) -> VolumeForecast(hourly,
                    daily, backtest)            # Holt-Winters (statsmodels), backtested
    staffing_table(forecast | frame, *, handle_seconds, target_seconds, service_level,
                   patience_seconds=None, max_occupancy=1.0, shrinkage=0.0) -> pl.DataFrame

Errors (``errors``): ``AnalyticsError`` > ``LogFormatError``, ``MissingColumnError``,
``MissingValueError``, ``TimestampParseError`` (file, row, column, value), ``EmptyLogError``,
``DuplicateEventError``, ``InvalidParameterError`` (also a ``ValueError``), ``EngineError``.
CSV rows count the header as row 1; other sources count events from 1.
"""

# Submodules load on first use (PEP 562), so `from serviceloop.analytics import read_parquet,
# dfg` does not pay for the report, conformance or YAML code: imports are most of the time a
# one-million-event analysis takes from the shell.
import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .conformance import (
        ConformanceParts,
        ConformanceResult,
        check_conformance,
        combine_parts,
        conformance_from_parts,
        conformance_parts,
    )
    from .discovery import (
        ProcessMap,
        activity_frequencies,
        dfg,
        end_activities,
        process_map,
        start_activities,
        variants,
    )
    from .errors import (
        AnalyticsError,
        DuplicateEventError,
        EmptyLogError,
        EngineError,
        InvalidParameterError,
        LogFormatError,
        MissingColumnError,
        MissingValueError,
        TimestampParseError,
    )
    from .eventlog import (
        ColumnMapping,
        EventLog,
        ReadLimits,
        from_arrow,
        from_polars,
        read_csv,
        read_parquet,
        read_xes,
    )
    from .filters import (
        filter_activities,
        filter_attribute,
        filter_case_duration,
        filter_time,
        filter_variants,
    )
    from .large import LargeLogResult, mine_large_parquet
    from .performance import (
        case_durations,
        duration_summary,
        handovers,
        resource_workload,
        rework,
        rework_by_attribute,
        rework_cases,
        throughput,
    )
    from .prediction import (
        CasePredictor,
        ModelFileError,
        PredictionError,
        PredictionEvaluation,
        evaluate_predictor,
        load_predictor,
        train_predictor,
    )
    from .process_model import (
        ProcessDefinitionError,
        ProcessProblem,
        ProcessSpec,
        StageSpec,
        TransitionSpec,
        dump_process_yaml,
        load_process_yaml,
        parse_process_yaml,
        validate_process,
    )
    from .report import ReportAssetsError, render_report, write_report
    from .result import AnalysisResult, analyze
    from .scoring import (
        AHPResult,
        InconsistentJudgementsError,
        Judgement,
        Scores,
        ahp_weights,
        blend_weights,
        entropy_weights,
        normalise,
        pairwise_matrix,
        probit_thresholds,
        rank_sum_ratio,
        topsis,
        weighted_sum,
    )
    from .simulation import (
        ModelDiscoveryError,
        Scenario,
        SimulationModel,
        SimulationResult,
        discover_model,
        parse_change,
        parse_scenario,
        simulate,
        simulate_log,
    )
    from .staffing import (
        ErlangAResult,
        VolumeForecast,
        agents_needed,
        erlang_a,
        erlang_c,
        erlang_c_asa,
        erlang_c_service_level,
        forecast_volume,
        staffing_table,
    )
    from .times import activity_times, bottlenecks, rank_bottlenecks

_EXPORTS: dict[str, tuple[str, ...]] = {
    "conformance": (
        "ConformanceParts",
        "ConformanceResult",
        "check_conformance",
        "combine_parts",
        "conformance_from_parts",
        "conformance_parts",
    ),
    "discovery": (
        "ProcessMap",
        "activity_frequencies",
        "dfg",
        "end_activities",
        "process_map",
        "start_activities",
        "variants",
    ),
    "errors": (
        "AnalyticsError",
        "DuplicateEventError",
        "EmptyLogError",
        "EngineError",
        "InvalidParameterError",
        "LogFormatError",
        "MissingColumnError",
        "MissingValueError",
        "TimestampParseError",
    ),
    "eventlog": (
        "ColumnMapping",
        "EventLog",
        "ReadLimits",
        "from_arrow",
        "from_polars",
        "read_csv",
        "read_parquet",
        "read_xes",
    ),
    "filters": (
        "filter_activities",
        "filter_attribute",
        "filter_case_duration",
        "filter_time",
        "filter_variants",
    ),
    "large": ("LargeLogResult", "mine_large_parquet"),
    "performance": (
        "case_durations",
        "duration_summary",
        "handovers",
        "resource_workload",
        "rework",
        "rework_by_attribute",
        "rework_cases",
        "throughput",
    ),
    "process_model": (
        "ProcessDefinitionError",
        "ProcessProblem",
        "ProcessSpec",
        "StageSpec",
        "TransitionSpec",
        "dump_process_yaml",
        "load_process_yaml",
        "parse_process_yaml",
        "validate_process",
    ),
    "report": ("ReportAssetsError", "render_report", "write_report"),
    "result": ("AnalysisResult", "analyze"),
    "times": ("activity_times", "bottlenecks", "rank_bottlenecks"),
    "prediction": (
        "CasePredictor",
        "ModelFileError",
        "PredictionError",
        "PredictionEvaluation",
        "evaluate_predictor",
        "load_predictor",
        "train_predictor",
    ),
    "simulation": (
        "ModelDiscoveryError",
        "Scenario",
        "SimulationModel",
        "SimulationResult",
        "discover_model",
        "parse_change",
        "parse_scenario",
        "simulate",
        "simulate_log",
    ),
    "staffing": (
        "ErlangAResult",
        "VolumeForecast",
        "agents_needed",
        "erlang_a",
        "erlang_c",
        "erlang_c_asa",
        "erlang_c_service_level",
        "forecast_volume",
        "staffing_table",
    ),
    "scoring": (
        "AHPResult",
        "InconsistentJudgementsError",
        "Judgement",
        "Scores",
        "ahp_weights",
        "blend_weights",
        "entropy_weights",
        "normalise",
        "pairwise_matrix",
        "probit_thresholds",
        "rank_sum_ratio",
        "topsis",
        "weighted_sum",
    ),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


# The public names, derived once from the table above (a test pins the list).
__all__ = sorted(_WHERE)
