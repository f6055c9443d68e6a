"""Property-based fuzzing of the whole REST API from its own OpenAPI document (schemathesis),
in-process through Django's WSGI handler: no network. Any generated request may be refused, but
none may crash the server (5xx), only declared status codes may answer and every body must match
its schema, for an agent's token and for a customer's.

One pytest test per operation and actor (``GET /api/cases/{number} as customer``), so parallel
runs (xdist) count and report each one; hypothesis generates the requests inside it.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from serviceloop.wsgi import application  # noqa: E402

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
OPERATIONS = sorted(result.ok().label for result in schema.get_all_operations())
ACTORS = ("agent", "customer")
CHECKS = (not_a_server_error, status_code_conformance, response_schema_conformance)
FUZZ = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def keep_test_connection():
    """Like Django's test Client: the test transaction's connection must survive each request."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(db, settings, tmp_path, keep_test_connection):
    """An agent of the start stage's team and a customer with a case of their own."""
    from django.core.cache import cache

    from serviceloop.accounts.services import api_token_create
    from tests.factories import AgentFactory, CaseFactory, CustomerFactory, default_process_version

    settings.MEDIA_ROOT = tmp_path
    cache.clear()  # failed-token counters of earlier tests
    version = default_process_version()
    team = version.stages.get(is_start=True).responsible_team
    customer = CustomerFactory()
    CaseFactory(customer=customer, actor=customer.user)
    users = {"agent": AgentFactory(team=team), "customer": customer.user}
    return {actor: api_token_create(user=user, name="fuzz")[1] for actor, user in users.items()}


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("label", OPERATIONS)
def test_api_answers_as_documented(label, actor, tokens):
    method, path = label.split(" ", 1)
    operation = schema[path][method]
    headers = {"Authorization": f"Bearer {tokens[actor]}"}

    @given(case=operation.as_strategy())
    @FUZZ
    def run(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def test_every_operation_is_fuzzed():
    assert len(OPERATIONS) == len(set(OPERATIONS)) >= 20
