"""Outcomes never hidden (issue 11, item 4): the connection lost while Neo4j commits.

The fault is injected in Karma's own code path on the real Neo4j — a repository whose write transaction
raises the driver's own `IncompleteCommit` once, either after the transaction really committed ("landed")
or after the statement ran but before COMMIT (rolled back). The client is told 503 `outcome: unknown` with
the `change_id`; a retry with the same Idempotency-Key returns the committed result or applies once."""

from __future__ import annotations

import pytest
from neo4j.exceptions import IncompleteCommit, ServiceUnavailable, SessionExpired

from app.graph.repository import GraphRepository
from app.settings import REPO_ROOT, Settings
from tests.conftest import AuthClient

CHANGE = {"component": "cloudfront-distribution/karma-dev", "proposed_change": {"comment": "once"}}


class LosesTheCommit(GraphRepository):
    """One write transaction "loses its connection" at COMMIT: `landed` says whether it committed."""

    fault: str | None = None  # "landed" | "rolled_back"

    def in_write_tx(self, work):
        fault, self.fault = self.fault, None
        if fault == "landed":
            super().in_write_tx(work)
            raise IncompleteCommit("injected: connection lost after COMMIT was sent")
        if fault == "rolled_back":

            def then_lose(gtx):
                work(gtx)  # the statements ran…
                raise IncompleteCommit("injected: connection lost before COMMIT was answered")

            return super().in_write_tx(then_lose)
        return super().in_write_tx(work)


@pytest.fixture
def faulty(world):
    from app import create_app
    from app.policy import PolicyEngine

    repo = LosesTheCommit(world.driver, world.database)
    policy = PolicyEngine(REPO_ROOT / "rules")
    policy.load()
    app = create_app(Settings(), repo=repo, policy=policy)
    app.testing, app.test_client_class, AuthClient.tokens = True, AuthClient, {}
    return repo, app.test_client()


def applied_entries(client) -> list[dict]:
    return [
        e
        for e in client.get("/log?component=cloudfront-distribution/karma-dev&page_size=500").get_json()["items"]
        if e["status"] == "applied"
    ]


@pytest.mark.parametrize("fault", ["landed", "rolled_back"])
def test_unknown_outcome_is_503_and_an_idempotent_retry_settles_it(faulty, fault):
    repo, client = faulty
    version = client.get(f"/components/{CHANGE['component']}").get_json()["version"]
    repo.fault = fault
    resp = client.post("/request-change", json=CHANGE, headers={"Idempotency-Key": f"k-{fault}"})
    assert resp.status_code == 503 and int(resp.headers["Retry-After"]) >= 1
    body = resp.get_json()
    assert body["outcome"] == "unknown" and body["cause"] == "outcome_unknown" and body["change_id"]
    looked_up = client.get(f"/changes/{body['change_id']}")
    assert looked_up.status_code == (200 if fault == "landed" else 404)

    retry = client.post("/request-change", json=CHANGE, headers={"Idempotency-Key": f"k-{fault}"})
    assert retry.status_code == 200, retry.get_json()
    result = retry.get_json()
    assert result["status"] == "applied"
    assert result.get("idempotent_replay", False) is (fault == "landed")
    # landed or not, the change has the id the 503 named: the client's lookup finds it
    assert result["change_id"] == body["change_id"]
    assert client.get(f"/changes/{body['change_id']}").get_json()["status"] == "applied"
    again = client.post("/request-change", json=CHANGE, headers={"Idempotency-Key": f"k-{fault}"}).get_json()
    assert again["idempotent_replay"] is True and again["change_id"] == result["change_id"]
    # applied exactly once
    assert client.get(f"/components/{CHANGE['component']}").get_json()["version"] == version + 1
    assert len(applied_entries(client)) == 1


def test_unknown_outcome_without_a_key_names_the_change(faulty):
    repo, client = faulty
    repo.fault = "landed"
    body = client.post("/request-change", json=CHANGE).get_json()
    assert body["code"] == 503 and body["outcome"] == "unknown"
    change = client.get(f"/changes/{body['change_id']}").get_json()
    assert change["status"] == "applied"  # it had landed: the client can find out, nothing was hidden


def test_a_lost_read_is_retried_then_unavailable_never_outcome_unknown(faulty, monkeypatch):
    """A read wrote nothing: a connection lost during it is run again (one auto-commit query), and one
    that stays lost is 503 database_unavailable, never "retry with the same Idempotency-Key" — whatever
    the driver raised, an IncompleteCommit included. Injected in Karma's read, on the real Neo4j."""
    repo, client = faulty
    real = repo._read_once
    calls = {"n": 0}

    def lost(times, error):
        def read_once(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] <= times:
                raise error("injected: connection lost during the read")
            return real(*args, **kwargs)

        return read_once

    client.get("/log?page_size=1")  # the token and the schema are in place first
    monkeypatch.setattr(repo, "_read_once", lost(1, SessionExpired))
    resp = client.get("/log?page_size=5")
    assert resp.status_code == 200 and calls["n"] == 2, resp.get_json()
    for error in (IncompleteCommit, ServiceUnavailable):
        availability = client.application.extensions["karma"].availability
        availability.mark_up()  # the last case marked Neo4j down
        # ...so this process plans its hot statements again (a request waits 2 s for that, then is 503
        # database_warming_up: on a loaded machine it took longer, and the read below never ran): planned
        # first, so the case is the lost read, not the warm-up
        warming = availability._start_warm()
        assert warming is None or warming.wait(30)
        calls["n"] = 0
        monkeypatch.setattr(repo, "_read_once", lost(10**6, error))
        resp = client.get("/log?page_size=5")
        body = resp.get_json()
        assert resp.status_code == 503, body
        assert body["cause"] == "database_unavailable" and "outcome" not in body, body
        assert calls["n"] >= 1
