"""A process definition nested 100,000 deep is refused with a clear 422 (it was a RecursionError
and a 500), through the API and the service, and nothing is written."""

from __future__ import annotations

import pytest
from django.test import Client

from serviceloop.accounts.services import api_token_create
from serviceloop.processes.exceptions import ProcessDefinitionInvalid
from serviceloop.processes.models import ProcessVersion
from serviceloop.processes.services import process_version_export, process_version_import
from tests.factories import ManagerFactory, build_process_version

pytestmark = pytest.mark.django_db

DEEP = {
    "flow-100000": "x: " + "[" * 100_000 + "]" * 100_000,
    "mapping-100000": "x: " + "{a: " * 100_000 + "1" + "}" * 100_000,
    "block-40": "".join(f"{'  ' * i}k{i}:\n" for i in range(40)) + "  " * 40 + "v: 1\n",
}


@pytest.fixture
def version() -> ProcessVersion:
    return build_process_version(is_default=True)


@pytest.mark.parametrize("text", DEEP.values(), ids=DEEP.keys())
def test_deep_definition_is_422_through_the_api(client: Client, version, text):
    _, raw = api_token_create(user=ManagerFactory(), name="t")
    response = client.post(
        "/api/processes/import",
        {"definition": text},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 422, response.content[:300]
    assert "SERVICELOOP_LIMIT_PROCESS_YAML_DEPTH" in response.json()["detail"]
    assert ProcessVersion.objects.count() == 1


def test_the_depth_limit_is_an_administrators_setting(version, settings):
    manager = ManagerFactory()
    text = process_version_export(version)
    settings.INPUT_LIMITS = {"PROCESS_YAML_DEPTH": 2}
    with pytest.raises(ProcessDefinitionInvalid, match="deeper than 2 levels"):
        process_version_import(text=text, actor=manager)
    settings.INPUT_LIMITS = {"PROCESS_YAML_DEPTH": 20}
    assert process_version_import(text=text, actor=manager).number == 2


def test_the_size_limit_is_an_administrators_setting(version, settings):
    text = process_version_export(version)
    settings.INPUT_LIMITS = {"PROCESS_YAML_BYTES": 100, "PROCESS_YAML_DEPTH": 20}
    with pytest.raises(ProcessDefinitionInvalid, match="SERVICELOOP_LIMIT_PROCESS_YAML_BYTES"):
        process_version_import(text=text, actor=ManagerFactory())
    assert ProcessVersion.objects.count() == 1
