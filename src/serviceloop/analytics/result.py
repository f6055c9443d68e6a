"""One call for the whole analysis, as the CLI, the report and the web pages need it."""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import IO, Any

import polars as pl

from . import discovery, performance
from ._engine import PolarsEngine
from ._json import clean, to_python, write_json
from ._steps import own_times
from ._threads import beside
from .errors import EmptyLogError
from .eventlog import EventLog

__all__ = ["AnalysisResult", "analyze", "discovery_parts"]


def discovery_parts(
    *,
    events: int,
    cases: int,
    activities: list[str],
    duration_summary: pl.DataFrame,
    start_activities: pl.DataFrame,
    end_activities: pl.DataFrame,
    dfg: pl.DataFrame,
    variants: pl.DataFrame,
    top_variants: int | None = None,
) -> dict[str, Any]:
    """The keys every JSON result has, as a document (frames left as frames, see ``_json``):
    cases and their durations, events, activities, start and end activities, the DFG and the
    variants (the ``top_variants`` most frequent)."""
    s = duration_summary.row(0, named=True)
    shown = variants if top_variants is None else variants.head(top_variants)
    return {
        "cases": {
            "count": cases,
            "duration_seconds": {k: clean(v) for k, v in s.items() if k != "count"},
        },
        "events": events,
        "activities": activities,
        "start_activities": dict(start_activities.iter_rows()),
        "end_activities": dict(end_activities.iter_rows()),
        "dfg": dfg,
        "variants": shown.drop("length"),
    }


@dataclass(frozen=True)
class AnalysisResult:
    """Everything :func:`analyze` computes, as Polars frames (names, seconds, UTC datetimes).

    ``to_dict()`` turns it into plain JSON-ready Python at the edge. ``enum_variants`` holds
    the variants with each activity an Enum of the log's activity names; ``variants`` is the
    same frame with strings, built on first use (the JSON and the report read the Enums), as
    ``rework_cases`` is, from ``log``.
    """

    events: int
    cases: int
    activities: list[str]
    case_durations: pl.DataFrame
    duration_summary: pl.DataFrame
    dfg: pl.DataFrame
    start_activities: pl.DataFrame
    end_activities: pl.DataFrame
    enum_variants: pl.DataFrame
    activity_times: pl.DataFrame
    bottlenecks: pl.DataFrame
    rework: pl.DataFrame
    throughput_day: pl.DataFrame
    throughput_week: pl.DataFrame
    resources: pl.DataFrame
    handovers: pl.DataFrame
    log: EventLog = field(repr=False, compare=False)
    rework_by_attribute: dict[str, pl.DataFrame] = field(default_factory=dict)

    @cached_property
    def rework_cases(self) -> pl.DataFrame:
        """Rework per case (:func:`~serviceloop.analytics.performance.rework_cases`), computed
        on first use: neither the JSON nor the report writes a row per case."""
        return performance.rework_cases(self.log)

    @cached_property
    def cases_with_rework(self) -> int:
        """Cases that repeat an activity: the report's count, without the per-case frame."""
        return performance.cases_with_rework(self.log)

    @cached_property
    def variants(self) -> pl.DataFrame:
        """The variants as :func:`~serviceloop.analytics.discovery.variants` gives them."""
        return self.enum_variants.with_columns(pl.col("activities").cast(pl.List(pl.String)))

    def json_document(self, *, top_variants: int | None = None) -> dict[str, Any]:
        """The JSON of :meth:`to_dict` with its tables still frames (for :meth:`write_json`)."""
        return {
            **discovery_parts(
                events=self.events,
                cases=self.cases,
                activities=self.activities,
                duration_summary=self.duration_summary,
                start_activities=self.start_activities,
                end_activities=self.end_activities,
                dfg=self.dfg,
                variants=self.enum_variants,
                top_variants=top_variants,
            ),
            "activity_times": self.activity_times,
            "bottlenecks": self.bottlenecks,
            "rework": self.rework,
            "rework_by_attribute": dict(self.rework_by_attribute),
            "throughput": {"day": self.throughput_day, "week": self.throughput_week},
            "resources": self.resources,
            "handovers": self.handovers,
        }

    def to_dict(self, *, top_variants: int | None = None) -> dict[str, Any]:
        """JSON-ready dict; the shape the CLI's ``--json`` writes (see the package docstring)."""
        return to_python(self.json_document(top_variants=top_variants))  # type: ignore[no-any-return]

    def write_json(
        self,
        out: IO[bytes],
        *,
        top_variants: int | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Write :meth:`to_dict`'s content as compact JSON to a binary stream, straight from
        the frames' columns (no Python object per variant); ``extra`` keys are appended.

        Examples
        --------
        >>> import io, json
        >>> from serviceloop.analytics import from_polars
        >>> log = from_polars(pl.DataFrame({"case_id": [1, 1], "activity": ["a", "b"],
        ...                                 "timestamp": [0, 60]}))
        >>> buf = io.BytesIO()
        >>> analyze(log).write_json(buf)
        >>> json.loads(buf.getvalue()) == analyze(log).to_dict()
        True
        """
        write_json({**self.json_document(top_variants=top_variants), **(extra or {})}, out)


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
    # The step times (DFG, activity times, bottlenecks) run beside the rest: Polars releases
    # the GIL, so on a log of millions of events the two halves keep both cores busy.
    _ = log.lazy_steps()  # the successor columns both halves read, built once before they split
    timing = beside(
        lambda: (discovery.dfg(log), performance.activity_times(log), performance.bottlenecks(log)),
        thread=isinstance(log.engine, PolarsEngine),
    )
    try:
        durations = performance.case_durations(log)
        summary = performance.duration_summary(durations, percentiles=percentiles)
        rest = _the_rest(log, rework_attributes, closed_activities, time_zone)
        # The step times are the longer half: the time in each activity (a grouping of every
        # step the activity times read) is taken here unless the other half got to it first.
        own_times(log)
    except BaseException:
        with contextlib.suppress(BaseException):
            timing()  # not left running behind the error
        raise
    dfg, activity_times, bottlenecks = timing()
    return AnalysisResult(
        events=log.n_events,
        cases=log.n_cases,
        activities=log.activities,
        case_durations=durations,
        duration_summary=summary,
        dfg=dfg,
        activity_times=activity_times,
        bottlenecks=bottlenecks,
        log=log,
        **rest,
    )


def _the_rest(
    log: EventLog,
    rework_attributes: Sequence[str],
    closed_activities: Collection[str] | None,
    time_zone: str | None,
) -> dict[str, Any]:
    """Every analysis but the step times, by the name of its :class:`AnalysisResult` field."""
    return {
        "start_activities": discovery.start_activities(log),
        "end_activities": discovery.end_activities(log),
        "enum_variants": discovery.variants(log, enum=True),
        "rework": performance.rework(log),
        "throughput_day": performance.throughput(
            log, every="day", closed_activities=closed_activities, time_zone=time_zone
        ),
        "throughput_week": performance.throughput(
            log, every="week", closed_activities=closed_activities, time_zone=time_zone
        ),
        "resources": performance.resource_workload(log),
        "handovers": performance.handovers(log),
        "rework_by_attribute": {
            a: performance.rework_by_attribute(log, a) for a in rework_attributes
        },
    }
