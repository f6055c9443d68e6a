"""Low survey scores open follow-ups or complaints by rule; complaints carry a root cause and the
case they are about; complaint rate, handling time and handling rate."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from serviceloop.cases.choices import CaseStatus
from serviceloop.cases.models import Case
from serviceloop.core.exceptions import ConflictError, InvalidInputError, PermissionDeniedError
from serviceloop.feedback.models import Complaint, SurveyInvitation
from serviceloop.feedback.selectors import complaint_summary
from serviceloop.feedback.services import (
    complaint_record,
    complaint_set_root_cause,
    survey_answer,
    survey_sweep,
)
from tests.factories import (
    AgentFactory,
    CaseFactory,
    CategoryFactory,
    CustomerFactory,
    ManagerFactory,
)

pytestmark = pytest.mark.django_db

BASE = {"process": 3, "attitude": 3, "effort": 4, "recommend": 5, "comment": ""}


def _invitation():
    case = CaseFactory(customer=CustomerFactory())
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.RESOLVED, updated_at=timezone.now())
    survey_sweep()
    return SurveyInvitation.objects.get(case=case)


@pytest.mark.parametrize(
    ("overall", "opens", "complaint"), [(1, True, True), (2, True, False), (4, False, False)]
)
def test_low_scores_open_a_complaint_or_a_follow_up(overall, opens, complaint):
    CategoryFactory(code="complaint", name="Complaint")
    invitation = _invitation()
    before = Case.objects.count()
    survey_answer(invitation=invitation, answers=BASE | {"overall": overall}, user=None)
    assert Case.objects.count() == before + (1 if opens else 0)
    if opens:
        opened = Case.objects.order_by("-id").first()
        assert opened.customer == invitation.customer
        assert opened.attributes["follow_up_of"] == invitation.case.number
        assert Complaint.objects.filter(case=opened).exists() == complaint
        if complaint:
            record = Complaint.objects.get(case=opened)
            assert record.about_case == invitation.case and record.source == "survey"
            assert opened.category.code == "complaint"


def test_complaints_are_recorded_by_staff_with_valid_root_causes():
    agent, case, other = AgentFactory(), CaseFactory(), CaseFactory()
    with pytest.raises(PermissionDeniedError):
        complaint_record(case=case, actor=CustomerFactory().user)
    with pytest.raises(InvalidInputError):
        complaint_record(case=case, actor=agent, root_cause="bad-luck")
    with pytest.raises(InvalidInputError):
        complaint_record(case=case, about_case=case, actor=agent)
    complaint = complaint_record(case=case, about_case=other, root_cause="timeliness", actor=agent)
    with pytest.raises(ConflictError):
        complaint_record(case=case, actor=agent)
    complaint_set_root_cause(complaint=complaint, root_cause="attitude", actor=agent)
    assert Complaint.objects.get().root_cause == "attitude"


def test_complaint_rate_handling_time_and_rate():
    category = CategoryFactory(code="complaint", name="Complaint")
    agent = AgentFactory()
    now = timezone.now()
    fast = CaseFactory(category=category)
    slow = CaseFactory(category=category)
    recorded = CaseFactory()  # a complaint recorded by hand, outside the category
    CaseFactory()  # an ordinary case
    Case.objects.filter(pk=fast.pk).update(
        status=CaseStatus.CLOSED, closed_at=fast.created_at + dt.timedelta(hours=10)
    )
    Case.objects.filter(pk=slow.pk).update(
        status=CaseStatus.CLOSED, closed_at=slow.created_at + dt.timedelta(hours=100)
    )
    complaint_record(case=recorded, root_cause="process", actor=agent)
    today = timezone.localdate(now)
    summary = complaint_summary(today - dt.timedelta(days=1), today + dt.timedelta(days=1))
    assert (summary.cases, summary.complaints, summary.closed) == (4, 3, 2)
    assert summary.rate == 75.0
    assert summary.mean_hours == pytest.approx(55.0)
    assert summary.handling_rate == pytest.approx(100 / 3)
    assert summary.root_causes == [("Process or procedure", 1)]


def test_complaints_page_is_for_managers_and_sets_root_causes(client):
    agent = AgentFactory()
    complaint = complaint_record(case=CaseFactory(), actor=agent)
    client.force_login(agent)
    assert client.get(reverse("feedback:complaints")).status_code == 403
    manager = ManagerFactory()
    client.force_login(manager)
    assert client.get(reverse("feedback:complaints")).status_code == 200
    url = reverse("feedback:root-cause", args=[complaint.pk])
    response = client.post(url, {"root_cause": "quality", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == reverse("feedback:complaints")
    assert Complaint.objects.get().root_cause == "quality"
    assert client.post(url, {"root_cause": "nonsense"}).status_code == 422


def test_managers_record_a_complaint_about_another_case(client):
    manager = ManagerFactory()
    complaint_case, about = CaseFactory(), CaseFactory()
    client.force_login(manager)
    url = reverse("feedback:complaint-record")
    bad = client.post(
        url, {"r-case": "SL-999999", "r-about_case": about.number, "r-root_cause": ""}
    )
    assert bad.status_code == 422 and "No case SL-999999" in bad.content.decode()
    ok = client.post(
        url,
        {
            "r-case": complaint_case.number.lower(),
            "r-about_case": about.number,
            "r-root_cause": "policy",
        },
    )
    assert ok.status_code == 302
    complaint = Complaint.objects.get()
    assert (complaint.case, complaint.about_case, complaint.root_cause, complaint.recorded_by) == (
        complaint_case,
        about,
        "policy",
        manager,
    )
    again = client.post(
        url, {"r-case": complaint_case.number, "r-about_case": "", "r-root_cause": ""}
    )
    assert again.status_code == 422
