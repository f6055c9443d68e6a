"""The exported files load in ServiceLoop's own analytics with the canonical column names, and
every format gives the same log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from serviceloop import analytics
from serviceloop.cases.export import (
    EventLogQuery,
    csv_chunks,
    event_batches,
    write_parquet,
    xes_chunks,
)
from serviceloop.cases.models import CaseEvent
from serviceloop.cases.services import case_transition
from tests.factories import CaseFactory, CustomerFactory, stage_of

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def files(world, tmp_path):
    analysis = stage_of(world.version, "analysis")
    for i in range(6):
        case = CaseFactory(customer=CustomerFactory(), at=T0 + timedelta(hours=i))
        if i % 2 == 0:
            case_transition(
                case=case,
                to_stage=analysis,
                actor=world.front_agent,
                at=T0 + timedelta(hours=i, minutes=40),
            )
    paths = {fmt: tmp_path / f"log.{fmt}" for fmt in ("csv", "xes", "parquet")}
    paths["csv"].write_bytes(b"".join(csv_chunks(event_batches(EventLogQuery()))))
    paths["xes"].write_bytes(b"".join(xes_chunks(event_batches(EventLogQuery()))))
    write_parquet(event_batches(EventLogQuery()), paths["parquet"])
    return paths


def test_every_format_loads_into_the_same_event_log(files):
    logs = {
        "csv": analytics.read_csv(files["csv"], resource="resource", duplicates="keep"),
        "parquet": analytics.read_parquet(files["parquet"], resource="resource", duplicates="keep"),
        "xes": analytics.read_xes(files["xes"], duplicates="keep"),
    }
    events = CaseEvent.objects.count()
    activities = set(CaseEvent.objects.values_list("activity", flat=True))
    for fmt, log in logs.items():
        assert log.n_events == events, fmt
        assert log.n_cases == 6, fmt
        assert set(log.activities) == activities, fmt
    durations = {
        fmt: sorted(analytics.case_durations(log)["duration_seconds"].to_list())
        for fmt, log in logs.items()
    }
    assert durations["csv"] == durations["parquet"] == durations["xes"]
    assert sorted(set(durations["csv"])) == [0, 40 * 60]
