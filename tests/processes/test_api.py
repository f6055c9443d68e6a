"""/api/processes: read for staff, import/publish for managers, 422 with the problem list."""

from __future__ import annotations

import pytest
from django.test import Client

from serviceloop.accounts.services import api_token_create
from serviceloop.processes.choices import VersionStatus
from serviceloop.processes.models import ProcessVersion
from serviceloop.processes.services import process_version_export
from tests.factories import AgentFactory, ManagerFactory, UserFactory, build_process_version

pytestmark = pytest.mark.django_db


def _bearer(factory: type) -> dict[str, str]:
    _, raw = api_token_create(user=factory(), name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def version() -> ProcessVersion:
    return build_process_version(is_default=True)


def test_anonymous_gets_401(client: Client, version: ProcessVersion) -> None:
    assert client.get("/api/processes/").status_code == 401


@pytest.mark.parametrize(
    "path", ["/api/processes/", "/api/processes/versions/{pk}", "/api/processes/versions/{pk}/yaml"]
)
def test_customers_get_403(client: Client, version: ProcessVersion, path: str) -> None:
    response = client.get(path.format(pk=version.pk), **_bearer(UserFactory))
    assert response.status_code == 403


def test_list_processes_with_versions(
    client: Client, version: ProcessVersion, django_assert_max_num_queries: object
) -> None:
    build_process_version(process=version.process, status=VersionStatus.DRAFT)
    for _ in range(3):
        build_process_version()
    headers = _bearer(AgentFactory)
    with django_assert_max_num_queries(6):  # type: ignore[operator]
        response = client.get("/api/processes/", **headers)
    assert response.status_code == 200
    body = response.json()
    assert len(body) == 4
    mine = next(p for p in body if p["code"] == version.process.code)
    assert mine["is_default"] is True
    assert [(v["number"], v["status"]) for v in mine["versions"]] == [
        (2, "draft"),
        (1, "published"),
    ]


def test_get_version_with_stages_and_transitions(client: Client, version: ProcessVersion) -> None:
    response = client.get(f"/api/processes/versions/{version.pk}", **_bearer(AgentFactory))
    assert response.status_code == 200
    body = response.json()
    assert [s["code"] for s in body["stages"]] == ["intake", "analysis", "delivery", "closed"]
    closed = body["stages"][-1]
    assert closed["team"] is None and closed["end"] is True
    analysis = body["stages"][1]
    assert analysis["time_standard_minutes"] == 240 and analysis["checklist"]
    assert {"source": "delivery", "target": "analysis", "kind": "rework"}.items() <= next(
        t for t in body["transitions"] if t["kind"] == "rework"
    ).items()


def test_unknown_version_404(client: Client) -> None:
    assert (
        client.get("/api/processes/versions/999999", **_bearer(ManagerFactory)).status_code == 404
    )


def test_export_yaml(client: Client, version: ProcessVersion) -> None:
    response = client.get(f"/api/processes/versions/{version.pk}/yaml", **_bearer(AgentFactory))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/yaml")
    assert response.content.decode() == process_version_export(version)


def test_import_creates_draft(client: Client, version: ProcessVersion) -> None:
    text = process_version_export(version)
    response = client.post(
        "/api/processes/import",
        {"definition": text},
        content_type="application/json",
        **_bearer(ManagerFactory),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["number"], body["status"]) == (2, "draft")
    assert response["Location"] == f"/api/processes/versions/{body['id']}"
    assert len(body["stages"]) == 4


def test_import_is_idempotent_with_key(client: Client, version: ProcessVersion) -> None:
    text = process_version_export(version)
    headers = {**_bearer(ManagerFactory), "HTTP_IDEMPOTENCY_KEY": "k-1"}
    first = client.post(
        "/api/processes/import", {"definition": text}, content_type="application/json", **headers
    )
    again = client.post(
        "/api/processes/import", {"definition": text}, content_type="application/json", **headers
    )
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert ProcessVersion.objects.filter(process=version.process).count() == 2


def test_import_refused_with_problem_list(client: Client, version: ProcessVersion) -> None:
    text = process_version_export(version)
    team = version.stages.get(code="intake").responsible_team
    assert team is not None
    response = client.post(
        "/api/processes/import",
        {"definition": text.replace(team.code, "ghost-team")},
        content_type="application/json",
        **_bearer(ManagerFactory),
    )
    assert response.status_code == 422
    body = response.json()
    paths = {p["path"] for p in body["problems"]}
    assert "stages[0].team" in paths
    assert any("ghost-team" in p["message"] for p in body["problems"])
    assert body["fields"]["stages[0].team"]
    assert ProcessVersion.objects.count() == 1


def test_import_refused_for_agents(client: Client, version: ProcessVersion) -> None:
    response = client.post(
        "/api/processes/import",
        {"definition": process_version_export(version)},
        content_type="application/json",
        **_bearer(AgentFactory),
    )
    assert response.status_code == 403
    assert ProcessVersion.objects.count() == 1


def test_import_validates_body(client: Client) -> None:
    response = client.post(
        "/api/processes/import", {}, content_type="application/json", **_bearer(ManagerFactory)
    )
    assert response.status_code == 422
    assert "definition" in response.json()["fields"]


def test_publish_retire_new_draft(client: Client, version: ProcessVersion) -> None:
    headers = _bearer(ManagerFactory)
    draft = client.post(f"/api/processes/versions/{version.pk}/new-draft", **headers)
    assert draft.status_code == 201
    draft_id = draft.json()["id"]
    published = client.post(f"/api/processes/versions/{draft_id}/publish", **headers)
    assert published.status_code == 200 and published.json()["status"] == "published"
    again = client.post(f"/api/processes/versions/{draft_id}/publish", **headers)
    assert again.status_code == 409
    version.refresh_from_db()
    assert version.status == VersionStatus.RETIRED
    retired = client.post(f"/api/processes/versions/{draft_id}/retire", **headers)
    assert retired.status_code == 200 and retired.json()["status"] == "retired"


def test_session_auth_needs_csrf(version: ProcessVersion) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(ManagerFactory())
    assert client.get("/api/processes/").status_code == 200
    response = client.post(f"/api/processes/versions/{version.pk}/new-draft")
    assert response.status_code == 403
    assert ProcessVersion.objects.count() == 1


def test_openapi_lists_process_endpoints(client: Client) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {
        "/api/processes/",
        "/api/processes/versions/{version_id}",
        "/api/processes/versions/{version_id}/yaml",
        "/api/processes/import",
        "/api/processes/versions/{version_id}/publish",
    } <= set(paths)
