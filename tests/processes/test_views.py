"""Process pages: permission matrix, flow chart payload, import errors, publish from the page."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from serviceloop.processes.choices import VersionStatus
from serviceloop.processes.models import ProcessVersion, ServiceProcess
from tests.factories import (
    AdminFactory,
    AgentFactory,
    ManagerFactory,
    UserFactory,
    build_process_version,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def version() -> ProcessVersion:
    return build_process_version(is_default=True)


def _as(client: Client, factory: type | None) -> Client:
    if factory is not None:
        client.force_login(factory())
    return client


READ_PAGES = ["/processes/", "/processes/{pk}/", "/processes/{pk}/export.yaml"]
WRITE_ACTIONS = ["/processes/{pk}/retire/", "/processes/{pk}/new-draft/"]


@pytest.mark.parametrize("page", READ_PAGES)
@pytest.mark.parametrize(
    ("factory", "status"),
    [
        (None, 302),
        (UserFactory, 403),
        (AgentFactory, 200),
        (ManagerFactory, 200),
        (AdminFactory, 200),
    ],
)
def test_read_matrix(
    client: Client, version: ProcessVersion, page: str, factory: type | None, status: int
) -> None:
    response = _as(client, factory).get(page.format(pk=version.pk))
    assert response.status_code == status
    if status == 302:
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("action", WRITE_ACTIONS)
@pytest.mark.parametrize(
    ("factory", "allowed"),
    [(UserFactory, False), (AgentFactory, False), (ManagerFactory, True), (AdminFactory, True)],
)
def test_write_matrix(
    client: Client, version: ProcessVersion, action: str, factory: type, allowed: bool
) -> None:
    count = ProcessVersion.objects.count()
    response = _as(client, factory).post(action.format(pk=version.pk))
    version.refresh_from_db()
    if allowed:
        assert response.status_code == 302
        assert (
            version.status != VersionStatus.PUBLISHED
        ) or ProcessVersion.objects.count() == count + 1
    else:
        assert response.status_code == 403
        assert version.status == VersionStatus.PUBLISHED
        assert ProcessVersion.objects.count() == count


def test_agent_sees_no_design_controls(client: Client, version: ProcessVersion) -> None:
    html = _as(client, AgentFactory).get(f"/processes/{version.pk}/").content.decode()
    assert "/publish/" not in html and "/retire/" not in html and "/new-draft/" not in html
    list_html = client.get("/processes/").content.decode()
    assert 'action="/processes/import/"' not in list_html


def test_version_page_carries_dot_and_stage_table(client: Client, version: ProcessVersion) -> None:
    html = _as(client, ManagerFactory).get(f"/processes/{version.pk}/").content.decode()
    match = re.search(
        r'<script id="flowchart-dot" type="application/json">(.*?)</script>', html, re.S
    )
    assert match is not None
    dot = json.loads(match.group(1))
    assert dot.startswith("digraph") and '"s_delivery" -> "s_analysis"' in dot
    assert 'data-flowchart="flowchart-dot"' in html
    assert "/static/vendor/viz-global.js" in html and "/static/js/process-flowchart.js" in html
    assert "<script>" not in html  # CSP: no inline script
    assert "Need confirmed with the customer" in html  # checklist item
    assert "4 h" in html  # time standard of Needs analysis
    assert "/retire/" in html and "/new-draft/" in html


def test_version_page_in_chinese(client: Client, version: ProcessVersion) -> None:
    _as(client, ManagerFactory)
    html = client.get(f"/processes/{version.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "需求分析" in html


def test_version_page_query_count(
    client: Client, version: ProcessVersion, django_assert_max_num_queries: object
) -> None:
    _as(client, ManagerFactory)
    with django_assert_max_num_queries(8):  # type: ignore[operator]
        assert client.get(f"/processes/{version.pk}/").status_code == 200


def test_list_page_query_count_does_not_grow(
    client: Client, django_assert_max_num_queries: object
) -> None:
    for _ in range(4):
        build_process_version()
    _as(client, ManagerFactory)
    with django_assert_max_num_queries(5):  # type: ignore[operator]
        response = client.get("/processes/")
    assert response.status_code == 200
    assert response.content.decode().count('class="badge version-published"') == 4


def test_export_download(client: Client, version: ProcessVersion) -> None:
    response = _as(client, AgentFactory).get(f"/processes/{version.pk}/export.yaml")
    assert response["Content-Type"].startswith("application/yaml")
    assert f'filename="{version.process.code}-v1.yaml"' in response["Content-Disposition"]
    assert version.process.code in response.content.decode()


def test_publish_from_page(client: Client, version: ProcessVersion) -> None:
    _as(client, ManagerFactory)
    response = client.post(f"/processes/{version.pk}/new-draft/")
    draft = ProcessVersion.objects.get(process=version.process, number=2)
    assert response["Location"] == f"/processes/{draft.pk}/"
    html = client.get(f"/processes/{draft.pk}/").content.decode()
    assert f"/processes/{draft.pk}/publish/" in html
    client.post(f"/processes/{draft.pk}/publish/")
    draft.refresh_from_db()
    version.refresh_from_db()
    assert (draft.status, version.status) == (VersionStatus.PUBLISHED, VersionStatus.RETIRED)


def test_publishing_twice_shows_error(client: Client, version: ProcessVersion) -> None:
    _as(client, ManagerFactory)
    response = client.post(f"/processes/{version.pk}/publish/", follow=True)
    assert "Only a draft can be published" in response.content.decode()


def test_import_form_roundtrip(client: Client, version: ProcessVersion) -> None:
    _as(client, ManagerFactory)
    text = client.get(f"/processes/{version.pk}/export.yaml").content.decode()
    response = client.post("/processes/import/", {"definition": text})
    draft = ProcessVersion.objects.get(process=version.process, number=2)
    assert response.status_code == 302 and response["Location"] == f"/processes/{draft.pk}/"
    assert draft.status == VersionStatus.DRAFT
    assert client.get(f"/processes/{draft.pk}/export.yaml").content.decode() == text


def test_import_form_lists_each_problem_and_writes_nothing(
    client: Client, version: ProcessVersion
) -> None:
    _as(client, ManagerFactory)
    text = client.get(f"/processes/{version.pk}/export.yaml").content.decode()
    team = version.stages.get(code="delivery").responsible_team
    assert team is not None
    broken = text.replace(team.code, "no-such-team")
    response = client.post("/processes/import/", {"definition": broken})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Unknown team &#x27;no-such-team&#x27;" in html
    assert re.search(r"<code>stages\[\d\]\.team</code>", html)
    assert ProcessVersion.objects.count() == 1
    assert ServiceProcess.objects.count() == 1


def test_import_form_requires_input(client: Client) -> None:
    _as(client, ManagerFactory)
    response = client.post("/processes/import/", {"definition": "  "})
    assert response.status_code == 422
    assert "Paste a definition or choose a file." in response.content.decode()


def test_import_form_accepts_file(client: Client, version: ProcessVersion) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    _as(client, ManagerFactory)
    text = client.get(f"/processes/{version.pk}/export.yaml").content
    upload = SimpleUploadedFile("p.yaml", text, content_type="application/yaml")
    response = client.post("/processes/import/", {"file": upload})
    assert response.status_code == 302
    assert ProcessVersion.objects.filter(process=version.process, number=2).exists()
