"""Feedback, quality reviews and evaluations for the demo history (``manage evaluation_demo``).

Over a loaded history: about half the closed cases get a survey answer within a day and a bit
of closing, worse where the customer waited longer (the satisfaction falls with the case's
duration against the median, plus some noise; ``serviceloop demo`` has its replay answer them in
their time instead, against the time the stages' standards add up to, so the cases low scores
open are worked); a few closed cases per agent and month are reviewed on the QA criteria (rework
costs accuracy points); then teams and agents are evaluated for the last two full months. Deterministic for a seed; refuses to run twice.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
from typing import Any

from django.db import transaction
from django.utils import timezone

from serviceloop.cases.choices import EventKind
from serviceloop.cases.models import Case, CaseEvent
from serviceloop.core.exceptions import ConflictError, Problem
from serviceloop.evaluation import qa
from serviceloop.evaluation.choices import Method, UnitKind, Weighting
from serviceloop.evaluation.measures import Period, case_frame, units_of
from serviceloop.evaluation.models import Evaluation, QAReview
from serviceloop.evaluation.services import (
    MIN_UNITS,
    evaluation_run,
    indicator_system_create_default,
)
from serviceloop.feedback.services import survey_answer, survey_invite

__all__ = ["evaluation_demo_build"]

COMMENTS_LOW = [
    "Waited far too long for an answer.",
    "等了太久才有人处理。",
    "Nobody told me what was happening.",
]
COMMENTS_HIGH = ["Quick and friendly, thank you!", "处理很及时，谢谢！", ""]
ANSWER_SHARE = 0.55  # the customers who answer the survey


def _months(today: dt.date, since: dt.date) -> list[Period]:
    """The two whole months before ``today``; a history shorter than that is cut in two halves
    instead, so a small demo still gets two periods to compare."""
    first = today.replace(day=1)
    last_end = first - dt.timedelta(days=1)
    last_start = last_end.replace(day=1)
    before_end = last_start - dt.timedelta(days=1)
    before_start = before_end.replace(day=1)
    if since <= before_start:
        return [Period(before_start, before_end), Period(last_start, last_end)]
    middle = since + (today - since) / 2
    return [Period(since, middle), Period(middle + dt.timedelta(days=1), today)]


def _case_hours(case: Case) -> float:
    """Hours from opening to closing (a case still open: to now)."""
    return ((case.closed_at or timezone.now()) - case.created_at).total_seconds() / 3600


def survey_demo_answer(
    *, case: Case, expected_hours: float, rng: random.Random, at: dt.datetime
) -> Case | None:
    """Invite the customer of closed ``case`` and answer as the demo's customers do: worse the
    longer the case took against ``expected_hours``, plus some noise. Returns the case the
    survey's rules opened (a follow-up or a complaint), if one did, so the demo can work it."""
    ratio = _case_hours(case) / max(expected_hours, 0.1)
    base = 5 - min(3.0, max(0.0, ratio - 0.6) * 1.5)
    overall = int(min(5, max(1, round(base + rng.gauss(0, 0.6)))))
    attitude = int(min(5, max(1, round(base + 0.5 + rng.gauss(0, 0.6)))))
    process = int(min(5, max(1, round(base - 0.3 + rng.gauss(0, 0.6)))))
    invitation = survey_invite(case=case, at=case.closed_at or at)
    survey_answer(
        invitation=invitation,
        answers={
            "overall": overall,
            "process": process,
            "attitude": attitude,
            "effort": int(min(7, max(1, round(overall * 1.4 + rng.gauss(0, 0.7))))),
            "recommend": int(min(10, max(0, round(overall * 2 + rng.gauss(0, 1.2))))),
            "comment": rng.choice(COMMENTS_LOW if overall <= 2 else COMMENTS_HIGH),
        },
        user=None,
        at=at,
    )
    return (
        Case.objects.filter(attributes__follow_up_of=case.number, created_at=at)
        .order_by("-id")
        .first()
    )


@transaction.atomic
def evaluation_demo_build(
    *,
    actor: Any,
    seed: int = 2024,
    now: dt.datetime | None = None,
    answer_surveys: bool = True,
) -> dict[str, int]:
    """``answer_surveys``: False when the history's customers answered already (the demo's
    replay does, so the cases the answers open are worked in their time)."""
    if Evaluation.objects.exists() or QAReview.objects.exists():
        raise ConflictError(Problem("evaluation_demo_exists"))
    now = now or timezone.now()
    rng = random.Random(seed)
    closed = list(
        Case.objects.filter(closed_at__isnull=False, closed_at__lte=now - dt.timedelta(days=1))
        .select_related("customer")
        .order_by("id")
    )
    hours = [_case_hours(c) for c in closed]
    median = statistics.median(hours) if hours else 1.0
    reworked = set(
        CaseEvent.objects.filter(
            kind=EventKind.STAGE_ENTERED, attributes__transition_kind="rework"
        ).values_list("case_id", flat=True)
    )
    answered = 0
    for case in closed if answer_surveys else []:
        if rng.random() > ANSWER_SHARE or case.closed_at is None:  # not every customer answers
            continue
        at = case.closed_at + dt.timedelta(hours=rng.uniform(2, 30))
        if at >= now:
            continue
        survey_demo_answer(case=case, expected_hours=median, rng=rng, at=at)
        answered += 1
    qa.qa_criteria_create_default(actor=actor)
    since = min((timezone.localdate(c.created_at) for c in closed), default=timezone.localdate(now))
    months = _months(timezone.localdate(now), since)
    reviews = 0
    for index, period in enumerate(months):
        for review in qa.qa_sample(
            period=period, per_agent=3, reviewers=[actor], actor=actor, seed=seed + index
        ):
            accuracy = 2 if review.case_id in reworked else rng.choice([4, 5])
            scores = {
                c: rng.choice([3, 4, 5])
                for c in ("greeting", "understanding", "courtesy", "standards")
            }
            qa.qa_review_submit(
                review=review,
                scores=scores | {"accuracy": accuracy},
                actor=actor,
                at=min(now, timezone.make_aware(dt.datetime.combine(period.end, dt.time(18)))),
            )
            reviews += 1
    system = indicator_system_create_default(actor=actor)
    evaluations = 0
    for period in months:
        for unit_kind, method in ((UnitKind.TEAM, Method.TOPSIS), (UnitKind.AGENT, Method.RSR)):
            if (
                len(units_of(case_frame(period, unit_kind).drop_nulls("unit"), unit_kind))
                < MIN_UNITS
            ):
                continue  # a very short history: nothing to compare in this period
            evaluation_run(
                system=system,
                unit_kind=unit_kind,
                period_start=period.start,
                period_end=period.end,
                method=method,
                weighting=Weighting.MANUAL,
                actor=actor,
                name=f"{UnitKind(unit_kind).label} {period.start:%Y-%m}",
                at=now,
            )
            evaluations += 1
    return {"survey_answers": answered, "qa_reviews": reviews, "evaluations": evaluations}
