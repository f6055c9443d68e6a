"""A complaint opened from a low survey score runs on the complaint process, picked by the intake
configuration (the complaint request type), not on the default process."""

from __future__ import annotations

import pytest
from django.utils import timezone

from serviceloop.cases.choices import CaseStatus
from serviceloop.cases.models import Case, RequestType
from serviceloop.cases.services.intake import intake_defaults_install
from serviceloop.feedback.models import Complaint, SurveyInvitation
from serviceloop.feedback.services import survey_answer, survey_sweep
from serviceloop.processes.services.shipped import process_shipped_install
from tests.factories import CaseFactory, CustomerFactory

pytestmark = pytest.mark.django_db

ANSWERS = {"process": 3, "attitude": 3, "effort": 4, "recommend": 5, "comment": ""}


def _answer(overall: int) -> Case | None:
    case = CaseFactory(customer=CustomerFactory())
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.RESOLVED, updated_at=timezone.now())
    survey_sweep()
    invitation = SurveyInvitation.objects.get(case=case)
    before = set(Case.objects.values_list("pk", flat=True))
    survey_answer(invitation=invitation, answers=ANSWERS | {"overall": overall}, user=None)
    opened = Case.objects.exclude(pk__in=before).select_related("process_version__process")
    return opened.first()


def test_a_complaint_from_a_low_score_runs_on_the_complaint_process():
    process_shipped_install(actor=None)
    intake_defaults_install(actor=None)
    complaint = _answer(overall=1)
    assert complaint is not None and Complaint.objects.filter(case=complaint).exists()
    assert complaint.process_version.process.code == "complaint"
    assert complaint.stage.code == "receive"
    follow_up = _answer(overall=2)  # a follow-up, not a complaint: the default process
    assert follow_up is not None and not Complaint.objects.filter(case=follow_up).exists()
    assert follow_up.process_version.process.code == "standard-service"


def test_without_a_complaint_request_type_complaints_fall_back_to_the_rules():
    process_shipped_install(actor=None)
    intake_defaults_install(actor=None)
    RequestType.objects.filter(code="complaint").delete()
    complaint = _answer(overall=1)
    assert complaint is not None and Complaint.objects.filter(case=complaint).exists()
    assert complaint.process_version.process.code == "standard-service"
