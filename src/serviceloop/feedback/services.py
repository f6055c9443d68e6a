"""Survey invitations, signed links and answers.

A resolved (or closed) case gets one invitation: a link signed with the project's secret
(``django.core.signing``, salted for surveys) that names the invitation and a random nonce kept on
it. The link is refused when it was altered (bad signature), when the nonce does not match, after
the invitation expired, once it has been answered, and when a signed-in customer opens another
customer's survey. An answer is stored once and appended to the case log as ``survey_answered``
with its scores (``csat``, ``nps``, ``ces``, and the mean of each dimension: ``process``,
``attitude``, ``effect``), so process mining and evaluations read it like any other event.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import os
import secrets
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from serviceloop.accounts.permissions import is_customer, is_staff_member
from serviceloop.cases.choices import CaseStatus, Channel, EventKind
from serviceloop.cases.intake import request_type_exists
from serviceloop.cases.models import Case, CaseEvent, Category
from serviceloop.cases.services import case_create
from serviceloop.core.exceptions import (
    ConflictError,
    InvalidInputError,
    PermissionDeniedError,
    Problem,
)
from serviceloop.feedback.choices import (
    SCALES,
    Dimension,
    QuestionKind,
    RootCause,
    RuleAction,
    RuleMeasure,
)
from serviceloop.feedback.models import (
    Complaint,
    SurveyInvitation,
    SurveyQuestion,
    SurveyResponse,
    SurveyRule,
    SurveyTemplate,
)

__all__ = [
    "COMPLAINT_CATEGORY",
    "SALT",
    "SurveyLinkError",
    "complaint_record",
    "complaint_set_root_cause",
    "survey_answer",
    "survey_invite",
    "survey_link",
    "survey_open",
    "survey_sweep",
    "survey_template_default",
]

log = logging.getLogger(__name__)

SALT = "serviceloop.feedback.survey"
COMPLAINT_CATEGORY = "complaint"
COMPLAINT_REQUEST_TYPE = "complaint"
VALID_DAYS = 14
REMIND_AFTER = dt.timedelta(days=3)
INVITE_WINDOW = dt.timedelta(days=14)
MAX_TEXT = 2000
QUIET_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
}


class SurveyLinkError(PermissionDeniedError):
    """The survey link cannot be used; ``reason`` says why (forged, expired, used, other)."""

    def __init__(self, reason: str, problem: Problem) -> None:
        self.reason = reason
        super().__init__(problem)


DEFAULT_QUESTIONS = [
    (
        "overall",
        QuestionKind.CSAT,
        Dimension.EFFECT,
        "How satisfied are you with the result?",
        "您对处理结果满意吗？",
    ),
    (
        "process",
        QuestionKind.CSAT,
        Dimension.PROCESS,
        "How smooth was the process?",
        "服务流程是否顺畅？",
    ),
    (
        "attitude",
        QuestionKind.CSAT,
        Dimension.ATTITUDE,
        "How courteous and helpful was our staff?",
        "服务人员的态度如何？",
    ),
    (
        "effort",
        QuestionKind.CES,
        Dimension.NONE,
        "How easy was it to get your request handled?",
        "办理您的请求是否容易？",
    ),
    (
        "recommend",
        QuestionKind.NPS,
        Dimension.NONE,
        "How likely are you to recommend us to a friend?",
        "您有多大可能向朋友推荐我们？",
    ),
    (
        "comment",
        QuestionKind.TEXT,
        Dimension.NONE,
        "Anything we should do better?",
        "还有什么需要我们改进的吗？",
    ),
]


@transaction.atomic
def survey_template_default() -> SurveyTemplate:
    """The active template (the default service survey, created on first use)."""
    template = SurveyTemplate.objects.filter(is_active=True).order_by("id").first()
    if template is not None:
        return template
    try:
        with transaction.atomic():
            return _template_create()
    except IntegrityError:
        # Two workers' first sweeps at once: the other one created it and has committed.
        found = SurveyTemplate.objects.filter(is_active=True).order_by("id").first()
        if found is None:
            raise
        return found


def _template_create() -> SurveyTemplate:
    template = SurveyTemplate.objects.create(
        code="service", name="Service feedback", name_zh="服务满意度调查", is_active=True
    )
    for order, (code, kind, dimension, text, text_zh) in enumerate(DEFAULT_QUESTIONS, start=1):
        SurveyQuestion.objects.create(
            template=template,
            code=code,
            order=order,
            kind=kind,
            dimension=dimension,
            text=text,
            text_zh=text_zh,
            required=kind != QuestionKind.TEXT,
        )
    # A very low satisfaction opens a complaint; a low one, a follow-up case.
    SurveyRule.objects.create(
        template=template, order=1, measure=RuleMeasure.CSAT, at_most=1, action=RuleAction.COMPLAINT
    )
    SurveyRule.objects.create(
        template=template, order=2, measure=RuleMeasure.CSAT, at_most=2, action=RuleAction.FOLLOW_UP
    )
    return template


def _invite(case: Case, template: SurveyTemplate, at: dt.datetime) -> SurveyInvitation:
    return SurveyInvitation.objects.create(
        case=case,
        customer=case.customer,
        template=template,
        nonce=secrets.token_hex(16),
        sent_at=at,
        expires_at=at + dt.timedelta(days=VALID_DAYS),
        emailed=bool(case.customer.email) and settings.EMAIL_BACKEND not in QUIET_BACKENDS,
    )


@transaction.atomic
def survey_invite(*, case: Case, at: dt.datetime | None = None) -> SurveyInvitation:
    """Invite the customer of one case (without mail): for replaying history, as the demo does."""
    if SurveyInvitation.objects.filter(case=case).exists():
        raise ConflictError(Problem("survey_already_invited"))
    return _invite(case, survey_template_default(), at or timezone.now())


def survey_link(invitation: SurveyInvitation) -> str:
    """The path of the invitation's signed link."""
    token = signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=SALT, compress=True)
    return reverse("feedback:answer", args=[token])


def _absolute(path: str) -> str:
    base = os.environ.get("SERVICELOOP_BASE_URL", "http://localhost:8000").rstrip("/")
    return base + path


def _email(invitation: SurveyInvitation, *, reminder: bool) -> None:
    if settings.EMAIL_BACKEND in QUIET_BACKENDS or not invitation.customer.email:
        return
    link = _absolute(survey_link(invitation))
    with translation.override(settings.LANGUAGE_CODE):
        subject = (
            _("Reminder: how did we do? (%(case)s)") if reminder else _("How did we do? (%(case)s)")
        ) % {"case": invitation.case.number}
        body = _(
            "Your request “%(title)s” has been resolved. Please tell us how it went:\n%(link)s\n"
            "The link works once, until %(until)s."
        ) % {
            "title": invitation.case.title,
            "link": link,
            "until": timezone.localtime(invitation.expires_at).strftime("%Y-%m-%d"),
        }
    try:
        send_mail(subject, body, None, [invitation.customer.email])
    except Exception:  # a mail server outage must not undo the invitation
        log.exception("survey mail to %s failed", invitation.customer.email)


@transaction.atomic
def survey_sweep(*, at: dt.datetime | None = None) -> dict[str, int]:
    """Invite the customers of cases resolved or closed recently and not yet invited; remind once
    those who have not answered after three days. Safe to run as often as wanted."""
    at = at or timezone.now()
    template = survey_template_default()
    cases = list(
        Case.objects.filter(
            status__in=[CaseStatus.RESOLVED, CaseStatus.CLOSED],
            updated_at__gte=at - INVITE_WINDOW,
            updated_at__lte=at,
            survey__isnull=True,
        ).select_related("customer")[:1000]
    )
    invited = [_invite(case, template, at) for case in cases]
    due = list(
        SurveyInvitation.objects.select_for_update()
        .filter(
            answered_at__isnull=True,
            reminded_at__isnull=True,
            sent_at__lte=at - REMIND_AFTER,
            expires_at__gt=at,
        )
        .select_related("case", "customer")
    )
    for invitation in due:
        invitation.reminded_at = at
        invitation.save(update_fields=["reminded_at"])

    def send() -> None:
        for invitation in invited:
            _email(invitation, reminder=False)
        for invitation in due:
            _email(invitation, reminder=True)

    transaction.on_commit(send)
    return {"invited": len(invited), "reminded": len(due)}


def survey_open(token: str, *, user: Any, at: dt.datetime | None = None) -> SurveyInvitation:
    """The invitation a link names, if the link may still be used by this visitor."""
    at = at or timezone.now()
    try:
        data = signing.loads(token, salt=SALT)
        pk, nonce = int(data["i"]), str(data["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise SurveyLinkError("forged", Problem("survey_link_invalid")) from None
    invitation = (
        SurveyInvitation.objects.select_related("case", "customer", "template")
        .filter(pk=pk)
        .first()
    )
    if invitation is None or not hmac.compare_digest(invitation.nonce, nonce):
        raise SurveyLinkError("forged", Problem("survey_link_invalid"))
    if invitation.answered_at is not None:
        raise SurveyLinkError("used", Problem("survey_answered"))
    if invitation.expires_at <= at:
        raise SurveyLinkError("expired", Problem("survey_link_expired"))
    if is_customer(user) and invitation.customer.user_id != user.pk:
        raise SurveyLinkError("other", Problem("survey_other_customer"))
    if getattr(user, "is_authenticated", False) and not is_customer(user):
        raise SurveyLinkError("other", Problem("survey_customer_only"))
    return invitation


def _clean(question: SurveyQuestion, raw: Any) -> tuple[Any, Problem | None]:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, (Problem("answer_required") if question.required else None)
    if question.kind in SCALES:
        low, high = SCALES[QuestionKind(question.kind)]
        try:
            value = int(str(raw))
        except ValueError:
            return None, Problem("answer_scale", {"low": low, "high": high})
        if not low <= value <= high:
            return None, Problem("answer_scale", {"low": low, "high": high})
        return value, None
    if question.kind == QuestionKind.CHOICE:
        if str(raw) not in [str(c) for c in question.choices]:
            return None, Problem("answer_choice")
        return str(raw), None
    text = str(raw).strip()
    if len(text) > MAX_TEXT:
        return None, Problem("answer_too_long", {"max": MAX_TEXT})
    return text, None


@transaction.atomic
def survey_answer(
    *,
    invitation: SurveyInvitation,
    answers: Mapping[str, Any],
    user: Any,
    at: dt.datetime | None = None,
) -> SurveyResponse:
    """Store the answers once and append ``survey_answered`` to the case log in one transaction."""
    at = at or timezone.now()
    locked = SurveyInvitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.answered_at is not None:
        raise ConflictError(Problem("survey_answered"))
    if locked.expires_at <= at:
        raise SurveyLinkError("expired", Problem("survey_link_expired"))
    questions = list(locked.template.questions.order_by("order", "id"))
    clean: dict[str, Any] = {}
    problems: dict[str, list[Problem]] = {}
    for question in questions:
        value, problem = _clean(question, answers.get(question.code))
        if problem:
            problems[question.code] = [problem]
        elif value is not None:
            clean[question.code] = value
    if problems:
        raise InvalidInputError(Problem("answers_invalid"), fields=problems)
    scores = _scores(questions, clean)
    response = SurveyResponse.objects.create(
        invitation=locked,
        submitted_at=at,
        csat=scores.get("csat"),
        nps=scores.get("nps"),
        ces=scores.get("ces"),
        answers=clean,
    )
    locked.answered_at = at
    locked.save(update_fields=["answered_at"])
    with translation.override("en"):
        activity = str(EventKind.SURVEY_ANSWERED.label)
    CaseEvent.objects.create(
        case_id=locked.case_id,
        kind=EventKind.SURVEY_ANSWERED,
        activity=activity,
        timestamp=at,
        actor=user if getattr(user, "is_authenticated", False) else None,
        attributes={"survey": locked.template.code, **scores},
    )
    _apply_rules(locked, scores, at)
    return response


def _apply_rules(
    invitation: SurveyInvitation, scores: dict[str, float], at: dt.datetime
) -> Case | None:
    """The first active rule whose score is low enough opens a follow-up case or a complaint."""
    for rule in invitation.template.rules.filter(is_active=True).select_related("category"):
        value = scores.get(rule.measure)
        if value is None or value > rule.at_most:
            continue
        surveyed = invitation.case
        category: Category | None = rule.category
        if category is None and rule.action == RuleAction.COMPLAINT:
            category = Category.objects.filter(code=COMPLAINT_CATEGORY).first()
        with translation.override(settings.LANGUAGE_CODE):
            title = (
                _("Complaint after survey on %(case)s")
                if rule.action == RuleAction.COMPLAINT
                else _("Follow-up after survey on %(case)s")
            ) % {"case": surveyed.number}
            description = _(
                "The customer answered the survey on %(case)s (“%(title)s”) with %(measure)s = "
                "%(value)s; the rule “%(measure)s at most %(limit)s” opened this case."
            ) % {
                "case": surveyed.number,
                "title": surveyed.title,
                "measure": rule.measure.upper(),
                "value": f"{value:g}",
                "limit": f"{rule.at_most:g}",
            }
        # A complaint names the complaint request type when the admin has one, so it runs on the
        # process the intake configuration gives complaints; else the intake rules pick by category.
        complaint = rule.action == RuleAction.COMPLAINT
        opened = case_create(
            actor=None,
            customer=invitation.customer,
            title=title[:200],
            description=description,
            channel=Channel.PORTAL,
            category=category,
            attributes={"follow_up_of": surveyed.number, "survey_rule": rule.action},
            request_type=(
                COMPLAINT_REQUEST_TYPE
                if complaint and request_type_exists(COMPLAINT_REQUEST_TYPE)
                else None
            ),
            at=at,
        )
        if rule.action == RuleAction.COMPLAINT:
            Complaint.objects.create(
                case=opened, about_case=surveyed, source="survey", recorded_at=at
            )
        return opened
    return None


def _require_staff(actor: Any) -> None:
    if not is_staff_member(actor):
        raise PermissionDeniedError(Problem("complaint_staff_only"))


@transaction.atomic
def complaint_record(
    *,
    case: Case,
    actor: Any,
    about_case: Case | None = None,
    root_cause: str = "",
    at: dt.datetime | None = None,
) -> Complaint:
    """Mark ``case`` as a complaint (about ``about_case``, with a root cause when known)."""
    _require_staff(actor)
    if root_cause not in RootCause.values:
        raise InvalidInputError.for_field("root_cause", Problem("root_cause_unknown"))
    if about_case is not None and about_case.pk == case.pk:
        raise InvalidInputError.for_field("about_case", Problem("complaint_about_itself"))
    if Complaint.objects.filter(case=case).exists():
        raise ConflictError(Problem("complaint_exists"))
    return Complaint.objects.create(
        case=case,
        about_case=about_case,
        root_cause=root_cause,
        source="manual",
        recorded_by=actor,
        recorded_at=at or timezone.now(),
    )


@transaction.atomic
def complaint_set_root_cause(*, complaint: Complaint, root_cause: str, actor: Any) -> Complaint:
    _require_staff(actor)
    if root_cause not in RootCause.values:
        raise InvalidInputError.for_field("root_cause", Problem("root_cause_unknown"))
    complaint.root_cause = root_cause
    complaint.save(update_fields=["root_cause"])
    return complaint


def _scores(questions: list[SurveyQuestion], clean: dict[str, Any]) -> dict[str, float]:
    """CSAT = the first satisfaction question without a dimension or of the "effect" dimension
    (else the mean of all), NPS and CES from their questions, and the mean per dimension."""
    out: dict[str, float] = {}
    csat = [q for q in questions if q.kind == QuestionKind.CSAT and q.code in clean]
    headline = next((q for q in csat if q.dimension in ("", Dimension.EFFECT)), None)
    if headline is not None:
        out["csat"] = float(clean[headline.code])
    elif csat:
        out["csat"] = sum(float(clean[q.code]) for q in csat) / len(csat)
    for kind in (QuestionKind.NPS, QuestionKind.CES):
        values = [float(clean[q.code]) for q in questions if q.kind == kind and q.code in clean]
        if values:
            out[str(kind)] = sum(values) / len(values)
    for dimension in (Dimension.PROCESS, Dimension.ATTITUDE, Dimension.EFFECT):
        values = [float(clean[q.code]) for q in csat if q.dimension == dimension]
        if values:
            out[str(dimension)] = sum(values) / len(values)
    return out
