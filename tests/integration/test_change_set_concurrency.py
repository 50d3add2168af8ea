"""Overlapping change sets from several gunicorn worker processes: each set locks every component it
touches in one order (by id), so overlapping sets serialise — no deadlock, no lost update."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

DIST = "cloudfront-distribution/karma-dev"
SUBNET = "subnet/karma-dev-private-b"
N = 10


def _set(first, second, key):
    return {"changes": [{"op": "update", "component": first, "proposed_change": {"tags": {key: "x"}}},
                        {"op": "update", "component": second, "proposed_change": {"tags": {key: "x"}}}]}


def test_overlapping_sets_all_apply_with_no_lost_update(gunicorn_url, world, auth_headers):
    bodies = [_set(DIST, SUBNET, f"a{i}") for i in range(N)] + [_set(SUBNET, DIST, f"b{i}") for i in range(N)]
    with requests.Session() as session, ThreadPoolExecutor(max_workers=8) as pool:
        session.headers.update(auth_headers)
        responses = list(pool.map(lambda b: session.post(f"{gunicorn_url}/request-change", json=b, timeout=120),
                                  bodies))
    assert [r.status_code for r in responses] == [200] * (2 * N), [r.text for r in responses if r.status_code != 200][:2]
    assert all(r.json()["status"] == "applied" for r in responses)
    keys = {f"a{i}" for i in range(N)} | {f"b{i}" for i in range(N)}
    for cid in (DIST, SUBNET):
        comp = requests.get(f"{gunicorn_url}/components/{cid}", headers=auth_headers).json()
        assert set(comp["config"]["tags"]) >= keys and comp["version"] == 1 + 2 * N, comp
