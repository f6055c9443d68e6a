import pytest
from django.utils import timezone

from serviceloop.cases.choices import EventKind
from serviceloop.cases.holders import holder_changes
from serviceloop.cases.models import CaseEvent
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def _event(case, kind, attributes):
    CaseEvent.objects.create(
        case=case, kind=kind, activity=kind, timestamp=timezone.now(), attributes=attributes
    )


def test_assignments_and_re_routes_name_their_holder_and_nobody_is_none():
    case = CaseFactory()
    _event(case, EventKind.ASSIGNED, {"team": "support", "assignee": "ann"})
    _event(case, EventKind.ASSIGNED, {"team": "support", "assignee": None})
    _event(
        case,
        EventKind.STAGE_ENTERED,
        {"to_stage": "design", "team": {"from": "support", "to": "design"}, "assignee": {"to": ""}},
    )
    _event(case, EventKind.STAGE_ENTERED, {"to_stage": "delivery"})
    _event(case, EventKind.REPLIED, {"team": "ignored"})
    changes = list(holder_changes(CaseEvent.objects.filter(case=case).order_by("id")))
    assert changes[-4:] == [
        (case.pk, True, "support", "ann"),
        (case.pk, True, "support", None),
        (case.pk, False, "design", None),
        (case.pk, False, None, None),
    ]
