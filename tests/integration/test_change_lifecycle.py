"""The change lifecycle over HTTP, against the real Neo4j: plan, request-change, rules, commit, audit."""

from __future__ import annotations

import pytest

SITE = "serverless-site/karma-dev"
EXAMPLE = {
    "component": SITE,
    "proposed_change": {"cloudfront_aliases": ["www.usekarma.dev"]},
    "requested_by": "ted@strall.com",
}


def post(client, path, body):
    resp = client.post(path, json=body)
    return resp.status_code, resp.get_json()


def test_the_seed_page_example_applies(client):
    code, body = post(client, "/request-change", EXAMPLE)
    assert code == 200, body
    assert body["status"] == "applied"
    assert set(body["affected_components"]) == {"route53-zone/karma-dev", "cloudfront-distribution/karma-dev"}
    assert len(body["affected_components"]) == 2
    assert body["warnings"] == []
    assert body["log_entry_id"].startswith("log-")
    entry = client.get(f"/log/{body['log_entry_id']}").get_json()
    assert entry["status"] == "applied" and entry["requested_by"] == "ted@strall.com"
    assert entry["component_id"] == SITE and set(entry["affected"]) == set(body["affected_components"])
    assert entry["diff"] == [  # every change's diff names its component (a single change is a set of one)
        {
            "component": SITE,
            "key": "cloudfront_aliases",
            "op": "changed",
            "old": ["dev.usekarma.dev"],
            "new": ["www.usekarma.dev"],
        }
    ]
    comp = client.get(f"/components/{SITE}").get_json()
    assert comp["config"]["cloudfront_aliases"] == ["www.usekarma.dev"] and comp["version"] == 2
    versions = client.get(f"/components/{SITE}/versions").get_json()["versions"]
    assert versions[1]["config"]["cloudfront_aliases"] == ["dev.usekarma.dev"]  # the old version is kept


# The seed page's formats (/work/shared/reference/coordinating-change-in-karma.txt, "Request Format" and
# "Result Format"), copied byte for byte in their field names: the request is sent exactly so, and the
# result carries exactly these fields first, in this order (today's extra fields follow).
SEED_PAGE_REQUEST = """{
  "component": "serverless-site/karma-dev",
  "proposed_change": {
    "cloudfront_aliases": ["www.usekarma.dev"]
  },
  "requested_by": "ted@strall.com"
}"""
SEED_PAGE_RESULT_FIELDS = ["status", "affected_components", "warnings", "log_entry_id"]


def test_the_seed_page_formats_hold_field_for_field(client):
    import json

    resp = client.post("/request-change", json=json.loads(SEED_PAGE_REQUEST))  # signed in as its requested_by
    assert resp.status_code == 200, resp.get_json()
    fields = list(json.loads(resp.get_data(as_text=True)))  # in the order the service wrote them
    assert fields[:4] == SEED_PAGE_RESULT_FIELDS
    body = resp.get_json()
    assert body["status"] == "applied" and body["warnings"] == [] and body["log_entry_id"].startswith("log-")
    assert sorted(body["affected_components"]) == ["cloudfront-distribution/karma-dev", "route53-zone/karma-dev"]


def test_result_explains_itself(client):
    _, body = post(client, "/plan", EXAMPLE)
    assert body["status"] == "planned" and body["log_entry_id"] is None
    assert body["diff"][0]["key"] == "cloudfront_aliases"
    waves = body["actions"]["waves"]
    assert waves[0] == [
        {
            "component": SITE,
            "type": "serverless-site",
            "action": "apply-config",
            "reason": "the requested change",
            "wave": 0,
        }
    ]
    later = {i["component"]: i for w in waves[1:] for i in w}
    assert later["cloudfront-distribution/karma-dev"]["action"] == "redeploy"
    assert later["route53-zone/karma-dev"]["action"] == "reload"
    # the zone reads the distribution's domain name: the distribution goes first
    assert later["cloudfront-distribution/karma-dev"]["wave"] < later["route53-zone/karma-dev"]["wave"]
    stmt = body["graph_patch"]["statements"][0]
    assert stmt["name"] == "commit_change" and "UNWIND $updates AS op" in stmt["cypher"]
    (update,) = stmt["parameters"]["updates"]
    # the changed key, and the component's drift as the change leaves it (none: null removes the properties)
    assert update["props"] == {
        "cfg_cloudfront_aliases": ["www.usekarma.dev"],
        "drift": None,
        "drift_entries": None,
        "drifting": None,
    }
    assert update["version"] == 2
    assert {r["id"]: r["depth"] for r in body["impact"]} == {
        "cloudfront-distribution/karma-dev": 1,
        "route53-zone/karma-dev": 1,
    }


def test_plan_writes_nothing(client, graph_dump):
    before = graph_dump()
    for body in [
        EXAMPLE,
        {
            "component": "subnet/karma-dev-private-a",
            "proposed_change": {"cidr_block": "10.42.9.0/24"},
            "requested_by": "ops@usekarma.dev",
        },
        {
            "component": "openapi/karma-api",
            "proposed_change": {"s3_bucket_nickname": None},
            "requested_by": "ops@usekarma.dev",
            "on_blocked": "queue",
        },
    ]:
        code, result = post(client, "/plan", body)
        assert code == 200 and result["status"] == "planned", result
    assert graph_dump() == before


def decisions_for(body, effect):
    return [d for d in body["decisions"] if d["effect"] == effect]


def test_subnet_change_rejected_while_instance_runs_then_applies_when_stopped(client):
    change = {
        "component": "subnet/karma-dev-private-a",
        "proposed_change": {"cidr_block": "10.42.9.0/24"},
        "requested_by": "ops@usekarma.dev",
    }
    _, planned = post(client, "/plan", change)
    assert [d["component"] for d in decisions_for(planned, "reject")] == ["ec2-instance/karma-dev-bastion"]
    code, body = post(client, "/request-change", change)
    assert code == 200 and body["status"] == "rejected"
    reject = decisions_for(body, "reject")[0]
    assert reject["component"] == "ec2-instance/karma-dev-bastion"
    assert reject["path"] == ["subnet/karma-dev-private-a", "ec2-instance/karma-dev-bastion"]
    assert "karma-dev-bastion" in reject["message"]
    assert client.get("/components/subnet/karma-dev-private-a").get_json()["config"]["cidr_block"] == "10.42.1.0/24"
    assert client.get(f"/log/{body['log_entry_id']}").get_json()["status"] == "rejected"

    resp = client.put(
        "/components/ec2-instance/karma-dev-bastion/runtime",
        json={"runtime": {"instance_id": "i-0a42b45710000001", "state": "stopped"}, "reported_by": "deploy-pipeline"},
    )
    assert resp.status_code == 200
    code, body = post(client, "/request-change", change)
    assert body["status"] == "applied", body
    assert client.get("/components/subnet/karma-dev-private-a").get_json()["config"]["cidr_block"] == "10.42.9.0/24"


def test_alias_update_waits_for_distribution_outputs(client):
    change = {
        "component": "serverless-site/karma-staging",
        "proposed_change": {"cloudfront_aliases": ["staging.usekarma.dev", "beta.usekarma.dev"]},
        "requested_by": "ted@strall.com",
    }
    _, body = post(client, "/request-change", change)
    assert body["status"] == "rejected"
    blocks = decisions_for(body, "block")
    assert [d["component"] for d in blocks] == ["cloudfront-distribution/karma-staging"]
    _, body = post(client, "/request-change", {**change, "on_blocked": "queue"})
    assert body["status"] == "queued" and body["change_id"]
    assert body["blockers"][0]["component"] == "cloudfront-distribution/karma-staging"
    queued = client.get("/log?status=queued").get_json()["items"]
    assert [e["id"] for e in queued] == [body["log_entry_id"]]
    cfg = client.get("/components/serverless-site/karma-staging").get_json()["config"]
    assert cfg["cloudfront_aliases"] == ["staging.usekarma.dev"]


def test_removing_shared_bucket_reference_is_blocked_naming_the_lambda(client):
    change = {
        "component": "openapi/karma-api",
        "proposed_change": {"s3_bucket_nickname": None},
        "requested_by": "ops@usekarma.dev",
    }
    _, body = post(client, "/request-change", change)
    assert body["status"] == "rejected"
    blocks = decisions_for(body, "block")
    assert "lambda/karma-graph-query" in [d["component"] for d in blocks]
    assert any("lambda/karma-graph-query" in d["message"] for d in blocks)
    assert body["graph_patch"]["edges_removed"] == [
        {
            "source": "openapi/karma-api",
            "target": "s3-bucket/karma-shared",
            "kind": "depends_on",
            "via": "s3_bucket_nickname",
        }
    ]
    deps = client.get("/components/openapi/karma-api").get_json()["dependencies"]
    assert [d["id"] for d in deps] == ["s3-bucket/karma-shared"]  # edge still there


def test_prod_changes_need_a_reason(client):
    change = {
        "component": "cloudfront-distribution/strall-com",
        "proposed_change": {"price_class": "PriceClass_All"},
        "requested_by": "ted@strall.com",
    }
    _, body = post(client, "/request-change", change)
    assert body["status"] == "rejected"
    assert decisions_for(body, "reject") + decisions_for(body, "block")
    _, body = post(client, "/request-change", {**change, "reason": "serve South America from local edges"})
    assert body["status"] == "applied", body


def test_runtime_contract_violation_is_reported(client):
    change = {
        "component": "vpc/karma-dev",
        "proposed_change": {"single_nat_gateway": False},
        "requested_by": "ops@usekarma.dev",
    }
    _, body = post(client, "/plan", change)
    flagged = [d for d in body["decisions"] if d["component"] == "ecs-service/karma-dev-ingest"]
    assert flagged and "default_security_group_id" in flagged[0]["message"]


def test_actions_order_providers_before_consumers(client):
    _, body = post(
        client,
        "/plan",
        {"component": "vpc/karma-dev", "proposed_change": {"az_count": 3}, "requested_by": "ops@usekarma.dev"},
    )
    wave_of = {i["component"]: i["wave"] for w in body["actions"]["waves"] for i in w}
    assert wave_of["vpc/karma-dev"] == 0
    assert wave_of["subnet/karma-dev-private-a"] < wave_of["ec2-instance/karma-dev-bastion"]
    assert wave_of["ecs-cluster/karma-dev"] < wave_of["clickhouse/karma-dev"]
    assert set(wave_of) == {"vpc/karma-dev", *body["affected_components"]}
    assert body["actions"]["cycles"] == []


def test_nested_merge_patch(client):
    change = {
        "component": "lambda/karma-graph-query",
        "proposed_change": {"functions": {"karma-graph-query": {"timeout": 30, "memory_size": None}}},
        "requested_by": "ops@usekarma.dev",
    }
    _, body = post(client, "/request-change", change)
    assert body["status"] == "applied", body
    fn = client.get("/components/lambda/karma-graph-query").get_json()["config"]["functions"]["karma-graph-query"]
    assert fn == {"runtime": "python3.10", "handler": "main.handler", "timeout": 30}


def test_reference_keys_patch_edges(client):
    drop = {
        "component": "clickhouse/karma-dev",
        "proposed_change": {"s3_bucket_nickname": None},
        "requested_by": "ops@usekarma.dev",
    }
    _, body = post(client, "/request-change", drop)
    assert body["status"] == "applied", body
    deps = {d["id"] for d in client.get("/components/clickhouse/karma-dev").get_json()["dependencies"]}
    assert "s3-bucket/karma-clickhouse-dev" not in deps
    assert body["actions"]["order"] == "consumers-first"
    add = {**drop, "proposed_change": {"s3_bucket_nickname": "karma-shared"}}
    _, body = post(client, "/request-change", add)
    assert body["status"] == "applied", body
    assert body["graph_patch"]["edges_added"][0]["target"] == "s3-bucket/karma-shared"
    deps = {d["id"] for d in client.get("/components/clickhouse/karma-dev").get_json()["dependencies"]}
    assert "s3-bucket/karma-shared" in deps
    bucket = client.get("/components/s3-bucket/karma-shared/impact").get_json()
    assert "clickhouse/karma-dev" in {a["id"] for a in bucket["affected"]}


BAD = [
    ("unknown component", {**EXAMPLE, "component": "serverless-site/nope"}, 404, None),
    # an id that cannot exist is a 422 naming the field and an id's shape (it was a 404 "not found")
    ("malformed component id", {**EXAMPLE, "component": "no-slash"}, 422, "component"),
    ("component of no known type", {**EXAMPLE, "component": "mainframe/x"}, 422, "component"),
    (
        "unknown key",
        {**EXAMPLE, "proposed_change": {"cloudfront_aliasez": ["x"]}},
        422,
        "proposed_change.cloudfront_aliasez",
    ),
    (
        "wrong value type",
        {**EXAMPLE, "proposed_change": {"cloudfront_aliases": "www.usekarma.dev"}},
        422,
        "proposed_change.cloudfront_aliases",
    ),
    ("removing a required key", {**EXAMPLE, "proposed_change": {"site_name": None}}, 422, "proposed_change.site_name"),
    (
        "missing component",
        {"proposed_change": {"cloudfront_aliases": ["a"]}, "requested_by": "ted@strall.com"},
        422,
        "component",
    ),
    ("missing proposed_change", {"component": SITE, "requested_by": "ted@strall.com"}, 422, "proposed_change"),
    ("proposed_change not an object", {**EXAMPLE, "proposed_change": ["x"]}, 422, "proposed_change"),
    ("unknown body field", {**EXAMPLE, "priority": "high"}, 422, "priority"),
    ("bad on_blocked", {**EXAMPLE, "on_blocked": "later"}, 422, "on_blocked"),
    (
        "reference to a missing component",
        {"component": "clickhouse/karma-dev", "proposed_change": {"s3_bucket_nickname": "nope"}, "requested_by": "ops"},
        422,
        "proposed_change.s3_bucket_nickname",
    ),
    (
        "reference to a component of the wrong type",
        {
            "component": "clickhouse/karma-dev",
            "proposed_change": {"vpc_nickname": "karma-shared"},
            "requested_by": "ops",
        },
        422,
        "proposed_change.vpc_nickname",
    ),
    (
        "reference across environments",
        {"component": "clickhouse/karma-dev", "proposed_change": {"vpc_nickname": "karma-prod"}, "requested_by": "ops"},
        422,
        "proposed_change.vpc_nickname",
    ),
    (
        "a change that changes nothing",
        {**EXAMPLE, "proposed_change": {"cloudfront_aliases": ["dev.usekarma.dev"]}},
        422,
        "proposed_change",
    ),
    ("expected_version not an integer", {**EXAMPLE, "expected_version": "1"}, 422, "expected_version"),
]


@pytest.mark.parametrize("path", ["/plan", "/request-change"])
@pytest.mark.parametrize("label,body,status,field", BAD, ids=[b[0] for b in BAD])
def test_bad_input_gets_a_clear_error_and_changes_nothing(client, graph_dump, path, label, body, status, field):
    before = graph_dump()
    resp = client.post(path, json=body)
    assert resp.status_code == status, resp.get_json()
    err = resp.get_json()
    assert err["code"] == status and err["message"]
    if field:
        assert field in err["errors"], err
    if label == "malformed component id":
        assert err["message"] == "the change is not valid" and "'<type>/<nickname>'" in err["errors"]["component"][0]
    assert graph_dump() == before


@pytest.mark.parametrize("path", ["/plan", "/request-change"])
def test_invalid_json_and_oversized_bodies(client, graph_dump, path):
    before = graph_dump()
    resp = client.post(path, data='{"component": "serverless-site/karma-dev", ', content_type="application/json")
    assert resp.status_code == 400 and resp.is_json
    huge = {**EXAMPLE, "reason": "x" * 400_000}
    resp = client.post(path, json=huge)
    assert resp.status_code == 413 and resp.get_json()["code"] == 413
    body = resp.get_json()  # names the limit and the setting, not werkzeug's "exceeds the capacity limit"
    assert body["cause"] == "body_too_large" and body["limit"] == 256 * 1024, body
    assert "KARMA_MAX_BODY_BYTES" in body["message"], body
    assert graph_dump() == before


def test_stale_expected_version_is_409_and_writes_nothing(client, graph_dump):
    before = graph_dump()
    code, body = post(client, "/request-change", {**EXAMPLE, "expected_version": 7})
    assert code == 409 and body["current_version"] == 1 and body["expected_version"] == 7
    assert graph_dump() == before
    code, body = post(client, "/request-change", {**EXAMPLE, "expected_version": 1})
    assert code == 200 and body["status"] == "applied" and body["version"] == {"current": 1, "after": 2}


def test_a_commit_statement_failing_after_its_writes_rolls_back_whole(app, client, graph_dump):
    first = post(client, "/request-change", EXAMPLE)[1]
    assert first["status"] == "applied"
    before = graph_dump()
    service = app.extensions["karma"].gate
    # The next commit reuses an existing AuditEntry id: the statement has already set the new config,
    # version and ConfigVersion when the unique constraint fails on CREATE (:AuditEntry).
    service.new_id = lambda prefix: first["log_entry_id"] if prefix == "log" else "chg-midway"
    resp = client.post(
        "/request-change", json={**EXAMPLE, "proposed_change": {"cloudfront_aliases": ["x.usekarma.dev"]}}
    )
    assert resp.status_code == 500 and resp.is_json and "Traceback" not in resp.get_data(as_text=True)
    assert graph_dump() == before
    comp = client.get(f"/components/{SITE}").get_json()
    assert comp["version"] == 2 and comp["config"]["cloudfront_aliases"] == ["www.usekarma.dev"]


def test_just_apply_mode_skips_rules_and_propagation(make_app, graph_dump):
    client = make_app(mode="just-apply").test_client()
    change = {
        "component": "subnet/karma-dev-private-a",
        "proposed_change": {"cidr_block": "10.42.9.0/24"},
        "requested_by": "ops@usekarma.dev",
    }
    code, body = post(client, "/request-change", change)
    assert code == 200 and body["status"] == "applied"  # the running bastion is not consulted
    assert body["affected_components"] == [] and body["decisions"] == [] and body["mode"] == "just-apply"
    entry = client.get(f"/log/{body['log_entry_id']}").get_json()
    assert entry["mode"] == "just-apply" and entry["status"] == "applied"
    # validation still applies
    code, body = post(client, "/request-change", {**change, "proposed_change": {"cidr_block": "banana"}})
    assert code == 422 and "proposed_change.cidr_block" in body["errors"]
    assert body["message"] == "the change is not valid"  # one change: not "an operation of the change set"
    operation = {"op": "update", "component": change["component"], "proposed_change": {"cidr_block": "banana"}}
    as_set = {"changes": [operation], "requested_by": change.get("requested_by") or "ted@strall.com"}
    code, body = post(client, "/request-change", as_set)
    assert code == 422 and body["message"] == "an operation of the change set is not valid", body


def test_audit_log_filters_and_pages(client):
    for who in ("ted@strall.com", "eve@x", "admin@usekarma.dev"):  # the signed-in client's tokens, made first:
        client.token_for(who)  # each is an audit entry (token_created), older than the changes below
    post(client, "/request-change", EXAMPLE)
    post(
        client,
        "/request-change",
        {
            "component": "subnet/karma-dev-private-a",
            "proposed_change": {"cidr_block": "10.42.9.0/24"},
            "requested_by": "eve@x",
        },
    )
    post(client, "/request-change", {**EXAMPLE, "proposed_change": {"cloudfront_aliases": ["a.usekarma.dev"]}})
    everything = client.get("/log").get_json()
    assert everything["total"] == 6
    assert [e["status"] for e in everything["items"][3:]] == ["token_created"] * 3
    stamps = [e["timestamp"] for e in everything["items"]]
    assert stamps == sorted(stamps, reverse=True)
    assert client.get(f"/log?component={SITE}").get_json()["total"] == 2
    assert client.get("/log?requested_by=eve@x").get_json()["items"][0]["status"] == "rejected"
    assert client.get("/log?status=applied").get_json()["total"] == 2
    assert client.get("/log?page=2&page_size=2").get_json()["items"][0]["id"] == everything["items"][2]["id"]
    newest = everything["items"][0]["timestamp"]
    assert client.get("/log", query_string={"since": newest}).get_json()["total"] == 1
    assert client.get("/log", query_string={"until": newest}).get_json()["total"] == 5
    assert client.get("/log?since=yesterday").status_code == 422
    assert client.get("/log/log-doesnotexist").status_code == 404


def test_the_log_says_committed_only_once_commit_returned(client, monkeypatch, caplog):
    """A transaction that fails after its commit statement and before COMMIT wrote nothing, so the service
    log must not say "change committed" for it (it did, from inside the transaction)."""
    from app.changes import gate

    def fail_before_commit(write, gtx, result):
        raise RuntimeError("injected after the commit statement, before COMMIT")

    monkeypatch.setattr(gate, "_then", fail_before_commit)
    with caplog.at_level("INFO", logger="karma.changes"):
        assert client.post("/request-change", json=EXAMPLE).status_code == 500
    assert "change committed" not in [r.getMessage() for r in caplog.records if r.name == "karma.changes"]
    assert client.get(f"/components/{SITE}").get_json()["version"] == 1
    monkeypatch.undo()
    with caplog.at_level("INFO", logger="karma.changes"):
        assert client.post("/request-change", json=EXAMPLE).get_json()["status"] == "applied"
    (said,) = [r for r in caplog.records if r.getMessage() == "change committed"]
    assert said.components == [SITE] and said.status == "applied" and said.change_id.startswith("chg-")
