"""message_add and attachment_add: who may write what, events, status, file checks and storage."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from serviceloop.cases.choices import CaseStatus, Channel, EventKind, MessageKind
from serviceloop.cases.exceptions import (
    ATTACHMENT_MESSAGE,
    BODY_REQUIRED,
    CASE_CLOSED,
    CUSTOMER_PUBLIC_ONLY,
    FILE_EMPTY,
    FILE_MISMATCH,
    FILE_TYPE,
    FILE_TYPE_UNRECOGNISED,
    ConflictError,
    InvalidInputError,
    PermissionDeniedError,
)
from serviceloop.cases.models import Attachment, Message
from serviceloop.cases.services import (
    attachment_add,
    case_set_status,
    case_transition,
    message_add,
)
from serviceloop.cases.services.files import sanitize_filename, sniff_content_type
from tests.cases.helpers import events_of, snapshot
from tests.factories import AgentFactory, CaseFactory, CustomerFactory, stage_of

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def own_case(world):
    customer = CustomerFactory()
    return CaseFactory(customer=customer, actor=customer.user)


def _upload(name, data, content_type="application/octet-stream"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def _zip(names):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


# --- messages -----------------------------------------------------------------------------------


def test_customer_reply_is_public_with_customer_replied_event(own_case):
    n = len(events_of(own_case))
    message = message_add(
        case=own_case,
        author=own_case.customer.user,
        body="  Still broken.  ",
        kind=MessageKind.PUBLIC,
        channel=Channel.PORTAL,
    )
    assert (message.body, message.kind) == ("Still broken.", MessageKind.PUBLIC)
    events = events_of(own_case)
    assert len(events) == n + 1
    assert events[-1].kind == EventKind.CUSTOMER_REPLIED
    assert events[-1].actor == own_case.customer.user
    assert events[-1].attributes == {"message": message.pk, "channel": "portal", "attachments": []}


@pytest.mark.parametrize("status", [CaseStatus.PENDING, CaseStatus.RESOLVED])
def test_customer_reply_sets_a_waiting_case_open_in_the_same_event(world, own_case, status):
    case = case_set_status(case=own_case, actor=world.manager, status=status)
    n = len(events_of(case))
    message_add(
        case=case, author=case.customer.user, body="Hello?", kind="public", channel="portal"
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    events = events_of(case)
    assert len(events) == n + 1
    assert events[-1].attributes["status"] == {"from": status, "to": "open"}


def test_agent_reply_and_note_append_their_kinds(world, own_case):
    message_add(
        case=own_case, author=world.front_agent, body="On it.", kind="public", channel="agent"
    )
    message_add(
        case=own_case,
        author=world.front_agent,
        body="Check toner.",
        kind="internal",
        channel="agent",
    )
    kinds = [e.kind for e in events_of(own_case)[-2:]]
    assert kinds == [EventKind.REPLIED, EventKind.NOTE_ADDED]


def test_customer_cannot_write_notes_or_to_other_cases(world, own_case):
    before = snapshot(own_case)
    with pytest.raises(InvalidInputError) as info:
        message_add(
            case=own_case,
            author=own_case.customer.user,
            body="x",
            kind="internal",
            channel="portal",
        )
    assert info.value.field_codes()["kind"] == [CUSTOMER_PUBLIC_ONLY]
    with pytest.raises(PermissionDeniedError):
        message_add(
            case=own_case, author=CustomerFactory().user, body="x", kind="public", channel="portal"
        )
    with pytest.raises(PermissionDeniedError):
        message_add(case=own_case, author=AgentFactory(), body="x", kind="public", channel="agent")
    assert snapshot(own_case) == before


def test_message_validation_lists_all_fields(own_case):
    before = snapshot(own_case)
    with pytest.raises(InvalidInputError) as info:
        message_add(
            case=own_case, author=own_case.customer.user, body=" ", kind="shout", channel="fax"
        )
    fields = info.value.field_codes()
    assert fields["body"] == [BODY_REQUIRED]
    assert set(fields) == {"body", "kind", "channel"}
    assert snapshot(own_case) == before


def test_closed_case_takes_internal_notes_only(world, own_case):
    case = case_transition(
        case=own_case, to_stage=stage_of(world.version, "delivery"), actor=world.manager
    )
    case = case_transition(
        case=case, to_stage=stage_of(world.version, "closed"), actor=world.manager
    )
    with pytest.raises(ConflictError) as info:
        message_add(
            case=case, author=case.customer.user, body="Thanks", kind="public", channel="portal"
        )
    assert info.value.code == CASE_CLOSED
    message_add(
        case=case, author=world.manager, body="QA: good case", kind="internal", channel="agent"
    )


def test_message_files_become_attachments_of_the_message_in_one_event(own_case, media):
    n = len(events_of(own_case))
    message = message_add(
        case=own_case,
        author=own_case.customer.user,
        body="Screenshot attached",
        kind="public",
        channel="portal",
        files=[_upload("screen.png", PNG), _upload("log.txt", b"error 42\n")],
    )
    attachments = list(message.attachments.order_by("id"))
    assert [(a.original_name, a.content_type, a.is_internal) for a in attachments] == [
        ("screen.png", "image/png", False),
        ("log.txt", "text/plain", False),
    ]
    assert Path(attachments[0].file.path).read_bytes() == PNG
    assert Path(attachments[0].file.path).is_relative_to(media)
    events = events_of(own_case)
    assert len(events) == n + 1
    assert events[-1].attributes["attachments"] == [a.pk for a in attachments]


def test_a_bad_file_rejects_the_whole_message(own_case):
    before = snapshot(own_case)
    with pytest.raises(InvalidInputError):
        message_add(
            case=own_case,
            author=own_case.customer.user,
            body="Two files",
            kind="public",
            channel="portal",
            files=[_upload("ok.png", PNG), _upload("evil.exe", b"MZ\x90\x00" + b"\x00" * 10)],
        )
    assert snapshot(own_case) == before
    assert Message.objects.count() == 0


# --- attachments --------------------------------------------------------------------------------


def test_attachment_add_sniffs_type_and_appends_event(own_case):
    n = len(events_of(own_case))
    attachment = attachment_add(
        case=own_case,
        uploaded_by=own_case.customer.user,
        file=_upload("../../etc/报告.pdf", PDF, content_type="image/png"),
    )
    assert attachment.content_type == "application/pdf"  # the bytes, not the client's word
    assert attachment.original_name == "报告.pdf"
    assert attachment.size == len(PDF)
    assert "报告" not in attachment.file.name and ".." not in attachment.file.name
    assert attachment.file.name.startswith(f"cases/{own_case.pk}/")
    events = events_of(own_case)
    assert len(events) == n + 1
    assert events[-1].kind == EventKind.ATTACHMENT_ADDED
    assert events[-1].attributes["content_type"] == "application/pdf"


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("empty.txt", b"", FILE_EMPTY),
        ("page.html", b"<script>alert(1)</script>", FILE_TYPE),
        ("fake.pdf", PNG, FILE_MISMATCH),
        ("program.png", b"MZ\x90\x00\x03" + b"\x00" * 40, FILE_TYPE_UNRECOGNISED),
        ("archive.zip", b"PK\x03\x04garbage", FILE_TYPE_UNRECOGNISED),
    ],
)
def test_attachment_add_rejects_bad_files_and_writes_nothing(own_case, media, name, data, code):
    before = snapshot(own_case)
    with pytest.raises(InvalidInputError) as info:
        attachment_add(case=own_case, uploaded_by=own_case.customer.user, file=_upload(name, data))
    assert info.value.field_codes()["file"] == [code]
    assert snapshot(own_case) == before
    assert not [path for path in media.rglob("*") if path.is_file()]


def test_attachment_add_enforces_the_size_limit(own_case, settings):
    settings.ATTACHMENT_MAX_BYTES = 10
    before = snapshot(own_case)
    with pytest.raises(InvalidInputError) as info:
        attachment_add(
            case=own_case, uploaded_by=own_case.customer.user, file=_upload("a.txt", b"x" * 11)
        )
    assert "larger than 10 bytes" in str(info.value.fields["file"][0])
    assert snapshot(own_case) == before


def test_attachment_add_refuses_types_outside_the_allowed_list(own_case, settings):
    settings.ATTACHMENT_ALLOWED_TYPES = ["application/pdf"]
    with pytest.raises(InvalidInputError):
        attachment_add(
            case=own_case, uploaded_by=own_case.customer.user, file=_upload("a.png", PNG)
        )
    assert Attachment.objects.count() == 0


def test_customer_cannot_add_internal_files_or_files_to_other_cases(world, own_case):
    with pytest.raises(InvalidInputError):
        attachment_add(
            case=own_case,
            uploaded_by=own_case.customer.user,
            file=_upload("a.png", PNG),
            is_internal=True,
        )
    with pytest.raises(PermissionDeniedError):
        attachment_add(
            case=own_case, uploaded_by=CustomerFactory().user, file=_upload("a.png", PNG)
        )
    assert Attachment.objects.count() == 0


def test_files_added_to_an_internal_note_are_internal(world, own_case):
    note = message_add(
        case=own_case, author=world.manager, body="n", kind="internal", channel="agent"
    )
    attachment = attachment_add(
        case=own_case, uploaded_by=world.manager, file=_upload("a.png", PNG), message=note
    )
    assert attachment.is_internal is True


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (
            ["word/document.xml"],
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (["xl/workbook.xml"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (["readme.txt"], "application/zip"),
    ],
)
def test_sniffing_tells_office_files_from_plain_zip(names, expected):
    assert sniff_content_type(io.BytesIO(_zip(names))) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"GIF89a...", "image/gif"),
        (b"\xff\xd8\xff\xe0JFIF", "image/jpeg"),
        ("中文 text".encode("gb18030"), "text/plain"),
        (b"\x00\x01\x02binary", ""),
    ],
)
def test_sniffing_magic_numbers_and_text(data, expected):
    assert sniff_content_type(io.BytesIO(data)) == expected


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("C:\\Users\\me\\report.pdf", "report.pdf"),
        ("../../../etc/passwd", "passwd"),
        ("..hidden.txt", "hidden.txt"),
        ("a\x00b<>.txt", "a_b__.txt"),
        ("", "attachment"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ],
)
def test_sanitize_filename(raw, clean):
    assert sanitize_filename(raw) == clean


def test_files_cannot_go_to_a_message_of_another_case_or_a_customer_unseen_note(world, own_case):
    other = CaseFactory()
    elsewhere = message_add(
        case=other, author=world.manager, body="x", kind="public", channel="agent"
    )
    note = message_add(
        case=own_case, author=world.manager, body="n", kind="internal", channel="agent"
    )
    before = snapshot(own_case)
    for author, message in ((world.manager, elsewhere), (own_case.customer.user, note)):
        with pytest.raises(InvalidInputError) as info:
            attachment_add(
                case=own_case, uploaded_by=author, file=_upload("a.png", PNG), message=message
            )
        assert info.value.field_codes()["message"] == [ATTACHMENT_MESSAGE]
    assert snapshot(own_case) == before
