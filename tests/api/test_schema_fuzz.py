"""schemathesis against the live OpenAPI document: no 5xx, every answer as documented.

Bounded (10 derandomized examples per operation) so it runs in `make test`. It calls the WSGI
application in-process, with a real test API key and a real showtime in the database. The
operations are driven through schemathesis' Python API (its pytest plugin does not run under
pytest 9 yet).
"""

import hypothesis
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from schemathesis.specs.openapi.checks import positive_data_acceptance

EXAMPLES_PER_OPERATION = 10


@pytest.fixture
def api_schema(db, settings, make_showtime):
    settings.API_RATE_LIMITS = {"ip": 0, "key": 0, "window": 60}  # the fuzzer is no abuser
    make_showtime()
    # The real WSGI handler closes the connection after each request; the test's transaction
    # lives on it. Django's own test client unhooks the same receivers.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_the_api_keeps_its_contract(api_schema, make_key):
    headers = {"Authorization": f"Api-Key {make_key('schemathesis')[1]}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    checked = []

    for operation in operations:

        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        def conforms(case):
            # Seat codes and "seats or best" are checked against the hall and each other, which
            # a schema cannot say: a schema-valid body may rightly get a 400.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        conforms()
        checked.append(operation.label)

    assert len(checked) == 7, checked
