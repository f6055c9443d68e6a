"""Read the live case log into the analytics library, and the choices the filter form offers.

The log is read in columns (:mod:`serviceloop.cases.eventlog`: no model instance or Python value
per event) and handed to :func:`serviceloop.analytics.from_arrow`. Case attributes (team, category,
priority, channel, process version) are pushed into the query; time window, case duration and
variants are applied by the library's filters afterwards.

Two views of the log:

``stages``  what process mining needs: one event per stage visit, when the case entered the stage
            (:func:`serviceloop.cases.eventlog.stage_visits`: ``stage_entered``, ``closed``, and
            reopening a closed case, which re-enters the stage the case closed from).
``events``  every event of every kind (assigned, replied, ...), activity = the event's label.

The Arrow table read for a set of database-level filters is kept in Django's cache with the log's
version (newest event id, event count), so a page load over unchanged data does not read it again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl
import pyarrow as pa
from django.core.cache import cache
from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from serviceloop.accounts.choices import STAFF_ROLES
from serviceloop.accounts.models import Team, User
from serviceloop.analytics import (
    EventLog,
    filter_case_duration,
    filter_time,
    filter_variants,
    from_arrow,
)
from serviceloop.cases.eventlog import (
    ENTRY_KINDS,
    fetch_frame,
    read_events,
    stage_visits,
)
from serviceloop.cases.models import Case, CaseEvent, Category
from serviceloop.processes.models import ProcessVersion, Stage

__all__ = [
    "ATTRIBUTES",
    "LOG_COLUMNS",
    "LogFilters",
    "end_stage_names",
    "event_log",
    "event_log_version",
    "event_table",
    "filter_categories",
    "filter_teams",
    "filter_versions",
]

View = Literal["stages", "events"]
TimeMode = Literal["started", "intersecting", "completed", "contained"]

#: Case attributes carried by every event of the loaded log.
ATTRIBUTES = ("team", "category", "priority", "channel", "version", "status")
#: The columns of :func:`event_table`, in order.
LOG_COLUMNS = ("case_id", "activity", "timestamp", "resource", *ATTRIBUTES)

CACHE_SECONDS = 15 * 60


@dataclass(frozen=True)
class LogFilters:
    """What the manager asked to look at. Dates are local calendar days, ``end`` inclusive."""

    view: View = "stages"
    start: dt.date | None = None
    end: dt.date | None = None
    time_mode: TimeMode = "started"
    teams: tuple[int, ...] = ()
    categories: tuple[int, ...] = ()
    priorities: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    version: int | None = None
    min_hours: float | None = None
    max_hours: float | None = None
    top_variants: int | None = None

    @property
    def start_at(self) -> dt.datetime | None:
        return _local_midnight(self.start) if self.start else None

    @property
    def end_at(self) -> dt.datetime | None:
        """Exclusive end: midnight after the last day asked for."""
        return _local_midnight(self.end + dt.timedelta(days=1)) if self.end else None

    def database_key(self) -> str:
        """Identifies what the database query reads (the window's pushed-down bounds included)."""
        parts = [repr(getattr(self, name)) for name in _QUERY_FIELDS]
        parts += [repr(self.start_at if self.time_mode in ("started", "contained") else None)]
        parts += [repr(self.end_at)]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


_QUERY_FIELDS = ("view", "teams", "categories", "priorities", "channels", "version")


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


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


_CASE_SCHEMA = {
    "__case": pl.Int64,
    "case_id": pl.String,
    "team": pl.String,
    "category": pl.String,
    "priority": pl.String,
    "channel": pl.String,
    "version": pl.Int64,
    "status": pl.String,
}


def event_table(filters: LogFilters) -> pa.Table:
    """The live log as Arrow columns :data:`LOG_COLUMNS`, ordered by case, time and event id.

    Three narrow reads (events, their cases, staff names) joined by the engine: the per-case
    attributes travel once per case instead of once per event. The stage view is
    :func:`serviceloop.cases.eventlog.stage_visits`, the one the export writes too.
    """
    case_filters = _case_filters(filters)
    cases = fetch_frame(_cases_queryset(filters), _CASE_SCHEMA)
    if filters.view == "stages":
        raw = read_events(kinds=ENTRY_KINDS, case_lookups=case_filters)
        visits = stage_visits(raw)
        events = visits.select("case", "activity", pl.col("start").alias("timestamp"), "actor")
    else:
        raw = read_events(case_lookups=case_filters)
        events = raw.select("case", "activity", "timestamp", "actor")
    staff = fetch_frame(
        User.objects.filter(role__in=sorted(STAFF_ROLES)).order_by().values_list("id", "username"),
        {"actor": pl.Int64, "resource": pl.String},
    )
    table = (
        events.rename({"case": "__case"})
        .join(cases, on="__case", how="inner", maintain_order="left")
        .join(staff, on="actor", how="left", maintain_order="left")
        .select(LOG_COLUMNS)
    )
    return table.to_arrow()


def event_log_version() -> tuple[int, int]:
    """(newest event id, number of events): changes whenever the log does.

    Events are appended, so the newest id moves on every change; the count also catches the one
    removal the app knows, an audited data erasure, which may leave the newest id in place.
    """
    found = CaseEvent.objects.aggregate(last=Max("id"), count=Count("id"))
    return found["last"] or 0, found["count"]


def _cached_table(filters: LogFilters) -> pa.Table:
    """The table for ``filters``, read again only when a newer event exists.

    One cache entry per set of filters, holding the log version it was read at: a new event
    replaces the entry instead of adding one, so the cache does not fill up with stale logs.
    """
    key = f"insights:log:{filters.database_key()}"
    version = event_log_version()
    cached = cache.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    table = event_table(filters)
    cache.set(key, (version, table), CACHE_SECONDS)
    return table


def event_log(filters: LogFilters) -> EventLog | None:
    """The filtered live log, or None when nothing is left (an empty database or filters that
    keep no case)."""
    table = _cached_table(filters)
    if table.num_rows == 0:
        return None
    log = from_arrow(table, duplicates="keep")
    if filters.start_at is not None or filters.end_at is not None:
        log = filter_time(log, start=filters.start_at, end=filters.end_at, mode=filters.time_mode)
    if filters.min_hours is not None or filters.max_hours is not None:
        log = filter_case_duration(
            log,
            min_seconds=None if filters.min_hours is None else filters.min_hours * 3600,
            max_seconds=None if filters.max_hours is None else filters.max_hours * 3600,
        )
    if filters.top_variants is not None and log.n_events:
        log = filter_variants(log, top=filters.top_variants)
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


def end_stage_names() -> list[str]:
    """Names of the end stages of every version: a case whose last stage is one is closed."""
    return sorted(set(Stage.objects.filter(is_end=True).values_list("name", flat=True)))
