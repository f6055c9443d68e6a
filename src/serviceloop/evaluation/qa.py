"""Quality reviews (QA scorecards): weighted criteria, sampling cases for review, submitting a
review, and calibration (how far reviewers of the same case disagree).

A review scores each active criterion 1-5; the review's score is the weighted mean mapped to
0-100 (1 -> 0, 5 -> 100). Submitted scores feed the indicator system through the ``qa_score``
measure.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from serviceloop.accounts.permissions import is_manager
from serviceloop.cases.models import Case
from serviceloop.core.exceptions import (
    ConflictError,
    InvalidInputError,
    PermissionDeniedError,
    Problem,
)
from serviceloop.evaluation.measures import Period
from serviceloop.evaluation.models import QACriterion, QAReview

__all__ = [
    "DEFAULT_CRITERIA",
    "qa_calibration",
    "qa_criteria_create_default",
    "qa_review_submit",
    "qa_sample",
    "qa_score_of",
]

MAX_PER_AGENT = 50  # cases sampled per agent at most

DEFAULT_CRITERIA = [
    ("greeting", "Greeting and identification", "问候与身份确认", 1.0),
    ("understanding", "Understood the need", "准确理解需求", 2.0),
    ("accuracy", "Accurate, complete answer", "答复准确完整", 3.0),
    ("courtesy", "Courtesy and empathy", "礼貌与同理心", 2.0),
    ("standards", "Followed the process standards", "遵守流程规范", 2.0),
]


def _require_reviewer(actor: Any) -> None:
    if not is_manager(actor):
        raise PermissionDeniedError(Problem("qa_managers_only"))


@transaction.atomic
def qa_criteria_create_default(*, actor: Any) -> list[QACriterion]:
    _require_reviewer(actor)
    for order, (code, name, name_zh, weight) in enumerate(DEFAULT_CRITERIA, start=1):
        QACriterion.objects.get_or_create(
            code=code, defaults={"name": name, "name_zh": name_zh, "weight": weight, "order": order}
        )
    return list(QACriterion.objects.filter(is_active=True))


@transaction.atomic
def qa_sample(
    *,
    period: Period,
    per_agent: int,
    reviewers: Sequence[Any],
    actor: Any,
    seed: int | None = None,
    at: dt.datetime | None = None,
) -> list[QAReview]:
    """Pick up to ``per_agent`` closed cases per agent (opened in the period, never reviewed) at
    random and assign each to every reviewer given: two or more reviewers make a calibration set."""
    _require_reviewer(actor)
    if not 1 <= per_agent <= MAX_PER_AGENT:
        raise InvalidInputError.for_field(
            "per_agent", Problem("qa_sample_size", {"max": MAX_PER_AGENT})
        )
    if not reviewers or any(not is_manager(r) for r in reviewers):
        raise InvalidInputError.for_field("reviewers", Problem("qa_reviewers"))
    at = at or timezone.now()
    candidates = list(
        Case.objects.filter(
            created_at__gte=period.start_at,
            created_at__lt=period.end_at,
            closed_at__isnull=False,
            assignee__isnull=False,
            qa_reviews__isnull=True,
        )
        .order_by("id")
        .values_list("id", "assignee_id")
    )
    by_agent: dict[int, list[int]] = {}
    for case_id, agent_id in candidates:
        by_agent.setdefault(agent_id, []).append(case_id)
    chooser = random.Random(seed)
    created = []
    for agent_id in sorted(by_agent):
        cases = by_agent[agent_id]
        for case_id in sorted(chooser.sample(cases, min(per_agent, len(cases)))):
            for reviewer in reviewers:
                created.append(
                    QAReview(case_id=case_id, agent_id=agent_id, reviewer=reviewer, assigned_at=at)
                )
    return QAReview.objects.bulk_create(created)


def qa_score_of(scores: Mapping[str, int], criteria: Sequence[QACriterion]) -> float:
    """Weighted mean of 1-5 scores mapped to 0-100.

    >>> class C:  # a stand-in for QACriterion
    ...     def __init__(self, code, weight): self.code, self.weight = code, weight
    >>> qa_score_of({"a": 5, "b": 1}, [C("a", 3), C("b", 1)])
    75.0
    """
    total = sum(c.weight for c in criteria)
    mean = sum(c.weight * scores[c.code] for c in criteria) / total
    return round((mean - 1) / 4 * 100, 6)


@transaction.atomic
def qa_review_submit(
    *,
    review: QAReview,
    scores: Mapping[str, int],
    actor: Any,
    comment: str = "",
    at: dt.datetime | None = None,
) -> QAReview:
    """Score every active criterion 1-5; only the assigned reviewer submits, once."""
    locked = QAReview.objects.select_for_update().get(pk=review.pk)
    if actor is None or locked.reviewer_id != getattr(actor, "pk", None):
        raise PermissionDeniedError(Problem("qa_reviewer_only"))
    if locked.submitted_at is not None:
        raise ConflictError(Problem("qa_review_submitted"))
    criteria = list(QACriterion.objects.filter(is_active=True))
    if not criteria:
        raise InvalidInputError(Problem("qa_no_criteria"))
    problems = {
        c.code: [Problem("qa_score_range")]
        for c in criteria
        if not isinstance(scores.get(c.code), int) or not 1 <= scores[c.code] <= 5
    }
    if problems:
        raise InvalidInputError(Problem("qa_scores_invalid"), fields=problems)
    locked.scores = {c.code: int(scores[c.code]) for c in criteria}
    locked.score = qa_score_of(locked.scores, criteria)
    locked.comment = comment.strip()[:2000]
    locked.submitted_at = at or timezone.now()
    locked.save(update_fields=["scores", "score", "comment", "submitted_at"])
    return locked


def qa_calibration(*, limit: int = 50) -> list[dict[str, Any]]:
    """Cases reviewed by two or more reviewers, the widest disagreement first."""
    reviews = QAReview.objects.filter(submitted_at__isnull=False).select_related("case", "reviewer")
    by_case: dict[int, list[QAReview]] = {}
    for review in reviews:
        by_case.setdefault(review.case_id, []).append(review)
    rows: list[dict[str, Any]] = []
    for group in by_case.values():
        if len(group) < 2:
            continue
        scores = [r.score or 0.0 for r in group]
        codes = sorted({code for r in group for code in r.scores})
        per_criterion = {
            code: max(r.scores.get(code, 0) for r in group)
            - min(r.scores.get(code, 0) for r in group)
            for code in codes
        }
        rows.append(
            {
                "case": group[0].case,
                "reviews": group,
                "spread": max(scores) - min(scores),
                "stdev": statistics.pstdev(scores),
                "criteria": per_criterion,
            }
        )
    rows.sort(key=lambda row: -float(row["spread"]))
    return rows[:limit]
