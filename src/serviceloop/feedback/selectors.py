"""Survey results for managers: response rate, CSAT/NPS/CES, by team, agent, category, process
version and stage (the stages with the lowest satisfaction first), and the latest comments."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet
from django.utils import timezone

from serviceloop.cases.choices import EventKind
from serviceloop.cases.models import CaseEvent
from serviceloop.feedback.metrics import csat_score, nps_score
from serviceloop.feedback.models import SurveyInvitation, SurveyResponse

__all__ = [
    "ComplaintSummary",
    "SurveySummary",
    "complaint_summary",
    "open_invitations_for",
    "survey_summary",
]

GROUPS = {
    "team": "invitation__case__team__name",
    "agent": "invitation__case__assignee__username",
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
                "label": row[field] or "–",
                "n": row["n"],
                "csat_mean": row["csat_mean"],
                "csat": 100.0 * row["satisfied"] / row["n_csat"] if row["n_csat"] else None,
                "nps": _nps_from(row),
                "ces": row["ces"],
            }
            for row in rows
        ]
    visits = set(
        CaseEvent.objects.filter(
            kind=EventKind.STAGE_ENTERED,
            case__survey__response__submitted_at__gte=since,
            case__survey__response__submitted_at__lt=until,
        ).values_list("activity", "case_id")
    )
    csat_of = dict(responses.filter(csat__isnull=False).values_list("invitation__case_id", "csat"))
    per_stage: dict[str, list[float]] = {}
    for activity, case_id in visits:
        value = csat_of.get(case_id)
        if value is not None:
            per_stage.setdefault(activity, []).append(float(value))
    stages = sorted(
        (
            {"stage": stage, "n": len(values), "csat_mean": sum(values) / len(values)}
            for stage, values in per_stage.items()
        ),
        key=lambda row: (row["csat_mean"], row["stage"]),
    )
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
