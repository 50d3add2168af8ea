"""Request ids: accepted when valid, replaced when not (never echoed raw), returned on every response
(errors included), in every log line of the request, stored on the audit entry and the change request."""

from __future__ import annotations

import io
import json
import logging

import pytest

from app.logs import JsonFormatter

SITE = "serverless-site/karma-dev"
CHANGE = {
    "component": SITE,
    "proposed_change": {"cloudfront_aliases": ["www.usekarma.dev"]},
    "requested_by": "ted@strall.com",
}


@pytest.fixture
def log_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("karma")
    level = logger.level  # a CLI command run in this process (CliRunner) leaves it at WARNING
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_a_valid_request_id_is_kept_and_stored(client, log_lines):
    resp = client.post("/request-change", json=CHANGE, headers={"X-Request-Id": "trace-7f3a:span.1"})
    assert resp.status_code == 200 and resp.headers["X-Request-Id"] == "trace-7f3a:span.1"
    body = resp.get_json()
    entry = client.get(f"/log/{body['log_entry_id']}").get_json()
    assert entry["request_id"] == "trace-7f3a:span.1"
    change = client.get(f"/changes/{body['change_id']}").get_json()
    assert change["request_id"] == "trace-7f3a:span.1"
    committed = [line for line in log_lines() if line["event"] == "change committed"]
    assert committed and committed[0]["request_id"] == "trace-7f3a:span.1"


@pytest.mark.parametrize(
    "raw", ["", "has space", "x" * 129, "-leading-dash", "tab\tinside", "<script>", "ünïcode", "a;b", "%0d%0a"]
)
def test_an_invalid_request_id_is_replaced_never_echoed(client, raw):
    resp = client.get("/components", headers={"X-Request-Id": raw})
    rid = resp.headers["X-Request-Id"]
    assert resp.status_code == 200 and rid != raw and rid.startswith("req-") and len(rid) == 20


def test_every_response_carries_an_id_errors_included(client):
    seen = set()
    for resp in (
        client.get("/components", anonymous=True),  # 401
        client.get("/components/vpc/nope"),  # 404
        client.post("/request-change", json={"component": SITE}),  # 422
        client.post("/request-change", data="{", content_type="application/json"),  # 400
        client.get("/no/such/route"),  # 404 unrouted
        client.get("/healthz"),
    ):
        rid = resp.headers.get("X-Request-Id")
        assert rid and rid.startswith("req-"), (resp.status_code, rid)
        seen.add(rid)
    assert len(seen) == 6  # one per request


def test_a_refused_call_logs_and_audits_with_the_id(client, log_lines):
    viewer = {"Authorization": f"Bearer {client.token_for('val@usekarma.dev', 'viewer')}", "X-Request-Id": "refused-1"}
    resp = client.post("/request-change", json=CHANGE, headers=viewer)
    assert resp.status_code == 403 and resp.headers["X-Request-Id"] == "refused-1"
    assert client.get(f"/log/{resp.get_json()['log_entry_id']}").get_json()["request_id"] == "refused-1"
    line = next(ln for ln in log_lines() if ln.get("event") == "refused" and ln.get("request_id") == "refused-1")
    # why and for whom: the cause, the identity and its token, what the role may not do
    assert line["cause"] and line["who"].startswith("val@usekarma.dev (token tok-")
    assert "viewer" in line["why"] and line["status"] == 403
    assert resp.headers["X-Karma-Refused"].startswith(f"{line['cause']} for val@usekarma.dev (token tok-")
    assert line["why"][:40] in resp.headers["X-Karma-Refused"]


def test_every_log_line_of_a_request_has_its_id(client, log_lines):
    client.post("/request-change", json=CHANGE, headers={"X-Request-Id": "all-lines"})
    first = log_lines()
    during = [line for line in first if line["logger"] != "karma.security"]  # token setup is not the request
    assert during and all(line.get("request_id") == "all-lines" for line in during)
    client.get("/components", headers={"X-Request-Id": "next"})
    assert not any(line.get("request_id") == "all-lines" for line in log_lines()[len(first) :])


def test_queue_transitions_carry_the_id_of_the_request_that_caused_them(client):
    queued = client.post(
        "/request-change",
        json={
            "component": "serverless-site/karma-staging",
            "requested_by": "ted@strall.com",
            "on_blocked": "queue",
            "proposed_change": {"cloudfront_aliases": ["staging.usekarma.dev", "beta.usekarma.dev"]},
        },
        headers={"X-Request-Id": "enqueue-1"},
    ).get_json()
    assert queued["status"] == "queued"
    report = client.put(
        "/components/cloudfront-distribution/karma-staging/runtime",
        json={"runtime": {"distribution_id": "E2", "domain_name": "d.cloudfront.net"}, "reported_by": "deploy"},
        headers={"X-Request-Id": "report-1"},
    )
    assert report.status_code == 200
    change = client.get(f"/changes/{queued['change_id']}").get_json()
    assert change["request_id"] == "enqueue-1" and change["status"] == "applied"
    ids = [client.get(f"/log/{t['id']}").get_json()["request_id"] for t in change["trail"]]
    assert ids == ["enqueue-1", "report-1"]
