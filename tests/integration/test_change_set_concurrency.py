"""Overlapping change sets from several gunicorn worker processes: each set locks every component it
touches in one order (by id), so overlapping sets serialise — no deadlock, no lost update."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.integration.servers import gunicorn

DIST = "cloudfront-distribution/karma-dev"
SUBNET = "subnet/karma-dev-private-b"
N = 10


def _set(first, second, key):
    return {
        "changes": [
            {"op": "update", "component": first, "proposed_change": {"tags": {key: "x"}}},
            {"op": "update", "component": second, "proposed_change": {"tags": {key: "x"}}},
        ]
    }


@pytest.fixture(scope="module")
def second_gunicorn_url(service_env, repo):
    """A second gunicorn master (its own workers) on the same Neo4j: sets arrive through two servers."""
    server = gunicorn(service_env, workers=2)
    try:
        server.wait_ready(90)
        yield server.url
    finally:
        server.stop()


def _post_as_a_client_would(session, url: str, body: dict, attempts: int = 3):
    """A 503 that says nothing was changed (twenty sets queued on two locks, on a loaded machine, can outlast
    one transaction's time) is retried, as its Retry-After asks; a deadlock or a lost update would still
    show as a set that never applies or a tag that is missing."""
    for _ in range(attempts):
        response = session.post(f"{url}/request-change", json=body, timeout=120)
        if response.status_code != 503 or "nothing was changed" not in response.text:
            return response
    return response


def test_overlapping_sets_all_apply_with_no_lost_update(gunicorn_url, second_gunicorn_url, world, auth_headers):
    # the a-sets lock DIST then SUBNET in request order, the b-sets the other way round: only the
    # gate's one lock order (by id) keeps them from deadlocking; each half goes to another server
    jobs = [
        job
        for i in range(N)
        for job in ((gunicorn_url, _set(DIST, SUBNET, f"a{i}")), (second_gunicorn_url, _set(SUBNET, DIST, f"b{i}")))
    ]
    with requests.Session() as session, ThreadPoolExecutor(max_workers=8) as pool:
        session.headers.update(auth_headers)
        responses = list(pool.map(lambda job: _post_as_a_client_would(session, *job), jobs))
    assert [r.status_code for r in responses] == [200] * (2 * N), [r.text for r in responses if r.status_code != 200][
        :2
    ]
    assert all(r.json()["status"] == "applied" for r in responses)
    keys = {f"a{i}" for i in range(N)} | {f"b{i}" for i in range(N)}
    for cid in (DIST, SUBNET):
        comp = requests.get(f"{gunicorn_url}/components/{cid}", headers=auth_headers).json()
        assert set(comp["config"]["tags"]) >= keys and comp["version"] == 1 + 2 * N, comp
