"""GET /metrics: Prometheus text, correct across gunicorn's worker processes (multiprocess mode),
protected by a token (viewer and up, or a `metrics` scrape token) or public on an operator's path."""

from __future__ import annotations

import shutil

import requests
from prometheus_client.parser import text_string_to_metric_families

from app.graph.repository import GraphRepository
from app.observability import metrics
from tests.integration.conftest import _token, free_port
from tests.integration.servers import gunicorn

LIST = ("karma_http_requests_total", {"endpoint": "components.list_components", "method": "GET", "status": "200"})


def samples(text: str) -> dict:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(parsed: dict, name: str, labels: dict | None = None) -> float:
    return parsed.get((name, tuple(sorted((labels or {}).items()))), 0.0)


def scrape(url: str, headers: dict) -> dict:
    resp = requests.get(f"{url}/metrics", headers=headers, timeout=30)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/plain"), resp.text[:300]
    return samples(resp.text)


def test_metrics_are_protected_and_add_up_across_workers(gunicorn_url, world):
    url = gunicorn_url
    scraper = _token(world, "prometheus", "metrics")
    viewer = _token(world, "val@usekarma.dev", "viewer")
    refused = requests.get(f"{url}/metrics", timeout=30)
    assert refused.status_code == 401 and refused.headers["X-Request-Id"].startswith("req-")
    assert requests.get(f"{url}/components", headers=scraper, timeout=30).status_code == 403  # scrape only
    assert requests.get(f"{url}/metrics", headers=viewer, timeout=30).status_code == 200
    # request ids through gunicorn: a valid one is kept, a hostile one replaced, errors carry one too
    kept = requests.get(f"{url}/components", headers={**viewer, "X-Request-Id": "trace-1"}, timeout=30)
    assert kept.headers["X-Request-Id"] == "trace-1"
    hostile = requests.get(f"{url}/components", headers={**viewer, "X-Request-Id": "a\tb<script>"}, timeout=30)
    assert hostile.headers["X-Request-Id"].startswith("req-")

    before = scrape(url, scraper)
    # a fresh server exports the series whose labels are known up front at 0: without them the first
    # failed reload / failed delivery / lost connection is no increase() (the series appears with it)
    for name, label, known in (
        ("karma_rule_reloads_total", "outcome", ("changed", "unchanged", "failed")),
        ("karma_outbox_delivery_attempts_total", "state", ("delivered", "retrying", "failed")),
        ("karma_neo4j_errors_total", "error", ("ServiceUnavailable", "TransientError", "ConstraintError")),
    ):
        for one in known:
            assert (name, ((label, one),)) in before, (name, one)
    for _ in range(24):  # a new connection each time: gunicorn spreads them over its 4 workers
        assert requests.get(f"{url}/components", headers=viewer, timeout=30).status_code == 200
    # whichever worker answers the scrape, it reports every worker's requests
    for _ in range(4):
        after = scrape(url, scraper)
        assert value(after, LIST[0], LIST[1]) - value(before, LIST[0], LIST[1]) == 24
    bucket = {"endpoint": "components.list_components", "method": "GET", "le": "+Inf"}
    assert (
        value(after, "karma_http_request_duration_seconds_bucket", bucket)
        - value(before, "karma_http_request_duration_seconds_bucket", bucket)
        == 24
    )


def test_change_outcomes_decisions_queue_and_phases(gunicorn_url, world):
    url = gunicorn_url
    admin = _token(world, "ted@strall.com", "admin")
    before = scrape(url, admin)
    applied = requests.post(
        f"{url}/request-change",
        headers=admin,
        timeout=60,
        json={
            "component": "serverless-site/karma-dev",
            "proposed_change": {"cloudfront_aliases": ["www.usekarma.dev"]},
        },
    )
    assert applied.json()["status"] == "applied"
    rejected = requests.post(
        f"{url}/request-change",
        headers=admin,
        timeout=60,
        json={"component": "subnet/karma-dev-private-a", "proposed_change": {"cidr_block": "10.42.9.0/24"}},
    )
    assert rejected.json()["status"] == "rejected"
    queued = requests.post(
        f"{url}/request-change",
        headers=admin,
        timeout=60,
        json={
            "component": "serverless-site/karma-staging",
            "on_blocked": "queue",
            "proposed_change": {"cloudfront_aliases": ["staging.usekarma.dev", "beta.usekarma.dev"]},
        },
    )
    assert queued.json()["status"] == "queued"
    planned = requests.post(
        f"{url}/plan",
        headers=admin,
        timeout=60,
        json={"component": "vpc/karma-dev", "proposed_change": {"az_count": 3}},
    )
    assert planned.status_code == 200
    assert requests.post(f"{url}/admin/rules/reload", headers=admin, timeout=60).status_code == 200

    after = scrape(url, admin)

    def delta(name, labels=None):
        return value(after, name, labels) - value(before, name, labels)

    assert delta("karma_changes_total", {"status": "applied", "environment": "dev", "kind": "change"}) == 1
    assert delta("karma_changes_total", {"status": "rejected", "environment": "dev", "kind": "change"}) == 1
    assert delta("karma_changes_total", {"status": "queued", "environment": "dev", "kind": "change"}) == 1
    assert (
        delta("karma_rule_decisions_total", {"rule_id": "subnet-change-with-running-instance", "effect": "reject"}) == 1
    )
    assert (
        delta("karma_rule_decisions_total", {"rule_id": "dns-alias-needs-cloudfront-outputs", "effect": "block"}) == 1
    )
    assert delta("karma_rule_reloads_total", {"outcome": "unchanged"}) == 1
    for phase in ("graph_read", "rules", "serialisation"):
        assert delta("karma_analysis_phase_seconds_count", {"phase": phase}) >= 4, phase
    # read from Neo4j at scrape time
    assert value(after, "karma_queue_depth") == 1 and value(after, "karma_queue_oldest_age_seconds") >= 0
    assert value(after, "karma_approvals_pending") == 0 and value(after, "karma_neo4j_up") == 1
    assert value(after, "karma_outbox_entries", {"state": "pending"}) == 0


def test_workers_write_to_a_private_directory_removed_at_exit(service_env, repo, tmp_path):
    """`karma serve`/gunicorn sets PROMETHEUS_MULTIPROC_DIR itself when the operator did not; one the
    operator set is emptied of stale samples at start and kept."""
    stale = tmp_path / "prom"
    stale.mkdir()
    shutil.copy(__file__, stale / "counter_99999.db")  # a stale file from an earlier run
    server = gunicorn({**service_env, "PROMETHEUS_MULTIPROC_DIR": str(stale)}, log=tmp_path / "gunicorn.err")
    try:
        server.wait_ready(180)
        assert not (stale / "counter_99999.db").exists()
        token = _token(repo, "prometheus", "metrics")
        resp = requests.get(f"{server.url}/metrics", headers=token, timeout=30)
        assert resp.status_code == 200 and "karma_http_requests_total" in resp.text
        assert any(p.name.endswith(".db") for p in stale.iterdir())
    finally:
        server.stop()
    assert stale.is_dir()  # the operator's directory is kept


def test_public_metrics_on_an_operator_path(make_app):
    client = make_app(metrics_auth="none", metrics_path="/internal/metrics").test_client()
    resp = client.get("/internal/metrics", anonymous=True)
    assert resp.status_code == 200 and b"karma_http_requests_total" in resp.data
    assert client.get("/metrics").status_code == 404
    assert "/internal/metrics" in client.get("/openapi.json").get_json()["paths"]


def test_rule_reload_failures_are_counted(make_app, tmp_path):
    from app.settings import REPO_ROOT

    rules = tmp_path / "rules"
    shutil.copytree(REPO_ROOT / "rules", rules)
    client = make_app(rules_dir=rules).test_client()
    before = samples(client.get("/metrics").get_data(as_text=True))
    (rules / "network.yaml").write_text("rules:\n  - id: broken\n    effect: explode\n")
    assert client.post("/admin/rules/reload").status_code == 422
    after = samples(client.get("/metrics").get_data(as_text=True))
    failed = {"outcome": "failed"}
    assert value(after, "karma_rule_reloads_total", failed) - value(before, "karma_rule_reloads_total", failed) == 1


def test_neo4j_unavailable_is_reported_not_raised():
    from neo4j import GraphDatabase

    driver = GraphDatabase.driver(
        f"neo4j://127.0.0.1:{free_port()}", auth=("neo4j", "x"), connection_timeout=2, max_transaction_retry_time=0
    )
    try:
        before = samples(metrics.render(GraphRepository(driver))[0].decode())
        after = samples(metrics.render(GraphRepository(driver))[0].decode())
    finally:
        driver.close()
    assert value(after, "karma_neo4j_up") == 0
    errors = {k: v for k, v in after.items() if k[0] == "karma_neo4j_errors_total"}
    assert (
        errors and sum(errors.values()) - sum(v for k, v in before.items() if k[0] == "karma_neo4j_errors_total") == 1
    )
