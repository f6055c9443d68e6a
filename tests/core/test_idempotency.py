"""Idempotency-Key: a retry replays the first answer; reuse for another request is a 422."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.test import Client

from serviceloop.accounts.choices import Role
from serviceloop.accounts.models import ApiToken, User
from serviceloop.core.models import IdempotencyRecord
from serviceloop.customers.models import Organisation

pytestmark = pytest.mark.urls("tests.core.api_fixture")


def token_for(username: str) -> str:
    user = User.objects.create_user(username=username, password="x", role=Role.AGENT)
    key = ApiToken.new_key()
    ApiToken.objects.create(user=user, name="t", key_hash=ApiToken.hash_key(key), prefix=key[:8])
    return key


def post(client: Client, token: str, body: dict, key: str | None = "k-1", path: str = "/api/orgs"):
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(path, body, content_type="application/json", headers=headers)


@pytest.mark.django_db
def test_retry_with_same_key_returns_first_answer_and_creates_nothing(client):
    token = token_for("a")
    first = post(client, token, {"name": "Acme"})
    second = post(client, token, {"name": "Acme"})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert first["Location"] == second["Location"]
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Organisation.objects.count() == 1


@pytest.mark.django_db
def test_json_key_order_does_not_make_a_different_request(client):
    token = token_for("a")
    post(client, token, {"name": "Acme"})
    raw = client.post(
        "/api/orgs",
        '{ "name" : "Acme" }',
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k-1"},
    )
    assert raw.status_code == 201
    assert Organisation.objects.count() == 1


@pytest.mark.django_db
def test_same_key_with_different_body_is_refused_with_422(client):
    token = token_for("a")
    post(client, token, {"name": "Acme"})
    response = post(client, token, {"name": "Other"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "idempotency_key_reused"
    assert body["params"] == {
        "header": "Idempotency-Key",
        "key": "k-1",
        "method": "POST",
        "path": "/api/orgs",
    }
    assert "already used for a different request" in body["detail"]
    assert "Idempotency-Key" in body["fields"]
    assert list(Organisation.objects.values_list("name", flat=True)) == ["Acme"]


@pytest.mark.django_db
def test_without_key_each_request_creates(client):
    token = token_for("a")
    post(client, token, {"name": "A"}, key=None)
    post(client, token, {"name": "B"}, key=None)
    assert Organisation.objects.count() == 2
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_keys_are_scoped_per_user(client):
    first, second = token_for("a"), token_for("b")
    assert post(client, first, {"name": "A"}).status_code == 201
    assert post(client, second, {"name": "B"}).status_code == 201
    assert Organisation.objects.count() == 2


@pytest.mark.django_db
def test_refused_request_leaves_no_record_so_a_retry_is_evaluated_again(client):
    token = token_for("a")
    refused = post(client, token, {"name": "refuse"})
    assert refused.status_code == 422
    assert not IdempotencyRecord.objects.exists()
    assert post(client, token, {"name": "refuse"}).status_code == 422


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "has space", "x" * 201, "中文"])
def test_malformed_key_is_refused_with_field_error(client, key):
    token = token_for("a")
    response = post(client, token, {"name": "Acme"}, key=key)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["fields"]
    assert not Organisation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_same_key_create_exactly_once():
    token = token_for("a")
    workers = 6
    barrier = threading.Barrier(workers)
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def send() -> None:
        try:
            barrier.wait(timeout=10)
            response = post(Client(), token, {"name": "Acme"}, key="same-key")
            with lock:
                results.append((response.status_code, response.json()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(results) == workers, f"{connection.vendor}: some requests did not answer"
    assert {status for status, _ in results} == {201}
    assert len({body["id"] for _, body in results}) == 1
    assert Organisation.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db
def test_purge_forgets_only_records_past_retention(client):
    from datetime import timedelta
    from io import StringIO

    from django.core.management import CommandError, call_command
    from django.utils import timezone

    token = token_for("a")
    post(client, token, {"name": "Old"}, key="old")
    post(client, token, {"name": "New"}, key="new")
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(days=8)
    )
    out = StringIO()
    call_command("idempotency_purge", stdout=out)
    assert "1 idempotency record(s) deleted." in out.getvalue()
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    with pytest.raises(CommandError, match="negative"):
        call_command("idempotency_purge", "--older-than-hours", "-1")
