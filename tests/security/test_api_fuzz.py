"""Fuzz the REST API from its own OpenAPI schema (schemathesis, in-process over WSGI): no 5xx, ever.

Bounded: MAX_EXAMPLES generated requests per operation, authenticated as staff, against the
attacked site of tests/security/world.py.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 20


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Requests made straight to the WSGI app would close the test's database connection at their end
    (Django's own test client disconnects this signal for the same reason)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _operations():
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    return [result.ok() for result in schema.get_all_operations()]


def _fuzz(operation, headers: dict, failures: list[str]) -> None:
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def fuzz(case):
        response = case.call(headers=headers)
        if response.status_code >= 500:
            failures.append(f"{operation.label}: {response.status_code} for {case.path_parameters} {case.query}")

    fuzz()


def test_every_api_operation_survives_generated_requests_without_a_server_error(world):
    operations = _operations()
    assert len(operations) >= 20
    headers = {"Authorization": f"Token {world.staff_token}"}
    failures: list[str] = []
    for operation in operations:
        _fuzz(operation, headers, failures)
    assert not failures, "\n".join(failures[:20])
