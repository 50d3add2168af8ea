"""What-if plans over HTTP on the real Neo4j (issue 13): POST /plan with `assume` lays hypothetical runtime
outputs and applied change sets over the live graph for one analysis; nothing is written."""

from __future__ import annotations

WHO = "ops@usekarma.dev"
SUBNET = {
    "component": "subnet/karma-dev-private-a",
    "proposed_change": {"cidr_block": "10.42.9.0/24"},
    "requested_by": WHO,
}
STOPPED = {"ec2-instance/karma-dev-bastion": {"instance_id": "i-0a42b45710000001", "state": "stopped"}}
MOVE_LAMBDA = {
    "op": "update",
    "component": "lambda/karma-graph-query",
    "proposed_change": {"openapi_nickname": None, "s3_bucket_nickname": "karma-clickhouse-dev"},
}
DROP_BUCKET_REF = {
    "component": "openapi/karma-api",
    "proposed_change": {"s3_bucket_nickname": None},
    "requested_by": WHO,
}


def plan(client, body):
    resp = client.post("/plan", json=body)
    return resp.status_code, resp.get_json()


def effects(body):
    return sorted({d["rule_id"] for d in body["decisions"] if d["effect"] in ("reject", "block")})


def test_runtime_overlay_lifts_the_running_instance_rejection_and_writes_nothing(client, graph_dump):
    before = graph_dump()
    _, live = plan(client, SUBNET)
    assert effects(live) == ["subnet-change-with-running-instance"]
    code, body = plan(client, {**SUBNET, "assume": {"runtime": STOPPED}})
    assert code == 200, body
    assert body["hypothetical"] is True and body["plan_id"] is None and body["status"] == "planned"
    assert body["would_be"] == "applied" and effects(body) == []
    assert body["assumed"]["runtime"] == STOPPED
    assert graph_dump() == before
    # the overlay never leaks: the next plan sees the live graph again
    _, again = plan(client, SUBNET)
    assert effects(again) == ["subnet-change-with-running-instance"] and again["plan_id"]


def test_applied_change_set_is_simulated_before_the_change(client, graph_dump):
    before = graph_dump()
    _, live = plan(client, DROP_BUCKET_REF)
    assert "shared-bucket-reference-in-use" in effects(live)
    code, body = plan(client, {**DROP_BUCKET_REF, "assume": {"applied": [{"changes": [MOVE_LAMBDA]}]}})
    assert code == 200, body
    assert body["hypothetical"] is True and body["plan_id"] is None
    assert "shared-bucket-reference-in-use" not in effects(body), body["decisions"]
    assert body["assumed_status"] == ["applied"]
    assert graph_dump() == before


def test_what_if_of_a_change_set(client):
    code, body = plan(
        client,
        {
            "changes": [{"op": "update", **{k: SUBNET[k] for k in ("component", "proposed_change")}}],
            "requested_by": WHO,
            "assume": {"runtime": STOPPED},
        },
    )
    assert code == 200 and body["would_be"] == "applied" and body["hypothetical"] is True


def test_assumptions_are_validated_strictly(client, graph_dump):
    before = graph_dump()
    cases = [
        ({"bogus": {}}, "assume.bogus"),
        ({"runtime": {"ec2-instance/nope": {"state": "stopped"}}}, "assume.runtime.ec2-instance/nope"),
        ({"runtime": {"nosuchtype/x": {}}}, "assume.runtime.nosuchtype/x"),
        (
            {"runtime": {"ec2-instance/karma-dev-bastion": {"state": "asleep"}}},
            "assume.runtime.ec2-instance/karma-dev-bastion.state",
        ),
        (
            {"runtime": {"ec2-instance/karma-dev-bastion": {"colour": "red"}}},
            "assume.runtime.ec2-instance/karma-dev-bastion.colour",
        ),
        ({"runtime": []}, "assume.runtime"),
        (
            {"applied": [{"changes": [{"op": "update", "component": "lambda/karma-graph-query", "bogus": 1}]}]},
            "assume.applied[0].changes[0].bogus",
        ),
        ({"applied": [{"nope": []}]}, "assume.applied[0]"),
        (
            {
                "applied": [
                    {
                        "changes": [
                            {
                                "op": "update",
                                "component": "lambda/karma-graph-query",
                                "proposed_change": {"no_such_key": 1},
                            }
                        ]
                    }
                ]
            },
            "assume.applied[0]",
        ),
    ]
    for assume, field in cases:
        code, body = plan(client, {**SUBNET, "assume": assume})
        assert 400 <= code < 500, (assume, code, body)
        assert any(k.startswith(field) for k in body.get("errors", {})), (assume, body)
    assert graph_dump() == before


def test_request_change_takes_no_assumptions(client, graph_dump):
    before = graph_dump()
    resp = client.post("/request-change", json={**SUBNET, "assume": {"runtime": STOPPED}})
    assert resp.status_code == 422 and "assume" in resp.get_json()["errors"], resp.get_json()
    assert graph_dump() == before


def test_an_id_that_names_nothing_says_the_id_it_most_likely_meant(client, graph_dump):
    """A what-if of a mistyped component was a bare 404, and an assumed runtime of one a bare "unknown
    component", where /plan without `assume` names the id it most likely meant (docs/api.md, "Did you
    mean"): the same near id, in the message and as `did_you_mean`, read only on that error path."""
    before = graph_dump()
    code, body = plan(client, {**SUBNET, "component": "subnet/karma-dev-privat-a", "assume": {"runtime": STOPPED}})
    assert code == 404 and body["did_you_mean"] == "subnet/karma-dev-private-a", body
    assert "did you mean 'subnet/karma-dev-private-a'?" in body["message"], body
    typo = {"ec2-instance/karma-dev-bastio": {"state": "stopped"}}
    code, body = plan(client, {**SUBNET, "assume": {"runtime": typo}})
    assert code == 422 and body["did_you_mean"] == {"ec2-instance/karma-dev-bastio": "ec2-instance/karma-dev-bastion"}
    assert body["errors"] == {
        "assume.runtime.ec2-instance/karma-dev-bastio": [
            "unknown component; did you mean 'ec2-instance/karma-dev-bastion'?"
        ]
    }, body
    code, body = plan(client, {**SUBNET, "assume": {"runtime": {"ec2-instance/zzz": {"state": "stopped"}}}})
    assert code == 422 and "did_you_mean" not in body, body  # nothing near: no guess
    assert graph_dump() == before


def test_a_value_that_matches_nothing_says_the_nearest_existing_value(client, graph_dump):
    """/plan answers a by-value reference whose value matches nothing with the value it most likely meant
    (`did_you_mean`); a what-if of the same change (its assumptions or the change planned over them) said
    only "references no route53-zone whose zone_name is 'strall.co'": the same suggestion now, read through
    the same NearNames on that error path only."""
    before = graph_dump()
    typo = {"component": "serverless-site/karma-dev", "proposed_change": {"route53_zone_name": "strall.co"}}
    code, body = plan(client, {**typo, "requested_by": WHO, "assume": {"runtime": STOPPED}})
    assert code == 422 and body["did_you_mean"] == {"strall.co": "strall.com."}, body
    assert body["errors"] == {
        "proposed_change.route53_zone_name": [
            "references no route53-zone whose zone_name is 'strall.co' (in any environment); did you mean 'strall.com.'?"
        ]
    }, body
    code, body = plan(client, {**SUBNET, "assume": {"applied": [{"changes": [{"op": "update", **typo}]}]}})
    assert code == 422 and body["did_you_mean"] == {"strall.co": "strall.com."}, body
    assert list(body["errors"]) == ["assume.applied[0].changes[0].proposed_change.route53_zone_name"], body
    assert graph_dump() == before
