"""Opening a case: validate the request, find the start stage of its process version, route it,
and write the case with its ``created``, ``stage_entered`` and (when routing found an agent)
``assigned`` events in one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import User
from serviceloop.cases import queries
from serviceloop.cases.choices import CaseStatus, Channel, EventKind, Priority
from serviceloop.cases.exceptions import (
    CASE_INVALID,
    NO_DEFAULT_PROCESS,
    NO_START_STAGE,
    VERSION_NOT_PUBLISHED,
    InvalidInputError,
    Problem,
)
from serviceloop.cases.intake import intake_process_id
from serviceloop.cases.models import Case, Category
from serviceloop.cases.routing import route_for_stage
from serviceloop.cases.services._common import (
    build_event,
    code_of,
    deny,
    due_for_stage,
    now_or,
    require_active_actor,
    stage_activity,
    username_of,
)
from serviceloop.cases.services._validation import (
    Errors,
    choice_error,
    clean_attributes,
    clean_description,
    clean_title,
    resolve_category,
)
from serviceloop.customers.models import Customer
from serviceloop.processes.choices import VersionStatus
from serviceloop.processes.models import ProcessVersion
from serviceloop.sla.services import sla_clocks_start

__all__ = ["case_create"]

# --- create ------------------------------------------------------------------------------------


def case_create(
    *,
    actor: User | None,
    customer: Customer,
    title: str,
    description: str,
    channel: str,
    category: Category | str | int | None = None,
    priority: str = Priority.NORMAL,
    attributes: dict[str, Any] | None = None,
    process_version: ProcessVersion | None = None,
    request_type: str | None = None,
    at: datetime | None = None,
) -> Case:
    """Open a case on the start stage of its process version and route it.

    ``actor`` None means a system intake (e.g. email); a customer may only open cases for themself.
    Without ``process_version`` the process is picked by ``request_type`` or the intake rules
    (``serviceloop.cases.intake``), else the default one.
    Appends ``created``, ``stage_entered`` and, if routing found an agent, ``assigned``.
    """
    at = now_or(at)
    if actor is not None:
        require_active_actor(actor, "create")
        if actor.role == Role.CUSTOMER and customer.user_id != actor.pk:
            raise deny("create")
    errors: Errors = {}
    title = clean_title(title, errors)
    description = clean_description(description, errors)
    if priority not in Priority.values:
        errors.setdefault("priority", []).append(choice_error(priority, Priority))
    if channel not in Channel.values:
        errors.setdefault("channel", []).append(choice_error(channel, Channel))
    attrs = {k: v for k, v in clean_attributes(attributes, errors).items() if v is not None}
    category_obj = resolve_category(category, errors)
    process_id = None
    if process_version is None:
        process_id = intake_process_id(
            actor=actor,
            request_type=request_type,
            category=category_obj,
            channel=channel,
            segment=customer.segment,
            errors=errors,
        )
    if process_version is not None:
        start = queries.start_stage_of_version(process_version.pk)
    elif process_id is not None:
        start = queries.start_stage_of_process(process_id)
    else:
        start = queries.start_stage_of_default_process()
    version = start.version if start is not None else process_version
    if start is None and process_id is not None:  # the rule's process has no published version
        errors.setdefault("process_version", []).append(Problem(VERSION_NOT_PUBLISHED))
    elif version is None:
        errors.setdefault("process_version", []).append(Problem(NO_DEFAULT_PROCESS))
    elif version.status != VersionStatus.PUBLISHED:
        errors.setdefault("process_version", []).append(Problem(VERSION_NOT_PUBLISHED))
    elif start is None:
        errors.setdefault("process_version", []).append(Problem(NO_START_STAGE))
    if errors:
        raise InvalidInputError(Problem(CASE_INVALID), fields=errors)
    assert version is not None and start is not None

    # Everything above only reads, so the transaction can fail only on a database error; inside a
    # caller's transaction (the API's idempotency record) it then needs no savepoint of its own.
    with transaction.atomic(savepoint=False):
        route = route_for_stage(stage=start, category=category_obj, at=at)
        case = Case(
            title=title,
            description=description,
            customer=customer,
            channel=channel,
            category=category_obj,
            priority=priority,
            process_version=version,
            stage=start,
            status=CaseStatus.OPEN,
            team=start.responsible_team,
            assignee=route.agent.user if route.agent is not None else None,
            attributes=attrs,
            checklist_done=[],
            stage_entered_at=at,
            due_at=due_for_stage(start, at),
            created_at=at,
            updated_at=at,
        )
        queries.case_insert(case)  # numbered by the database

        events = [
            build_event(
                case=case,
                kind=EventKind.CREATED,
                actor=actor,
                at=at,
                attributes={
                    "number": case.number,
                    "channel": channel,
                    "priority": priority,
                    "category": code_of(category_obj),
                    "process": version.process.code,
                    "process_version": version.number,
                    "customer": customer.pk,
                },
            ),
            build_event(
                case=case,
                kind=EventKind.STAGE_ENTERED,
                actor=actor,
                at=at,
                activity=stage_activity(start),
                attributes={"from_stage": None, "to_stage": start.code, "transition_kind": "start"},
            ),
        ]
        if route.agent is not None:
            events.append(
                build_event(
                    case=case,
                    kind=EventKind.ASSIGNED,
                    actor=actor,
                    at=at,
                    attributes={
                        "assignee": username_of(route.agent.user),
                        "from_assignee": None,
                        "team": code_of(route.team),
                        "skill": code_of(route.skill),
                        "by": "routing",
                    },
                )
            )
        queries.events_insert(events)
        sla_clocks_start(case=case, at=at)
        return case
