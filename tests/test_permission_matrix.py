"""Who may call which API operation, for every operation the OpenAPI document lists.

Each operation is called by each kind of actor (anonymous, the customer who owns the case, another
customer, an agent of the case's team, an agent of another team, a manager, an administrator) on a
fresh scene, with a request that is valid for those allowed to make it, and the status must equal
the one in ``tests/permission_matrix.json``. An operation the table lacks fails: a new endpoint
gets its row (and thereby a decision on who may call it) before it can land.

``SERVICELOOP_WRITE_MATRIX=1 pytest tests/test_permission_matrix.py`` writes the statuses seen
into the table's missing cells, to review and check in.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils.timezone import now

from serviceloop.accounts.models import User
from serviceloop.accounts.services import api_token_create
from serviceloop.api import api
from serviceloop.cases.models import Attachment, Case
from serviceloop.cases.services import attachment_add
from serviceloop.processes.models import ProcessVersion
from serviceloop.processes.services import process_version_export
from serviceloop.sla.models import Notification
from tests.factories import (
    AdminFactory,
    AgentFactory,
    CaseFactory,
    CustomerFactory,
    ManagerFactory,
    build_process_version,
)

TABLE = Path(__file__).with_name("permission_matrix.json")
ACTORS = (
    "anonymous",
    "customer_own",
    "customer_other",
    "agent_team",
    "agent_other_team",
    "manager",
    "admin",
)
WRITE = os.environ.get("SERVICELOOP_WRITE_MATRIX") == "1"


def _operations() -> list[str]:
    schema = api.get_openapi_schema(path_prefix="/api")
    return sorted(
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    )


OPERATIONS = _operations()


def _table() -> dict[str, dict[str, int]]:
    return json.loads(TABLE.read_text(encoding="utf-8")) if TABLE.exists() else {}


@dataclass
class Scene:
    version: ProcessVersion
    case: Case
    attachment: Attachment
    users: dict[str, User | None]
    notification_id: int  # the case team's agent's


@pytest.fixture
def scene(db: None, settings: Any, tmp_path: Path) -> Scene:
    settings.MEDIA_ROOT = tmp_path
    version = build_process_version(is_default=True)
    stages = {s.code: s for s in version.stages.select_related("responsible_team")}
    front, back = stages["intake"].responsible_team, stages["delivery"].responsible_team
    own, other = CustomerFactory(), CustomerFactory()
    case = CaseFactory(customer=own, actor=own.user)
    upload = SimpleUploadedFile("n.txt", b"note", content_type="text/plain")
    attachment = attachment_add(case=case, uploaded_by=own.user, file=upload)
    users: dict[str, User | None] = {
        "anonymous": None,
        "customer_own": own.user,
        "customer_other": other.user,
        "agent_team": AgentFactory(team=front),
        "agent_other_team": AgentFactory(team=back),
        "manager": ManagerFactory(),
        "admin": AdminFactory(),
    }
    notification = Notification.objects.create(
        recipient=users["agent_team"], case=case, kind="sla_warning", title="t", created_at=now()
    )
    return Scene(
        version=version,
        case=Case.objects.get(pk=case.pk),
        attachment=attachment,
        users=users,
        notification_id=notification.pk,
    )


def _path(template: str, scene: Scene) -> str:
    values = {
        "{number}": scene.case.number,
        "{attachment_id}": str(scene.attachment.pk),
        "{version_id}": str(scene.version.pk),
        "/notifications/{pk}/": f"/notifications/{scene.notification_id}/",
    }
    for name, value in values.items():
        template = template.replace(name, value)
    # Objects the scene has none of (e.g. evaluations) are asked for by an id nobody has.
    while "{" in template:
        start, end = template.index("{"), template.index("}")
        template = template[:start] + "999999" + template[end + 1 :]
    return template


def _body(operation: str, scene: Scene) -> dict[str, Any] | None:
    """A request that those allowed to make it make successfully (or fail for the state)."""
    own_customer = scene.case.customer
    front_agent = scene.users["agent_team"]
    assert front_agent is not None
    bodies: dict[str, dict[str, Any]] = {
        "POST /api/cases/": {"title": "t", "description": "d", "customer_id": own_customer.pk},
        "PATCH /api/cases/{number}": {"priority": "high"},
        "POST /api/cases/{number}/transitions": {"to_stage": "analysis"},
        "POST /api/cases/{number}/assign": {"assignee": front_agent.username},
        "POST /api/cases/{number}/checklist": {"item": "Need confirmed with the customer"},
        "POST /api/cases/{number}/messages": {"body": "hello"},
        "POST /api/processes/import": {"definition": process_version_export(scene.version)},
        "GET /api/cases/search": {"q": "printer"},  # query parameters of a GET
    }
    return bodies.get(operation)


def _call(operation: str, actor: str, scene: Scene) -> int:
    method, template = operation.split(" ", 1)
    user = scene.users[actor]
    headers = {}
    if user is not None:
        _, key = api_token_create(user=user, name="matrix")
        headers["Authorization"] = f"Bearer {key}"
    client = Client()
    path = _path(template, scene)
    if operation == "POST /api/cases/{number}/attachments":
        upload = SimpleUploadedFile("m.txt", b"matrix", content_type="text/plain")
        return client.post(path, {"file": upload}, headers=headers).status_code
    body = _body(operation, scene)
    if method == "GET":
        return client.get(path, body or {}, headers=headers).status_code
    send = getattr(client, method.lower())
    payload = json.dumps(body if body is not None else {})
    return send(path, payload, content_type="application/json", headers=headers).status_code


@pytest.mark.django_db
@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_operation_answers_each_actor_as_the_table_says(operation, actor, scene):
    seen = _call(operation, actor, scene)
    expected = _table().get(operation, {}).get(actor)
    if expected is None and WRITE:
        table = _table()
        table.setdefault(operation, {})[actor] = seen
        TABLE.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return
    assert expected is not None, (
        f"{operation} has no expected status for {actor} in {TABLE.name}: add its row "
        "(decide who may call the new endpoint)."
    )
    assert seen == expected, f"{operation} as {actor}: {seen}, expected {expected}"


def test_the_table_names_only_operations_that_exist():
    stale = sorted(set(_table()) - set(OPERATIONS))
    assert not stale, f"rows for operations the API no longer has: {stale}"


def test_every_row_covers_every_actor():
    for operation, row in _table().items():
        assert set(row) == set(ACTORS), operation
