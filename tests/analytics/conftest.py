"""Fixtures for the analytics tests: real logs, generated logs, and one fixture per engine.

Every correctness test takes ``engine`` and runs once per engine; the Spark run is marked
``spark`` and shares one local SparkSession for the whole test session (it starts slowly).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from serviceloop.analytics import EventLog, from_polars, read_csv

DATA = Path(__file__).resolve().parents[1] / "data"
HELPDESK = DATA / "helpdesk_full.csv"
TAX2017 = DATA / "helpdesk_tax2017.csv"
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

warnings.filterwarnings("ignore", module="pm4py")


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    pyspark = pytest.importorskip("pyspark.sql")
    session = (
        pyspark.SparkSession.builder.master("local[2]")
        .appName("serviceloop-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(params=["polars", pytest.param("spark", marks=pytest.mark.spark)])
def engine(request: pytest.FixtureRequest) -> Callable[[EventLog], EventLog]:
    """Returns a function that moves a (Polars-loaded) log onto the engine under test."""
    if request.param == "polars":
        return lambda log: log
    from serviceloop.analytics._engine import SparkEngine

    spark = SparkEngine(request.getfixturevalue("spark_session"))

    def on_spark(log: EventLog) -> EventLog:
        # Session-scoped fixtures hand over the same log objects: convert each once.
        key = id(log)
        if key not in _ON_SPARK:
            _ON_SPARK[key] = (log, log.with_engine(spark))
        return _ON_SPARK[key][1]

    return on_spark


_ON_SPARK: dict[int, tuple[EventLog, EventLog]] = {}


@pytest.fixture(scope="session")
def tax2017() -> EventLog:
    return read_csv(
        TAX2017,
        case="CaseID",
        activity="ActivityID",
        timestamp="CompleteTimestamp",
        duplicates="keep",
    )


@pytest.fixture(scope="session")
def generated() -> EventLog:
    from _gen_log import generate

    return from_polars(generate(20_000, seed=3), duplicates="keep")
