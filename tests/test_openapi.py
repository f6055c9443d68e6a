"""The OpenAPI document and the docs page: complete, and served without any CDN."""

from __future__ import annotations

import json
import re

import pytest

EXPECTED = {
    ("get", "/api/cases/"): {"200", "401", "422"},
    ("post", "/api/cases/"): {"201", "401", "403", "404", "409", "422"},
    ("get", "/api/cases/{number}"): {"200", "401", "403", "404", "422"},
    ("patch", "/api/cases/{number}"): {"200", "401", "403", "404", "409", "422"},
    ("get", "/api/cases/{number}/transitions"): {"200", "401", "403", "404", "422"},
    ("post", "/api/cases/{number}/transitions"): {"200", "401", "403", "404", "409", "422"},
    ("post", "/api/cases/{number}/assign"): {"200", "401", "403", "404", "409", "422"},
    ("post", "/api/cases/{number}/checklist"): {"200", "401", "403", "404", "409", "422"},
    ("get", "/api/cases/{number}/messages"): {"200", "401", "403", "404", "422"},
    ("post", "/api/cases/{number}/messages"): {"201", "401", "403", "404", "409", "422"},
    ("get", "/api/cases/{number}/attachments"): {"200", "401", "403", "404", "422"},
    ("post", "/api/cases/{number}/attachments"): {"201", "401", "403", "404", "409", "422"},
    ("get", "/api/cases/{number}/attachments/{attachment_id}"): {
        "200",
        "401",
        "403",
        "404",
        "422",
    },
    ("get", "/api/cases/{number}/events"): {"200", "401", "403", "404", "422"},
    ("get", "/api/events/export"): {"200", "401", "403", "422"},
}


@pytest.fixture
def schema(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_openapi_lists_every_endpoint_with_its_status_codes(schema):
    found = {
        (method, path): set(op["responses"])
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
    }
    for key, statuses in EXPECTED.items():
        assert key in found, key
        assert found[key] == statuses, key


def test_openapi_declares_both_auth_schemes_and_idempotency_header(schema):
    schemes = schema["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}
    create = schema["paths"]["/api/cases/"]["post"]
    headers = {p["name"] for p in create["parameters"] if p["in"] == "header"}
    assert "Idempotency-Key" in headers


def test_docs_page_loads_swagger_from_local_static_files(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", html), "no CDN or remote asset"
    assets = re.findall(r"(?:src|href)=\"(/static/[^\"]+)\"", html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert any(a.endswith("swagger-ui.css") for a in assets)
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert body, asset


def test_docs_page_disables_online_validator_and_carries_csrf_token(client):
    html = client.get("/api/docs").content.decode()
    settings = json.loads(re.search(r'id="swagger-settings">(.*?)</script>', html, re.S).group(1))
    assert settings["validatorUrl"] is None
    assert settings["url"] == "/api/openapi.json"
    assert re.search(r'data-csrf-token="[^"]+"', html)


def test_schema_is_built_once_per_process_and_served_the_same(client, schema):
    from serviceloop.api import api

    assert api.get_openapi_schema(path_prefix="/api/") is api.get_openapi_schema(
        path_prefix="/api/"
    )
    assert client.get("/api/openapi.json").json() == schema
