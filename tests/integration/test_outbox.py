"""Notifications through the transactional outbox, against a real local HTTP receiver and Neo4j:
the event is written by the change's own commit, delivered signed, retried with backoff while the
receiver is away, never sent for a change that did not commit; delivery state and retries over the
admin API and the CLI."""

from __future__ import annotations

import json
import time

import pytest

from app.notifications.delivery import DeliveryPolicy, deliver_pending, verify
from app.notifications.subscriptions import SubscriptionFileError, load_file
from tests.integration.conftest import free_port, karma
from tests.integration.receiver import Receiver

SITE = "serverless-site/karma-dev"
SECRET = "s3cret-for-the-receiver-0123456789"
FAST = DeliveryPolicy(max_attempts=4, base_delay=10.0, max_delay=60.0, timeout=2.0)


def alias(*aliases, component=SITE, **extra):
    return {
        "component": component,
        "proposed_change": {"cloudfront_aliases": list(aliases)},
        "requested_by": "ted@strall.com",
        **extra,
    }


@pytest.fixture
def receiver():
    r = Receiver(free_port()).start()
    yield r
    r.stop()


@pytest.fixture
def subscribe(client):
    def _subscribe(url, events=("applied", "rejected", "queued"), **extra):
        resp = client.post("/admin/subscriptions", json={"url": url, "secret": SECRET, "events": list(events), **extra})
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    return _subscribe


class Clock:
    """Delivery's notion of now, moved by the test (so backoff needs no sleeping)."""

    def __init__(self):
        import time

        self.now = time.time()

    def __call__(self):
        return self.now


def outbox(client, **query):
    resp = client.get("/admin/outbox", query_string=query)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_an_applied_change_is_delivered_signed_with_a_stable_id(client, world, receiver, subscribe):
    sub = subscribe(receiver.url)
    assert sub["has_secret"] is True and "secret" not in sub
    result = client.post(
        "/request-change", json=alias("www.usekarma.dev"), headers={"X-Request-Id": "trace-42"}
    ).get_json()
    assert result["status"] == "applied"
    # written by the commit itself: there before any delivery ran
    pending = outbox(client, change_id=result["change_id"])
    assert [(e["type"], e["state"], e["subscription_id"]) for e in pending["items"]] == [
        ("applied", "pending", sub["id"])
    ]
    assert pending["counts"]["pending"] == 1

    counts = deliver_pending(world, policy=FAST)
    assert counts == {"claimed": 1, "delivered": 1, "retrying": 0, "failed": 0}
    (got,) = receiver.received
    body = got["json"]
    assert body["type"] == "applied" and body["id"].startswith("evt-") and body["schema"] == "karma.event/v1"
    assert got["headers"]["x-karma-event-id"] == body["id"] and got["headers"]["x-karma-event-type"] == "applied"
    data = body["data"]
    assert data["change_id"] == result["change_id"] and data["component"] == SITE
    assert data["environment"] == "dev" and data["requested_by"] == "ted@strall.com"
    assert data["log_entry_id"] == result["log_entry_id"] and data["request_id"] == "trace-42"
    assert data["affected_components"] == result["affected_components"]
    # the signature: HMAC-SHA256 over "<t>.<body>" with the subscription's secret
    signature = got["headers"]["x-karma-signature"]
    assert verify(SECRET, got["body"], signature)
    assert not verify("another-secret-0123456789", got["body"], signature)
    assert not verify(SECRET, got["body"].replace(b"dev", b"prd"), signature)
    t = int(signature.split(",")[0][2:])
    assert not verify(SECRET, got["body"], signature, now=t + 3600)  # a replay an hour later
    entry = outbox(client)["items"][0]
    assert entry["state"] == "delivered" and entry["attempts"] == 1 and entry["last_status"] == 200
    detail = client.get(f"/admin/outbox/{entry['id']}").get_json()
    assert json.loads(detail["body"]) == body
    # nothing left: another pass sends nothing
    assert deliver_pending(world, policy=FAST)["claimed"] == 0 and len(receiver.received) == 1


def test_subscriptions_filter_by_event_type_and_environment(client, world, receiver, subscribe):
    subscribe(receiver.url, events=["rejected"])
    prod_only = subscribe(receiver.url, events=["applied"], environments=["prod"])
    client.post("/request-change", json=alias("www.usekarma.dev"))  # dev, applied: nobody wants it
    rejected = client.post(
        "/request-change",
        json={  # a running instance behind the subnet: rejected
            "component": "subnet/karma-dev-private-a",
            "proposed_change": {"cidr_block": "10.42.9.0/24"},
            "requested_by": "eve@usekarma.dev",
        },
    ).get_json()
    assert rejected["status"] == "rejected"
    items = outbox(client)["items"]
    assert [(e["type"], e["change_id"]) for e in items] == [("rejected", rejected["change_id"])]
    assert prod_only["environments"] == ["prod"]
    deliver_pending(world, policy=FAST)
    assert [r["json"]["type"] for r in receiver.received] == ["rejected"]


def test_a_change_that_fails_to_commit_sends_nothing(app, client, world, receiver, subscribe):
    subscribe(receiver.url)
    first = client.post("/request-change", json=alias("www.usekarma.dev")).get_json()
    assert first["status"] == "applied"
    service = app.extensions["karma"].gate
    # the next commit reuses an existing AuditEntry id: the statement fails after writing the config
    service.new_id = lambda prefix: first["log_entry_id"] if prefix == "log" else "chg-never"
    resp = client.post("/request-change", json=alias("x.usekarma.dev"))
    assert resp.status_code == 500
    assert outbox(client, change_id="chg-never")["items"] == []
    assert [e["change_id"] for e in outbox(client)["items"]] == [first["change_id"]]
    deliver_pending(world, policy=FAST)
    assert [r["json"]["data"]["change_id"] for r in receiver.received] == [first["change_id"]]


def test_a_failure_after_the_commit_statement_rolls_its_events_back(client, world, receiver, subscribe, monkeypatch):
    """The statement wrote the OutboxEvent; the transaction then fails before COMMIT: no event survives."""
    from app.graph.repository import GraphTx

    subscribe(receiver.url)
    original = GraphTx.commit
    seen = []

    def commit_then_fail(self, params):
        original(self, params)
        from app.graph.cypher import query

        rows = self._tx.run(
            query("outbox_list"), state=None, change_id=params["change_request"]["id"], type=None, limit=10
        ).single()
        seen.append(rows["items"])
        raise RuntimeError("injected after the commit statement")

    monkeypatch.setattr(GraphTx, "commit", commit_then_fail)
    resp = client.post("/request-change", json=alias("www.usekarma.dev"))
    assert resp.status_code == 500
    assert seen and [e["type"] for e in seen[0]] == ["applied"]  # written inside the transaction...
    monkeypatch.setattr(GraphTx, "commit", original)
    assert outbox(client)["items"] == []  # ...and rolled back with it
    assert deliver_pending(world, policy=FAST)["claimed"] == 0 and receiver.received == []
    assert client.get(f"/components/{SITE}").get_json()["version"] == 1


def test_receiver_down_then_back_everything_arrives_once_per_id(client, world, subscribe):
    port = free_port()
    receiver = Receiver(port)  # not started: the connection is refused
    subscribe(receiver.url)
    changes = [
        client.post("/request-change", json=alias(f"a{i}.usekarma.dev")).get_json()["change_id"] for i in range(3)
    ]
    clock = Clock()
    assert deliver_pending(world, policy=FAST, clock=clock) == {
        "claimed": 3,
        "delivered": 0,
        "retrying": 3,
        "failed": 0,
    }
    retrying = outbox(client, state="retrying")["items"]
    assert len(retrying) == 3 and all(e["attempts"] == 1 and "Connection" in e["last_error"] for e in retrying)
    assert deliver_pending(world, policy=FAST, clock=clock)["claimed"] == 0  # backing off: not due yet

    receiver.start()
    try:
        receiver.status = 503  # back, but failing: the attempts count, with longer waits
        clock.now += 13
        assert deliver_pending(world, policy=FAST, clock=clock)["retrying"] == 3
        assert all(e["attempts"] == 2 and e["last_status"] == 503 for e in outbox(client)["items"])
        clock.now += 13  # 2nd backoff is ~20 s (base 10 doubled): not due yet
        assert deliver_pending(world, policy=FAST, clock=clock)["claimed"] == 0
        receiver.status = 200
        clock.now += 12
        assert deliver_pending(world, policy=FAST, clock=clock)["delivered"] == 3
        clock.now += 3600
        assert deliver_pending(world, policy=FAST, clock=clock)["claimed"] == 0
    finally:
        receiver.stop()
    delivered = receiver.ids(answered=200)
    assert len(delivered) == 3 and len(set(delivered)) == 3
    assert sorted(r["json"]["data"]["change_id"] for r in receiver.received if r["answered"] == 200) == sorted(changes)
    # at least once, with the same id: each failed attempt resent exactly the event that later arrived
    assert set(receiver.ids(answered=503)) == set(delivered)
    assert {r["headers"]["x-karma-delivery-attempt"] for r in receiver.received if r["answered"] == 200} == {"3"}


def test_failed_after_max_attempts_then_retried(app, client, world, receiver, subscribe):
    subscribe(receiver.url)
    client.post("/request-change", json=alias("www.usekarma.dev"))
    receiver.status = 500
    clock = Clock()
    policy = DeliveryPolicy(max_attempts=2, base_delay=1.0, timeout=2.0)
    deliver_pending(world, policy=policy, clock=clock)
    clock.now += 5
    assert deliver_pending(world, policy=policy, clock=clock)["failed"] == 1
    (entry,) = outbox(client, state="failed")["items"]
    assert entry["attempts"] == 2 and entry["last_error"] == "HTTP 500"
    clock.now += 3600
    assert deliver_pending(world, policy=policy, clock=clock)["claimed"] == 0  # failed stays failed
    assert client.post("/admin/outbox/retry", json={}).status_code == 422
    receiver.status = 200
    retried = client.post("/admin/outbox/retry", json={"all_failed": True}).get_json()
    assert retried == {"retried": [entry["id"]]}
    assert deliver_pending(world, policy=policy)["delivered"] == 1
    assert outbox(client)["counts"] == {"pending": 0, "retrying": 0, "delivered": 1, "failed": 0}
    # a delivered entry is never resent, and the answer says so
    assert client.post("/admin/outbox/retry", json={"ids": [entry["id"]]}).get_json() == {
        "retried": [],
        "skipped": [{"id": entry["id"], "state": "delivered", "reason": "delivered"}],
    }
    assert len(receiver.ids(answered=200)) == 1
    # old delivered entries can be pruned; nothing else ever is
    service = app.extensions["karma"].outbox
    assert service.prune(older_than_days=1, by="cli:ops") == {"deleted": 0}
    assert service.prune(older_than_days=0, by="cli:ops") == {"deleted": 1}
    assert outbox(client)["items"] == []


def test_queue_and_cancel_events(client, world, receiver, subscribe):
    subscribe(receiver.url, events=["queued", "cancelled", "applied"])
    queued = client.post(
        "/request-change",
        json=alias(
            "staging.usekarma.dev", "beta.usekarma.dev", component="serverless-site/karma-staging", on_blocked="queue"
        ),
    ).get_json()
    assert queued["status"] == "queued"
    assert client.delete(f"/changes/{queued['change_id']}?requested_by=ted@strall.com").status_code == 200
    deliver_pending(world, policy=FAST)
    got = [(r["json"]["type"], r["json"]["data"]["change_id"]) for r in receiver.received]
    assert sorted(got) == sorted([("queued", queued["change_id"]), ("cancelled", queued["change_id"])])


def test_a_queued_change_rejected_for_a_key_changed_since_says_so_in_its_event(client, world, receiver, subscribe):
    """The `rejected` event of a queued change that would have overwritten a later change names the cause,
    the keys and the change that moved them, as data a receiver can act on."""
    subscribe(receiver.url, events=["rejected"])
    staging = "serverless-site/karma-staging"
    queued = alias("beta.usekarma.dev", component=staging, on_blocked="queue")
    queued["proposed_change"]["index_document"] = "home.html"
    queued = client.post("/request-change", json=queued).get_json()
    assert queued["status"] == "queued", queued
    direct = {
        "component": staging,
        "proposed_change": {"index_document": "main.html"},
        "requested_by": "eve@strall.com",
    }
    eve = client.post("/request-change", json=direct).get_json()
    assert eve["status"] == "applied", eve
    runtime = {"distribution_id": "E2STAGING01", "domain_name": "d9staging.cloudfront.net"}
    client.put("/components/cloudfront-distribution/karma-staging/runtime", json={"runtime": runtime})
    deliver_pending(world, policy=FAST)
    (got,) = [r["json"] for r in receiver.received]
    data = got["data"]
    assert got["type"] == "rejected" and data["change_id"] == queued["change_id"], got
    refusal = data["refusal"]
    assert refusal["cause"] == "changed_since" and refusal["keys"] == {staging: ["index_document"]}, refusal
    assert [c["change_id"] for c in refusal["changes"]] == [eve["change_id"]] and refusal["changes_total"] == 1
    assert eve["change_id"] in data["note"]


def test_approval_events(client, world, receiver, subscribe, app):
    subscribe(receiver.url, events=["pending_approval", "approved", "applied"], environments=["prod"])
    tokens = app.extensions["karma"].tokens
    ted = {"Authorization": f"Bearer {tokens.create('ted@strall.com', 'requester')[0]}"}
    eve = {"Authorization": f"Bearer {tokens.create('eve@strall.com', 'approver')[0]}"}
    pending = client.post(
        "/request-change",
        json={"component": "vpc/karma-prod", "proposed_change": {"az_count": 3}, "reason": "third AZ"},
        headers=ted,
    ).get_json()
    assert pending["status"] == "pending_approval"
    assert client.post(f"/changes/{pending['change_id']}/approve", json={}, headers=eve).status_code == 200
    deliver_pending(world, policy=FAST)
    types = [r["json"]["type"] for r in receiver.received]
    assert types == [
        "pending_approval",
        "approved",
        "applied",
    ]  # in the order the docs state (one commit: approved first)
    by_type = {r["json"]["type"]: r["json"]["data"] for r in receiver.received}
    assert by_type["pending_approval"]["approver_role"] == "approver"
    assert by_type["approved"]["approved_by"] == "eve@strall.com" and by_type["approved"]["status"] == "applied"
    assert by_type["pending_approval"]["actor"] == "ted@strall.com" and by_type["approved"]["actor"] == "eve@strall.com"


def test_a_denial_event_names_the_requester_and_who_denied(client, world, receiver, subscribe, app):
    """A receiver telling the requester "your change was denied" finds them in `requested_by`; `actor`
    is who denied it (the event named the denier twice)."""
    subscribe(receiver.url, events=["denied"], environments=["prod"])
    tokens = app.extensions["karma"].tokens
    ted = {"Authorization": f"Bearer {tokens.create('ted@strall.com', 'requester')[0]}"}
    eve = {"Authorization": f"Bearer {tokens.create('eve@strall.com', 'approver')[0]}"}
    body = {"component": "vpc/karma-prod", "proposed_change": {"az_count": 3}, "reason": "third AZ"}
    pending = client.post("/request-change", json=body, headers=ted).get_json()
    denied = client.post(f"/changes/{pending['change_id']}/deny", json={"comment": "no"}, headers=eve)
    assert denied.status_code == 200
    deliver_pending(world, policy=FAST)
    [event] = [r["json"]["data"] for r in receiver.received]
    assert (event["status"], event["requested_by"], event["actor"]) == ("denied", "ted@strall.com", "eve@strall.com")


def test_subscriptions_api_validates_and_file_ones_are_kept(client, world, tmp_path, make_app):
    bad = client.post("/admin/subscriptions", json={"url": "ftp://x", "secret": "short", "events": ["nope"]})
    # one path format for every field (docs/api.md): the list's bad item is named by its index
    assert bad.status_code == 422 and {"url", "secret", "events[0]"} == set(bad.get_json()["errors"])
    bad = client.post(
        "/admin/subscriptions", json={"url": "ftp://hooks.example/x", "secret": SECRET, "events": ["applied"]}
    )
    assert bad.status_code == 422 and bad.get_json()["errors"] == {"url": ["must be an http(s) URL with a host"]}
    # a boolean is true or false, as the schema says: "no" was read as False, 1 as True
    fine = {"url": "https://hooks.example/x", "secret": SECRET, "events": ["applied"]}
    for value in ("no", "off", 0, "true"):
        bad = client.post("/admin/subscriptions", json={**fine, "enabled": value})
        assert bad.status_code == 422 and list(bad.get_json()["errors"]) == ["enabled"], (value, bad.get_json())
    bad = client.post("/admin/outbox/retry", json={"all_failed": 1})
    assert bad.status_code == 422 and list(bad.get_json()["errors"]) == ["all_failed"], bad.get_json()
    assert client.get("/admin/subscriptions").get_json()["subscriptions"] == []
    viewer = {"Authorization": f"Bearer {client.token_for('val@usekarma.dev', 'viewer')}"}
    assert client.get("/admin/outbox", headers=viewer).status_code == 403
    assert client.get("/admin/subscriptions", headers=viewer).status_code == 403

    path = tmp_path / "notifications.yaml"
    path.write_text(
        "subscriptions:\n  - id: approvers\n    url: https://hooks.example/karma\n"
        "    secret: a-file-secret-0123456789\n    events: [pending_approval]\n"
    )
    file_client = make_app(notifications_file=path).test_client()
    subs = file_client.get("/admin/subscriptions").get_json()["subscriptions"]
    assert [(s["id"], s["source"], s["events"]) for s in subs] == [("approvers", "file", ["pending_approval"])]
    assert file_client.delete("/admin/subscriptions/approvers").status_code == 409
    assert file_client.delete("/admin/subscriptions/nope").status_code == 404
    path.write_text(
        "subscriptions:\n  - id: approvers\n    url: https://hooks.example/karma\n"
        "    secret: short\n    events: [sent]\n"
    )
    with pytest.raises(SubscriptionFileError) as err:
        load_file(path)
    assert "subscriptions[0] (approvers).events" in str(err.value) and ".secret" in str(err.value)


def test_cli_lists_and_retries(client, world, receiver, subscribe, service_env):
    subscribe(receiver.url)
    client.post("/request-change", json=alias("www.usekarma.dev"))
    receiver.status = 500
    deliver_pending(world, policy=DeliveryPolicy(max_attempts=1))
    proc = karma(service_env, "outbox", "list", "--state", "failed", "--json")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    listed = json.loads(out)
    assert listed["counts"]["failed"] == 1
    entry_id = listed["items"][0]["id"]
    proc = karma(service_env, "outbox", "list", "--state", "failed")
    out, err = proc.communicate(timeout=120)
    header = out.decode().splitlines()[0].split("  ")
    # in words, as every table names its columns (`karma queue`'s CHANGE): it read CHANGE_ID and LAST_ERROR
    assert [h.strip() for h in header if h] == [
        "ID",
        "TYPE",
        "STATE",
        "ATTEMPTS",
        "DESTINATION",
        "CHANGE",
        "LAST ERROR",
    ]
    proc = karma(service_env, "outbox", "retry", listed["items"][0]["event_id"], "--json")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert json.loads(out) == {"retried": [entry_id]}
    receiver.status = 200
    proc = karma(service_env, "outbox", "deliver", "--json")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and json.loads(out)["delivered"] == 1, err.decode()
    assert len(receiver.ids(answered=200)) == 1


def test_a_worker_that_died_mid_delivery_is_covered_by_its_lease(client, world, receiver, subscribe):
    """At least once: an entry claimed by a worker that died before recording the outcome is sent again
    (same event id) once its lease ran out — and not before."""
    subscribe(receiver.url)
    client.post("/request-change", json=alias("www.usekarma.dev"))
    clock = Clock()
    (claimed,) = world.claim_outbox(
        now=clock.now, lease_until=clock.now + 60, owner="dead-worker", limit=10, destinations=["webhook"]
    )
    assert deliver_pending(world, policy=FAST, clock=clock)["claimed"] == 0  # leased to the dead worker
    clock.now += 61
    assert deliver_pending(world, policy=FAST, clock=clock)["delivered"] == 1
    assert receiver.ids() == [json.loads(claimed["entry"]["body"])["id"]]
    # the dead worker's late report of a failure cannot undo the recorded delivery
    assert (
        world.settle_outbox(
            entry_id=claimed["entry"]["id"],
            owner="dead-worker",
            state="retrying",
            at=None,
            http_status=500,
            error="late",
            next_attempt_at=0,
        )
        is None
    )


def test_concurrent_delivery_passes_send_each_entry_once(client, world, receiver, subscribe):
    import threading

    subscribe(receiver.url)
    for i in range(6):
        client.post("/request-change", json=alias(f"c{i}.usekarma.dev"))
    results = []
    passes = [threading.Thread(target=lambda: results.append(deliver_pending(world, policy=FAST))) for _ in range(3)]
    for t in passes:
        t.start()
    for t in passes:
        t.join(timeout=120)
    assert sum(r["delivered"] for r in results) == 6
    assert len(receiver.ids()) == 6 and len(set(receiver.ids())) == 6


def test_the_worker_loop_delivers(client, world, receiver, subscribe, service_env):
    subscribe(receiver.url)
    client.post("/request-change", json=alias("www.usekarma.dev"))
    proc = karma({**service_env, "KARMA_LOG_LEVEL": "INFO"}, "worker", "--once")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert len(receiver.ids()) == 1
    lines = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    passes = [line for line in lines if line["event"] == "outbox pass"]
    assert passes and passes[0]["delivered"] == 1 and passes[0]["request_id"].startswith("wrk-")


def test_the_service_starts_while_neo4j_is_away_and_syncs_the_file_later(tmp_path):
    from neo4j import GraphDatabase

    from app.graph.repository import GraphRepository
    from app.notifications.subscriptions import SubscriptionService

    path = tmp_path / "n.yaml"
    path.write_text(
        "subscriptions:\n  - {id: a, url: 'https://h.example/x', secret: 0123456789abcdef, events: [applied]}\n"
    )
    driver = GraphDatabase.driver(
        f"neo4j://127.0.0.1:{free_port()}", auth=("neo4j", "x"), connection_timeout=2, max_transaction_retry_time=0
    )
    try:
        service = SubscriptionService(GraphRepository(driver), path)
        assert service.sync_file(tolerate_unavailable=True) is None and service.synced is False
        with pytest.raises(Exception, match="routing|connect|Unable"):
            service.sync_file()
        path.write_text("subscriptions: [{id: a}]\n")
        with pytest.raises(SubscriptionFileError):  # a broken file is never tolerated
            service.sync_file(tolerate_unavailable=True)
    finally:
        driver.close()


def test_other_destinations_use_the_same_outbox(client, world):
    """A producer besides change notifications (e.g. a config-store write-back) writes events with a
    destination of its own; only a delivery pass that has a handler for it delivers them."""
    from app.clock import utcnow
    from app.notifications import events

    event = events.event(
        event_type="config_written",
        now=utcnow(),
        data={"component": SITE},
        environment="dev",
        destination="config-store",
    )
    assert world.enqueue_outbox([event], utcnow()) == 1
    assert deliver_pending(world, policy=FAST)["claimed"] == 0  # no handler here: left for one that has
    (entry,) = outbox(client)["items"]
    assert entry["destination"] == "config-store" and entry["id"] == event["event_id"]
    delivered, calls = [], []

    def flaky(item):
        calls.append(item["event_id"])
        if len(calls) == 1:
            raise ConnectionError("store away")
        delivered.append(json.loads(item["body"]))

    clock = Clock()
    assert deliver_pending(world, policy=FAST, handlers={"config-store": flaky}, clock=clock)["retrying"] == 1
    clock.now += 15
    assert deliver_pending(world, policy=FAST, handlers={"config-store": flaky}, clock=clock)["delivered"] == 1
    assert [d["id"] for d in delivered] == [event["event_id"]] and calls == [event["event_id"]] * 2
    (entry,) = outbox(client)["items"]
    assert entry["state"] == "delivered" and entry["attempts"] == 2 and "last_error" not in entry


NEW_SUBNET = {
    "op": "create",
    "component": "subnet/karma-dev-private-c",
    "environment": "dev",
    "config": {"vpc_nickname": "karma-dev", "cidr_block": "10.42.3.0/24"},
}
PROD_BASTION = {
    "op": "update",
    "component": "ec2-instance/karma-prod-bastion",
    "proposed_change": {"instance_type": "t3.small"},
}


def test_a_change_set_writes_its_events_in_its_own_commit(app, client, world, receiver, subscribe, monkeypatch):
    everyone = subscribe(receiver.url, events=["applied", "rejected"])
    prod_only = subscribe(receiver.url, events=["applied"], environments=["prod"])
    both = {"changes": [NEW_SUBNET, PROD_BASTION], "requested_by": "ted@strall.com", "reason": "set events"}
    applied = client.post("/request-change", json=both, headers={"X-Request-Id": "trace-set"}).get_json()
    assert applied["status"] == "applied", applied
    # written by the set's commit: one entry per subscriber wanting it (the prod-only one too: the set
    # touches prod as well as dev)
    items = outbox(client, change_id=applied["change_id"])["items"]
    assert sorted(e["subscription_id"] for e in items) == sorted([everyone["id"], prod_only["id"]])
    assert {e["type"] for e in items} == {"applied"}
    # a rejected set (a running instance behind the subnet) reports its rejection
    rejected = client.post(
        "/request-change",
        json={
            "changes": [
                {
                    "op": "update",
                    "component": "subnet/karma-dev-private-a",
                    "proposed_change": {"cidr_block": "10.42.9.0/24"},
                }
            ],
            "requested_by": "eve@usekarma.dev",
        },
    ).get_json()
    assert rejected["status"] == "rejected", rejected
    assert [e["type"] for e in outbox(client, change_id=rejected["change_id"])["items"]] == ["rejected"]
    deliver_pending(world, policy=FAST)
    got = {(r["json"]["type"], r["json"]["data"]["change_id"]) for r in receiver.received}
    assert got == {("applied", applied["change_id"]), ("rejected", rejected["change_id"])}
    data = next(r["json"]["data"] for r in receiver.received if r["json"]["type"] == "applied")
    assert data["components"] == ["subnet/karma-dev-private-c", "ec2-instance/karma-prod-bastion"]
    assert data["set_size"] == 2 and data["environments"] == ["dev", "prod"]
    assert data["log_entry_id"] == applied["log_entry_id"] and data["request_id"] == "trace-set"
    # a set whose commit fails after its statement ran leaves no event
    from app.graph.repository import GraphTx

    real = GraphTx.commit

    def commit_then_fail(self, params):
        real(self, params)
        raise RuntimeError("injected failure after the commit statement")

    before = outbox(client)["counts"]
    monkeypatch.setattr(GraphTx, "commit", commit_then_fail)
    failed = client.post(
        "/request-change",
        json={
            **both,
            "changes": [
                {
                    **NEW_SUBNET,
                    "component": "subnet/karma-dev-x",
                    "config": {**NEW_SUBNET["config"], "cidr_block": "10.42.4.0/24"},
                }
            ],
        },
    )
    assert failed.status_code == 500
    assert outbox(client)["counts"] == before


def test_transition_moves_are_events(client, world, receiver, subscribe):
    """A transition's moves that someone waits on or must act on are events of their own (a wait begins,
    it completes, stalls, is cancelled or expires), written by the move's own statement, for the
    environments of the components it touches."""
    events = ["transition_waiting", "transition_completed", "transition_cancelled", "applied"]
    subscribe(receiver.url, events=events)
    subscribe(receiver.url + "?prod", events=events, environments=["prod"])  # not this transition's
    subnet = {
        "component": "subnet/karma-dev-private-a",
        "proposed_change": {"cidr_block": "10.42.9.0/24"},
        "requested_by": "ops@usekarma.dev",
    }
    proposal = client.post("/transitions", json=subnet).get_json()["proposals"][0]
    started = client.post(f"/transitions/{proposal['id']}/execute").get_json()
    assert started["status"] == "waiting" and started["environments"] == ["dev"], started
    runtime = {"runtime": {"instance_id": "i-0a42b45710000001", "state": "stopped"}}
    assert client.put("/components/ec2-instance/karma-dev-bastion/runtime", json=runtime).status_code == 200
    alias_site = {
        "component": "serverless-site/karma-staging",
        "proposed_change": {"cloudfront_aliases": ["staging.usekarma.dev", "beta.usekarma.dev"]},
        "requested_by": "ops@usekarma.dev",
    }
    waiting = client.post(
        f"/transitions/{client.post('/transitions', json=alias_site).get_json()['proposals'][0]['id']}/execute"
    ).get_json()
    assert client.delete(f"/transitions/{waiting['id']}").status_code == 200
    deliver_pending(world, policy=FAST)
    got = [r["json"] for r in receiver.received]
    assert all(r["path"] == "/hook" for r in receiver.received), [r["path"] for r in receiver.received]
    moves = [(e["type"], e["data"].get("transition_id")) for e in got if e["type"].startswith("transition_")]
    assert sorted(moves) == sorted(
        [
            ("transition_waiting", started["id"]),
            ("transition_completed", started["id"]),
            ("transition_waiting", waiting["id"]),
            ("transition_cancelled", waiting["id"]),
        ]
    ), moves
    completed = next(e for e in got if e["type"] == "transition_completed")
    assert completed["data"]["environments"] == ["dev"] and completed["data"]["change_id"].startswith("chg")
    assert [e["data"]["component"] for e in got if e["type"] == "applied"] == ["subnet/karma-dev-private-a"]


def test_racing_claims_lease_each_entry_to_exactly_one_owner(client, world, receiver, subscribe):
    """The claim's exactly-once: many claims racing on the same due entries (a barrier releases them
    together, round after round) — each entry is leased to one owner per round. The claim re-checks
    the lease after taking the entry's lock (cypher/outbox_claim.cypher); without that re-check the
    claims that read the entry before the first one committed lease it again, and this fails."""
    import threading
    import time

    from app.notifications.delivery import WEBHOOK

    subscribe(receiver.url)
    for i in range(10):
        assert client.post("/request-change", json=alias(f"r{i}.usekarma.dev")).status_code == 200
    threads, rounds, base = 8, 8, time.time()
    for r in range(rounds):  # bounded: each round's leases have expired by the next round's `now`
        now = base + 1000 * (r + 1)
        barrier, claimed = threading.Barrier(threads), {}

        def claim(owner: str, now=now, barrier=barrier, claimed=claimed) -> None:
            barrier.wait(timeout=60)
            items = world.claim_outbox(now=now, lease_until=now + 100, owner=owner, limit=50, destinations=[WEBHOOK])
            claimed[owner] = [item["entry"]["id"] for item in items]

        racers = [threading.Thread(target=claim, args=(f"racer-{r}-{t}",)) for t in range(threads)]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join(timeout=120)
        assert len(claimed) == threads, "a racing claim never returned"
        ids = [entry for entries in claimed.values() for entry in entries]
        twice = sorted({entry for entry in ids if ids.count(entry) > 1})
        assert not twice and len(ids) == 10, f"round {r}: {len(twice)} entries leased twice, {len(ids)} claims"


def test_retrying_an_unknown_id_is_a_404_naming_it_and_changes_nothing(client, world, receiver, subscribe, service_env):
    """A mistyped delivery id used to answer 200 {"retried": []} (the CLI: a blank line, exit 0), which
    reads as "retried"; with a real failed id beside it, that one was retried while the typo went unseen."""
    subscribe(receiver.url)
    client.post("/request-change", json=alias("www.usekarma.dev"))
    receiver.status = 500
    deliver_pending(world, policy=DeliveryPolicy(max_attempts=1, timeout=2.0))
    (entry,) = outbox(client, state="failed")["items"]
    resp = client.post("/admin/outbox/retry", json={"ids": [entry["id"], "evt-typo@sub-nope"]})
    assert resp.status_code == 404, resp.get_json()
    body = resp.get_json()
    assert body["cause"] == "unknown_outbox_entry" and "evt-typo@sub-nope" in body["message"]
    assert "evt-typo@sub-nope" in body["errors"]["ids"][0]
    assert outbox(client, state="failed")["items"][0]["id"] == entry["id"]  # nothing was retried
    # the CLI says it too, with a failure exit code
    proc = karma(service_env, "outbox", "retry", "evt-typo")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "no outbox entry or event 'evt-typo'" in err.decode(), (out, err)
    proc = karma(service_env, "outbox", "retry", entry["event_id"])
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and out.decode().strip() == f"retried 1: {entry['id']} (due now)", err.decode()


def test_a_receiver_that_does_not_answer_costs_a_pass_one_timeout(client, world, subscribe):
    """A receiver timing out used to be tried for each of its entries in turn (a pass: entries × timeout,
    the queue worker and every other subscriber waiting behind it). Now one timeout marks it unreachable for
    the pass: its other entries are not sent and settle as failing the same way (an attempt used, so they
    still end `failed` on time); the other subscriber's entries are delivered."""
    slow, fast = Receiver(free_port()).start(), Receiver(free_port()).start()
    try:
        subscribe(slow.url, events=["applied"])
        subscribe(fast.url, events=["applied"])
        slow.delay = 3.0
        for n in range(3):
            assert client.post("/request-change", json=alias(f"w{n}.usekarma.dev")).get_json()["status"] == "applied"
        clock = Clock()
        policy = DeliveryPolicy(max_attempts=4, base_delay=10.0, max_delay=60.0, timeout=0.5)
        counts = deliver_pending(world, policy=policy, clock=clock)
        assert counts == {"claimed": 6, "delivered": 3, "retrying": 3, "failed": 0}, counts
        assert len(fast.ids()) == 3
        waiting = [e for e in outbox(client)["items"] if e["state"] == "retrying"]
        assert [e["attempts"] for e in waiting] == [1, 1, 1], waiting
        assert all(e["last_error"].startswith("TimeoutError") for e in waiting), waiting
        assert sum("not sent: http://127.0.0.1" in e["last_error"] for e in waiting) == 2
        assert len(slow.received) <= 1  # tried once (its answer, if any, came after the timeout)
        time.sleep(3.5)  # the one attempt the slow receiver holds ends; then it answers at once
        slow.delay = 0.0
        clock.now += 3600
        assert deliver_pending(world, policy=policy, clock=clock)["delivered"] == 3
        assert len(set(slow.ids())) == 3
    finally:
        slow.stop()
        fast.stop()


def test_counts_are_those_of_the_change_and_type_asked_for(client, world, receiver, subscribe):
    """`karma outbox list --change chg-…` printed the whole outbox's counts under that change's entries
    ("41 delivered, 1 failed" under an empty table for an unknown change): the counts now honour the change
    and type filters (not the state filter: the distribution stays visible)."""
    subscribe(receiver.url)
    first = client.post("/request-change", json=alias("c1.usekarma.dev")).get_json()
    client.post("/request-change", json=alias("c2.usekarma.dev"))
    mine = outbox(client, change_id=first["change_id"])
    assert len(mine["items"]) == 1 and mine["counts"] == {"pending": 1, "retrying": 0, "delivered": 0, "failed": 0}
    assert outbox(client, change_id="chg-000000000000")["counts"] == {
        "pending": 0,
        "retrying": 0,
        "delivered": 0,
        "failed": 0,
    }
    assert outbox(client, type="queued")["counts"]["pending"] == 0
    assert outbox(client, state="failed")["counts"]["pending"] == 2  # every state, whatever state is listed


def test_a_held_change_s_event_names_the_rules_that_held_it(client, world, receiver, subscribe):
    """A receiver posting "rejected" to a chat must say which rule refused it and why: the event carries
    the decisions that held the change (rule, effect, message, component), as the change's answer does."""
    subscribe(receiver.url, events=["rejected", "queued", "applied"])
    rejected = client.post(
        "/request-change",
        json={
            "component": "subnet/karma-dev-private-a",
            "proposed_change": {"cidr_block": "10.42.9.0/24"},
            "requested_by": "eve@usekarma.dev",
        },
    ).get_json()
    queued = client.post(
        "/request-change",
        json=alias(
            "staging.usekarma.dev", "beta.usekarma.dev", component="serverless-site/karma-staging", on_blocked="queue"
        ),
    ).get_json()
    client.post("/request-change", json=alias("www.usekarma.dev"))  # applied: nothing held it
    assert (rejected["status"], queued["status"]) == ("rejected", "queued")
    deliver_pending(world, policy=FAST)
    by_type = {r["json"]["type"]: r["json"]["data"] for r in receiver.received}

    def holding(result):
        return [
            {k: d[k] for k in ("rule_id", "effect", "message", "component")}
            for d in result["decisions"]
            if d["effect"] in ("reject", "block", "require_approval")
        ]

    assert by_type["rejected"]["blockers"] == holding(rejected) != []
    assert by_type["rejected"]["blockers_total"] == len(holding(rejected))
    assert by_type["queued"]["blockers"] == holding(queued) != []
    assert "blockers" not in by_type["applied"] and "blockers_total" not in by_type["applied"]


def test_a_failed_delivery_names_its_subscription_and_the_command_that_acts_on_it(
    client, world, receiver, subscribe, caplog
):
    """A 410 said "fix the URL or delete the subscription", a deleted one "subscription no longer exists",
    and the worker's `outbox delivery` log line named neither: an operator found the subscription in the
    entry's id. Each names it now, a 410 with the command (`karma subscriptions delete sub-…`)."""
    sub = subscribe(receiver.url)
    client.post("/request-change", json=alias("www.usekarma.dev"))
    receiver.status = 410
    with caplog.at_level("INFO", logger="karma.outbox"):
        assert deliver_pending(world, policy=FAST)["failed"] == 1
    (entry,) = outbox(client, state="failed")["items"]
    assert entry["last_error"] == (
        "HTTP 410: the receiver says this address is gone; not retried "
        f"(subscription {sub['id']}: delete it: karma subscriptions delete {sub['id']}, and subscribe the right URL)"
    )
    said = [r for r in caplog.records if r.getMessage() == "outbox delivery"]
    assert [r.subscription_id for r in said] == [sub["id"]]

    deleted = subscribe(receiver.url + "?deleted")
    client.post("/request-change", json=alias("b.usekarma.dev"))
    assert client.delete(f"/admin/subscriptions/{deleted['id']}").status_code == 200
    receiver.status = 200
    deliver_pending(world, policy=FAST)
    orphan = [e for e in outbox(client, state="failed")["items"] if e["subscription_id"] == deleted["id"]]
    assert [e["last_error"] for e in orphan] == [f"subscription {deleted['id']} no longer exists"]


def test_a_410_of_a_file_declared_subscription_says_to_fix_it_in_the_file(make_app, world, receiver, tmp_path):
    """A subscription declared in the notifications file cannot be deleted through the API (409): its 410
    says where it is fixed — the file, its id kept, so `karma outbox retry` sends the entry again."""
    path = tmp_path / "notifications.yaml"
    path.write_text(
        f"subscriptions:\n  - id: site-hook\n    url: {receiver.url}\n    secret: {SECRET}\n    events: [applied]\n"
    )
    client = make_app(notifications_file=path).test_client()
    client.post("/request-change", json=alias("www.usekarma.dev"))
    receiver.status = 410
    assert deliver_pending(world, policy=FAST)["failed"] == 1
    (entry,) = outbox(client, state="failed")["items"]
    assert entry["last_error"].endswith(
        "(subscription site-hook: fix its url in the notifications file, then karma outbox retry)"
    ), entry


def test_retry_skips_entries_whose_subscription_was_deleted(client, world, receiver, subscribe, service_env):
    """An entry whose subscription is gone fails again at once ("subscription no longer exists"): a retry
    (every failed one, or named) skips it and says why, in the answer and in the CLI's words."""
    kept, gone = subscribe(receiver.url), subscribe(receiver.url + "?gone")
    client.post("/request-change", json=alias("www.usekarma.dev"))
    receiver.status = 500
    deliver_pending(world, policy=DeliveryPolicy(max_attempts=1))
    failed = {e["subscription_id"]: e["id"] for e in outbox(client, state="failed")["items"]}
    assert set(failed) == {kept["id"], gone["id"]}
    assert client.delete(f"/admin/subscriptions/{gone['id']}").status_code == 200
    skipped = [{"id": failed[gone["id"]], "state": "failed", "reason": "subscription_deleted"}]
    skipped[0]["subscription_id"] = gone["id"]
    named = client.post("/admin/outbox/retry", json={"ids": [failed[gone["id"]]]}).get_json()
    assert named == {"retried": [], "skipped": skipped}
    proc = karma(service_env, "outbox", "retry", "--all-failed")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert out.decode().splitlines() == [
        f"retried 1: {failed[kept['id']]} (due now)",
        f"not retried {failed[gone['id']]}: its subscription {gone['id']} was deleted (it would fail again at once)",
    ]
    assert outbox(client, state="failed")["counts"]["failed"] == 1  # the orphan stays failed, untouched
    receiver.status = 200
    assert deliver_pending(world, policy=FAST) == {"claimed": 1, "delivered": 1, "retrying": 0, "failed": 0}


def test_a_subscription_to_an_unknown_environment_is_kept_with_a_warning(client, world, receiver, subscribe):
    """Changes create environments, so naming one with no component yet is allowed; but a typo ('prd')
    would receive nothing, silently: the answer warns, naming each unknown environment."""
    made = subscribe(receiver.url, environments=["dev", "prd", "qa"])
    assert made["environments"] == ["dev", "prd", "qa"]
    assert [w.split(" has ")[0] for w in made["warnings"]] == ["environment 'prd'", "environment 'qa'"]
    assert "warnings" not in subscribe(receiver.url, environments=["dev"])
    assert "warnings" not in subscribe(receiver.url)  # every environment
    listed = client.get("/admin/subscriptions").get_json()["subscriptions"]
    assert made["id"] in [s["id"] for s in listed]  # kept


def test_a_file_subscription_to_an_unknown_environment_is_warned_of_at_sync_and_in_the_listing(
    world, tmp_path, make_app, caplog
):
    """A notifications-file subscription naming 'prd' (a typo: no component lives there) was synced in
    silence, while the API's create answers a warning: the sync now logs the same warning, and the listing
    (`GET /admin/subscriptions`, `karma subscriptions list`) carries it, for every source — one check."""
    from app.client import text
    from app.notifications.subscriptions import SubscriptionService

    path = tmp_path / "notifications.yaml"
    path.write_text(
        "subscriptions:\n  - id: approvers\n    url: https://hooks.example/karma\n"
        "    secret: a-file-secret-0123456789\n    events: [pending_approval]\n    environments: [dev, prd]\n"
        "  - id: everywhere\n    url: https://hooks.example/all\n"
        "    secret: a-file-secret-0123456789\n    events: [applied]\n"
    )
    with caplog.at_level("WARNING", logger="karma.notifications"):
        assert SubscriptionService(world, path).sync_file() == 2
    said = [(r.getMessage(), r.subscription_id, r.warning) for r in caplog.records if r.name == "karma.notifications"]
    assert [(m, sid, w.split(" has ")[0]) for m, sid, w in said] == [
        ("file subscription names an environment with no components", "approvers", "environment 'prd'")
    ]
    subs = make_app(notifications_file=path).test_client().get("/admin/subscriptions").get_json()["subscriptions"]
    warnings = {s["id"]: s.get("warnings") for s in subs}
    assert warnings["everywhere"] is None and [w.split(" has ")[0] for w in warnings["approvers"]] == [
        "environment 'prd'"
    ]
    assert f"warning: approvers: {warnings['approvers'][0]}" in text.subscriptions(subs).splitlines()


def test_a_queued_change_that_became_invalid_is_rejected_with_its_field_errors(client, world, receiver, subscribe):
    """A queued change rejected later because it can no longer apply said why only in `note`: its
    `rejected` event had no blockers (a rule-held change's has) and nothing structured. It now carries
    `refusal` — the error the gate answered when it re-ran it, its field errors in the one path format — in
    the event and in GET /changes/<id>."""
    subscribe(receiver.url, events=["rejected"])
    spare = {"op": "create", "component": "route53-zone/karma-spare", "environment": "dev"}
    made = client.post(
        "/request-change",
        json={
            "changes": [{**spare, "config": {"zone_name": "spare.usekarma.dev."}}],
            "requested_by": "eve@usekarma.dev",
        },
    ).get_json()
    assert made["status"] == "applied", made
    queued = client.post(
        "/request-change",
        json={
            "component": "serverless-site/karma-staging",
            "proposed_change": {"cloudfront_aliases": ["beta.usekarma.dev"], "route53_zone_nickname": "karma-spare"},
            "requested_by": "ted@strall.com",
            "on_blocked": "queue",
        },
    ).get_json()
    assert queued["status"] == "queued", queued
    gone = client.post(
        "/request-change",
        json={
            "changes": [{"op": "delete", "component": "route53-zone/karma-spare"}],
            "requested_by": "eve@usekarma.dev",
        },
    ).get_json()
    assert gone["status"] == "applied", gone
    runtime = {"runtime": {"distribution_id": "E2STAGING01", "domain_name": "d9staging.cloudfront.net"}}
    report = client.put("/components/cloudfront-distribution/karma-staging/runtime", json=runtime).get_json()
    assert [q["status"] for q in report["queue"]] == ["rejected"], report
    field = "proposed_change.route53_zone_nickname"  # named as the request named it: a single change
    said = "references unknown component 'route53-zone/karma-spare'"
    change = client.get(f"/changes/{queued['change_id']}").get_json()
    assert change["status"] == "rejected" and change["note"] == "the change is not valid"
    assert change["refusal"] == {
        "code": 422,
        "status": "Unprocessable Entity",
        "error": "validation_failed",
        "message": "the change is not valid",
        "errors": {field: [said]},
        "component": "serverless-site/karma-staging",
    }
    assert report["queue"][0]["refusal"] == change["refusal"]  # the runtime report's queue pass says it too
    deliver_pending(world, policy=FAST)
    (event,) = [r["json"]["data"] for r in receiver.received if r["json"]["type"] == "rejected"]
    assert event["refusal"] == {**change["refusal"], "errors_total": 1} and "blockers" not in event


def _admin_entries(client, status):
    resp = client.get("/log", query_string={"status": status, "page_size": 100})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["items"]


def test_every_admin_action_is_audited_with_who_did_it(client, world, receiver, subscribe, service_env):
    """Tokens, subscriptions and the outbox decide who may act and who is told: each action on them is an
    AuditEntry (kind admin) naming who did it and what it acted on — the API's by their token, the CLI's
    as `cli:<os user>` — and never the subscription's URL, which can carry a secret."""
    proc = karma(service_env, "tokens", "create", "--name", "dora@strall.com", "--role", "viewer", "--json")
    made = json.loads(proc.communicate(timeout=60)[0])
    proc = karma(service_env, "tokens", "revoke", made["id"], "--json")
    assert json.loads(proc.communicate(timeout=60)[0]) == {"revoked": [made["id"]]}
    (created,) = [e for e in _admin_entries(client, "token_created") if e["subjects"] == [made["id"]]]
    (revoked,) = _admin_entries(client, "token_revoked")
    assert created["kind"] == revoked["kind"] == "admin"
    assert created["requested_by"].startswith("cli:") and revoked["requested_by"] == created["requested_by"]
    assert "dora@strall.com as viewer" in created["note"] and revoked["subjects"] == [made["id"]]

    sub = subscribe(receiver.url + "/hook?key=secret-in-the-url")
    assert client.delete(f"/admin/subscriptions/{sub['id']}").get_json() == {"deleted": sub["id"]}
    (sub_made,) = _admin_entries(client, "subscription_created")
    (sub_gone,) = _admin_entries(client, "subscription_deleted")
    assert sub_made["subjects"] == sub_gone["subjects"] == [sub["id"]]
    assert sub_made["requested_by"] == sub_gone["requested_by"] == "admin@usekarma.dev"
    assert sub_made["token_id"].startswith("tok-") and "secret-in-the-url" not in json.dumps(sub_made)

    subscribe(receiver.url)
    client.post("/request-change", json=alias("www.usekarma.dev"))
    receiver.status = 500
    deliver_pending(world, policy=DeliveryPolicy(max_attempts=1, timeout=2.0))
    (entry,) = outbox(client, state="failed")["items"]
    assert client.post("/admin/outbox/retry", json={"ids": [entry["id"]]}).get_json() == {"retried": [entry["id"]]}
    (retried,) = _admin_entries(client, "outbox_retried")
    assert retried["subjects"] == [entry["id"]] and retried["requested_by"] == "admin@usekarma.dev"
    receiver.status = 200
    deliver_pending(world, policy=FAST)
    assert client.application.extensions["karma"].outbox.prune(older_than_days=0, by="cli:ops") == {"deleted": 1}
    (pruned,) = _admin_entries(client, "outbox_pruned")
    assert pruned["count"] == 1 and pruned["requested_by"] == "cli:ops"
    # a retry or a prune that did nothing records nothing
    client.post("/admin/outbox/retry", json={"all_failed": True})
    client.application.extensions["karma"].outbox.prune(older_than_days=0, by="cli:ops")
    assert len(_admin_entries(client, "outbox_retried")) == len(_admin_entries(client, "outbox_pruned")) == 1


def test_an_admin_action_whose_audit_entry_fails_is_not_done(client, world, monkeypatch):
    """The action and its AuditEntry are one transaction: an entry Neo4j refuses leaves no subscription."""
    from app.notifications import subscriptions

    real = subscriptions.admin_entry
    monkeypatch.setattr(subscriptions, "admin_entry", lambda **kw: {**real(**kw), "bad": {"a map": "refused"}})
    before = client.get("/admin/subscriptions").get_json()["subscriptions"]
    resp = client.post(
        "/admin/subscriptions", json={"url": "https://hooks.example.com/k", "secret": SECRET, "events": ["applied"]}
    )
    assert resp.status_code >= 500, resp.get_json()
    assert client.get("/admin/subscriptions").get_json()["subscriptions"] == before


def test_a_receiver_that_answers_410_gone_fails_the_entry_at_once(client, world, receiver, subscribe):
    """410 says the address is gone for good: the entry is `failed` after that one attempt, saying why,
    instead of being retried for half an hour; any other error status is still retried."""
    subscribe(receiver.url)
    client.post("/request-change", json=alias("www.usekarma.dev"))
    receiver.status = 410
    assert deliver_pending(world, policy=FAST)["failed"] == 1
    (entry,) = outbox(client, state="failed")["items"]
    assert entry["attempts"] == 1 and entry["last_error"].startswith("HTTP 410: the receiver says this address is gone")
    receiver.status = 404
    client.post("/admin/outbox/retry", json={"all_failed": True})
    assert deliver_pending(world, policy=FAST)["retrying"] == 1


def test_a_created_subscription_says_where_it_is(client, world):
    """201 Created names the created resource (Location; RFC 9110 15.3.2), as the OpenAPI document declares:
    the 201 had none, and a client had to build the path from the body's id."""
    body = {"url": "https://hooks.example.com/karma", "secret": SECRET, "events": ["applied"]}
    resp = client.post("/admin/subscriptions", json=body)
    assert resp.status_code == 201, resp.get_json()
    assert resp.headers["Location"] == f"/admin/subscriptions/{resp.get_json()['id']}"
    assert client.delete(resp.headers["Location"]).status_code == 200
    spec = client.get("/openapi.json").get_json()
    assert "Location" in spec["paths"]["/admin/subscriptions"]["post"]["responses"]["201"]["headers"]
