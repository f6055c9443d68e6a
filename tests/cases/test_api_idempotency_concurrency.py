"""Concurrent retries of one case creation (same Idempotency-Key) create exactly one case, on
SQLite and PostgreSQL alike: real threads, real connections, real commits."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from serviceloop.cases.models import Case, CaseEvent
from serviceloop.core.models import IdempotencyRecord
from tests.cases.api_client import Api
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)

WORKERS = 8


def test_concurrent_retries_with_one_key_create_one_case(world):
    customer = CustomerFactory()
    api = Api(customer.user)
    barrier = threading.Barrier(WORKERS)
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()
    body = {"title": "Invoice missing", "description": "Order 42 came without invoice."}

    def send() -> None:
        try:
            barrier.wait(timeout=10)
            response = api.post("/api/cases/", body, Idempotency_Key="retry-storm")
            with lock:
                answers.append((response.status_code, response.json()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(answers) == WORKERS
    assert {status for status, _ in answers} == {201}, answers
    assert len({answer["number"] for _, answer in answers}) == 1
    assert Case.objects.count() == 1
    assert CaseEvent.objects.filter(kind="created").count() == 1
    assert IdempotencyRecord.objects.count() == 1


def test_concurrent_creates_with_distinct_keys_each_create(world):
    customer = CustomerFactory()
    api = Api(customer.user)
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def send(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            response = api.post(
                "/api/cases/",
                {"title": f"Case {index}", "description": "d"},
                Idempotency_Key=f"key-{index}",
            )
            statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert statuses == [201] * 4
    assert Case.objects.count() == 4
