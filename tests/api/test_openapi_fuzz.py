"""A bounded schemathesis run over /api/openapi.json: no 5xx and every response as documented."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from analytics import services as analytics_services
from analytics.decision_log import decision_log
from semroute_site.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)


@pytest.fixture
def fuzz_key(make_key, demo_router, monkeypatch):
    # Unknown decision ids answer 404 at once here instead of waiting for other workers' buffers.
    monkeypatch.setattr(decision_log, "flush_seconds", 0.0)
    monkeypatch.setattr(analytics_services, "FEEDBACK_WAIT_EXTRA_SECONDS", 0.0)
    # As Django's test client does: the raw WSGI app would otherwise close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield make_key()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_schema(case, fuzz_key):
    if case.path_parameters and "slug" in case.path_parameters and case.method in ("POST", "GET"):
        # Aim most calls at the router that exists so routing and export run, not only the 404 path.
        case.path_parameters["slug"] = "support"
    case.call_and_validate(
        headers={"X-API-Key": fuzz_key},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
