"""A test client for the REST API that authenticates with a bearer token, like an integration."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from serviceloop.accounts.models import User
from serviceloop.accounts.services import api_token_create


class Api:
    """``Api(user).get("/api/cases/")``: JSON in and out, token auth, extra headers optional."""

    def __init__(self, user: User | None) -> None:
        self.client = Client(enforce_csrf_checks=True)
        self.headers: dict[str, str] = {}
        if user is not None:
            _, key = api_token_create(user=user, name="tests")
            self.headers["Authorization"] = f"Bearer {key}"

    def _send(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        send = getattr(self.client, method)
        all_headers = self.headers | {k.replace("_", "-"): v for k, v in headers.items()}
        if method in {"get", "delete"}:
            return send(path, body or {}, headers=all_headers)
        return send(
            path,
            json.dumps(body if body is not None else {}),
            content_type="application/json",
            headers=all_headers,
        )

    def get(self, path: str, params: dict[str, Any] | None = None, **headers: str) -> Any:
        return self._send("get", path, params, **headers)

    def post(self, path: str, body: Any = None, **headers: str) -> Any:
        return self._send("post", path, body, **headers)

    def patch(self, path: str, body: Any = None, **headers: str) -> Any:
        return self._send("patch", path, body, **headers)

    def upload(
        self, path: str, files: dict[str, Any], data: dict[str, Any] | None = None, **headers: str
    ) -> Any:
        all_headers = self.headers | {k.replace("_", "-"): v for k, v in headers.items()}
        return self.client.post(path, {**(data or {}), **files}, headers=all_headers)
