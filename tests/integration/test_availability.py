"""Availability (issue 11, items 1–2): gunicorn workers boot without Neo4j, every endpoint that needs it
answers a JSON 503 with Retry-After at once, /healthz never waits, /readyz follows the database, and the
service recovers by itself. Neo4j "goes away" behind a TCP proxy, so the shared test server is untouched.

Bounds on time are liveness bounds (BOUND, and 60 s for recovery): a test fails on "never answered" or
"waited for the 30 s driver retry / deadline", not on a target a loaded machine can miss; the figures
themselves come from `make chaos` (docs/operations.md)."""

from __future__ import annotations

import os
import signal
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import _token
from tests.integration.faults import children
from tests.integration.servers import gunicorn, wait_for

BOUND = 20.0  # a liveness bound, not a target: below the 30 s deadline / driver retry this replaced, wide
# enough for a loaded CI machine (the figures themselves are measured by `make chaos`, docs/operations.md)
SITE = "serverless-site/karma-dev"


def timed(method: str, url: str, **kw):
    started = time.monotonic()
    resp = requests.request(method, url, timeout=30, **kw)
    return resp, time.monotonic() - started


@pytest.fixture
def server(service_env, proxy, world):
    """gunicorn (2 workers) talking to Neo4j through the proxy, which starts DOWN."""
    server = gunicorn({**service_env, "NEO4J_URI": f"bolt://127.0.0.1:{proxy.port}"}, workers=2)
    try:
        server.wait_ready(90, path="/healthz")
        yield server.url, server.proc
    finally:
        server.stop()


def _ok(resp):
    return resp if resp.status_code == 200 else None


def assert_unavailable(resp, elapsed: float) -> None:
    assert resp.status_code == 503, (resp.status_code, resp.text[:300])
    assert resp.headers["Content-Type"].startswith("application/json")
    assert int(resp.headers["Retry-After"]) >= 1
    assert resp.json()["cause"] == "database_unavailable"
    assert elapsed < BOUND, elapsed


def test_boots_without_neo4j_serves_503_and_recovers_by_itself(server, proxy, auth_headers, graph_dump):
    url, master = server
    before = graph_dump()
    # Neo4j is down: the workers booted anyway
    resp, elapsed = timed("GET", f"{url}/healthz")
    assert resp.status_code == 200 and elapsed < BOUND
    resp, elapsed = timed("GET", f"{url}/readyz")
    assert resp.status_code == 503 and resp.json()["status"] == "unavailable" and elapsed < BOUND
    calls = [
        ("GET", "/components", None),
        ("GET", f"/components/{SITE}", None),
        ("GET", "/log", None),
        ("POST", "/plan", {"component": SITE, "proposed_change": {"cloudfront_aliases": ["a.usekarma.dev"]}}),
        ("POST", "/request-change", {"component": SITE, "proposed_change": {"cloudfront_aliases": ["a.usekarma.dev"]}}),
        ("GET", "/components", None),
    ]  # authenticated or not: the database is needed either way
    for method, path, body in calls:
        assert_unavailable(*timed(method, f"{url}{path}", json=body, headers=auth_headers))
    assert_unavailable(*timed("GET", f"{url}/components"))  # anonymous: no 30 s refusal either

    # a worker that dies during the outage is replaced, and the new one boots without Neo4j too
    workers = children(master.pid)
    os.kill(workers[0], signal.SIGKILL)
    wait_for(lambda: len(set(children(master.pid)) - set(workers)) == 1 and len(children(master.pid)) == 2)
    assert master.poll() is None
    for _ in range(6):  # both workers (requests land on either) answer
        assert_unavailable(*timed("GET", f"{url}/components", headers=auth_headers))

    # Neo4j comes back: ready again without a restart, and writes work
    proxy.start()
    back = time.monotonic()
    wait_for(lambda: requests.get(f"{url}/readyz", timeout=60).status_code == 200, 60, what="recovery")
    print(f"ready again {time.monotonic() - back:.2f} s after Neo4j came back")  # a liveness bound above
    for _ in range(4):  # each worker notices by itself, within its probe interval (0.5 s)
        wait_for(lambda: requests.get(f"{url}/components", headers=auth_headers, timeout=60).status_code == 200, BOUND)
    assert graph_dump() == before  # nothing was written during the outage
    resp = wait_for(
        lambda: _ok(
            requests.post(
                f"{url}/request-change",
                headers=auth_headers,
                timeout=60,
                json={"component": SITE, "proposed_change": {"cloudfront_aliases": ["a.usekarma.dev"]}},
            )
        ),
        BOUND,
    )
    assert resp.status_code == 200 and resp.json()["status"] == "applied", resp.text[:300]


def test_losing_neo4j_mid_stream_answers_503_fast_then_recovers(server, proxy, auth_headers):
    url, _master = server
    proxy.start()
    wait_for(lambda: requests.get(f"{url}/readyz", timeout=60).status_code == 200, 30)
    change = {"component": "cloudfront-distribution/karma-dev", "proposed_change": {"comment": "c0"}}
    assert requests.post(f"{url}/request-change", json=change, headers=auth_headers, timeout=60).status_code == 200
    proxy.stop()  # every pooled connection reset at once
    for n in range(1, 9):
        resp, elapsed = timed(
            "POST",
            f"{url}/request-change",
            headers=auth_headers,
            json={**change, "proposed_change": {"comment": f"c{n}"}},
        )
        assert_unavailable(resp, elapsed)
    resp, elapsed = timed("GET", f"{url}/readyz")
    assert resp.status_code == 503 and elapsed < BOUND
    proxy.start()
    wait_for(lambda: requests.get(f"{url}/readyz", timeout=60).status_code == 200, 30)
    resp = wait_for(
        lambda: _ok(
            requests.post(
                f"{url}/request-change",
                headers=auth_headers,
                timeout=60,
                json={**change, "proposed_change": {"comment": "after"}},
            )
        ),
        BOUND,
    )
    assert resp.status_code == 200 and resp.json()["status"] == "applied", resp.text[:300]
    comp = wait_for(
        lambda: _ok(
            requests.get(f"{url}/components/cloudfront-distribution/karma-dev", headers=auth_headers, timeout=60)
        ),
        BOUND,
    )
    assert comp.status_code == 200, comp.text[:500]
    assert comp.json()["config"]["comment"] == "after"


def test_workers_boot_when_neo4j_answers_with_an_error(service_env, tmp_path):
    """A start writes the notifications file's subscriptions; a database that answers but refuses (here a
    login it does not know; under load, a timeout or a deadlock between workers booting at once) must
    not stop a worker from booting: gunicorn's master shuts the whole server down when one does."""
    notifications = tmp_path / "notifications.yaml"
    notifications.write_text(
        "subscriptions:\n  - {id: a, url: 'https://h.example/x', secret: 0123456789abcdef, events: [applied]}\n"
    )
    env = {
        **service_env,
        "NEO4J_USER": "karma-nobody",  # not `neo4j`: failed logins lock the user they name for a while
        "NEO4J_PASSWORD": "not-the-password",
        "KARMA_NOTIFICATIONS_FILE": str(notifications),
    }
    server = gunicorn(env, workers=2, log=tmp_path / "stderr.log")
    try:
        server.wait_ready(90, path="/healthz")
        wait_for(lambda: server.answers("/readyz", 503), 30, what="/readyz answering 503")
        wait_for(  # each worker tried the file at boot and logged that Neo4j did not take it
            lambda: server.log_tail(200_000).count("notifications file not synced yet") >= 2,
            60,
            what="both workers' boot-time sync refused",
        )
        assert server.proc.poll() is None, server.log_tail()
        assert server.answers("/healthz") and "Worker failed to boot" not in server.log_tail(20000)
    finally:
        server.stop()


def _neo4j_up(text: str) -> float:
    return next(s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == "karma_neo4j_up")


def test_a_scrape_reports_neo4j_down_instead_of_failing(service_env, proxy, world, tmp_path):
    """What a Prometheus scrape is for during an outage is `karma_neo4j_up 0` (docs/observability.md):
    with a scrape token (the default), the scrape was refused like every call — a 503 — because tokens
    live in Neo4j. A token the worker verified before is taken on that word; an unknown one is a 503."""
    scraper, viewer = _token(world, "prometheus", "metrics"), _token(world, "never-seen", "viewer")
    server = gunicorn({**service_env, "NEO4J_URI": f"bolt://127.0.0.1:{proxy.port}"}, workers=1, log=tmp_path / "err")
    proxy.start()
    try:
        server.wait_ready(90)
        resp = requests.get(f"{server.url}/metrics", headers=scraper, timeout=30)
        assert resp.status_code == 200 and _neo4j_up(resp.text) == 1, resp.text[:300]
        proxy.stop()
        wait_for(lambda: server.answers("/readyz", 503), BOUND, what="/readyz 503 once Neo4j is gone")
        resp, elapsed = timed("GET", f"{server.url}/metrics", headers=scraper)
        assert resp.status_code == 200 and elapsed < BOUND, resp.text[:300]
        assert _neo4j_up(resp.text) == 0 and "karma_http_requests_total" in resp.text
        assert_unavailable(*timed("GET", f"{server.url}/metrics", headers=viewer))  # cannot be checked now
        assert_unavailable(*timed("GET", f"{server.url}/components", headers=scraper))  # the rest: 503 as before
    finally:
        server.stop()


def test_the_warm_up_leaves_every_hot_statement_planned_in_the_servers_cache(neo4j_target, repo):
    """The warm-up (app/reliability/availability.py) EXPLAINs the statements every change runs so that
    the first requests after a (re)start do not plan them. Neo4j caches no plan of a statement EXPLAINed
    without its parameters (GQL status 01N60, "the query plan cannot be cached"): the commit was
    EXPLAINed so, and planned anew by the first real commit, 2-3 s on this machine, even when warm."""
    from neo4j import GraphDatabase

    from app.graph.repository import hot_statements

    driver = GraphDatabase.driver(neo4j_target.uri, auth=neo4j_target.auth)  # notifications on: the server says
    try:
        with driver.session(database=neo4j_target.database) as session:
            for text, params in hot_statements():
                summary = session.run("EXPLAIN " + text, **params).consume()
                uncached = [s.status_description for s in summary.gql_status_objects if s.gql_status == "01N60"]
                assert not uncached, (text[:80], uncached)
    finally:
        driver.close()
