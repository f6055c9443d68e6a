"""One call for the whole analysis, as the CLI, the report and the web pages need it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from . import discovery, performance
from ._json import clean, records
from .errors import EmptyLogError
from .eventlog import EventLog

__all__ = ["AnalysisResult", "analyze"]


@dataclass(frozen=True)
class AnalysisResult:
    """Everything :func:`analyze` computes, as Polars frames (names, seconds, UTC datetimes).

    ``to_dict()`` turns it into plain JSON-ready Python at the edge.
    """

    events: int
    cases: int
    activities: list[str]
    case_durations: pl.DataFrame
    duration_summary: pl.DataFrame
    dfg: pl.DataFrame
    start_activities: pl.DataFrame
    end_activities: pl.DataFrame
    variants: pl.DataFrame
    activity_times: pl.DataFrame
    bottlenecks: pl.DataFrame
    rework: pl.DataFrame
    rework_cases: pl.DataFrame
    throughput_day: pl.DataFrame
    throughput_week: pl.DataFrame
    resources: pl.DataFrame
    handovers: pl.DataFrame
    rework_by_attribute: dict[str, pl.DataFrame] = field(default_factory=dict)

    def to_dict(self, *, top_variants: int | None = None) -> dict[str, Any]:
        """JSON-ready dict; the shape the CLI's ``--json`` writes (see the package docstring)."""
        s = self.duration_summary.row(0, named=True)
        variants = self.variants if top_variants is None else self.variants.head(top_variants)
        return {
            "cases": {
                "count": self.cases,
                "duration_seconds": {k: clean(v) for k, v in s.items() if k != "count"},
            },
            "events": self.events,
            "activities": self.activities,
            "start_activities": dict(self.start_activities.iter_rows()),
            "end_activities": dict(self.end_activities.iter_rows()),
            "dfg": records(self.dfg),
            "variants": records(variants.drop("length")),
            "activity_times": records(self.activity_times),
            "bottlenecks": records(self.bottlenecks),
            "rework": records(self.rework),
            "rework_by_attribute": {k: records(v) for k, v in self.rework_by_attribute.items()},
            "throughput": {
                "day": records(self.throughput_day),
                "week": records(self.throughput_week),
            },
            "resources": records(self.resources),
            "handovers": records(self.handovers),
        }


def analyze(
    log: EventLog,
    *,
    rework_attributes: Sequence[str] = (),
    closed_activities: Collection[str] | None = None,
    percentiles: Sequence[float] = (0.1, 0.25, 0.5, 0.75, 0.9, 0.95),
    time_zone: str | None = None,
) -> AnalysisResult:
    """Run every discovery and performance analysis on ``log``.

    ``rework_attributes`` lists attributes (team, channel, ...) to break rework down by;
    ``closed_activities`` and ``time_zone`` (where days begin) are passed to
    :func:`~serviceloop.analytics.performance.throughput`.

    Raises
    ------
    EmptyLogError
        When the log (for instance after filters) has no events.

    Examples
    --------
    >>> import polars as pl
    >>> from serviceloop.analytics import from_polars
    >>> log = from_polars(pl.DataFrame({"case_id": [1, 1], "activity": ["a", "b"],
    ...                                 "timestamp": [0, 60]}))
    >>> analyze(log).to_dict()["dfg"][0]["mean_seconds"]
    60.0
    """
    if log.n_events == 0:
        raise EmptyLogError("the log has no events (did a filter remove them all?)")
    durations = performance.case_durations(log)
    return AnalysisResult(
        events=log.n_events,
        cases=log.n_cases,
        activities=log.activities,
        case_durations=durations,
        duration_summary=performance.duration_summary(durations, percentiles=percentiles),
        dfg=discovery.dfg(log),
        start_activities=discovery.start_activities(log),
        end_activities=discovery.end_activities(log),
        variants=discovery.variants(log),
        activity_times=performance.activity_times(log),
        bottlenecks=performance.bottlenecks(log),
        rework=performance.rework(log),
        rework_cases=performance.rework_cases(log),
        throughput_day=performance.throughput(
            log, every="day", closed_activities=closed_activities, time_zone=time_zone
        ),
        throughput_week=performance.throughput(
            log, every="week", closed_activities=closed_activities, time_zone=time_zone
        ),
        resources=performance.resource_workload(log),
        handovers=performance.handovers(log),
        rework_by_attribute={a: performance.rework_by_attribute(log, a) for a in rework_attributes},
    )
