"""Change sets over HTTP against the real Neo4j: create / update / delete, several components at once,
ordered for safety, judged in order, committed as one (issue 10)."""

from __future__ import annotations

import json

import pytest

from karma_tools.bench.roundtrips import RoundTrips

WHO = "ted@strall.com"
NEW_SUBNET = {
    "op": "create",
    "component": "subnet/karma-dev-private-c",
    "environment": "dev",
    "config": {"vpc_nickname": "karma-dev", "cidr_block": "10.42.3.0/24", "availability_zone": "us-east-1c"},
}
NEW_INSTANCE = {
    "op": "create",
    "component": "ec2-instance/karma-dev-worker",
    "environment": "dev",
    "config": {"subnet_nickname": "karma-dev-private-c", "instance_type": "t3.micro", "ami": "ami-0c02fb55956c7d316"},
}
# the lambda moves off the openapi spec (and so off bucket karma-shared) onto another bucket
MOVE_LAMBDA = {
    "op": "update",
    "component": "lambda/karma-graph-query",
    "proposed_change": {"openapi_nickname": None, "s3_bucket_nickname": "karma-clickhouse-dev"},
}
DROP_BUCKET_REF = {"op": "update", "component": "openapi/karma-api", "proposed_change": {"s3_bucket_nickname": None}}


def send(client, changes, path="/request-change", **extra):
    resp = client.post(path, json={"changes": changes, "requested_by": WHO, "reason": "test", **extra})
    return resp.status_code, resp.get_json()


def component(client, cid):
    resp = client.get(f"/components/{cid}")
    return resp.get_json() if resp.status_code == 200 else None


def test_create_alone(client):
    code, body = send(client, [NEW_SUBNET])
    assert code == 200 and body["status"] == "applied", body
    op = body["operations"][0]
    assert op["op"] == "create" and op["config"] == NEW_SUBNET["config"] and op["version"]["after"] == 1
    assert op["facts"]["op"] == "create" and op["facts"]["set_size"] == 1
    created = component(client, "subnet/karma-dev-private-c")
    assert created["version"] == 1 and created["runtime"] == {} and created["environment"] == "dev"
    assert [d["id"] for d in created["dependencies"]] == ["vpc/karma-dev"]
    entry = client.get(f"/log/{body['log_entry_id']}").get_json()
    assert entry["status"] == "applied" and entry["requested_by"] == WHO
    # a create of an existing id is a 409
    code, again = send(client, [NEW_SUBNET])
    assert code == 409 and again["cause"] == "component_exists"


def test_update_alone_in_a_set_and_the_single_body_unchanged(client):
    code, body = send(
        client,
        [
            {
                "op": "update",
                "component": "serverless-site/karma-dev",
                "proposed_change": {"cloudfront_aliases": ["www.usekarma.dev"]},
            }
        ],
    )
    assert code == 200 and body["status"] == "applied", body
    assert set(body["affected_components"]) == {"route53-zone/karma-dev", "cloudfront-distribution/karma-dev"}
    assert body["operations"][0]["diff"][0]["key"] == "cloudfront_aliases"
    assert component(client, "serverless-site/karma-dev")["version"] == 2
    single = client.post(
        "/request-change",
        json={
            "component": "serverless-site/karma-dev",
            "proposed_change": {"cloudfront_aliases": ["a.usekarma.dev"]},
            "requested_by": WHO,
        },
    ).get_json()
    assert single["status"] == "applied" and single["diff"][0]["key"] == "cloudfront_aliases"
    # the single form's fields at the top level (a one-update set: its operation is listed too)
    assert single["set_size"] == 1 and single["version"] == {"current": 2, "after": 3}


def test_delete_alone_keeps_history_readable(client):
    assert send(client, [NEW_SUBNET])[0] == 200
    code, body = send(client, [{"op": "delete", "component": "subnet/karma-dev-private-c", "expected_version": 1}])
    assert code == 200 and body["status"] == "applied", body
    deleted = body["operations"][0]["deleted"]
    assert deleted["config"] == NEW_SUBNET["config"] and deleted["version"] == 1
    assert component(client, "subnet/karma-dev-private-c") is None
    versions = client.get("/components/subnet/karma-dev-private-c/versions").get_json()["versions"]
    assert [(v["version"], v["cause"]) for v in versions] == [(2, "delete"), (1, "create")]
    assert versions[0]["config"] == NEW_SUBNET["config"] and versions[0]["runtime"] == {}
    assert client.get("/components/subnet/karma-dev-never/versions").status_code == 404
    entry = client.get(f"/log/{body['log_entry_id']}").get_json()
    assert entry["status"] == "applied"
    assert entry["operations"][0]["deleted"]["config"] == NEW_SUBNET["config"]  # readable after the delete
    # the id is free again; its history continues
    code, again = send(client, [NEW_SUBNET])
    assert code == 200 and component(client, "subnet/karma-dev-private-c")["version"] == 3


def test_a_deleted_component_keeps_no_drift_of_its_own(client, driver):
    """Its drift properties are the drift of a component the graph no longer has: nothing reads them on a
    :DeletedComponent (the drift view, the metrics and the rules read :Component only; a rollback re-creates
    it from the delete's snapshot), so the delete drops them with its edges and its orphan record."""
    assert send(client, [NEW_SUBNET])[0] == 200
    cid = NEW_SUBNET["component"]
    resp = client.put(f"/components/{cid}/runtime", json={"runtime": {"cidr_block": "10.42.99.0/24"}})
    assert resp.status_code == 200, resp.get_json()
    assert [e["kind"] for e in client.get(f"/drift?component={cid}").get_json()["entries"]] == ["runtime"]
    code, body = send(client, [{"op": "delete", "component": cid}])
    assert code == 200 and body["status"] == "applied", body
    records, _, _ = driver.execute_query("MATCH (d:DeletedComponent {id: $id}) RETURN properties(d) AS p", id=cid)
    assert len(records) == 1
    kept = records[0]["p"]
    assert not {"drift", "drifting", "drift_entries"} & set(kept), kept
    assert json.loads(kept["runtime"]) == {"cidr_block": "10.42.99.0/24"}  # its last runtime stays
    assert client.get("/drift").get_json()["total"] == 0


def test_mixed_set_is_ordered_providers_first_and_applies_as_one(client):
    update = {
        "op": "update",
        "component": "serverless-site/karma-dev",
        "proposed_change": {"cloudfront_aliases": ["www.usekarma.dev"]},
    }
    code, body = send(client, [NEW_INSTANCE, update, NEW_SUBNET])  # the instance names the new subnet
    assert code == 200 and body["status"] == "applied", body
    assert body["order"] == [
        "serverless-site/karma-dev",
        "subnet/karma-dev-private-c",
        "ec2-instance/karma-dev-worker",
    ] or body["order"].index("subnet/karma-dev-private-c") < body["order"].index("ec2-instance/karma-dev-worker")
    assert [o["index"] for o in body["operations"]] == [0, 1, 2]
    worker = component(client, "ec2-instance/karma-dev-worker")
    assert [d["id"] for d in worker["dependencies"]] == ["subnet/karma-dev-private-c"]
    waves = {i["component"]: i for w in body["actions"]["waves"] for i in w}
    assert waves["subnet/karma-dev-private-c"]["wave"] < waves["ec2-instance/karma-dev-worker"]["wave"]
    assert waves["ec2-instance/karma-dev-worker"]["action"] == "create"
    # one audit entry for the set, linked to every touched and affected component
    entry = client.get(f"/log/{body['log_entry_id']}").get_json()
    assert entry["set_size"] == 3 and set(entry["affected"]) == set(body["affected_components"])
    change = client.get(f"/changes/{body['change_id']}").get_json()
    assert change["status"] == "applied" and len(change["trail"]) == 1


def test_the_bucket_move_passes_in_one_set_while_the_removal_alone_is_blocked(client):
    code, alone = send(client, [DROP_BUCKET_REF], path="/plan")
    assert code == 200 and alone["status"] == "planned"
    assert [b["rule_id"] for b in alone["blockers"]] == ["shared-bucket-reference-in-use"]
    code, body = send(client, [MOVE_LAMBDA, DROP_BUCKET_REF])
    assert code == 200 and body["status"] == "applied", body
    second = body["operations"][1]
    assert second["decisions"] == [] and "lambda/karma-graph-query" not in second["affected_components"]
    assert component(client, "openapi/karma-api")["config"].get("s3_bucket_nickname") is None
    # alone, the first operation's facts say what the rules saw
    assert body["operations"][0]["facts"]["set_components"] == ["lambda/karma-graph-query", "openapi/karma-api"]


def test_a_delete_still_referenced_is_refused_naming_each_referrer(client, graph_dump):
    before = graph_dump()
    code, body = send(client, [{"op": "delete", "component": "s3-bucket/karma-shared"}])
    assert code == 409 and body["cause"] == "still_referenced", body
    assert body["referrers"] == [
        {"component": "s3-bucket/karma-shared", "referrer": "openapi/karma-api", "key": "s3_bucket_nickname"}
    ]
    assert graph_dump() == before
    # with its referrer (and the lambda behind it) moved in the same set, it goes
    code, body = send(client, [MOVE_LAMBDA, DROP_BUCKET_REF, {"op": "delete", "component": "s3-bucket/karma-shared"}])
    assert code == 200 and body["status"] == "applied", body
    assert body["order"][-1] == "s3-bucket/karma-shared"
    assert component(client, "s3-bucket/karma-shared") is None


EXPLICIT = {"op": "add_edge", "component": "lambda/karma-api", "target": "s3-bucket/karma-shared", "kind": "depends_on"}


def test_explicit_edges_are_added_and_removed_as_operations(client):
    code, body = send(client, [EXPLICIT])
    assert code == 200 and body["status"] == "applied", body
    assert body["operations"][0]["edge"] == {
        **{k: EXPLICIT[k] for k in ("kind",)},
        "source": "lambda/karma-api",
        "target": "s3-bucket/karma-shared",
        "via": "seed",
    }
    lam = component(client, "lambda/karma-api")
    assert {"id": "s3-bucket/karma-shared", "kind": "depends_on", "via": "seed"} in lam["dependencies"]
    # an edge writes no config version: the audit says the component's version did not move
    entry = client.get(f"/log/{body['log_entry_id']}").get_json()
    assert entry["version_before"] == entry["version_after"] == lam["version"], entry
    assert send(client, [EXPLICIT])[1]["cause"] == "edge_exists"
    # the edge is a dependency like any other: the bucket's impact now reaches the lambda
    impact = client.get("/components/s3-bucket/karma-shared/impact").get_json()
    assert "lambda/karma-api" in [a["id"] for a in impact["affected"]]
    undo = client.post(f"/changes/{body['change_id']}/rollback", json={"requested_by": WHO}).get_json()
    assert undo["status"] == "applied" and undo["operations"][0]["op"] == "remove_edge", undo
    assert {"id": "s3-bucket/karma-shared", "kind": "depends_on", "via": "seed"} not in component(
        client, "lambda/karma-api"
    )["dependencies"]
    code, body = send(client, [{**EXPLICIT, "op": "remove_edge"}])
    assert code == 404 and body["cause"] == "unknown_edge"
    code, body = send(client, [{**EXPLICIT, "target": "s3-bucket/karma-prod-nope"}])
    assert code == 404
    code, body = send(client, [{**EXPLICIT, "config": {}}])
    assert code == 422 and "config" in str(body["errors"])


def test_deleting_a_bucket_a_lambda_still_uses_is_blocked(client):
    # an explicit edge (no config key): no dangling reference, but the lambda depends on the bucket
    assert send(client, [EXPLICIT])[1]["status"] == "applied"
    assert send(client, [DROP_BUCKET_REF])[1]["status"] == "rejected"  # the lambda behind the spec
    code, body = send(client, [MOVE_LAMBDA, DROP_BUCKET_REF, {"op": "delete", "component": "s3-bucket/karma-shared"}])
    assert code == 200 and body["status"] == "rejected", body
    assert [b["rule_id"] for b in body["blockers"]] == ["bucket-delete-in-use"]
    assert "lambda/karma-api" in body["operations"][2]["affected_components"]
    assert component(client, "s3-bucket/karma-shared") is not None
    assert component(client, "lambda/karma-graph-query")["config"]["openapi_nickname"] == "karma-api"


@pytest.mark.parametrize(
    "changes,field",
    [
        ([], "changes"),
        ([{"op": "rename", "component": "vpc/karma-dev"}], "changes[0].op"),
        (
            [{"op": "delete", "component": "vpc/karma-dev"}, {"op": "delete", "component": "vpc/karma-dev"}],
            "changes[1].component",
        ),
        ([{"op": "update", "component": "vpc/karma-dev"}], "changes[0].proposed_change"),
        ([{**NEW_SUBNET, "runtime": {"subnet_id": "x"}}], "changes[0].runtime"),
        (
            [{**NEW_SUBNET, "config": {**NEW_SUBNET["config"], "vpc_nickname": "nope"}}],
            "changes[0].config.vpc_nickname",
        ),
        ([{**NEW_SUBNET, "environment": "prod"}], "changes[0].config.vpc_nickname"),
        (
            [{"op": "add_edge", "component": "lambda/karma-api", "target": "s3-bucket/karma-shared", "kind": "likes"}],
            "changes[0].kind",
        ),
        (
            [
                {
                    "op": "add_edge",
                    "component": "lambda/karma-api",
                    "target": "s3-bucket/karma-shared",
                    "kind": "depends_on",
                },
                {
                    "op": "add_edge",
                    "component": "lambda/karma-api",
                    "target": "s3-bucket/karma-shared",
                    "kind": "depends_on",
                },
            ],
            "changes[1].component",
        ),
    ],
)
def test_invalid_sets_are_422_and_write_nothing(client, graph_dump, changes, field):
    before = graph_dump()
    code, body = send(client, changes)
    assert code == 422, body
    # one path format for the schema's nested errors and the gate's own: `changes[N].a.b`, never nested
    assert field in body["errors"], body["errors"]
    assert all(isinstance(v, list) for v in body["errors"].values()), body["errors"]
    assert graph_dump() == before


def test_create_referencing_a_component_deleted_in_the_set_is_409(client):
    code, body = send(
        client,
        [
            {"op": "delete", "component": "ec2-instance/karma-dev-bastion"},
            {
                "op": "create",
                "component": "ec2-instance/karma-dev-bastion-2",
                "environment": "dev",
                "config": {
                    "subnet_nickname": "karma-dev-private-a",
                    "instance_type": "t3.micro",
                    "ami": "ami-0c02fb55956c7d316",
                },
            },
        ],
    )
    assert code == 200 and body["status"] == "applied", body  # unrelated: fine
    code, body = send(
        client,
        [
            {"op": "delete", "component": "subnet/karma-dev-private-a"},
            {
                "op": "update",
                "component": "ec2-instance/karma-dev-bastion-2",
                "proposed_change": {"instance_type": "t3.small"},
            },
        ],
    )
    assert code == 409 and body["cause"] == "still_referenced"


def test_a_failure_after_the_last_operation_writes_nothing(app, client, graph_dump, monkeypatch):
    from app.graph.repository import GraphTx

    real = GraphTx.commit

    def commit_then_fail(self, params):
        real(self, params)  # every operation, edge, version, audit entry written ...
        raise RuntimeError("injected failure after the last operation")  # ... then the transaction fails

    before = graph_dump()
    monkeypatch.setattr(GraphTx, "commit", commit_then_fail)
    resp = client.post(
        "/request-change", json={"changes": [NEW_SUBNET, NEW_INSTANCE, MOVE_LAMBDA], "requested_by": WHO}
    )
    assert resp.status_code == 500 and resp.is_json
    assert graph_dump() == before


def test_plan_then_apply_and_stale_plans(client):
    code, plan = send(client, [NEW_SUBNET, MOVE_LAMBDA], path="/plan")
    assert code == 200 and plan["status"] == "planned" and plan["plan_id"]
    assert plan["log_entry_id"] is None and component(client, "subnet/karma-dev-private-c") is None
    applied = client.post(f"/plans/{plan['plan_id']}/apply").get_json()
    assert applied["status"] == "applied", applied
    assert component(client, "subnet/karma-dev-private-c")["version"] == 1
    # applying it again: the lambda moved since (and the subnet exists) → 409
    again = client.post(f"/plans/{plan['plan_id']}/apply")
    assert again.status_code == 409


def test_expected_version_per_operation(client):
    code, body = send(client, [{**MOVE_LAMBDA, "expected_version": 7}])
    assert code == 409 and body["cause"] == "stale_version" and body["component"] == "lambda/karma-graph-query"


def test_idempotency_key_replays_a_set(client):
    headers = {"Idempotency-Key": "set-key-1"}
    body = {"changes": [NEW_SUBNET], "requested_by": WHO}
    first = client.post("/request-change", json=body, headers=headers).get_json()
    second = client.post("/request-change", json=body, headers=headers).get_json()
    assert first["status"] == "applied" and second["idempotent_replay"] is True
    assert second["change_id"] == first["change_id"]
    other = client.post("/request-change", json={**body, "reason": "other"}, headers=headers)
    assert other.status_code == 422


def test_a_large_sets_stored_answer_names_its_components_once_and_is_replayed_as_it_was(client, driver, repo):
    # every operation's facts name the set's 500 components: a ~6 MB answer, stored with that list once
    changes = [
        {
            "op": "create",
            "component": f"subnet/karma-dev-big-{i}",
            "environment": "dev",
            "config": {"vpc_nickname": "karma-dev", "cidr_block": f"10.43.{i // 16}.{(i % 16) * 16}/28"},
        }
        for i in range(500)
    ]
    headers = {"Idempotency-Key": "set-key-large"}
    body = {"changes": changes, "requested_by": WHO}
    first = client.post("/request-change", json=body, headers=headers)
    assert first.status_code == 200 and first.get_json()["status"] == "applied", first.get_json()
    with driver.session() as session:
        stored = session.run(
            "MATCH (c:ChangeRequest {id: $id}) RETURN c.result AS r", id=first.get_json()["change_id"]
        ).single()["r"]
    # 7.6 MB answered, ~0.9 MB stored (under 1 MiB: not compressed), the 500 ids once, not 500 times
    assert len(first.data) > 4_000_000 and stored.startswith('{"answer":') and len(stored) < len(first.data) / 5
    assert stored.count('"subnet/karma-dev-big-499"') < 50  # its own places in the answer, not 500 operations' facts
    again = client.post("/request-change", json=body, headers=headers).get_json()
    # an error answer says which (CI once got one here: the retry read 500 × 256 siblings before replaying)
    assert again.pop("idempotent_replay", None) is True, {k: again.get(k) for k in ("error", "cause", "message")}
    assert again == first.get_json()
    shown = client.get(f"/changes/{first.get_json()['change_id']}")
    assert shown.status_code == 200 and shown.get_json()["status"] == "applied"
    assert repo.change(first.get_json()["change_id"])["result"] is None  # a change read leaves the answer out


@pytest.mark.parametrize("size", [1, 10, 100])
def test_round_trips_do_not_grow_with_the_set(client, size):
    changes = [
        {
            "op": "create",
            "component": f"subnet/karma-dev-rt-{i}",
            "environment": "dev",
            "config": {
                "vpc_nickname": "karma-dev",
                "cidr_block": f"10.42.{100 + i}.0/24",
                "availability_zone": "us-east-1a",
            },
        }
        for i in range(size)
    ]
    send(client, changes, path="/plan")  # warm: token cached, connection pooled
    with RoundTrips() as plan_trips:
        planned = send(client, changes, path="/plan")[1]
    with RoundTrips() as apply_trips:
        applied = send(client, changes)[1]
    assert planned["status"] == "planned" and applied["status"] == "applied", applied
    assert len(plan_trips.flushes) == 1 and len(apply_trips.flushes) <= 3, (plan_trips.flushes, apply_trips.flushes)


ALIAS = {
    "op": "update",
    "component": "serverless-site/karma-staging",
    "proposed_change": {"cloudfront_aliases": ["new.staging.usekarma.dev"]},
}


def test_a_blocked_set_waits_whole_and_applies_whole(client):
    # the staging distribution has not published its outputs yet: the alias update is blocked
    code, body = send(client, [NEW_SUBNET, ALIAS], on_blocked="queue")
    assert code == 200 and body["status"] == "queued", body
    assert component(client, "subnet/karma-dev-private-c") is None  # nothing of the set applied
    queue = client.get("/queue").get_json()
    assert [i["id"] for i in queue["items"]] == [body["change_id"]]
    assert client.post("/queue/process", json={}).get_json()["processed"][0]["status"] == "queued"
    dist = "cloudfront-distribution/karma-staging"
    resp = client.put(
        f"/components/{dist}/runtime",
        json={
            "runtime": {"distribution_id": "E2STAGING", "domain_name": "d2.cloudfront.net"},
            "reported_by": "deploy@x",
        },
    )
    assert resp.status_code == 200, resp.get_json()
    change = client.get(f"/changes/{body['change_id']}").get_json()
    assert change["status"] == "applied", change
    assert component(client, "subnet/karma-dev-private-c")["version"] == 1
    assert component(client, "serverless-site/karma-staging")["config"]["cloudfront_aliases"] == [
        "new.staging.usekarma.dev"
    ]


def test_a_queued_set_can_be_cancelled(client):
    body = send(client, [NEW_SUBNET, ALIAS], on_blocked="queue")[1]
    resp = client.delete(f"/changes/{body['change_id']}?requested_by={WHO}")
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled", resp.get_json()
    again = client.delete(f"/changes/{body['change_id']}?requested_by={WHO}")
    assert again.status_code == 409 and again.get_json()["cause"] == "change_cancelled"


def test_rollback_of_a_set_with_a_delete_recreates_it(client, driver):
    driver.execute_query(
        "MATCH (l:Component {id: 'lambda/karma-api'}), (b:Component {id: 's3-bucket/karma-shared'}) "
        "MERGE (b)-[:DEPENDS_ON {via: 'seed'}]->(l)"
    )  # an explicit edge the delete takes along
    old = component(client, "s3-bucket/karma-shared")
    code, body = send(
        client, [NEW_SUBNET, MOVE_LAMBDA, DROP_BUCKET_REF, {"op": "delete", "component": "s3-bucket/karma-shared"}]
    )
    assert code == 200 and body["status"] == "applied", body
    resp = client.post(f"/changes/{body['change_id']}/rollback", json={"requested_by": WHO, "reason": "undo"})
    assert resp.status_code == 200, resp.get_json()
    undo = resp.get_json()
    assert undo["status"] == "applied" and undo["rollback_of"] == body["change_id"], undo
    assert {o["op"] for o in undo["operations"]} == {"create", "update", "delete"}
    back = component(client, "s3-bucket/karma-shared")
    assert back["config"] == old["config"] and back["environment"] == "dev"
    assert [d["id"] for d in back["dependencies"]] == ["lambda/karma-api"], (
        body["operations"][3]["deleted"],
        undo["operations"][3]["edges_added"],
    )
    assert component(client, "subnet/karma-dev-private-c") is None
    assert component(client, "openapi/karma-api")["config"]["s3_bucket_nickname"] == "karma-shared"
    assert component(client, "lambda/karma-graph-query")["config"]["openapi_nickname"] == "karma-api"
    again = client.post(f"/changes/{body['change_id']}/rollback", json={"requested_by": WHO})
    assert again.status_code == 409


def test_a_set_needing_approval_waits_then_applies(client, app):
    tokens = app.extensions["karma"].tokens
    ted = {"Authorization": f"Bearer {tokens.create(WHO, 'requester')[0]}"}
    ann = {"Authorization": f"Bearer {tokens.create('ann@strall.com', 'approver')[0]}"}
    body = {
        "changes": [{"op": "update", "component": "vpc/karma-prod", "proposed_change": {"az_count": 3}}],
        "reason": "third AZ",
    }
    result = client.post("/request-change", json=body, headers=ted).get_json()
    assert result["status"] == "pending_approval", result
    assert client.post(f"/changes/{result['change_id']}/approve", json={}, headers=ted).status_code == 403
    approved = client.post(f"/changes/{result['change_id']}/approve", json={"comment": "ok"}, headers=ann)
    assert approved.status_code == 200 and approved.get_json()["status"] == "applied", approved.get_json()
    assert component(client, "vpc/karma-prod")["config"]["az_count"] == 3


def test_a_set_change_renders_in_the_console_and_as_a_picture(app, client):
    body = send(client, [NEW_SUBNET, MOVE_LAMBDA, DROP_BUCKET_REF])[1]
    assert body["status"] == "applied", body
    token = app.extensions["karma"].tokens.create("val@usekarma.dev", "viewer")[0]
    browser = app.test_client()
    browser.post("/console/login", data={"token": token})
    for page in ("/console/changes", f"/console/changes/{body['change_id']}"):
        resp = browser.get(page)
        assert resp.status_code == 200, page
    assert "s3_bucket_nickname" in browser.get(f"/console/changes/{body['change_id']}").get_data(as_text=True)
    svg = client.post("/plan?format=svg", json={"changes": [NEW_INSTANCE], "requested_by": WHO})
    assert svg.status_code == 200 and svg.get_data(as_text=True).lstrip().startswith("<")


def test_each_operation_sees_its_siblings_as_the_set_leaves_them(client):
    # a created subnet overlapping an existing one of its VPC: the same rule a single cidr change meets
    overlapping = {**NEW_SUBNET, "config": {**NEW_SUBNET["config"], "cidr_block": "10.42.1.128/25"}}
    code, body = send(client, [overlapping], path="/plan")
    assert code == 200 and [d["rule_id"] for d in body["blockers"]] == ["subnet-cidr-overlaps-sibling"], body
    assert "subnet/karma-dev-private-a" in body["decisions"][0]["message"]
    # two creates of one set overlapping each other: the second sees the first
    twin = {
        **NEW_SUBNET,
        "component": "subnet/karma-dev-private-d",
        "config": {**NEW_SUBNET["config"], "cidr_block": "10.42.3.0/25"},
    }
    code, body = send(client, [NEW_SUBNET, twin])
    assert code == 200 and body["status"] == "rejected", body
    assert [(d["rule_id"], d["operation"]) for d in body["decisions"]] == [("subnet-cidr-overlaps-sibling", 1)]
    assert component(client, "subnet/karma-dev-private-c") is None
    # the sibling it overlapped deleted earlier in the same set: it goes through
    code, body = send(
        client,
        [
            {"op": "delete", "component": "subnet/karma-dev-private-b"},
            {**NEW_SUBNET, "config": {**NEW_SUBNET["config"], "cidr_block": "10.42.2.0/24"}},
        ],
    )
    assert code == 200 and body["status"] == "applied", body


HOLD = """
rules:
  - id: hold-on-request
    description: hold what is asked to wait (a stand-in for any block a set of creates can meet)
    effect: block
    when:
      change: {reason: wait}
    message: "{change.component} waits, as asked"
"""


def test_queued_creates_wait_whole_and_a_change_on_a_deleted_component_leaves_the_queue(make_app, tmp_path):
    import shutil

    from app.settings import REPO_ROOT

    rules = tmp_path / "rules"
    shutil.copytree(REPO_ROOT / "rules", rules)
    (rules / "hold.yaml").write_text(HOLD)
    client = make_app(rules_dir=rules).test_client()
    # a set made only of creates: none of its components exists yet
    creates = send(client, [NEW_SUBNET, NEW_INSTANCE], on_blocked="queue", reason="wait")[1]
    assert creates["status"] == "queued", creates
    # a single change on a component that a set then deletes
    single = client.post(
        "/request-change",
        json={
            "component": "ec2-instance/karma-dev-bastion",
            "proposed_change": {"instance_type": "t3.small"},
            "requested_by": WHO,
            "reason": "wait",
            "on_blocked": "queue",
        },
    ).get_json()
    assert single["status"] == "queued", single
    gone = send(client, [{"op": "delete", "component": "ec2-instance/karma-dev-bastion"}])[1]
    assert gone["status"] == "applied", gone
    processed = {p["change_id"]: p for p in client.post("/queue/process", json={}).get_json()["processed"]}
    assert processed[creates["change_id"]]["status"] == "queued"  # evaluated, still held: waits whole
    assert processed[single["change_id"]]["status"] == "rejected"
    change = client.get(f"/changes/{single['change_id']}").get_json()
    assert change["status"] == "rejected" and [t["status"] for t in change["trail"]] == ["queued", "rejected"]
    assert "ec2-instance/karma-dev-bastion" in change["note"] and gone["change_id"] in change["note"], change
    entry = client.get(f"/log/{change['trail'][1]['id']}").get_json()
    assert entry["status"] == "rejected" and gone["change_id"] in entry["note"]
    assert [i["id"] for i in client.get("/queue").get_json()["items"]] == [creates["change_id"]]
    # the hold lifted: the whole set applies as one, from the queue
    (rules / "hold.yaml").unlink()
    assert client.post("/admin/rules/reload").get_json()["ok"] is True
    processed = client.post("/queue/process", json={}).get_json()["processed"]
    assert [(p["change_id"], p["status"]) for p in processed] == [(creates["change_id"], "applied")]
    assert component(client, "subnet/karma-dev-private-c")["version"] == 1
    assert [d["id"] for d in component(client, "ec2-instance/karma-dev-worker")["dependencies"]] == [
        "subnet/karma-dev-private-c"
    ]
    change = client.get(f"/changes/{creates['change_id']}").get_json()
    assert change["status"] == "applied" and [t["status"] for t in change["trail"]] == ["queued", "applied"]
    assert client.get("/queue").get_json()["items"] == []


def test_a_create_sees_the_siblings_of_an_environment_qualified_provider(client):
    """Where names collide across environments, components have qualified ids (`dev/vpc/x`); a create
    names its provider by nickname, and its rules still see the provider's other dependents."""
    vpc = {
        "op": "create",
        "component": "dev/vpc/karma-shared",
        "environment": "dev",
        "config": {"cidr": "10.60.0.0/16", "az_count": 2},
    }
    first = {
        "op": "create",
        "component": "dev/subnet/karma-shared-a",
        "environment": "dev",
        "config": {"vpc_nickname": "karma-shared", "cidr_block": "10.60.1.0/24", "availability_zone": "us-east-1a"},
    }
    code, body = send(client, [vpc, first])
    assert code == 200 and body["status"] == "applied", body
    overlapping = {
        "op": "create",
        "component": "subnet/karma-shared-b",
        "environment": "dev",
        "config": {"vpc_nickname": "karma-shared", "cidr_block": "10.60.1.128/25", "availability_zone": "us-east-1b"},
    }
    code, body = send(client, [overlapping], path="/plan")
    assert code == 200 and [d["rule_id"] for d in body["blockers"]] == ["subnet-cidr-overlaps-sibling"], body
    assert "dev/subnet/karma-shared-a" in body["decisions"][0]["message"]


def test_a_qualified_id_ending_in_a_path_word_is_422(client, graph_dump):
    before = graph_dump()
    vpc = {"op": "create", "component": "dev/vpc/impact", "environment": "dev", "config": {"cidr": "10.61.0.0/16"}}
    code, body = send(client, [vpc], path="/plan")
    assert code == 422, body
    assert "kept for the API's paths" in json.dumps(body), body
    assert graph_dump() == before
