"""Read the live case log into the analytics library, and the choices the filter form offers.

Pages read the log from its columnar copy on disk (:mod:`serviceloop.insights.logstore`, kept
current from the append-only event table by event id), not from the database: at 30M events no
way out of the database is fast enough (``benchmarks/read_columns.py``). Case attributes (team,
category, priority, channel, process version, the creation day) filter the copy's cases; time
window, case duration and variants are applied by the library's filters afterwards.
:func:`event_table` reads the same log straight from the database (the reference the tests hold
the copy to).

Two views of the log:

``stages``  what process mining needs: one event per stage visit, when the case entered the stage
            (:func:`serviceloop.cases.eventlog.entered_stage`: ``stage_entered``, ``closed``, and
            reopening a closed case, which re-enters the stage the case closed from).
``events``  every event of every kind (assigned, replied, ...), activity = the event's label.

The log for a set of database-level filters is kept in the process and brought up to date after
new events (:mod:`serviceloop.insights.keptlogs`); the functions here are what the pages read.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import polars as pl
import pyarrow as pa
from django.db.models import QuerySet

from serviceloop.accounts.choices import STAFF_ROLES
from serviceloop.accounts.models import Team, User
from serviceloop.accounts.names import person_name
from serviceloop.analytics import (
    EventLog,
    filter_case_duration,
    filter_time,
    filter_variants,
)
from serviceloop.cases.eventlog import (
    ENTRY_KINDS,
    fetch_frame,
    read_events,
    stage_visits,
)
from serviceloop.cases.models import Case, Category
from serviceloop.insights import lineage, logstore
from serviceloop.insights.copyrows import _CASE_SCHEMA, _staff
from serviceloop.insights.keptlogs import _kept_log, event_log_version
from serviceloop.insights.logcoding import _Kept
from serviceloop.insights.logfilters import (
    ATTRIBUTES,
    LOG_COLUMNS,
    LogFilters,
)
from serviceloop.insights.logstore import Version
from serviceloop.processes.models import ProcessVersion, Stage

__all__ = [
    "ATTRIBUTES",
    "LOG_COLUMNS",
    "LogFilters",
    "end_stage_names",
    "event_log",
    "event_log_and_version",
    "event_table",
    "filter_categories",
    "filter_teams",
    "filter_versions",
    "log_version_key",
    "narrowed",
    "staff_names",
]


# -- the log ----------------------------------------------------------------------------------------
def _case_filters(filters: LogFilters) -> dict[str, Any]:
    """Lookups on Case for the database-level filters."""
    out: dict[str, Any] = {}
    if filters.teams:
        out["team_id__in"] = filters.teams
    if filters.categories:
        out["category_id__in"] = filters.categories
    if filters.priorities:
        out["priority__in"] = filters.priorities
    if filters.channels:
        out["channel__in"] = filters.channels
    if filters.process is not None:
        out["process_version__process_id"] = filters.process
    if filters.version is not None:
        out["process_version_id"] = filters.version
    # Every time mode needs the case's first event (its creation) before the window's end; the
    # "started" and "contained" modes also need it at or after the window's start.
    if filters.end_at is not None:
        out["created_at__lt"] = filters.end_at
    if filters.start_at is not None and filters.time_mode in ("started", "contained"):
        out["created_at__gte"] = filters.start_at
    return out


def _cases_queryset(filters: LogFilters) -> QuerySet[Case, tuple[Any, ...]]:
    """One row per case with the attributes every event of the case carries."""
    return (
        Case.objects.filter(**_case_filters(filters))
        .order_by()
        .values_list(
            "id",
            "number",
            "team__name",
            "category__name",
            "priority",
            "channel",
            "process_version_id",
            "status",
        )
    )


def _view_rows(
    filters: LogFilters, *, case_lookups: dict[str, Any], after_id: int | None = None
) -> tuple[pl.DataFrame, list[int]]:
    """The view's rows (``__case``, ``id``, ``activity``, ``timestamp``, ``actor``) in log order,
    and the cases any of the events read belong to (with ``after_id``, events of every kind are
    read: any of them may change a case's attributes)."""
    if filters.view == "stages":
        raw = read_events(
            kinds=None if after_id is not None else ENTRY_KINDS,
            case_lookups=case_lookups,
            after_id=after_id,
        )
        rows = stage_visits(raw).select(
            "case", "id", "activity", pl.col("start").alias("timestamp"), "actor"
        )
    else:
        raw = read_events(case_lookups=case_lookups, after_id=after_id)
        rows = raw.select("case", "id", "activity", "timestamp", "actor")
    return rows.rename({"case": "__case"}), raw["case"].unique().to_list()


def _joined(rows: pl.DataFrame, cases: pl.DataFrame, staff: pl.DataFrame) -> pa.Table:
    return (
        rows.join(cases, on="__case", how="inner", maintain_order="left")
        .join(staff, on="actor", how="left", maintain_order="left")
        .select(LOG_COLUMNS)
        .to_arrow()
    )


def event_table(filters: LogFilters) -> pa.Table:
    """The live log as Arrow columns :data:`LOG_COLUMNS`, ordered by case, time and event id.

    Three narrow reads (events, their cases, staff names) joined by the engine: the per-case
    attributes travel once per case instead of once per event. The stage view is
    :func:`serviceloop.cases.eventlog.stage_visits`, the one the export writes too.
    """
    cases = fetch_frame(_cases_queryset(filters), _CASE_SCHEMA)
    rows, _ = _view_rows(filters, case_lookups=_case_filters(filters))
    return _joined(rows, cases, _staff())


def event_log(filters: LogFilters) -> EventLog | None:
    """The filtered live log, or None when nothing is left (an empty database or filters that
    keep no case)."""
    return event_log_and_version(filters)[0]


def log_version_key() -> tuple[str, Version]:
    """What the log is now, as the columnar copy holds it (its generation and version), without
    reading the log: what kept answers are keyed by, so a fresh process finds them before it
    reads anything."""
    state = logstore.sync(event_log_version())
    return state.generation, state.version


def event_log_and_version(
    filters: LogFilters, at: tuple[str, Version] | None = None
) -> tuple[EventLog | None, tuple[str, Version]]:
    """:func:`event_log` and the log version it was read at, with the copy's generation (what a
    kept answer is keyed by); ``at``: what :func:`log_version_key` just gave, if it was asked."""
    kept = _kept_log(filters, at[1] if at else None)
    return _filtered(kept, filters), (kept.generation, kept.version)


def _filtered(kept: _Kept, filters: LogFilters) -> EventLog | None:
    return None if kept.log is None else narrowed(kept.log, filters)


def narrowed(log: EventLog, filters: LogFilters) -> EventLog | None:
    """``log`` (read with the database-level filters) narrowed by the time window, the case
    duration and the top variants; None when nothing is left."""
    # Each filter keeps whole cases, under the codes they had: their lineage goes with them.
    if filters.start_at is not None or filters.end_at is not None:
        window = filter_time(
            log, start=filters.start_at, end=filters.end_at, mode=filters.time_mode
        )
        log = lineage.narrowed(window, log)
    if filters.min_hours is not None or filters.max_hours is not None:
        long_enough = filter_case_duration(
            log,
            min_seconds=None if filters.min_hours is None else filters.min_hours * 3600,
            max_seconds=None if filters.max_hours is None else filters.max_hours * 3600,
        )
        log = lineage.narrowed(long_enough, log)
    if filters.top_variants is not None and log.n_events:
        log = lineage.narrowed(filter_variants(log, top=filters.top_variants), log)
    return log if log.n_events else None


# -- filter choices -----------------------------------------------------------------------------------
def filter_teams() -> QuerySet[Team]:
    return Team.objects.order_by("name")


def filter_categories() -> QuerySet[Category]:
    return Category.objects.order_by("name")


def filter_versions() -> QuerySet[ProcessVersion]:
    """Versions that cases ran on (or may run on), newest first, with their process."""
    return (
        ProcessVersion.objects.select_related("process")
        .exclude(status="draft")
        .order_by("process__name", "-number")
    )


def staff_names() -> dict[str, str]:
    """Each staff username (the log's resource: stable, the key) and the name people read, as
    their language writes it; two people of one name are told apart by their usernames."""
    rows = User.objects.filter(role__in=sorted(STAFF_ROLES)).values_list(
        "username", "first_name", "last_name"
    )
    names = {username: person_name(first, last, username) for username, first, last in rows}
    seen = Counter(names.values())
    return {u: n if seen[n] == 1 or n == u else f"{n} ({u})" for u, n in names.items()}


def end_stage_names() -> list[str]:
    """Names of the end stages of every version: a case whose last stage is one is closed."""
    return sorted(set(Stage.objects.filter(is_end=True).values_list("name", flat=True)))
