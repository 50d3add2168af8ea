"""Many API workers against one Neo4j: real gunicorn (4 workers), concurrent clients, concurrent queue
processors, and a queue worker killed with SIGKILL mid-way."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.integration.conftest import SITE_KEYS, _token, karma, site_hold_rules

DIST = "cloudfront-distribution/karma-dev"
STAGING = "serverless-site/karma-staging"
N = 50


@pytest.fixture(scope="module")
def service_env(service_env, tmp_path_factory):
    """The module's processes hold any change to the staging site until its distribution publishes
    (SITE_HOLD): its queued changes set one key each, so that all of them apply (a queued change setting a
    key an earlier one set would be rejected: changed_since)."""
    return {**service_env, "KARMA_RULES_DIR": str(site_hold_rules(tmp_path_factory.mktemp("site-hold")))}


def _fire(url, bodies, headers):
    with requests.Session() as session, ThreadPoolExecutor(max_workers=16) as pool:
        session.headers.update(headers)
        return list(pool.map(lambda b: session.post(f"{url}/request-change", json=b, timeout=120), bodies))


def test_same_expected_version_exactly_one_applies(gunicorn_url, world, auth_headers):
    bodies = [
        {"component": DIST, "proposed_change": {"tags": {"race": f"r{i}"}}, "expected_version": 1} for i in range(N)
    ]
    responses = _fire(gunicorn_url, bodies, auth_headers)
    codes = sorted(r.status_code for r in responses)
    others = [r.text[:300] for r in responses if r.status_code not in (200, 409)][:3]  # say why, if any
    assert codes.count(200) == 1 and codes.count(409) == N - 1, (Counter(codes), others)
    assert all(r.json()["status"] == "applied" for r in responses if r.status_code == 200)
    comp = requests.get(f"{gunicorn_url}/components/{DIST}", headers=auth_headers).json()
    assert comp["version"] == 2
    assert requests.get(f"{gunicorn_url}/log", params={"component": DIST}, headers=auth_headers).json()["total"] == 1


def test_without_expected_version_every_request_applies_with_no_lost_update(gunicorn_url, world, auth_headers):
    bodies = [{"component": DIST, "proposed_change": {"tags": {f"k{i}": f"v{i}"}}} for i in range(N)]
    responses = _fire(gunicorn_url, bodies, auth_headers)
    assert [r.status_code for r in responses] == [200] * N, [r.text for r in responses if r.status_code != 200][:3]
    assert all(r.json()["status"] == "applied" for r in responses)
    comp = requests.get(f"{gunicorn_url}/components/{DIST}", headers=auth_headers).json()
    assert comp["version"] == 1 + N
    assert comp["config"]["tags"] == {f"k{i}": f"v{i}" for i in range(N)}
    # every request saw a distinct base version: a serial order exists
    assert sorted(r.json()["version"]["current"] for r in responses) == list(range(1, N + 1))
    log = requests.get(f"{gunicorn_url}/log", params={"component": DIST, "page_size": 500}, headers=auth_headers).json()
    assert log["total"] == N
    versions = requests.get(f"{gunicorn_url}/components/{DIST}/versions", headers=auth_headers).json()["versions"]
    assert [v["version"] for v in versions] == list(range(N + 1, 0, -1))


KEYED = ["cloudfront-distribution/karma-dev", "cloudfront-distribution/karma-staging", "route53-zone/karma-dev"]


def _fire_as(url, sends):
    """[(headers, body), …] posted at once from 16 threads, in that order."""
    with requests.Session() as session, ThreadPoolExecutor(max_workers=16) as pool:
        post = lambda hb: session.post(f"{url}/request-change", json=hb[1], headers=hb[0], timeout=120)  # noqa: E731
        return list(pool.map(post, sends))


def _applied_total(url, headers):
    params = {"status": "applied"}
    return requests.get(f"{url}/log", params=params, headers=headers, timeout=60).json()["total"]


def test_one_identitys_key_racing_is_one_change(gunicorn_url, world, auth_headers):
    """The same key by the same identity, sent at once from many workers: one change. The same body
    everywhere → every answer is that change (one fresh, the rest replays); bodies on components whose
    locks never meet → one applies and the others are 422 naming it (the key, not a lock, decides)."""
    before = _applied_total(gunicorn_url, auth_headers)
    key = {**auth_headers, "Idempotency-Key": "race-same"}
    same = _fire_as(gunicorn_url, [(key, {"component": KEYED[0], "proposed_change": {"comment": "once"}})] * 12)
    assert [r.status_code for r in same] == [200] * 12, [r.text[:300] for r in same if r.status_code != 200][:3]
    assert len({r.json()["change_id"] for r in same}) == 1
    assert sum(1 for r in same if not r.json().get("idempotent_replay")) == 1
    assert _applied_total(gunicorn_url, auth_headers) == before + 1

    key = {**auth_headers, "Idempotency-Key": "race-apart"}
    bodies = [{"component": c, "proposed_change": {"comment": f"apart {c}"}} for c in KEYED] * 4
    apart = _fire_as(gunicorn_url, [(key, b) for b in bodies])
    codes = Counter(r.status_code for r in apart)
    assert set(codes) <= {200, 422}, [r.text[:300] for r in apart if r.status_code not in (200, 422)][:3]
    winners = {r.json()["change_id"] for r in apart}  # a 422 names the change the key made
    assert len(winners) == 1 and codes[200] == 4, (codes, winners)
    assert all(r.json()["cause"] == "idempotency_key_reuse" for r in apart if r.status_code == 422)
    assert _applied_total(gunicorn_url, auth_headers) == before + 2


def test_one_key_racing_from_several_identities_is_one_change_each(gunicorn_url, world, auth_headers):
    """Four people send the same key at once, each their own body four times: four changes, each
    person's answers all theirs, none naming anyone else's change."""
    people = [_token(world, f"racer{i}@strall.com") for i in range(4)]
    before = _applied_total(gunicorn_url, auth_headers)
    sends = [
        ({**headers, "Idempotency-Key": "shared-key"}, {"component": KEYED[0], "proposed_change": {"comment": f"p{i}"}})
        for i, headers in enumerate(people)
    ] * 4
    responses = _fire_as(gunicorn_url, sends)
    assert [r.status_code for r in responses] == [200] * 16, [r.text[:300] for r in responses if r.status_code != 200]
    theirs = {}
    for (_, body), r in zip(sends, responses, strict=True):
        theirs.setdefault(body["proposed_change"]["comment"], set()).add(r.json()["change_id"])
    assert all(len(ids) == 1 for ids in theirs.values()) and len(set.union(*theirs.values())) == 4, theirs
    for (_, body), r in zip(sends, responses, strict=True):
        others = set.union(*theirs.values()) - theirs[body["proposed_change"]["comment"]]
        assert not any(other in r.text for other in others)
    assert _applied_total(gunicorn_url, auth_headers) == before + 4


def _queue(url, count, headers):
    ids = []
    for key, value in SITE_KEYS[:count]:
        r = requests.post(
            f"{url}/request-change",
            headers=headers,
            json={
                "component": STAGING,
                "proposed_change": {key: value},
                "requested_by": "ted@strall.com",
                "on_blocked": "queue",
            },
            timeout=60,
        )
        assert r.json()["status"] == "queued", r.json()
        ids.append(r.json()["change_id"])
    return ids


def _publish_without_processing(world):
    from app.components.service import ComponentService

    ComponentService(world).update_runtime(
        "cloudfront-distribution/karma-staging",
        {"distribution_id": "E2STAGING01", "domain_name": "d9staging.cloudfront.net"},
        "deploy",
    )


def _assert_drained_once(url, ids, headers):
    get = lambda path, **kw: requests.get(f"{url}{path}", headers=headers, timeout=60, **kw)  # noqa: E731
    for cid in ids:
        change = get(f"/changes/{cid}").json()
        assert change["status"] == "applied", change
        assert [t["status"] for t in change["trail"]] == ["queued", "applied"], change["trail"]
    versions = [get(f"/changes/{cid}").json()["applied_version"] for cid in ids]
    assert versions == sorted(versions) and len(set(versions)) == len(ids)  # FIFO, each exactly once
    site = get(f"/components/{STAGING}").json()
    assert {k: site["config"][k] for k, _ in SITE_KEYS[: len(ids)]} == dict(SITE_KEYS[: len(ids)])
    assert site["version"] == 1 + len(ids)
    applied = get("/log", params={"component": STAGING, "status": "applied"}).json()
    assert applied["total"] == len(ids)


def test_two_queue_processors_apply_each_request_exactly_once(
    gunicorn_url, world, service_env, ted_headers, auth_headers
):
    ids = _queue(gunicorn_url, 8, ted_headers)
    _publish_without_processing(world)
    admin = {**service_env, "KARMA_URL": gunicorn_url, "KARMA_TOKEN": auth_headers["Authorization"][7:]}
    procs = [karma(admin, "queue", "process", "--json") for _ in range(2)]  # through the API, as an admin
    outs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1].decode()[-1500:] for o in outs]
    transitions = [t for out, _ in outs for t in json.loads(out)["processed"] if t["status"] == "applied"]
    assert sorted(t["change_id"] for t in transitions) == sorted(ids)  # together, each once
    _assert_drained_once(gunicorn_url, ids, ted_headers)


def test_a_killed_worker_loses_no_queued_request(gunicorn_url, world, service_env, ted_headers):
    ids = _queue(gunicorn_url, len(SITE_KEYS), ted_headers)
    _publish_without_processing(world)
    worker = karma(service_env, "worker", "--interval", "0.2")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until it is part-way through the queue
        done = requests.get(
            f"{gunicorn_url}/log", params={"component": STAGING, "status": "applied"}, headers=ted_headers
        ).json()["total"]
        if done >= 2:
            break
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    remaining = requests.get(f"{gunicorn_url}/queue", headers=ted_headers).json()["total"]
    assert remaining < len(ids)  # it had started; whatever it had not committed is still queued
    restarted = karma(service_env, "worker", "--once")
    out, err = restarted.communicate(timeout=180)
    assert restarted.returncode == 0, err.decode()[-1500:]
    assert requests.get(f"{gunicorn_url}/queue", headers=ted_headers).json()["total"] == 0
    _assert_drained_once(gunicorn_url, ids, ted_headers)
