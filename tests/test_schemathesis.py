"""Property-based requests generated from /openapi.json: no 5xx, whatever they carry."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from intake.app import create_app


@pytest.fixture
def api_schema(services):  # type: ignore[no-untyped-def]
    """The app's own OpenAPI description, served in process."""
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(services.settings, services))


@pytest.fixture
def auth(make_user):  # type: ignore[no-untyped-def]
    """An admin token: the generated requests get past authentication to every handler."""
    return make_user("fuzz-admin", "admin")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case, auth) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(headers=auth, checks=[not_a_server_error])
