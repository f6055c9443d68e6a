"""The public surface of serviceloop.analytics is exactly this list: change both on purpose."""

import importlib
import subprocess
import sys

import serviceloop.analytics as analytics

EXPECTED = {
    "AnalysisResult",
    "AnalyticsError",
    "ColumnMapping",
    "DuplicateEventError",
    "EmptyLogError",
    "EngineError",
    "EventLog",
    "InvalidParameterError",
    "LogFormatError",
    "MissingColumnError",
    "MissingValueError",
    "ProcessMap",
    "ReadLimits",
    "TimestampParseError",
    "activity_frequencies",
    "activity_times",
    "analyze",
    "bottlenecks",
    "rank_bottlenecks",
    "case_durations",
    "dfg",
    "duration_summary",
    "end_activities",
    "filter_activities",
    "filter_attribute",
    "filter_case_duration",
    "filter_time",
    "filter_variants",
    "from_arrow",
    "from_polars",
    "handovers",
    "process_map",
    "read_csv",
    "read_parquet",
    "read_xes",
    "resource_workload",
    "rework",
    "rework_by_attribute",
    "rework_cases",
    "start_activities",
    "throughput",
    "variants",
    # process definitions (process_model)
    "ProcessDefinitionError",
    "ProcessProblem",
    "ProcessSpec",
    "StageSpec",
    "TransitionSpec",
    "dump_process_yaml",
    "load_process_yaml",
    "parse_process_yaml",
    "validate_process",
    # conformance
    "ConformanceParts",
    "ConformanceResult",
    "check_conformance",
    "combine_parts",
    "conformance_from_parts",
    "conformance_parts",
    # logs bigger than memory
    "LargeLogResult",
    "mine_large_parquet",
    # predictions for open cases
    "CasePredictor",
    "ModelFileError",
    "PredictionError",
    "PredictionEvaluation",
    "evaluate_predictor",
    "load_predictor",
    "train_predictor",
    # report
    "ReportAssetsError",
    "render_report",
    "write_report",
    # composite evaluation (scoring)
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
    # simulation (what-if runs of a discovered process)
    "ModelDiscoveryError",
    "Scenario",
    "SimulationModel",
    "SimulationResult",
    "discover_model",
    "parse_change",
    "parse_scenario",
    "simulate",
    "simulate_log",
    # staffing
    "ErlangAResult",
    "VolumeForecast",
    "agents_needed",
    "erlang_a",
    "erlang_c",
    "erlang_c_asa",
    "erlang_c_service_level",
    "forecast_volume",
    "staffing_table",
}


def test_all_lists_exactly_the_public_names():
    assert set(analytics.__all__) == EXPECTED
    assert len(analytics.__all__) == len(set(analytics.__all__))


def test_every_public_name_exists_and_is_documented():
    for name in analytics.__all__:
        obj = getattr(analytics, name)
        assert obj.__doc__, f"{name} has no docstring"


def test_public_names_live_in_private_or_concept_modules():
    for name in analytics.__all__:
        module = importlib.import_module(getattr(analytics, name).__module__)
        assert module.__name__.startswith("serviceloop.analytics.")


def test_every_public_name_has_a_home_module():
    assert set(analytics._WHERE) == set(analytics.__all__)
    assert set(dir(analytics)) >= set(analytics.__all__)


def test_mining_does_not_load_report_or_conformance_code():
    code = (
        "import sys; from serviceloop.analytics import read_parquet, dfg, variants; "
        "print(sorted(m for m in sys.modules if m.startswith('serviceloop.analytics.')"
        " and m.rsplit('.', 1)[1] in ('report', 'conformance', 'process_model', 'result')))"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_importing_the_library_pulls_in_neither_django_nor_pandas():
    code = (
        "import sys, serviceloop.analytics as a; [getattr(a, n) for n in a.__all__]; "
        "print(sorted(m for m in ('django', 'pandas', 'pm4py', 'pyspark') if m in sys.modules))"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
