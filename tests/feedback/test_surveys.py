"""Surveys: invitations on resolution, signed single-use expiring links, answers in the case log,
the arithmetic of CSAT, NPS and CES, who sees results, and escaping of free text."""

from __future__ import annotations

import datetime as dt
import doctest

import pytest
from django.core import mail, signing
from django.urls import reverse
from django.utils import timezone

from serviceloop.cases.choices import CaseStatus, EventKind
from serviceloop.cases.models import Case, CaseEvent
from serviceloop.evaluation.measures import Period, compute_measures
from serviceloop.feedback import metrics
from serviceloop.feedback.models import SurveyInvitation, SurveyResponse
from serviceloop.feedback.services import (
    SALT,
    SurveyLinkError,
    survey_answer,
    survey_link,
    survey_open,
    survey_sweep,
)
from tests.factories import AgentFactory, CaseFactory, CustomerFactory, ManagerFactory, TeamFactory

pytestmark = pytest.mark.django_db

ANSWERS = {"overall": 2, "process": 1, "attitude": 5, "effort": 6, "recommend": 9, "comment": ""}


def _resolved_case(customer=None, **kwargs):
    case = CaseFactory(customer=customer or CustomerFactory(), **kwargs)
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.RESOLVED, updated_at=timezone.now())
    return Case.objects.get(pk=case.pk)


@pytest.fixture
def invitation(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    case = _resolved_case()
    survey_sweep()
    return SurveyInvitation.objects.get(case=case)


def _token(invitation):
    return survey_link(invitation).rstrip("/").rsplit("/", 1)[1]


def test_metrics_follow_their_definitions():
    assert metrics.csat_score([5, 4, 3, 2, 5]) == 60.0
    assert metrics.nps_score([10, 9, 8, 7, 6, 0, 10, 10, 3, 9]) == 20.0  # 5 promoters, 3 detractors
    assert metrics.nps_score([6, 6]) == -100.0
    assert metrics.ces_score([7, 6, 2]) == 5.0
    assert metrics.csat_score([]) is None and metrics.nps_score([None]) is None
    failures, tried = doctest.testmod(metrics)
    assert tried and not failures


def test_sweep_invites_once_emails_and_reminds_once(settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    case = _resolved_case()
    CaseFactory()  # still open: not invited
    with django_capture_on_commit_callbacks(execute=True):
        assert survey_sweep() == {"invited": 1, "reminded": 0}
    assert len(mail.outbox) == 1 and "/feedback/s/" in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        assert survey_sweep() == {"invited": 0, "reminded": 0}
    later = timezone.now() + dt.timedelta(days=4)
    with django_capture_on_commit_callbacks(execute=True):
        assert survey_sweep(at=later)["reminded"] == 1
        assert survey_sweep(at=later)["reminded"] == 0
    assert len(mail.outbox) == 2 and mail.outbox[1].subject.startswith("Reminder")
    assert SurveyInvitation.objects.get().case == case


def test_answering_stores_once_and_appends_the_scores_to_the_case_log(invitation):
    response = survey_answer(invitation=invitation, answers=ANSWERS, user=None)
    assert (response.csat, response.nps, response.ces) == (2, 9, 6)
    event = CaseEvent.objects.get(case=invitation.case, kind=EventKind.SURVEY_ANSWERED)
    assert event.attributes == {
        "survey": "service",
        "csat": 2.0,
        "nps": 9.0,
        "ces": 6.0,
        "process": 1.0,
        "attitude": 5.0,
        "effect": 2.0,
    }
    with pytest.raises(SurveyLinkError) as caught:
        survey_open(_token(invitation), user=None)
    assert caught.value.reason == "used"


def test_links_cannot_be_forged_reused_expired_or_used_for_another_customer(client, invitation):
    token = _token(invitation)
    # Forged: another invitation id with the signature of this one, or a tampered token.
    other = _resolved_case()
    survey_sweep()
    second = SurveyInvitation.objects.get(case=other)
    forged = signing.dumps({"i": second.pk, "n": invitation.nonce}, salt=SALT, compress=True)
    for bad in (
        forged,
        token[:-2] + "xx",
        signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt="other"),
    ):
        assert client.get(reverse("feedback:answer", args=[bad])).status_code == 403
    # Another customer, signed in.
    client.force_login(second.customer.user)
    assert client.get(reverse("feedback:answer", args=[token])).status_code == 403
    client.logout()
    # The right visitor answers once; the second use is refused.
    page = client.get(reverse("feedback:answer", args=[token]))
    assert page.status_code == 200
    data = {k: str(v) for k, v in ANSWERS.items()}
    assert client.post(reverse("feedback:answer", args=[token]), data).status_code == 200
    assert client.post(reverse("feedback:answer", args=[token]), data).status_code == 410
    assert SurveyResponse.objects.count() == 1
    # Expired.
    SurveyInvitation.objects.filter(pk=second.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    second_token = _token(second)
    assert client.get(reverse("feedback:answer", args=[second_token])).status_code == 410


def test_out_of_range_answers_are_refused_and_change_nothing(client, invitation):
    token = _token(invitation)
    data = {k: str(v) for k, v in ANSWERS.items()} | {"recommend": "11"}
    response = client.post(reverse("feedback:answer", args=[token]), data)
    assert response.status_code == 422
    assert not SurveyResponse.objects.exists()
    assert not CaseEvent.objects.filter(kind=EventKind.SURVEY_ANSWERED).exists()


def test_results_are_for_managers_and_free_text_is_escaped(client, invitation):
    survey_answer(
        invitation=invitation,
        answers=ANSWERS | {"comment": "<script>alert(1)</script> slow"},
        user=None,
    )
    for user in (invitation.customer.user, AgentFactory()):
        client.force_login(user)
        assert client.get(reverse("feedback:results")).status_code == 403
    client.force_login(ManagerFactory())
    page = client.get(reverse("feedback:results"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; slow" in body and "<script>alert(1)" not in body
    summary = page.context["summary"]
    assert (summary.sent, summary.answered, summary.response_rate) == (1, 1, 100.0)
    assert summary.nps == 100.0 and summary.csat == 0.0


def test_customers_see_only_their_own_open_surveys(client, invitation):
    mine = invitation.customer.user
    other = _resolved_case()
    survey_sweep()
    client.force_login(mine)
    page = client.get(reverse("feedback:mine"))
    assert page.status_code == 200
    assert invitation.case.number in page.content.decode()
    assert other.number not in page.content.decode()
    client.force_login(AgentFactory())
    assert client.get(reverse("feedback:mine")).status_code == 403


def test_answers_feed_the_evaluation_measures(invitation):
    team = TeamFactory(code="east")
    Case.objects.filter(pk=invitation.case.pk).update(team=team)
    survey_answer(invitation=invitation, answers=ANSWERS, user=None)
    created = timezone.localdate(invitation.case.created_at)
    _, values, _ = compute_measures(
        ["survey_csat", "survey_nps", "survey_attitude"], Period(created, created), "team"
    )
    assert values == {
        "survey_csat": {"east": 2.0},
        "survey_nps": {"east": 9.0},
        "survey_attitude": {"east": 5.0},
    }


def test_the_survey_speaks_chinese(client, invitation):
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("feedback:answer", args=[_token(invitation)]))
    body = page.content.decode()
    assert "我们做得怎么样？" in body and "您对处理结果满意吗？" in body


def test_the_stages_whose_waits_cost_satisfaction_come_first():
    from serviceloop.feedback.selectors import survey_summary
    from serviceloop.feedback.services import survey_invite

    start = timezone.now() - dt.timedelta(days=5)
    for waited, overall in ((10, 5), (50, 1), (12, 4), (48, 2)):
        case = CaseFactory(at=start)  # enters the start stage (Intake) when created
        CaseEvent.objects.create(
            case=case,
            kind=EventKind.CLOSED,
            activity="Closed",
            timestamp=start + dt.timedelta(hours=waited),
            attributes={},
        )
        invitation = survey_invite(case=case, at=start + dt.timedelta(hours=waited))
        survey_answer(
            invitation=invitation,
            answers=ANSWERS | {"overall": overall},
            user=None,
            at=start + dt.timedelta(hours=waited + 1),
        )
    today = timezone.localdate()
    summary = survey_summary(today - dt.timedelta(days=10), today)
    intake = summary.stages[0]
    assert intake["n"] == 4 and intake["median_hours"] == pytest.approx(30.0)
    assert (intake["csat_quick"], intake["csat_slow"], intake["drop"]) == (4.5, 1.5, 3.0)


def test_the_summary_names_teams_categories_processes_and_agents_for_the_reader():
    from django.utils import translation

    from serviceloop.feedback.selectors import survey_summary
    from serviceloop.feedback.services import survey_invite
    from tests.factories import CategoryFactory

    category = CategoryFactory(code="refund", name="Refunds", name_zh="退款")
    at = timezone.now() - dt.timedelta(days=2)
    case = CaseFactory(category=category, at=at)
    assert case.team is not None
    case.team.name_zh = "一线服务组"
    case.team.save()
    agent = AgentFactory(team=case.team, first_name="静", last_name="陈")
    Case.objects.filter(pk=case.pk).update(assignee=agent)
    process = case.process_version.process
    process.name_zh = "标准服务流程"
    process.save()
    invitation = survey_invite(case=case, at=at)
    survey_answer(invitation=invitation, answers=ANSWERS, user=None, at=at)
    today = timezone.localdate()
    with translation.override("zh-hans"):
        summary = survey_summary(today - dt.timedelta(days=10), today)
    labels = {name: {row["label"] for row in rows} for name, rows in summary.groups.items()}
    assert "一线服务组" in labels["team"]
    assert "退款" in labels["category"] and "标准服务流程" in labels["version"]
    assert "陈静" in labels["agent"] and agent.username not in labels["agent"]
