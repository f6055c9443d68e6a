"""REST API for cases (``/api/cases``) and the event log export (``/api/events``).

Thin by design: each endpoint reads its input, calls one selector or service, and serialises the
answer. Who may see or do what lives in ``permissions`` / ``selectors`` / ``services``; their errors
become 403 / 404 / 409 / 422 in ``core.api_errors``. Cases are addressed by their number
(``SL-000123``); a case the user may not see answers 404, like one that does not exist.
"""

from __future__ import annotations

import tempfile
from typing import Any

from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.utils import timezone
from ninja import File, Form, Query, Router, Schema
from ninja.files import UploadedFile

from serviceloop.accounts.models import User
from serviceloop.cases import queries
from serviceloop.cases.choices import Channel
from serviceloop.cases.exceptions import (
    FORBIDDEN,
    InvalidInputError,
    PermissionDeniedError,
    Problem,
)
from serviceloop.cases.export_formats import CONTENT_TYPES
from serviceloop.cases.models import Case
from serviceloop.cases.permissions import case_can_change, case_can_transition
from serviceloop.cases.process_graph import stage_by_code
from serviceloop.cases.schemas import (
    AssignIn,
    AttachmentOut,
    AttachmentPageOut,
    CaseCreateIn,
    CaseFilterIn,
    CaseOut,
    CasePageOut,
    CasePatchIn,
    CaseTransitionOut,
    ChecklistIn,
    CustomerCaseOut,
    CustomerCasePageOut,
    ErrorOut,
    EventExportIn,
    EventPageOut,
    MessageIn,
    MessageOut,
    MessagePageOut,
    TransitionIn,
    customer_attributes,
    customer_view,
)
from serviceloop.cases.selectors import (
    attachment_get_for_user,
    attachment_list_for_user,
    case_allowed_transitions,
    case_get_for_user,
    case_guard_problems,
    case_list,
    event_list_for_user,
    message_list_for_user,
)
from serviceloop.cases.services import (
    attachment_add,
    case_assign,
    case_check_item,
    case_create,
    case_transition,
    case_update,
    message_add,
)
from serviceloop.core.auth import api_auth
from serviceloop.core.idempotency import IdempotencyKey, JsonResult, idempotent
from serviceloop.core.messages import render_fields
from serviceloop.core.pagination import MAX_LIMIT, keyset_page
from serviceloop.customers.models import Customer

__all__ = ["events_router", "router"]

router = Router(auth=api_auth, tags=["cases"])
events_router = Router(auth=api_auth, tags=["events"])

Limit = Query(50, ge=1, le=MAX_LIMIT, description=f"Items per page (1-{MAX_LIMIT}).")
Cursor = Query(None, max_length=500, description="next_cursor of the previous page.")

E401 = {401: ErrorOut}
READ = {**E401, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE = {**READ, 409: ErrorOut}

# Codes of the API's own refusals (their messages: serviceloop.core.messages).
NO_CUSTOMER_PROFILE = "no_customer_profile"
CUSTOMER_REQUIRED = "customer_required"
NO_CUSTOMER_WITH = {"id": "no_customer_with_id", "email": "no_customer_with_email"}
CUSTOMER_SELF_ONLY = "customer_self_only"
NO_SUCH_STAGE = "no_such_stage"  # code
NO_SUCH_USER = "no_such_user"  # username
NO_SUCH_MESSAGE = "no_such_message"  # pk
EXPORT_FORBIDDEN = "export_forbidden"
PERIOD_REVERSED = "period_reversed"
CUSTOMER_CHANNEL = "customer_channel"
STAFF_ATTRIBUTES = "staff_attributes"  # names

# Staff get the whole case; customers the portal's view of it (the OpenAPI document lists both).
CaseAnswer = CaseOut | CustomerCaseOut


def _shaped(user: User, case: Case) -> CaseOut | CustomerCaseOut:
    return CustomerCaseOut.from_orm(case) if customer_view(user) else CaseOut.from_orm(case)


def _answer(payload: Schema, status: int = 200) -> JsonResponse:
    """An answer already in its schema: ninja would validate it again against the union of the
    two case schemas, and the union may pick either, so it is sent as it is."""
    return JsonResponse(payload.model_dump(mode="json"), status=status)


def _check_customer_input(user: User, data: CaseCreateIn) -> None:
    """What only staff may choose: the channel and attributes outside the customer set."""
    if not customer_view(user):
        return
    if data.channel not in (None, "api"):
        raise InvalidInputError.for_field("channel", Problem(CUSTOMER_CHANNEL))
    staff_only = sorted(set(data.attributes) - customer_attributes())
    if staff_only:
        raise InvalidInputError.for_field(
            "attributes", Problem(STAFF_ATTRIBUTES, {"names": ", ".join(staff_only)[:300]})
        )


def _user(request: HttpRequest) -> User:
    user: User = request.auth  # type: ignore[attr-defined]
    return user


def _case(request: HttpRequest, number: str) -> Case:
    return case_get_for_user(user=_user(request), number=number)


def _case_location(case: Case) -> str:
    return f"/api/cases/{case.number}"


def _customer_for(user: User, data: CaseCreateIn) -> Customer:
    """The case's customer: the caller's own profile for customers, the named one for staff.

    A customer naming anybody else is refused the same way whether that customer exists or not,
    so the endpoint cannot be used to find out which emails are customers.
    """
    if user.is_customer:
        own = Customer.objects.filter(user=user).first()
        if own is None:
            raise PermissionDeniedError(Problem(NO_CUSTOMER_PROFILE))
        named_other = (data.customer_id is not None and data.customer_id != own.pk) or (
            bool(data.customer_email)
            and (data.customer_email or "").strip().lower() != own.email.lower()
        )
        if named_other:
            raise PermissionDeniedError(Problem(CUSTOMER_SELF_ONLY))
        return own
    if data.customer_id is not None:
        found = queries.customer_get(data.customer_id)
        if found is None:
            raise InvalidInputError.for_field("customer_id", Problem(NO_CUSTOMER_WITH["id"]))
        return found
    if data.customer_email:
        found = Customer.objects.filter(email__iexact=data.customer_email.strip()).first()
        if found is None:
            raise InvalidInputError.for_field("customer_email", Problem(NO_CUSTOMER_WITH["email"]))
        return found
    raise InvalidInputError.for_field("customer_id", Problem(CUSTOMER_REQUIRED))


# --- cases ---------------------------------------------------------------------------------------


@router.get(
    "/",
    response={200: CasePageOut | CustomerCasePageOut, **E401, 422: ErrorOut},
    summary="List cases",
)
def list_cases(
    request: HttpRequest,
    filters: Query[CaseFilterIn],
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> dict[str, Any] | JsonResponse:
    """Cases the caller may see, newest first, filtered; keyset-paginated (one query a page)."""
    cases = case_list(
        user=_user(request),
        queue=filters.queue,
        status=filters.status,
        priority=filters.priority,
        team=filters.team,
        stage=filters.stage,
        search=filters.search,
    )
    if filters.created_after is not None:
        cases = cases.filter(created_at__gte=filters.created_after)
    if filters.created_before is not None:
        cases = cases.filter(created_at__lt=filters.created_before)
    page = keyset_page(cases, order=("-created_at", "-id"), limit=limit, cursor=cursor)
    if customer_view(_user(request)):
        return _answer(
            CustomerCasePageOut(
                items=[CustomerCaseOut.from_orm(case) for case in page.items],
                next_cursor=page.next_cursor,
            )
        )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/", response={201: CaseAnswer, **WRITE}, summary="Open a case")
def create_case(
    request: HttpRequest, payload: CaseCreateIn, idempotency_key: IdempotencyKey = None
) -> HttpResponseBase:
    """Customers open cases for themselves; staff for a customer given by id or email.
    Answers 201 with ``Location``; safe to retry with the same ``Idempotency-Key``."""
    user = _user(request)
    _check_customer_input(user, payload)

    def produce() -> JsonResult:
        case = case_create(
            actor=user,
            customer=_customer_for(user, payload),
            title=payload.title,
            description=payload.description,
            channel=payload.channel or Channel.API,
            category=payload.category,
            priority=payload.priority,
            attributes=payload.attributes,
            request_type=payload.request_type,
        )
        return JsonResult.of(201, _shaped(user, case), _case_location(case))

    return idempotent(request, idempotency_key, produce)


@router.get("/{number}", response={200: CaseAnswer, **READ}, summary="Get a case")
def get_case(request: HttpRequest, number: str) -> JsonResponse:
    """Staff read the whole case; its customer reads what the portal shows (CustomerCaseOut)."""
    return _answer(_shaped(_user(request), _case(request, number)))


@router.patch("/{number}", response={200: CaseOut, **WRITE}, summary="Change case fields")
def patch_case(request: HttpRequest, number: str, payload: CasePatchIn) -> Case:
    """Change title, description, priority, category and/or attributes (staff)."""
    changes = payload.dict(exclude_unset=True)
    expected = changes.pop("expected_version", None)
    return case_update(
        case=_case(request, number),
        actor=_user(request),
        changes=changes,
        expected_version=expected,
    )


# --- transitions, assignment, checklist ----------------------------------------------------------


@router.get(
    "/{number}/transitions",
    response={200: list[CaseTransitionOut], **READ},
    summary="Transitions allowed from the current stage",
)
def list_transitions(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    case = _case(request, number)
    if not case_can_transition(_user(request), case):
        raise PermissionDeniedError(Problem(FORBIDDEN["move"]))
    blocked = render_fields(case_guard_problems(case))
    return [
        {
            "to_stage": t.target.code,
            "name": t.target.name,
            "kind": t.kind,
            "label": t.label,
            "blocked_by": blocked,
        }
        for t in case_allowed_transitions(case)
    ]


@router.post(
    "/{number}/transitions", response={200: CaseOut, **WRITE}, summary="Move to another stage"
)
def transition_case(request: HttpRequest, number: str, payload: TransitionIn) -> Case:
    """409 if no transition leads there or ``expected_version`` is stale; 422 with the reasons
    if the current stage's checklist or required fields are not complete."""
    case = _case(request, number)
    target = stage_by_code(version_id=case.process_version_id, code=payload.to_stage)
    if target is None:
        raise InvalidInputError.for_field(
            "to_stage", Problem(NO_SUCH_STAGE, {"code": payload.to_stage})
        )
    # The moved case is returned as is: a move to another team's stage may take it out of the
    # caller's sight, which must not turn a done transition into a 404.
    return case_transition(
        case=case, to_stage=target, actor=_user(request), expected_version=payload.expected_version
    )


@router.post("/{number}/assign", response={200: CaseOut, **WRITE}, summary="Assign the case")
def assign_case(request: HttpRequest, number: str, payload: AssignIn) -> Case:
    case = _case(request, number)
    if not case_can_change(_user(request), case):  # before the lookup: no probing for usernames
        raise PermissionDeniedError(Problem(FORBIDDEN["assign"]))
    assignee = None
    if payload.assignee is not None:
        assignee = User.objects.filter(username=payload.assignee).first()
        if assignee is None:
            raise InvalidInputError.for_field(
                "assignee", Problem(NO_SUCH_USER, {"username": payload.assignee})
            )
    return case_assign(
        case=case,
        assignee=assignee,
        actor=_user(request),
        expected_version=payload.expected_version,
    )


@router.post(
    "/{number}/checklist", response={200: CaseOut, **WRITE}, summary="Tick a checklist item"
)
def check_item(request: HttpRequest, number: str, payload: ChecklistIn) -> Case:
    return case_check_item(
        case=_case(request, number),
        actor=_user(request),
        item=payload.item,
        checked=payload.checked,
        expected_version=payload.expected_version,
    )


# --- messages ------------------------------------------------------------------------------------


@router.get("/{number}/messages", response={200: MessagePageOut, **READ}, summary="Messages")
def list_messages(
    request: HttpRequest, number: str, limit: int = Limit, cursor: str | None = Cursor
) -> dict[str, Any]:
    """Oldest first; customers see public replies only."""
    messages = message_list_for_user(case=_case(request, number), user=_user(request))
    page = keyset_page(messages, order=("created_at", "id"), limit=limit, cursor=cursor)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/{number}/messages", response={201: MessageOut, **WRITE}, summary="Write a message")
def create_message(
    request: HttpRequest,
    number: str,
    payload: MessageIn,
    idempotency_key: IdempotencyKey = None,
) -> HttpResponseBase:
    """A public reply, or (staff) an internal note; safe to retry with an ``Idempotency-Key``."""
    case = _case(request, number)

    def produce() -> JsonResult:
        message = message_add(
            case=case,
            author=_user(request),
            body=payload.body,
            kind=payload.kind,
            channel=Channel.API,
        )
        return JsonResult.of(201, MessageOut.from_orm(message, context={"request": request}))

    return idempotent(request, idempotency_key, produce)


# --- attachments ---------------------------------------------------------------------------------


@router.get(
    "/{number}/attachments", response={200: AttachmentPageOut, **READ}, summary="Attachments"
)
def list_attachments(
    request: HttpRequest, number: str, limit: int = Limit, cursor: str | None = Cursor
) -> dict[str, Any]:
    case = _case(request, number)
    attachments = attachment_list_for_user(case=case, user=_user(request))
    page = keyset_page(attachments, order=("created_at", "id"), limit=limit, cursor=cursor)
    for attachment in page.items:
        attachment.case = case  # for download_url, without a query per row
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post(
    "/{number}/attachments", response={201: AttachmentOut, **WRITE}, summary="Upload a file"
)
def upload_attachment(
    request: HttpRequest,
    number: str,
    file: File[UploadedFile],
    is_internal: Form[bool] = False,
    message_id: Form[int | None] = None,
    idempotency_key: IdempotencyKey = None,
) -> HttpResponseBase:
    """Multipart upload (field ``file``); type and size are checked from the bytes."""
    user = _user(request)
    case = _case(request, number)
    message = None
    if message_id is not None:
        message = message_list_for_user(case=case, user=user).filter(pk=message_id).first()
        if message is None:
            raise InvalidInputError.for_field(
                "message_id", Problem(NO_SUCH_MESSAGE, {"pk": message_id})
            )

    def produce() -> JsonResult:
        attachment = attachment_add(
            case=case, uploaded_by=user, file=file, message=message, is_internal=is_internal
        )
        attachment.case = case
        out = AttachmentOut.from_orm(attachment, context={"request": request})
        return JsonResult.of(201, out, out.download_url)

    return idempotent(request, idempotency_key, produce)


@router.get(
    "/{number}/attachments/{attachment_id}",
    response={200: None, **READ},
    summary="Download a file",
    openapi_extra={
        "responses": {
            200: {
                "description": "The file, as an attachment.",
                "content": {"application/octet-stream": {"schema": {"type": "string"}}},
            }
        }
    },
)
def download_attachment(request: HttpRequest, number: str, attachment_id: int) -> FileResponse:
    """Streams the file to those allowed to see it (404 otherwise); never rendered inline."""
    attachment = attachment_get_for_user(user=_user(request), pk=attachment_id)
    if attachment.case.number != number:
        raise Http404("No such attachment.")
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


# --- events --------------------------------------------------------------------------------------


@router.get("/{number}/events", response={200: EventPageOut, **READ}, summary="Case events")
def list_events(
    request: HttpRequest, number: str, limit: int = Limit, cursor: str | None = Cursor
) -> dict[str, Any]:
    """The case's event log, oldest first. Customers see the milestones only, without actors
    and attributes."""
    events = event_list_for_user(case=_case(request, number), user=_user(request))
    page = keyset_page(events, order=("timestamp", "id"), limit=limit, cursor=cursor)
    return {"items": page.items, "next_cursor": page.next_cursor}


@events_router.get(
    "/export",
    response={200: None, **E401, 403: ErrorOut, 422: ErrorOut},
    summary="Export the event log",
    openapi_extra={
        "responses": {
            200: {
                "description": "The event log file (streamed).",
                "content": {
                    media.split(";")[0]: {"schema": {"type": "string"}}
                    for media in CONTENT_TYPES.values()
                },
            }
        }
    },
)
def export_events(request: HttpRequest, params: Query[EventExportIn]) -> HttpResponseBase:
    """Every case event (managers and admins): ``case_id, activity, timestamp, resource,
    lifecycle, kind`` and case attributes, ordered by case then time. Memory stays flat: CSV and
    XES stream as they are read; Parquet is written in row groups to a temporary file."""
    # The writers are imported here, not at the top: they load Polars and pyarrow (0.4-0.7 s),
    # which every fresh server process paid while loading its URLs, before its first request.
    from serviceloop.cases import export

    if not export.can_export_event_log(_user(request)):
        raise PermissionDeniedError(Problem(EXPORT_FORBIDDEN))
    if params.since and params.until and params.since >= params.until:
        raise InvalidInputError.for_field("since", Problem(PERIOD_REVERSED))
    query = export.EventLogQuery(since=params.since, until=params.until, kind=params.kind)
    format = params.format
    filename = f"serviceloop-events-{timezone.now():%Y%m%dT%H%M%SZ}.{format}"
    batches = export.event_batches(query)
    if format == "parquet":
        spool = tempfile.TemporaryFile()  # noqa: SIM115  (the response closes it, which deletes it)
        try:
            export.write_parquet(batches, spool)
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return FileResponse(
            spool,
            as_attachment=True,
            filename=filename,
            content_type=CONTENT_TYPES["parquet"],
        )
    chunks = export.csv_chunks(batches) if format == "csv" else export.xes_chunks(batches)
    response = StreamingHttpResponse(chunks, content_type=CONTENT_TYPES[format])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
