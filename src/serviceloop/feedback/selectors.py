"""Survey results for managers: response rate, CSAT/NPS/CES, by team, agent, category, process
version and stage (the stages with the lowest satisfaction first), and the latest comments."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet
from django.utils import timezone

from serviceloop.accounts.models import Team
from serviceloop.accounts.names import person_names
from serviceloop.cases.choices import EventKind
from serviceloop.cases.holders import holder_changes
from serviceloop.cases.models import Case, CaseEvent, Category
from serviceloop.feedback.metrics import csat_score, nps_score
from serviceloop.feedback.models import SurveyInvitation, SurveyResponse
from serviceloop.processes.models import ServiceProcess

__all__ = [
    "ComplaintSummary",
    "SurveySummary",
    "complaint_summary",
    "open_invitations_for",
    "survey_summary",
]

GROUPS = {
    "category": "invitation__case__category__name",
    "version": "invitation__case__process_version__process__name",
}


@dataclass
class SurveySummary:
    sent: int
    answered: int
    csat: float | None
    csat_mean: float | None
    nps: float | None
    ces: float | None
    groups: dict[str, list[dict[str, Any]]]
    stages: list[dict[str, Any]]
    comments: list[tuple[SurveyResponse, str]]

    @property
    def response_rate(self) -> float | None:
        return 100.0 * self.answered / self.sent if self.sent else None


def _window(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return (
        timezone.make_aware(dt.datetime.combine(start, dt.time.min)),
        timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min)),
    )


def _nps_from(row: dict[str, Any]) -> float | None:
    n = row["n_nps"]
    return 100.0 * (row["promoters"] - row["detractors"]) / n if n else None


def _holders(case_ids: list[int]) -> tuple[dict[int, set[str]], dict[int, set[str]]]:
    """The teams and agents that held each case (assignments and re-routes in the log): a
    closed case ends with whoever closed it, so its current team alone would credit one team
    with every answer."""
    teams: dict[int, set[str]] = {}
    agents: dict[int, set[str]] = {}
    for case_id, _, team, agent in holder_changes(CaseEvent.objects.filter(case_id__in=case_ids)):
        if team:
            teams.setdefault(case_id, set()).add(team)
        if agent:
            agents.setdefault(case_id, set()).add(agent)
    for case_id, team, agent in Case.objects.filter(pk__in=case_ids).values_list(
        "id", "team__code", "assignee__username"
    ):
        if team:
            teams.setdefault(case_id, set()).add(team)
        if agent:
            agents.setdefault(case_id, set()).add(agent)
    names = {team.code: team.display_name for team in Team.objects.all()}
    people = person_names(a for held in agents.values() for a in held)
    return (
        {case: {names.get(t, t) for t in codes} for case, codes in teams.items()},
        {case: {people.get(a, a) for a in held} for case, held in agents.items()},
    )


def _group_labels() -> dict[str, dict[str, str]]:
    """Stored (English) category and process names -> names in the reader's language."""
    return {
        "category": {c.name: c.display_name for c in Category.objects.all()},
        "version": {p.name: p.display_name for p in ServiceProcess.objects.all()},
    }


def _group_by(
    scores: dict[int, tuple[float | None, int | None, float | None]],
    members: dict[int, set[str]],
) -> list[dict[str, Any]]:
    per: dict[str, list[tuple[float | None, int | None, float | None]]] = {}
    for case_id, value in scores.items():
        for label in members.get(case_id, {"–"}):
            per.setdefault(label, []).append(value)
    rows = []
    for label, values in per.items():
        csat = [v[0] for v in values if v[0] is not None]
        ces = [v[2] for v in values if v[2] is not None]
        rows.append(
            {
                "label": label,
                "n": len(values),
                "csat_mean": sum(csat) / len(csat) if csat else None,
                "csat": csat_score(csat),
                "nps": nps_score([v[1] for v in values]),
                "ces": sum(ces) / len(ces) if ces else None,
            }
        )
    return sorted(rows, key=lambda r: (r["csat_mean"] is None, r["csat_mean"] or 0.0, r["label"]))


def _stage_satisfaction(
    scores: dict[int, tuple[float | None, int | None, float | None]],
) -> list[dict[str, Any]]:
    """Per stage: the CSAT of the cases that spent longer than the stage's median there against
    those that went through quickly; the stages whose slowness costs most satisfaction first."""
    events = (
        CaseEvent.objects.filter(
            case_id__in=list(scores), kind__in=[EventKind.STAGE_ENTERED, EventKind.CLOSED]
        )
        .order_by("case_id", "timestamp", "id")
        .values_list("case_id", "kind", "activity", "timestamp")
    )
    hours: dict[str, dict[int, float]] = {}
    previous: tuple[int, str, dt.datetime] | None = None
    for case_id, kind, activity, timestamp in events:
        if previous is not None and previous[0] == case_id:
            spent = hours.setdefault(previous[1], {})
            spent[case_id] = (
                spent.get(case_id, 0.0) + (timestamp - previous[2]).total_seconds() / 3600
            )
        previous = (case_id, activity, timestamp) if kind == EventKind.STAGE_ENTERED else None
    rows = []
    for stage, per_case in hours.items():
        rated = {c: h for c, h in per_case.items() if scores[c][0] is not None}
        if len(rated) < 2:
            continue
        median = statistics.median(rated.values())
        slow = [scores[c][0] for c, h in rated.items() if h > median]
        quick = [scores[c][0] for c, h in rated.items() if h <= median]
        slow_mean = sum(slow) / len(slow) if slow else None  # type: ignore[arg-type]
        quick_mean = sum(quick) / len(quick) if quick else None  # type: ignore[arg-type]
        rows.append(
            {
                "stage": stage,
                "n": len(rated),
                "median_hours": median,
                "csat_slow": slow_mean,
                "csat_quick": quick_mean,
                "drop": (quick_mean - slow_mean)
                if slow_mean is not None and quick_mean is not None
                else None,
            }
        )
    return sorted(rows, key=lambda r: (-(r["drop"] or 0.0), r["stage"]))


def survey_summary(start: dt.date, end: dt.date) -> SurveySummary:
    since, until = _window(start, end)
    invitations = SurveyInvitation.objects.filter(sent_at__gte=since, sent_at__lt=until)
    sent = invitations.count()
    answered = invitations.filter(answered_at__isnull=False).count()
    responses: QuerySet[SurveyResponse] = SurveyResponse.objects.filter(
        submitted_at__gte=since, submitted_at__lt=until
    )
    scores = list(responses.values_list("csat", "nps", "ces"))
    groups: dict[str, list[dict[str, Any]]] = {}
    labels = _group_labels()
    for name, field in GROUPS.items():
        rows = list(
            responses.values(field)
            .annotate(
                n=Count("id"),
                csat_mean=Avg("csat"),
                satisfied=Count("id", filter=Q(csat__gte=4)),
                n_csat=Count("csat"),
                n_nps=Count("nps"),
                promoters=Count("id", filter=Q(nps__gte=9)),
                detractors=Count("id", filter=Q(nps__lte=6)),
                ces=Avg("ces"),
            )
            .order_by("csat_mean")
        )
        groups[name] = [
            {
                "label": labels[name].get(row[field], row[field]) if row[field] else "–",
                "n": row["n"],
                "csat_mean": row["csat_mean"],
                "csat": 100.0 * row["satisfied"] / row["n_csat"] if row["n_csat"] else None,
                "nps": _nps_from(row),
                "ces": row["ces"],
            }
            for row in rows
        ]
    answered_scores = {
        case_id: (csat, nps, ces)
        for case_id, csat, nps, ces in responses.values_list(
            "invitation__case_id", "csat", "nps", "ces"
        )
    }
    teams, agents = _holders(list(answered_scores))
    groups = {
        "team": _group_by(answered_scores, teams),
        "agent": _group_by(answered_scores, agents),
        **groups,
    }
    stages = _stage_satisfaction(answered_scores)
    comments = [
        (r, r.answers["comment"])
        for r in responses.select_related("invitation__case")[:200]
        if isinstance(r.answers.get("comment"), str) and r.answers["comment"]
    ][:20]
    csat_values = [c for c, _, _ in scores]
    return SurveySummary(
        sent=sent,
        answered=answered,
        csat=csat_score(csat_values),
        csat_mean=(
            sum(v for v in csat_values if v is not None)
            / len([v for v in csat_values if v is not None])
        )
        if any(v is not None for v in csat_values)
        else None,
        nps=nps_score([n for _, n, _ in scores]),
        ces=(lambda v: sum(v) / len(v) if v else None)([c for _, _, c in scores if c is not None]),
        groups=groups,
        stages=stages,
        comments=comments,
    )


def open_invitations_for(user: Any) -> list[SurveyInvitation]:
    """A customer's unanswered, unexpired surveys."""
    return list(
        SurveyInvitation.objects.filter(
            customer__user=user, answered_at__isnull=True, expires_at__gt=timezone.now()
        ).select_related("case")
    )


@dataclass
class ComplaintSummary:
    cases: int
    complaints: int
    closed: int
    within_standard: int
    mean_hours: float | None
    standard_hours: float
    root_causes: list[tuple[str, int]]
    rows: list[Any]

    @property
    def rate(self) -> float | None:
        """Complaints per 100 cases opened in the period."""
        return 100.0 * self.complaints / self.cases if self.cases else None

    @property
    def handling_rate(self) -> float | None:
        """Share of complaints closed within the standard."""
        return 100.0 * self.within_standard / self.complaints if self.complaints else None


def complaint_summary(start: dt.date, end: dt.date) -> ComplaintSummary:
    """Complaints opened in the period: cases of the complaint category or recorded as complaints."""
    from serviceloop.cases.models import Case
    from serviceloop.evaluation.measures import COMPLAINT_CATEGORY, COMPLAINT_STANDARD_HOURS
    from serviceloop.feedback.choices import RootCause
    from serviceloop.feedback.models import Complaint

    since, until = _window(start, end)
    opened = Case.objects.filter(created_at__gte=since, created_at__lt=until)
    complaints = opened.filter(
        Q(category__code=COMPLAINT_CATEGORY) | Q(complaint__isnull=False)
    ).distinct()
    rows = list(
        complaints.select_related("complaint", "complaint__about_case", "team").order_by(
            "-created_at"
        )[:200]
    )
    total = complaints.count()
    closed = [c for c in complaints.filter(closed_at__isnull=False).only("created_at", "closed_at")]
    hours = [(c.closed_at - c.created_at).total_seconds() / 3600 for c in closed if c.closed_at]
    within = sum(1 for h in hours if h <= COMPLAINT_STANDARD_HOURS)
    causes = dict(
        Complaint.objects.filter(case__in=complaints)
        .values_list("root_cause")
        .annotate(n=Count("id"))
    )
    labels = dict(RootCause.choices)
    return ComplaintSummary(
        cases=opened.count(),
        complaints=total,
        closed=len(hours),
        within_standard=within,
        mean_hours=sum(hours) / len(hours) if hours else None,
        standard_hours=COMPLAINT_STANDARD_HOURS,
        root_causes=[
            (str(labels.get(k, k)), n) for k, n in sorted(causes.items(), key=lambda kv: -kv[1])
        ],
        rows=rows,
    )
