"""The OpenAPI document describes what the API really returns (issue 11, item 13).

A bounded, deterministic schemathesis run over every operation of /openapi.json against the real app
on the real Neo4j (the karma world, an admin token): every response must be documented (status code,
content type, body schema), and nothing may be a server error. Hypothesis is derandomized, so CI sees
the same cases every run; `max_examples` keeps it to a few hundred cases in all."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

EXAMPLES = 12  # per operation: 23 operations → about 280 cases


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


@pytest.fixture
def admin_headers(app):
    token, _ = app.extensions["karma"].tokens.create("contract@usekarma.dev", "admin")
    return {"Authorization": f"Bearer {token}"}


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_matches_its_documentation(case, admin_headers):
    case.call_and_validate(headers=admin_headers)
