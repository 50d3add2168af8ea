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


def test_a_near_name_costs_one_read_on_the_error_path_only(client):
    """A typo's near name is read (one type's ids) only when a name names nothing: the plan above still
    waits once; a refused plan waits once more, a refused request once more inside its transaction, and
    a GET of an unknown id once more — never per candidate. A reference that names nothing costs one read
    more, of that name's drift records (whether an import refused its file: docs/api.md), on this path only."""
    body = {"component": "subnet/karma-dev-private-a", "requested_by": "ops@usekarma.dev"}
    typo = {**body, "proposed_change": {"vpc_nickname": "karma-dve"}}
    client.post("/plan", json=typo)  # warm
    with RoundTrips() as plan_trips:
        refused = client.post("/plan", json=typo).get_json()
    assert refused["did_you_mean"] == {"vpc/karma-dve": "vpc/karma-dev"}, refused
    assert plan_trips.flushes == [["RUN", "PULL"], ["RUN", "PULL"], ["RUN", "PULL"]]
    with RoundTrips() as request_trips:
        refused = client.post("/request-change", json=typo).get_json()
    assert refused["did_you_mean"] == {"vpc/karma-dve": "vpc/karma-dev"}, refused
    assert request_trips.flushes[:2] == [["BEGIN", "RUN", "PULL"], ["RUN", "PULL"]]
    assert len(request_trips.flushes) == 4, request_trips.flushes  # the drift records, and the rollback
    # a by-value reference's value that matches nothing: one read more, of the values it is compared with
    value_typo = {**body, "component": "serverless-site/karma-staging"}
    value_typo["proposed_change"] = {"route53_zone_name": "staging.usekarma.de"}
    with RoundTrips() as value_trips:
        refused = client.post("/plan", json=value_typo).get_json()
    assert refused["did_you_mean"] == {"staging.usekarma.de": "staging.usekarma.dev."}, refused
    assert value_trips.flushes == [["RUN", "PULL"], ["RUN", "PULL"]], value_trips.flushes
    client.get("/components/vpc/karma-de")  # warm: this identity's token
    with RoundTrips() as get_trips:
        assert client.get("/components/vpc/karma-de").get_json()["did_you_mean"] == "vpc/karma-dev"
    assert get_trips.flushes == [["RUN", "PULL"], ["RUN", "PULL"]], get_trips.flushes
