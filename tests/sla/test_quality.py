"""Quality standards measured on the event log: reopen rate, rework rate (process and stage),
first-contact resolution; through the API for managers only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from serviceloop.cases.services import (
    case_check_item,
    case_reopen,
    case_set_status,
    case_transition,
    case_update,
    message_add,
)
from serviceloop.sla.models import QualityStandard
from serviceloop.sla.quality import quality_result
from tests.cases.api_client import Api
from tests.factories import CHECKLIST_ITEM, CaseFactory, CategoryFactory, stage_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(world):
    """c1 reworked from delivery back to analysis, then resolved; c2 resolved after one reply;
    c3 resolved and reopened; c4 still open."""
    m, v = world.manager, world.version
    now = timezone.now() - timedelta(days=1)
    tick = iter(now + timedelta(minutes=i) for i in range(100))
    c1, c2, c3, _still_open = (CaseFactory(at=next(tick)) for _ in range(4))
    case_update(case=c1, actor=m, changes={"category": CategoryFactory()}, at=next(tick))
    case_transition(case=c1, to_stage=stage_of(v, "analysis"), actor=m, at=next(tick))
    case_check_item(case=c1, actor=m, item=CHECKLIST_ITEM, at=next(tick))
    case_transition(case=c1, to_stage=stage_of(v, "delivery"), actor=m, at=next(tick))
    case_transition(case=c1, to_stage=stage_of(v, "analysis"), actor=m, at=next(tick))
    case_set_status(case=c1, actor=m, status="resolved", at=next(tick))
    message_add(case=c2, author=m, body="Done.", kind="public", channel="portal", at=next(tick))
    case_set_status(case=c2, actor=m, status="resolved", at=next(tick))
    case_set_status(case=c3, actor=m, status="resolved", at=next(tick))
    case_reopen(case=c3, actor=m, reason="Still broken", at=next(tick))
    return world


def measure(world, indicator: str, stage: str = "", target: float = 0.5):
    standard = QualityStandard.objects.create(
        process=world.version.process, indicator=indicator, stage_code=stage, target=target
    )
    now = timezone.now()
    return quality_result(standard, since=now - timedelta(days=7), until=now)


@pytest.mark.parametrize(
    ("indicator", "stage", "expected", "met"),
    [
        ("reopen_rate", "", (1, 3), True),
        ("rework_rate", "", (1, 4), True),
        ("rework_rate", "analysis", (1, 1), False),
        ("first_contact_resolution", "", (2, 3), True),
    ],
)
def test_indicators_count_the_right_cases(history, indicator, stage, expected, met):
    result = measure(history, indicator, stage)
    assert (result.numerator, result.denominator) == expected
    assert result.met is met


def test_no_cases_in_the_period_means_no_value(world):
    result = measure(world, "reopen_rate")
    assert (result.value, result.met) == (None, None)


def test_api_reports_standards_to_managers_only(history):
    QualityStandard.objects.create(
        process=history.version.process, indicator="reopen_rate", target=0.1
    )
    response = Api(history.manager).get("/api/sla/quality", {"days": 7})
    assert response.status_code == 200
    (row,) = response.json()
    assert (row["indicator"], row["cases"], row["hits"], row["met"]) == ("reopen_rate", 3, 1, False)
    assert Api(history.front_agent).get("/api/sla/quality").status_code == 403
    bad = Api(history.manager).get("/api/sla/quality", {"process": "nope"})
    assert bad.status_code == 422 and "process" in bad.json()["fields"]
