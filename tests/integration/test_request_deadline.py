"""One request deadline (issue 11, item 2): `KARMA_REQUEST_DEADLINE` bounds every wait on Neo4j and every
retry loop of a request, so no request outlives gunicorn's worker timeout (whose answer is HTML).

A slow step is injected in Karma's own path on the real Neo4j: the analysis that runs between the
locked read and the commit statement, or an affected component that keeps moving (the re-run loop).
Each time the answer is a JSON 503 `deadline_exceeded` with Retry-After, and nothing was written."""

from __future__ import annotations

import time

import pytest

from app.changes import gate as gate_module
from app.changes.gate import ChangeGate, ImpactMoved
from app.graph import bolt_deadline
from app.reliability import deadline
from app.settings import Settings

CHANGE = {"component": "cloudfront-distribution/karma-dev", "proposed_change": {"comment": "late"}}
DEADLINE = 5.0  # short for a test, long enough for a new connection on a loaded machine


@pytest.fixture
def client(make_app):
    return make_app(request_deadline=DEADLINE).test_client()


def assert_deadline_503(resp) -> None:
    assert resp.status_code == 503, resp.get_data(as_text=True)[:500]
    body = resp.get_json()
    assert body["error"] == "service_unavailable" and body["cause"] == "deadline_exceeded", body
    assert "nothing was changed" in body["message"]
    assert int(resp.headers["Retry-After"]) >= 1


def test_a_slow_step_before_the_commit_is_a_503_and_writes_nothing(client, graph_dump, monkeypatch):
    client.get("/components")  # token and schema in place first: the dump below is the graph's
    before = graph_dump()
    analyse = ChangeGate._analyse

    def slow(self, *args, **kwargs):  # the lock is held and the transaction open while this runs
        time.sleep(DEADLINE + 0.5)
        return analyse(self, *args, **kwargs)

    monkeypatch.setattr(ChangeGate, "_analyse", slow)
    assert_deadline_503(client.post("/request-change", json=CHANGE))
    monkeypatch.setattr(ChangeGate, "_analyse", analyse)
    assert graph_dump() == before  # the open transaction was rolled back: no config, version, audit
    resp = client.post("/request-change", json=CHANGE)  # the next request has a deadline of its own
    assert resp.status_code == 200 and resp.get_json()["status"] == "applied", resp.get_json()


def test_the_rerun_loop_stops_at_the_deadline(client, graph_dump, monkeypatch):
    client.get("/components")
    before = graph_dump()
    attempts = []

    def always_moved(self, gtx, *args, **kwargs):  # an affected component moved at every attempt
        attempts.append(time.monotonic())
        time.sleep(1.5)
        raise ImpactMoved(["route53-zone/karma-dev"])

    monkeypatch.setattr(ChangeGate, "_commit", always_moved)
    assert_deadline_503(client.post("/request-change", json=CHANGE))
    assert 1 < len(attempts) < gate_module.MAX_ATTEMPTS  # re-run, but not all 8 times past the deadline
    assert graph_dump() == before


def test_the_deadline_must_be_below_the_worker_timeout():
    assert Settings().request_deadline < Settings().worker_timeout
    with pytest.raises(ValueError, match="KARMA_REQUEST_DEADLINE"):
        Settings(request_deadline=60, worker_timeout=60)
    with pytest.raises(ValueError, match="KARMA_REQUEST_DEADLINE"):
        Settings(request_deadline=0)


def test_every_bolt_wait_is_bounded_by_the_deadline(driver):
    assert bolt_deadline.installed()  # the private hook in the pinned driver is in place


def test_a_queued_change_stays_queued_when_its_pass_runs_out_of_time(client, monkeypatch):
    queued = client.post(
        "/request-change",
        json={
            "component": "serverless-site/karma-staging",
            "proposed_change": {"cloudfront_aliases": ["q.usekarma.dev"]},
            "requested_by": "ted@strall.com",
            "on_blocked": "queue",
        },
    ).get_json()
    assert queued["status"] == "queued", queued

    def out_of_time(self, write, actor=None):
        raise deadline.DeadlineExceeded("the write")

    monkeypatch.setattr(ChangeGate, "execute", out_of_time)
    assert_deadline_503(client.post("/queue/process"))
    monkeypatch.undo()
    # the database's trouble, not the change's: still queued (it used to be rejected with the 503's message)
    assert client.get(f"/changes/{queued['change_id']}").get_json()["status"] == "queued"
