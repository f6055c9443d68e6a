"""Input (``...In``) and output (``...Out``) schemas of the cases API.

Outputs read from model instances whose relations the selectors already joined, so serialising a
page makes no query per row. Inputs only shape and type the request; the services validate meaning
(choices, guards, rights) and answer 422 / 409 / 403 with field messages.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from django.conf import settings
from ninja import Field, Schema
from pydantic import field_validator
from pydantic_core import PydanticCustomError

from serviceloop.cases.models import Attachment, Case, CaseEvent, Message
from serviceloop.core.limits import json_problems, text_problem

__all__ = [
    "AssignIn",
    "AttachmentOut",
    "AttachmentPageOut",
    "CaseCreateIn",
    "CaseFilterIn",
    "CaseOut",
    "CasePageOut",
    "CasePatchIn",
    "CaseTransitionOut",
    "ChecklistIn",
    "CustomerCaseOut",
    "CustomerCasePageOut",
    "ErrorOut",
    "EventExportIn",
    "EventOut",
    "EventPageOut",
    "MessageIn",
    "MessageOut",
    "MessagePageOut",
    "TransitionIn",
    "customer_attributes",
    "customer_view",
]

# Spelled out so OpenAPI lists them; a test keeps them equal to the model choices.
PriorityCode = Literal["low", "normal", "high", "urgent"]
ChannelCode = Literal["portal", "api", "email", "phone", "agent"]
MessageKindCode = Literal["public", "internal"]


class ErrorOut(Schema):
    """Every error: a message in the request's language, and for 422 the messages per field.
    Refusals of a business rule also carry a stable ``code`` and its ``params``."""

    detail: str
    code: str | None = None
    params: dict[str, Any] | None = None
    fields: dict[str, list[str]] | None = None


def as_utc(value: datetime | None) -> datetime | None:
    """Instants in UTC (naive ones are taken as UTC): databases differ on the offsets they accept
    (PostgreSQL refuses beyond +-15:59), UTC they all take."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("Date out of range.") from None


# --- limits (core.limits): checked while the request is parsed, before any transaction ----------


def _limit_text(value: str | None, name: str, what: str) -> str | None:
    problem = text_problem(value, name=name, what=what)
    if problem:
        raise PydanticCustomError("too_long", problem)
    return value


def _limit_attributes(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None:
        problems = json_problems(value)
        if problems:
            raise PydanticCustomError("limit", " ".join(problems))
    return value


MSG_NUL = "Text may not contain the NUL character (\\u0000): databases cannot store it."


class InputSchema(Schema):
    """An input: no text in it may contain NUL, which PostgreSQL refuses to store (it answered
    500 after the request had passed every other check)."""

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise PydanticCustomError("nul_character", MSG_NUL)
        return value


def customer_attributes() -> frozenset[str]:
    """Attribute names customers may set and read (``SERVICELOOP_CUSTOMER_ATTRIBUTES``); every
    other attribute is the staff's."""
    return frozenset(getattr(settings, "CUSTOMER_ATTRIBUTES", ()))


# --- cases ---------------------------------------------------------------------------------------


class CustomerRefOut(Schema):
    id: int
    name: str
    email: str


class StageRefOut(Schema):
    code: str
    name: str


class CaseOut(Schema):
    id: int
    number: str
    title: str
    description: str
    customer: CustomerRefOut
    channel: str
    category: str | None = Field(None, description="Category code.")
    priority: str
    status: str
    process: str = Field(..., description="Process code and version, e.g. 'support@3'.")
    stage: StageRefOut
    team: str | None = Field(None, description="Team code.")
    assignee: str | None = Field(None, description="Username of the assigned agent.")
    attributes: dict[str, Any]
    checklist_done: list[str]
    version: int = Field(..., description="Send as expected_version to refuse stale writes.")
    created_at: datetime
    updated_at: datetime
    stage_entered_at: datetime
    due_at: datetime | None
    closed_at: datetime | None

    @staticmethod
    def resolve_category(obj: Case) -> str | None:
        return obj.category.code if obj.category is not None else None

    @staticmethod
    def resolve_team(obj: Case) -> str | None:
        return obj.team.code if obj.team is not None else None

    @staticmethod
    def resolve_assignee(obj: Case) -> str | None:
        return obj.assignee.username if obj.assignee is not None else None

    @staticmethod
    def resolve_process(obj: Case) -> str:
        version = obj.process_version
        return f"{version.process.code}@{version.number}"


class CasePageOut(Schema):
    items: list[CaseOut]
    next_cursor: str | None = Field(None, description="Pass as cursor for the next page.")


class CustomerCaseOut(Schema):
    """A case as its customer sees it, the same as the portal shows: no team or assignee, no SLA
    clock, checklist, process version or staff attributes."""

    number: str
    title: str
    description: str
    category: str | None = Field(None, description="Category code.")
    priority: str
    status: str
    stage: StageRefOut
    attributes: dict[str, Any] = Field(
        ..., description="Only the attributes customers may set (SERVICELOOP_CUSTOMER_ATTRIBUTES)."
    )
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None

    @staticmethod
    def resolve_category(obj: Case) -> str | None:
        return obj.category.code if obj.category is not None else None

    @staticmethod
    def resolve_attributes(obj: Case) -> dict[str, Any]:
        shared = customer_attributes()
        return {key: value for key, value in (obj.attributes or {}).items() if key in shared}


class CustomerCasePageOut(Schema):
    items: list[CustomerCaseOut]
    next_cursor: str | None = Field(None, description="Pass as cursor for the next page.")


def customer_view(user: Any) -> bool:
    """Whether ``user`` gets the customer-shaped answers."""
    return bool(getattr(user, "is_customer", False))


class CaseFilterIn(InputSchema):
    status: str | None = Field(
        None, max_length=16, description="open, pending, resolved or closed."
    )
    priority: str | None = Field(None, max_length=16, description="low, normal, high or urgent.")
    team: str | None = Field(None, max_length=50, description="Team code.")
    stage: str | None = Field(None, max_length=50, description="Stage code.")
    queue: str | None = Field(None, max_length=16, description="mine, team, unassigned or overdue.")
    search: str | None = Field(
        None,
        max_length=200,
        description="Case number, customer e-mail (exact) or name, or words of the title and "
        "description; at most the newest 200 matches of each. Ranked text search with "
        "replies and notes: GET /api/cases/search?q=.",
    )
    created_after: datetime | None = Field(None, description="Inclusive; UTC if no offset.")
    created_before: datetime | None = Field(None, description="Exclusive; UTC if no offset.")

    _utc = field_validator("created_after", "created_before")(as_utc)


class EventExportIn(InputSchema):
    format: Literal["csv", "parquet", "xes"] = "csv"
    since: datetime | None = Field(None, description="Events at or after; UTC if no offset.")
    until: datetime | None = Field(None, description="Events before; UTC if no offset.")
    kind: Literal["stage", "all"] = Field(
        "all", description="stage: stage entries only (the process view); all: every event."
    )

    _utc = field_validator("since", "until")(as_utc)


_ATTRIBUTES_DOC = (
    "Custom attributes (JSON object). Limits: SERVICELOOP_LIMIT_ATTRIBUTES_* (size, keys, depth, "
    "array items). Customers may only set the names in SERVICELOOP_CUSTOMER_ATTRIBUTES."
)


# Ids and versions a client sends fit the database's 64-bit integers: a larger number is a 422,
# not an overflow inside a written-out statement.
DbId = Annotated[int, Field(ge=1, le=2**63 - 1)]
DbVersion = Annotated[int, Field(ge=0, le=2**63 - 1)]


class CaseCreateIn(InputSchema):
    title: str = Field(..., max_length=200, description="SERVICELOOP_LIMIT_CASE_TITLE_CHARS.")
    description: str = Field(..., description="SERVICELOOP_LIMIT_CASE_DESCRIPTION_CHARS.")
    priority: PriorityCode = "normal"
    category: str | None = Field(None, max_length=50, description="Category code.")
    channel: ChannelCode | None = Field(
        None, description="Staff only (default api); a customer's case comes in through the API."
    )
    request_type: str | None = Field(
        None,
        max_length=50,
        description="Request type code: picks the process; without it the intake rules do.",
    )
    attributes: dict[str, Any] = Field(default_factory=dict, description=_ATTRIBUTES_DOC)
    customer_id: DbId | None = Field(None, description="Staff only: the customer's id ...")
    customer_email: str | None = Field(
        None, max_length=254, description="... or email. Customers omit both."
    )

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return _limit_text(value, "CASE_TITLE_CHARS", "title") or value

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        return _limit_text(value, "CASE_DESCRIPTION_CHARS", "description") or value

    _attributes = field_validator("attributes")(_limit_attributes)


class CasePatchIn(InputSchema):
    """Only the fields sent are changed; ``attributes`` merges (a null value removes a key)."""

    title: str | None = Field(None, max_length=200)
    description: str | None = None
    priority: PriorityCode | None = None
    category: str | None = Field(None, max_length=50, description="Category code; null clears it.")
    attributes: dict[str, Any] | None = Field(None, description=_ATTRIBUTES_DOC)
    expected_version: DbVersion | None = None

    @field_validator("title")
    @classmethod
    def _title(cls, value: str | None) -> str | None:
        return _limit_text(value, "CASE_TITLE_CHARS", "title")

    @field_validator("description")
    @classmethod
    def _description(cls, value: str | None) -> str | None:
        return _limit_text(value, "CASE_DESCRIPTION_CHARS", "description")

    _attributes = field_validator("attributes")(_limit_attributes)


# --- transitions, assignment, checklist ---------------------------------------------------------


class CaseTransitionOut(Schema):
    """A move the case may make now (``processes`` has its own ``TransitionOut``: an edge)."""

    to_stage: str = Field(..., description="Target stage code.")
    name: str
    kind: str = Field(..., description="forward, rework or escalation.")
    label: str
    blocked_by: dict[str, list[str]] = Field(
        ..., description="Why the case may not leave its stage yet (empty when it may)."
    )


class TransitionIn(InputSchema):
    to_stage: str = Field(..., min_length=1, max_length=50, description="Target stage code.")
    expected_version: DbVersion | None = None


class AssignIn(InputSchema):
    assignee: str | None = Field(..., max_length=150, description="Username; null unassigns.")
    expected_version: DbVersion | None = None


class ChecklistIn(InputSchema):
    item: str = Field(..., min_length=1, max_length=500)
    checked: bool = True
    expected_version: DbVersion | None = None


# --- messages, attachments, events --------------------------------------------------------------


class MessageIn(InputSchema):
    body: str = Field(..., min_length=1, description="SERVICELOOP_LIMIT_MESSAGE_BODY_CHARS.")
    kind: MessageKindCode = "public"

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        return _limit_text(value, "MESSAGE_BODY_CHARS", "message") or value


class MessageOut(Schema):
    id: int
    kind: str
    body: str
    channel: str
    author: str | None = Field(
        None, description="Username of the author; customers see only their own."
    )
    created_at: datetime

    @staticmethod
    def resolve_author(obj: Message, context: dict[str, Any] | None = None) -> str | None:
        return _username_for(obj.author, context)


class MessagePageOut(Schema):
    items: list[MessageOut]
    next_cursor: str | None = None


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    is_internal: bool
    message_id: int | None
    uploaded_by: str | None
    created_at: datetime
    download_url: str

    @staticmethod
    def resolve_name(obj: Attachment) -> str:
        return obj.original_name

    @staticmethod
    def resolve_uploaded_by(obj: Attachment, context: dict[str, Any] | None = None) -> str | None:
        return _username_for(obj.uploaded_by, context)

    @staticmethod
    def resolve_download_url(obj: Attachment) -> str:
        # The API sets ``case`` on listed attachments, so this reads no row per attachment.
        return f"/api/cases/{obj.case.number}/attachments/{obj.pk}"


class AttachmentPageOut(Schema):
    items: list[AttachmentOut]
    next_cursor: str | None = None


class EventOut(Schema):
    id: int
    kind: str
    activity: str
    timestamp: datetime
    lifecycle: str
    actor: str | None = Field(None, description="Username; hidden from customers.")
    attributes: dict[str, Any] | None = Field(None, description="Hidden from customers.")

    @staticmethod
    def resolve_actor(obj: CaseEvent, context: dict[str, Any]) -> str | None:
        if _for_customer(context) or obj.actor is None:
            return None
        return obj.actor.username

    @staticmethod
    def resolve_attributes(obj: CaseEvent, context: dict[str, Any]) -> dict[str, Any] | None:
        return None if _for_customer(context) else obj.attributes


def _for_customer(context: dict[str, Any] | None) -> bool:
    request = (context or {}).get("request")
    user = getattr(request, "auth", None)
    return bool(user is not None and getattr(user, "is_customer", False))


def _username_for(person: Any, context: dict[str, Any] | None) -> str | None:
    """A username as the reader may see it: staff see everyone's, a customer only their own (the
    portal names the service desk, not its agents' logins)."""
    if person is None:
        return None
    if _for_customer(context):
        reader = getattr((context or {}).get("request"), "auth", None)
        return person.username if getattr(reader, "pk", None) == person.pk else None
    return str(person.username)


class EventPageOut(Schema):
    items: list[EventOut]
    next_cursor: str | None = None
