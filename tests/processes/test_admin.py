"""The process admin: pages load, drafts are editable, published versions are read-only and the
actions go through the services."""

from __future__ import annotations

import pytest
from django.test import Client

from serviceloop.processes.choices import VersionStatus
from serviceloop.processes.models import ProcessVersion, Stage
from tests.factories import AdminFactory, build_process_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client) -> Client:
    client.force_login(AdminFactory())
    return client


@pytest.mark.parametrize("status", [VersionStatus.DRAFT, VersionStatus.PUBLISHED])
def test_pages_load(admin_client: Client, status: str) -> None:
    version = build_process_version(status=status)
    for url in (
        "/admin/processes/serviceprocess/",
        f"/admin/processes/serviceprocess/{version.process_id}/change/",
        "/admin/processes/processversion/",
        "/admin/processes/processversion/add/",
        f"/admin/processes/processversion/{version.pk}/change/",
    ):
        assert admin_client.get(url).status_code == 200, url


def test_published_version_is_read_only_in_admin(admin_client: Client) -> None:
    version = build_process_version()
    html = admin_client.get(
        f"/admin/processes/processversion/{version.pk}/change/"
    ).content.decode()
    assert 'name="stages-0-norm"' not in html  # inline rendered read-only
    assert "Need confirmed with the customer" in html
    before = list(Stage.objects.filter(version=version).values_list("norm", flat=True))
    response = admin_client.post(
        f"/admin/processes/processversion/{version.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 403
    assert ProcessVersion.objects.filter(pk=version.pk).exists()
    assert list(Stage.objects.filter(version=version).values_list("norm", flat=True)) == before


def test_draft_inline_is_editable(admin_client: Client) -> None:
    draft = build_process_version(status=VersionStatus.DRAFT)
    html = admin_client.get(f"/admin/processes/processversion/{draft.pk}/change/").content.decode()
    assert 'name="stages-0-norm"' in html


def test_bulk_delete_refuses_frozen_versions_and_removes_drafts(admin_client: Client) -> None:
    live = build_process_version()
    draft = build_process_version(process=live.process, status=VersionStatus.DRAFT)
    url = "/admin/processes/processversion/"
    both = {"action": "delete_selected", "_selected_action": [live.pk, draft.pk], "post": "yes"}
    assert admin_client.post(url, both).status_code == 403
    assert ProcessVersion.objects.filter(pk__in=[live.pk, draft.pk]).count() == 2
    admin_client.post(url, {**both, "_selected_action": [draft.pk]})
    assert ProcessVersion.objects.filter(pk=live.pk).exists()
    assert not ProcessVersion.objects.filter(pk=draft.pk).exists()


def test_publish_action_uses_the_service(admin_client: Client) -> None:
    live = build_process_version()
    draft = build_process_version(process=live.process, status=VersionStatus.DRAFT)
    admin_client.post(
        "/admin/processes/processversion/",
        {"action": "publish_versions", "_selected_action": [draft.pk]},
    )
    live.refresh_from_db()
    draft.refresh_from_db()
    assert (draft.status, live.status) == (VersionStatus.PUBLISHED, VersionStatus.RETIRED)
    response = admin_client.post(
        "/admin/processes/processversion/",
        {"action": "publish_versions", "_selected_action": [draft.pk]},
        follow=True,
    )
    assert "Only a draft can be published" in response.content.decode()
