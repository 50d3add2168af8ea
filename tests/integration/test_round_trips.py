"""Bolt round trips per request stay constant: a plan waits on the network once (one auto-commit read),
an apply three times, however many components it affects (counted at the driver; nothing here is timed)."""

from __future__ import annotations

import pytest

from karma_tools.bench.roundtrips import RoundTrips

CHANGES = [
    ("cognito-sso/karma-dev", {"client_name": "karma-dev-web-2"}, 0),
    ("serverless-site/karma-dev", {"cloudfront_aliases": ["www.usekarma.dev"]}, 2),
    ("vpc/karma-dev", {"az_count": 3}, 8),
]


@pytest.mark.parametrize("component,patch,affected", CHANGES, ids=[c[0] for c in CHANGES])
def test_round_trips_do_not_grow_with_the_impact(client, component, patch, affected):
    body = {"component": component, "proposed_change": patch, "requested_by": "ops@usekarma.dev"}
    client.post("/plan", json=body)  # warm: token verified and cached, connection in the pool
    with RoundTrips() as plan_trips:
        planned = client.post("/plan", json=body).get_json()
    assert len(planned["affected_components"]) == affected
    with RoundTrips() as apply_trips:
        applied = client.post("/request-change", json=body).get_json()
    assert applied["status"] == "applied", applied
    assert plan_trips.flushes == [["RUN", "PULL"]]
    assert apply_trips.flushes == [["BEGIN", "RUN", "PULL"], ["RUN", "PULL"], ["COMMIT"]]
