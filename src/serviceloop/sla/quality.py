"""Quality standards measured on the event log (selectors; nothing here writes).

For the cases of a process opened in a period:

- **reopen rate**: of the cases resolved or closed, the share with a ``reopened`` event;
- **rework rate**: of the cases, the share that went back along a rework transition; per stage:
  of the cases that entered the stage, the share that re-entered it by rework;
- **first-contact resolution**: of the cases resolved or closed, the share settled with at most
  one staff reply and never reopened.

One aggregate query per standard, whatever the number of cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from serviceloop.cases.choices import CaseStatus, EventKind
from serviceloop.cases.models import Case, CaseEvent
from serviceloop.sla.choices import Indicator
from serviceloop.sla.models import QualityStandard

__all__ = ["QualityResult", "quality_result", "quality_results"]


@dataclass(frozen=True)
class QualityResult:
    standard: QualityStandard
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def met(self) -> bool | None:
        value = self.value
        if value is None:
            return None
        return (
            value >= self.standard.target
            if self.standard.at_least
            else value <= self.standard.target
        )


def _events(**filters: object) -> Exists:
    return Exists(CaseEvent.objects.filter(case=OuterRef("pk"), **filters))


def quality_result(standard: QualityStandard, *, since: datetime, until: datetime) -> QualityResult:
    """The standard measured over the cases of its process opened in [since, until)."""
    cases = Case.objects.filter(
        process_version__process_id=standard.process_id, created_at__gte=since, created_at__lt=until
    )
    finished = _events(kind=EventKind.CLOSED) | _events(
        kind=EventKind.STATUS_CHANGED, attributes__to=CaseStatus.RESOLVED
    )
    if standard.indicator == Indicator.REWORK_RATE:
        rework = {"kind": EventKind.STAGE_ENTERED, "attributes__transition_kind": "rework"}
        if standard.stage_code:
            stage = {"attributes__to_stage": standard.stage_code}
            cases = cases.filter(_events(**stage)).annotate(reworked=_events(**rework, **stage))
        else:
            cases = cases.annotate(reworked=_events(**rework))
        hit = Q(reworked=True)
    elif standard.indicator == Indicator.REOPEN_RATE:
        cases = cases.filter(finished).annotate(reopened=_events(kind=EventKind.REOPENED))
        hit = Q(reopened=True)
    else:
        replies = (
            CaseEvent.objects.filter(case=OuterRef("pk"), kind=EventKind.REPLIED)
            .values("case")
            .annotate(n=Count("id"))
            .values("n")
        )
        cases = cases.filter(finished).annotate(
            replies=Coalesce(Subquery(replies, output_field=IntegerField()), Value(0)),
            reopened=_events(kind=EventKind.REOPENED),
        )
        hit = Q(replies__lte=1, reopened=False)
    found = cases.aggregate(den=Count("pk"), num=Count("pk", filter=hit))
    return QualityResult(standard=standard, numerator=found["num"], denominator=found["den"])


def quality_results(
    *, since: datetime, until: datetime, process_id: int | None = None
) -> list[QualityResult]:
    standards = QualityStandard.objects.select_related("process")
    if process_id is not None:
        standards = standards.filter(process_id=process_id)
    return [quality_result(s, since=since, until=until) for s in standards]
