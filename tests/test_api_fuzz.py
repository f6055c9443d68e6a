"""Property-based fuzzing of the whole REST API from its own OpenAPI document (schemathesis),
in-process through Django's WSGI handler: no network. Any generated request may be refused, but
none may crash the server (5xx), and declared responses must match their schemas."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from serviceloop.wsgi import application  # noqa: E402

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)


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
def token(db, settings_dir, keep_test_connection):
    from serviceloop.accounts.services import api_token_create
    from tests.factories import (
        CaseFactory,
        CustomerFactory,
        ManagerFactory,
        default_process_version,
    )

    default_process_version()
    CaseFactory(customer=CustomerFactory())
    _, key = api_token_create(user=ManagerFactory(), name="fuzz")
    return key


@pytest.fixture
def settings_dir(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


OURS = r"^/api/(cases|events)/"
FUZZ = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@schema.include(path_regex=OURS).parametrize()
@FUZZ
def test_cases_api_answers_as_documented(case, token):
    """Cases and events endpoints: no 5xx, only declared status codes, bodies match schemas."""
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        checks=(not_a_server_error, status_code_conformance, response_schema_conformance),
    )


@schema.exclude(path_regex=OURS).parametrize()
@settings(parent=FUZZ, max_examples=8)
def test_other_endpoints_never_answer_5xx(case, token):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"}, checks=(not_a_server_error,)
    )
