"""Counts behind the live page's aggregate panels: from counters on PostgreSQL, by counting the
tables elsewhere (and in the tests, to check the counters).

At a million cases, counting the open cases by team and stage, or the clocks that finished in
30 days, takes 0.3-2 s each refresh. On PostgreSQL, triggers keep delta rows in
``sla_live_case_hours`` and ``sla_live_clock_hours`` in the transaction of each change (migration
``sla.0006``); a panel sums the rows of the hours it needs, a few thousand at most. The worker
folds the fresh deltas into one row per key each round (:func:`live_counts_fold`), so the tables
stay about as small as their keys.

Hours are UTC hours: a window given here starts and ends on a whole hour. ``team_ids`` None means
every team; team 0 is "no team".
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncHour

from serviceloop.cases.models import Case
from serviceloop.sla.models import CaseHourCount, ClockHourCount, SlaClock

__all__ = [
    "ClockCounts",
    "case_counts_by_hour",
    "case_counts_by_stage",
    "clock_counts",
    "counters_kept",
    "floor_hour",
    "hours_between",
    "live_counts_fold",
]

_FOLD_LOCK = 1_408_140_001  # pg advisory lock key: one folding worker at a time

_FOLD_CASES = """
WITH fresh AS (SELECT DISTINCT team_id, stage_id, status, hour FROM sla_live_case_hours
               WHERE NOT folded),
gone AS (DELETE FROM sla_live_case_hours t USING fresh f
         WHERE t.team_id = f.team_id AND t.stage_id = f.stage_id AND t.status = f.status
           AND t.hour = f.hour
         RETURNING t.team_id, t.stage_id, t.status, t.hour, t.n)
INSERT INTO sla_live_case_hours (team_id, stage_id, status, hour, n, folded)
SELECT team_id, stage_id, status, hour, sum(n), true FROM gone
GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0
"""

_FOLD_CLOCKS = """
WITH fresh AS (SELECT DISTINCT team_id, metric, hour FROM sla_live_clock_hours WHERE NOT folded),
gone AS (DELETE FROM sla_live_clock_hours t USING fresh f
         WHERE t.team_id = f.team_id AND t.metric = f.metric AND t.hour = f.hour
         RETURNING t.team_id, t.metric, t.hour, t.met, t.breached, t.stopped)
INSERT INTO sla_live_clock_hours (team_id, metric, hour, met, breached, stopped, folded)
SELECT team_id, metric, hour, sum(met), sum(breached), sum(stopped), true FROM gone
GROUP BY 1, 2, 3 HAVING sum(met) <> 0 OR sum(breached) <> 0 OR sum(stopped) <> 0
"""


@dataclass(frozen=True)
class ClockCounts:
    met: int
    breached: int
    stopped: int


def counters_kept() -> bool:
    """Whether the triggers keep the counters (PostgreSQL)."""
    return connection.vendor == "postgresql"


def floor_hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _whole_hours(*moments: datetime | None) -> None:
    for at in moments:
        if at is not None and at != floor_hour(at):
            raise ValueError(f"counter windows start and end on a whole UTC hour, not {at}")


def live_counts_fold() -> bool:
    """Fold the fresh delta rows into one row per key (the worker, each round); False when
    another worker is folding. The sums stay the same: the deltas go and their sums come in one
    statement per table."""
    if not counters_kept():
        return False
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_FOLD_LOCK])
        if not cursor.fetchone()[0]:
            return False
        cursor.execute(_FOLD_CASES)
        cursor.execute(_FOLD_CLOCKS)
    return True


def _teams(rows: QuerySet, team_ids: Collection[int] | None) -> QuerySet:
    return rows if team_ids is None else rows.filter(team_id__in=list(team_ids))


def _cases(team_ids: Collection[int] | None) -> QuerySet[Case]:
    return _teams(Case.objects.order_by(), team_ids)


def case_counts_by_stage(
    team_ids: Collection[int] | None, statuses: Sequence[str], *, recount: bool = False
) -> list[tuple[int | None, int, str, int]]:
    """(team id or None, stage id, status, cases) for the cases of ``statuses``."""
    if counters_kept() and not recount:
        rows = (
            _teams(CaseHourCount.objects.order_by(), team_ids)
            .filter(status__in=list(statuses))
            .values_list("team_id", "stage_id", "status")
            .annotate(cases=Sum("n"))
        )
        return [(t or None, s, st, n) for t, s, st, n in rows if n]
    found = (
        _cases(team_ids)
        .filter(status__in=list(statuses))
        .values_list("team_id", "stage_id", "status")
        .annotate(cases=Count("id"))
    )
    return [(t, s, st, n) for t, s, st, n in found]


def case_counts_by_hour(
    team_ids: Collection[int] | None,
    *,
    since: datetime,
    until: datetime | None = None,
    statuses: Sequence[str] | None = None,
    recount: bool = False,
) -> dict[datetime, int]:
    """Cases opened in each UTC hour of [since, until) (of ``statuses``; None: any)."""
    _whole_hours(since, until)
    if counters_kept() and not recount:
        rows = _teams(CaseHourCount.objects.order_by(), team_ids).filter(hour__gte=since)
        if until is not None:
            rows = rows.filter(hour__lt=until)
        if statuses is not None:
            rows = rows.filter(status__in=list(statuses))
        found = rows.values_list("hour").annotate(cases=Sum("n"))
        return {hour.astimezone(UTC): n for hour, n in found if n}
    cases = _cases(team_ids).filter(created_at__gte=since)
    if until is not None:
        cases = cases.filter(created_at__lt=until)
    if statuses is not None:
        cases = cases.filter(status__in=list(statuses))
    found = (
        cases.annotate(hour=TruncHour("created_at", tzinfo=UTC))
        .values_list("hour")
        .annotate(cases=Count("id"))
    )
    return {hour.astimezone(UTC): n for hour, n in found}


def clock_counts(
    team_ids: Collection[int] | None,
    *,
    since: datetime,
    until: datetime | None = None,
    metric: str | None = None,
    recount: bool = False,
) -> ClockCounts:
    """Clocks (of ``metric``; None: any) that stopped in time (met), breached, or stopped, within
    [since, until)."""
    _whole_hours(since, until)
    if counters_kept() and not recount:
        rows = _teams(ClockHourCount.objects.order_by(), team_ids).filter(hour__gte=since)
        if until is not None:
            rows = rows.filter(hour__lt=until)
        if metric is not None:
            rows = rows.filter(metric=metric)
        found = rows.aggregate(met=Sum("met"), breached=Sum("breached"), stopped=Sum("stopped"))
        return ClockCounts(**{k: v or 0 for k, v in found.items()})
    clocks = SlaClock.objects.order_by()
    if team_ids is not None:
        clocks = clocks.filter(case__team_id__in=list(team_ids))
    if metric is not None:
        clocks = clocks.filter(metric=metric)
    stopped = Q(stopped_at__gte=since) & (Q(stopped_at__lt=until) if until else Q())
    breached = Q(breached_at__gte=since) & (Q(breached_at__lt=until) if until else Q())
    found = clocks.aggregate(
        met=Count("id", filter=stopped & Q(breached_at=None)),
        breached=Count("id", filter=breached),
        stopped=Count("id", filter=stopped),
    )
    return ClockCounts(**found)


def hours_between(since: datetime, until: datetime) -> list[datetime]:
    """The UTC hours starting in [since, until)."""
    hours, at = [], floor_hour(since)
    if at < since:
        at += timedelta(hours=1)
    while at < until:
        hours.append(at)
        at += timedelta(hours=1)
    return hours
