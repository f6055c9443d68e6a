"""Measures computed from the case event log, per unit (team, agent or month) and period.

One grouped query reads one row per case of the period (cases *opened* in it), with what its
events say (first reply, reopenings, re-routes, ...) counted by the database; Polars then averages
per unit. A case counts for every team and every agent that held it, not only for whoever held
it last. Survey answers come from ``survey_answered`` events (attributes ``csat`` 1-5, ``nps``
0-10, ``attitude`` 1-5) and count like their case.

Every measure says what it is based on (``basis``), so a stored score can be explained.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.db.models import Count, F, FloatField, Min, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from serviceloop.accounts.models import AgentProfile
from serviceloop.accounts.names import person_names
from serviceloop.cases.choices import EventKind
from serviceloop.cases.holders import holder_changes
from serviceloop.cases.models import Case, CaseEvent
from serviceloop.core.json_text import json_text
from serviceloop.evaluation.choices import UnitKind
from serviceloop.processes.models import Stage

__all__ = [
    "COMPLAINT_CATEGORY",
    "COMPLAINT_STANDARD_HOURS",
    "MEASURES",
    "MeasureSpec",
    "Period",
    "Unit",
    "case_frame",
    "compute_measures",
    "qa_frame",
    "stage_time_frame",
    "survey_frame",
    "units_of",
]

COMPLAINT_CATEGORY = "complaint"
COMPLAINT_STANDARD_HOURS = 72.0
DEFAULT_COST_PER_HOUR = 100.0


@dataclass(frozen=True)
class Period:
    """Calendar days in the server's time zone, both ends included."""

    start: dt.date
    end: dt.date

    @property
    def start_at(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.start, dt.time.min))

    @property
    def end_at(self) -> dt.datetime:
        """Exclusive: midnight after the last day."""
        return timezone.make_aware(
            dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min)
        )


@dataclass(frozen=True)
class Unit:
    key: str
    label: str


@dataclass(frozen=True)
class MeasureSpec:
    key: str
    label: Any
    unit: str
    basis: Any
    compute: Callable[[pl.DataFrame, dict[str, Any]], pl.DataFrame]  # -> unit, value, n
    basis_team: Any = None  # what the measure means for teams, when it differs

    def basis_for(self, unit_kind: str) -> Any:
        return self.basis_team if unit_kind == UnitKind.TEAM and self.basis_team else self.basis


def _hours(later: str, earlier: str) -> pl.Expr:
    return (pl.col(later) - pl.col(earlier)).dt.total_seconds() / 3600.0


def _mean_of(expr: pl.Expr, where: pl.Expr | None = None) -> Callable[..., pl.DataFrame]:
    def compute(cases: pl.DataFrame, params: dict[str, Any]) -> pl.DataFrame:
        rows = cases if where is None else cases.filter(where)
        return rows.group_by("unit").agg(
            expr.cast(pl.Float64).mean().alias("value"), pl.len().alias("n")
        )

    return compute


def _team_time(params: dict[str, Any], *, cost: bool) -> pl.DataFrame:
    """Per team: mean over the closed cases it held of the hours spent in its stages (x its
    cost per hour when ``cost``)."""
    visits: pl.DataFrame = params["stage_time"]
    rates = _rates(params)
    per_case = visits.group_by("unit", "case_id").agg(pl.col("hours").sum())
    if cost:
        rate = pl.col("unit").replace_strict(
            rates, default=rates.get("default", DEFAULT_COST_PER_HOUR), return_dtype=pl.Float64
        )
        per_case = per_case.with_columns(pl.col("hours") * rate)
    return per_case.group_by("unit").agg(pl.col("hours").mean().alias("value"), pl.len().alias("n"))


def _rates(params: dict[str, Any]) -> dict[str, float]:
    return {str(k): float(v) for k, v in (params.get("cost_per_hour") or {}).items()}


def _process_cost(cases: pl.DataFrame, params: dict[str, Any]) -> pl.DataFrame:
    if params.get("unit_kind") == UnitKind.TEAM:
        return _team_time(params, cost=True)
    rates: dict[str, float] = {
        str(k): float(v) for k, v in (params.get("cost_per_hour") or {}).items()
    }
    default = rates.get("default", DEFAULT_COST_PER_HOUR)
    rate = pl.col("team").replace_strict(rates, default=default, return_dtype=pl.Float64)
    return (
        cases.filter(pl.col("closed_at").is_not_null())
        .group_by("unit")
        .agg((_hours("closed_at", "created_at") * rate).mean().alias("value"), pl.len().alias("n"))
    )


def _staff_utilisation(cases: pl.DataFrame, params: dict[str, Any]) -> pl.DataFrame:
    """Cases assigned per agent in the period against the agents' capacity (open cases they
    may hold at once), per week of the period."""
    weeks = max(params["period_days"] / 7.0, 1.0)
    assigned = cases.filter(pl.col("assignee").is_not_null())
    per_agent = assigned.group_by("unit", "assignee", "capacity").agg(pl.len().alias("cases"))
    return per_agent.group_by("unit").agg(
        (pl.col("cases") / weeks / pl.col("capacity").clip(1)).mean().alias("value"),
        pl.len().alias("n"),
    )


def _load_balance(cases: pl.DataFrame, params: dict[str, Any]) -> pl.DataFrame:
    """Coefficient of variation of cases per agent within the unit (0 = perfectly even)."""
    per_agent = (
        cases.filter(pl.col("assignee").is_not_null())
        .group_by("unit", "assignee")
        .agg(pl.len().alias("cases"))
    )
    return (
        per_agent.group_by("unit")
        .agg(
            (pl.col("cases").std(ddof=0) / pl.col("cases").mean()).alias("value"),
            pl.len().alias("n"),
        )
        .filter(pl.col("n") >= 2)
    )


def _survey(attribute: str) -> Callable[..., pl.DataFrame]:
    def compute(cases: pl.DataFrame, params: dict[str, Any]) -> pl.DataFrame:
        answers: pl.DataFrame = params["surveys"]
        return (
            answers.filter(pl.col(attribute).is_not_null())
            .group_by("unit")
            .agg(pl.col(attribute).mean().alias("value"), pl.len().alias("n"))
        )

    return compute


_closed = pl.col("closed_at").is_not_null()
_complaint = pl.col("category") == COMPLAINT_CATEGORY

MEASURES: dict[str, MeasureSpec] = {
    spec.key: spec
    for spec in [
        MeasureSpec(
            "first_response_hours",
            _("First response time"),
            "h",
            _("mean hours from opening to the first public reply, cases replied to"),
            _mean_of(_hours("first_reply", "created_at"), pl.col("first_reply").is_not_null()),
        ),
        MeasureSpec(
            "process_hours",
            _("Process time"),
            "h",
            _("mean hours from opening to closing, closed cases"),
            lambda cases, params: (
                _team_time(params, cost=False)
                if params.get("unit_kind") == UnitKind.TEAM
                else _mean_of(_hours("closed_at", "created_at"), _closed)(cases, params)
            ),
            _("mean hours closed cases spent in the team's own stages (waiting and work)"),
        ),
        MeasureSpec(
            "process_cost",
            _("Process cost"),
            "¥",
            _("mean process hours x the team's cost per hour, closed cases"),
            _process_cost,
            _("mean hours in the team's own stages x its cost per hour, closed cases"),
        ),
        MeasureSpec(
            "reopen_rate",
            _("Reopen rate"),
            "%",
            _("share of cases reopened at least once"),
            _mean_of((pl.col("reopens") > 0) * 100.0),
        ),
        MeasureSpec(
            "first_contact_resolution",
            _("First-contact resolution"),
            "%",
            _("share of closed cases closed after at most one reply and never reopened"),
            _mean_of(((pl.col("replies") <= 1) & (pl.col("reopens") == 0)) * 100.0, _closed),
        ),
        MeasureSpec(
            "rework_rate",
            _("Rework rate"),
            "%",
            _("share of cases that entered a stage more than once"),
            _mean_of((pl.col("stage_entries") > pl.col("stages")) * 100.0),
        ),
        MeasureSpec(
            "compliance_rate",
            _("Process compliance"),
            "%",
            _(
                "share of closed cases that moved only along forward edges (no rework or escalation edge)"
            ),
            _mean_of((pl.col("off_path_moves") == 0) * 100.0, _closed),
        ),
        MeasureSpec(
            "handovers_per_case",
            _("Handovers per case"),
            "",
            _("mean number of re-assignments after the first assignment"),
            _mean_of((pl.col("assignments") - 1).clip(0)),
        ),
        MeasureSpec(
            "cross_team_share",
            _("Cases shared between teams"),
            "%",
            _("share of cases re-routed to another team during the process"),
            _mean_of((pl.col("reroutes") > 0) * 100.0),
        ),
        MeasureSpec(
            "escalation_free_rate",
            _("Solved without escalation"),
            "%",
            _("share of closed cases never escalated"),
            _mean_of((pl.col("escalations") == 0) * 100.0, _closed),
        ),
        MeasureSpec(
            "complaint_handling_rate",
            _("Complaint handling rate"),
            "%",
            _("share of complaint cases closed within %(hours)s hours")
            % {"hours": int(COMPLAINT_STANDARD_HOURS)},
            _mean_of(
                (_closed & (_hours("closed_at", "created_at") <= COMPLAINT_STANDARD_HOURS)) * 100.0,
                _complaint,
            ),
        ),
        MeasureSpec(
            "staff_utilisation",
            _("Staff utilisation"),
            "",
            _("cases assigned per agent and week against the agent's capacity"),
            _staff_utilisation,
        ),
        MeasureSpec(
            "load_balance",
            _("Load imbalance"),
            "",
            _("coefficient of variation of cases per agent (0 = even)"),
            _load_balance,
        ),
        MeasureSpec(
            "qa_score",
            _("Quality review score"),
            "0-100",
            _("mean score of the submitted quality reviews"),
            _survey("qa"),
        ),
        MeasureSpec(
            "survey_csat",
            _("Survey satisfaction (CSAT)"),
            "1-5",
            _("mean CSAT of the survey answers"),
            _survey("csat"),
        ),
        MeasureSpec(
            "survey_nps",
            _("Customer feedback (NPS answer)"),
            "0-10",
            _("mean likelihood to recommend of the survey answers"),
            _survey("nps"),
        ),
        MeasureSpec(
            "survey_attitude",
            _("Service attitude"),
            "1-5",
            _("mean score of the survey's service-attitude dimension"),
            _survey("attitude"),
        ),
    ]
}


def _scope(period: Period) -> QuerySet[Case]:
    return Case.objects.filter(created_at__gte=period.start_at, created_at__lt=period.end_at)


def case_frame(period: Period, unit_kind: str) -> pl.DataFrame:
    """One row per case opened in the period, with its unit and what its events add up to."""
    kind = Q(events__kind=EventKind.STAGE_ENTERED) | Q(events__kind=EventKind.CLOSED)
    rows = (
        _scope(period)
        .annotate(
            first_reply=Min("events__timestamp", filter=Q(events__kind=EventKind.REPLIED)),
            replies=Count("events", filter=Q(events__kind=EventKind.REPLIED)),
            reopens=Count("events", filter=Q(events__kind=EventKind.REOPENED)),
            escalations=Count("events", filter=Q(events__kind=EventKind.ESCALATED)),
            assignments=Count("events", filter=Q(events__kind=EventKind.ASSIGNED)),
            stage_entries=Count("events", filter=Q(events__kind=EventKind.STAGE_ENTERED)),
            stages=Count(
                "events__activity", distinct=True, filter=Q(events__kind=EventKind.STAGE_ENTERED)
            ),
            off_path_moves=Count(
                "events",
                filter=kind & Q(events__attributes__transition_kind__in=["rework", "escalation"]),
            ),
            reroutes=Count(
                "events",
                filter=Q(events__kind=EventKind.STAGE_ENTERED)
                & Q(events__attributes__has_key="team"),
            ),
            capacity=F("assignee__agent_profile__capacity"),
        )
        .values_list(
            "id",
            "created_at",
            "closed_at",
            "first_reply",
            "replies",
            "reopens",
            "escalations",
            "assignments",
            "stage_entries",
            "stages",
            "off_path_moves",
            "reroutes",
            "team__code",
            "assignee__username",
            "category__code",
            "capacity",
            "process_version_id",
        )
    )
    columns = [
        "case_id",
        "created_at",
        "closed_at",
        "first_reply",
        "replies",
        "reopens",
        "escalations",
        "assignments",
        "stage_entries",
        "stages",
        "off_path_moves",
        "reroutes",
        "team",
        "assignee",
        "category",
        "capacity",
        "version",
    ]
    schema: dict[str, Any] = {
        "case_id": pl.Int64,
        "created_at": pl.Datetime("us", "UTC"),
        "closed_at": pl.Datetime("us", "UTC"),
        "first_reply": pl.Datetime("us", "UTC"),
        **dict.fromkeys(
            ["replies", "reopens", "escalations", "assignments", "stage_entries", "stages"],
            pl.Int64,
        ),
        "off_path_moves": pl.Int64,
        "reroutes": pl.Int64,
        "team": pl.String,
        "assignee": pl.String,
        "category": pl.String,
        "capacity": pl.Int64,
        "version": pl.Int64,
    }
    frame = pl.DataFrame(list(rows), schema=schema, orient="row").select(columns)
    if unit_kind in (UnitKind.TEAM, UnitKind.AGENT):
        frame = _by_holder(frame, period)
    return frame.with_columns(_unit_expr(unit_kind))


def _by_holder(frame: pl.DataFrame, period: Period) -> pl.DataFrame:
    """One row per case and (team, agent) that held it: a case counts for every team and agent
    that worked it, not only the one holding it at the end (a closed case ends with whoever
    closed it). Holders come from ``assigned`` events and the re-routes in ``stage_entered``."""
    holders = _holders(period, frame.select("case_id", "team", "assignee").rows())
    capacities = dict(
        AgentProfile.objects.filter(
            user__username__in=[a for a in holders["assignee"].unique().to_list() if a]
        ).values_list("user__username", "capacity")
    )
    return (
        frame.drop("team", "assignee", "capacity")
        .join(holders, on="case_id", how="inner")
        .with_columns(
            pl.col("assignee")
            .replace_strict(capacities, default=None, return_dtype=pl.Int64)
            .alias("capacity")
        )
    )


def _holders(period: Period, current: list[tuple[Any, ...]]) -> pl.DataFrame:
    """(case_id, team, assignee) for every holder of the period's cases, ``current`` included."""
    changes = holder_changes(
        CaseEvent.objects.filter(
            case__created_at__gte=period.start_at, case__created_at__lt=period.end_at
        )
    )
    held: set[tuple[int, str | None, str | None]] = {
        (case_id, team, agent)
        for case_id, assigned, team, agent in changes
        if assigned or team is not None  # a stage event holds only when it re-routes the team
    }
    held.update((case_id, team, agent) for case_id, team, agent in current)
    return pl.DataFrame(
        [h for h in held if h[1] is not None or h[2] is not None],
        schema={"case_id": pl.Int64, "team": pl.String, "assignee": pl.String},
        orient="row",
    ).unique()


def stage_time_frame(period: Period) -> pl.DataFrame:
    """Stage visits of the period's closed cases: case_id, unit (the stage's responsible team)
    and hours (until the case's next stage event). The end stage takes no time."""
    rows = (
        CaseEvent.objects.filter(
            case__created_at__gte=period.start_at,
            case__created_at__lt=period.end_at,
            case__closed_at__isnull=False,
            kind__in=[EventKind.STAGE_ENTERED, EventKind.CLOSED],
        )
        .annotate(stage=json_text("attributes__to_stage"))
        .order_by("case_id", "timestamp", "id")
        .values_list("case_id", "case__process_version_id", "stage", "timestamp")
    )
    visits = pl.DataFrame(
        list(rows),
        schema={
            "case_id": pl.Int64,
            "version": pl.Int64,
            "stage": pl.String,
            "timestamp": pl.Datetime("us", "UTC"),
        },
        orient="row",
    )
    teams = {
        f"{version}:{code}": team
        for version, code, team in Stage.objects.filter(
            version_id__in=visits["version"].unique().to_list(), responsible_team__isnull=False
        ).values_list("version_id", "code", "responsible_team__code")
    }
    return (
        visits.with_columns(
            (
                (
                    pl.col("timestamp").shift(-1).over("case_id") - pl.col("timestamp")
                ).dt.total_seconds()
                / 3600.0
            ).alias("hours"),
            (pl.col("version").cast(pl.String) + ":" + pl.col("stage"))
            .replace_strict(teams, default=None, return_dtype=pl.String)
            .alias("unit"),
        )
        .filter(pl.col("unit").is_not_null() & pl.col("hours").is_not_null())
        .select("case_id", "unit", "hours")
    )


def _unit_expr(unit_kind: str) -> pl.Expr:
    if unit_kind == UnitKind.TEAM:
        return pl.col("team").alias("unit")
    if unit_kind == UnitKind.AGENT:
        return pl.col("assignee").alias("unit")
    if unit_kind == UnitKind.VERSION:
        return pl.col("version").cast(pl.String).alias("unit")
    zone = str(timezone.get_current_timezone())
    return pl.col("created_at").dt.convert_time_zone(zone).dt.strftime("%Y-%m").alias("unit")


def survey_frame(period: Period, unit_kind: str) -> pl.DataFrame:
    """Survey answers of the period's cases: unit, csat, nps, attitude (nulls where unanswered)."""
    rows = (
        CaseEvent.objects.filter(
            kind=EventKind.SURVEY_ANSWERED,
            case__created_at__gte=period.start_at,
            case__created_at__lt=period.end_at,
        )
        .annotate(
            csat=Cast(json_text("attributes__csat"), FloatField()),
            nps=Cast(json_text("attributes__nps"), FloatField()),
            attitude=Cast(json_text("attributes__attitude"), FloatField()),
        )
        .values_list(
            "case_id",
            "case__team__code",
            "case__assignee__username",
            "case__created_at",
            "csat",
            "nps",
            "attitude",
            "case__process_version_id",
        )
    )
    frame = pl.DataFrame(
        list(rows),
        schema={
            "case_id": pl.Int64,
            "team": pl.String,
            "assignee": pl.String,
            "created_at": pl.Datetime("us", "UTC"),
            "csat": pl.Float64,
            "nps": pl.Float64,
            "attitude": pl.Float64,
            "version": pl.Int64,
        },
        orient="row",
    )
    if unit_kind in (UnitKind.TEAM, UnitKind.AGENT) and frame.height:
        holders = _holders(period, frame.select("case_id", "team", "assignee").rows())
        frame = frame.drop("team", "assignee").join(holders, on="case_id", how="inner")
    return frame.with_columns(_unit_expr(unit_kind))


def qa_frame(period: Period, unit_kind: str) -> pl.DataFrame:
    """Submitted quality reviews of the period's cases: unit (the reviewed agent, their case's
    team or month) and the review's score as ``qa``."""
    from serviceloop.evaluation.models import QAReview

    rows = QAReview.objects.filter(
        submitted_at__isnull=False,
        case__created_at__gte=period.start_at,
        case__created_at__lt=period.end_at,
    ).values_list(
        "case__team__code",
        "agent__username",
        "case__created_at",
        "score",
        "case__process_version_id",
    )
    frame = pl.DataFrame(
        list(rows),
        schema={
            "team": pl.String,
            "assignee": pl.String,
            "created_at": pl.Datetime("us", "UTC"),
            "qa": pl.Float64,
            "version": pl.Int64,
        },
        orient="row",
    )
    return frame.with_columns(_unit_expr(unit_kind))


def units_of(cases: pl.DataFrame, unit_kind: str) -> list[Unit]:
    """The units present among the period's cases, with display names."""
    keys = sorted(k for k in cases["unit"].unique().to_list() if k is not None)
    names = unit_names(unit_kind, keys)
    return [Unit(k, names.get(k, k)) for k in keys]


def unit_names(unit_kind: str, keys: list[str]) -> dict[str, str]:
    """The current names of units in the active language (a team's Chinese name when zh-hans is
    active, a person as people write their name); keys that no longer name anything are left out."""
    if unit_kind == UnitKind.TEAM:
        from serviceloop.accounts.models import Team

        return {team.code: team.display_name for team in Team.objects.filter(code__in=keys)}
    if unit_kind == UnitKind.AGENT:
        return person_names(keys)
    if unit_kind == UnitKind.VERSION:
        from serviceloop.processes.models import ProcessVersion

        ids = [int(k) for k in keys if k.isdigit()]
        return {
            str(v.pk): f"{v.process.name} v{v.number}"
            for v in ProcessVersion.objects.filter(pk__in=ids).select_related("process")
        }
    return {}


def compute_measures(
    keys: list[str], period: Period, unit_kind: str, *, parameters: dict[str, Any] | None = None
) -> tuple[list[Unit], dict[str, dict[str, float]], dict[str, dict[str, int]]]:
    """Values of the measures ``keys`` per unit: ``(units, {measure: {unit: value}}, counts)``.

    A unit without data for a measure (no closed case, no survey answer) has no value for it.
    """
    cases = case_frame(period, unit_kind).filter(pl.col("unit").is_not_null())
    units = units_of(cases, unit_kind)
    params: dict[str, Any] = dict(parameters or {})
    params["period_days"] = (period.end - period.start).days + 1
    params["unit_kind"] = unit_kind
    if unit_kind == UnitKind.TEAM and {"process_hours", "process_cost"} & set(keys):
        params["stage_time"] = stage_time_frame(period)
    if any(key.startswith("survey_") for key in keys) or "qa_score" in keys:
        params["surveys"] = pl.concat(
            [survey_frame(period, unit_kind), qa_frame(period, unit_kind)], how="diagonal"
        ).filter(pl.col("unit").is_not_null())
    values: dict[str, dict[str, float]] = {}
    counts: dict[str, dict[str, int]] = {}
    for key in keys:
        frame = MEASURES[key].compute(cases, params).filter(pl.col("value").is_not_nan())
        values[key] = dict(zip(frame["unit"].to_list(), frame["value"].to_list(), strict=True))
        counts[key] = dict(zip(frame["unit"].to_list(), frame["n"].to_list(), strict=True))
    return units, values, counts
