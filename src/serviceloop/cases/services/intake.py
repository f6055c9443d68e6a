"""Installing the shipped intake configuration: one request type per shipped process and the rules
that send complaint and fault categories to their processes. Admins change it afterwards in the
admin (``RequestType``, ``IntakeRule``); evaluation lives in ``serviceloop.cases.intake``."""

from __future__ import annotations

from django.db import transaction

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import User
from serviceloop.cases.exceptions import PermissionDeniedError, Problem
from serviceloop.cases.models import Category, IntakeRule, RequestType
from serviceloop.processes.models import ServiceProcess

__all__ = ["SHIPPED_REQUEST_TYPES", "SHIPPED_RULES", "intake_defaults_install"]

# code, English and Chinese name, process code
SHIPPED_REQUEST_TYPES: tuple[tuple[str, str, str, str], ...] = (
    ("service", "Service request", "服务请求", "standard-service"),
    ("complaint", "Complaint", "投诉", "complaint"),
    ("technical-support", "Technical support", "技术支持", "technical-support"),
)
# position, category code, process code
SHIPPED_RULES: tuple[tuple[int, str, str], ...] = (
    (10, "complaint", "complaint"),
    (20, "fault", "technical-support"),
)


@transaction.atomic
def intake_defaults_install(*, actor: User | None = None) -> list[RequestType]:
    """Add the shipped request types and rules whose process (and category) exist; safe to run
    again: what an admin already has under those codes is left as it is."""
    if actor is not None and actor.role != Role.ADMIN:
        raise PermissionDeniedError(Problem("permission_denied"))
    processes = {p.code: p for p in ServiceProcess.objects.all()}
    installed = []
    for position, (code, name, name_zh, process_code) in enumerate(SHIPPED_REQUEST_TYPES):
        process = processes.get(process_code)
        if process is None:
            continue
        request_type, _ = RequestType.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "name_zh": name_zh,
                "process": process,
                "position": 10 * (position + 1),
            },
        )
        installed.append(request_type)
    categories = {c.code: c for c in Category.objects.all()}
    for position, category_code, process_code in SHIPPED_RULES:
        category, process = categories.get(category_code), processes.get(process_code)
        if category is None or process is None:
            continue
        IntakeRule.objects.get_or_create(
            category=category,
            channel="",
            customer_segment="",
            defaults={"process": process, "position": position, "note": "shipped"},
        )
    return installed
