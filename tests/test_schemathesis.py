"""Property-based requests generated from /openapi.json: no 5xx, whatever they carry."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from intake.web.app import create_app


def test_no_server_errors_for_generated_requests(services, make_user) -> None:  # type: ignore[no-untyped-def]
    headers = make_user("fuzz-admin", "admin")  # reaches every handler past authentication
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", create_app(services.settings, services)
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/v1/tips", "/api/v1/incidents"}
    for operation in operations:

        @settings(
            max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        @given(case=operation.as_strategy())
        def check(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        check()
