"""References inside change sets, over HTTP on the real Neo4j: a set's creates and updates resolve their
references — by nickname and by value — against the components the set creates before them and against
the graph beyond the set, in the scope the type declares (a dev site names the prod zone by name);
edges follow; an unresolved or ambiguous reference is a 422 naming the operation and the key."""

from __future__ import annotations

import json

ZONE = {
    "op": "create",
    "component": "route53-zone/new-example",
    "environment": "dev",
    "config": {"zone_name": "new.example.", "comment": "created with its site"},
}
SITE = {
    "op": "create",
    "component": "serverless-site/new-example",
    "environment": "dev",
    "config": {"site_name": "new.example", "route53_zone_name": "new.example"},
}


def send(client, path, *changes, reason="site and zone together"):
    resp = client.post(path, json={"changes": list(changes), "requested_by": "ted@strall.com", "reason": reason})
    return resp.status_code, resp.get_json()


def outgoing(client, component_id):
    detail = client.get(f"/components/{component_id}").get_json()
    return sorted((d["id"], d["via"]) for d in detail["dependencies"])


def test_a_site_names_the_zone_the_same_set_creates_by_value(client, graph_dump):
    before = graph_dump()
    code, plan = send(client, "/plan", SITE, ZONE)  # the site first: Karma orders the zone before it
    assert code == 200 and plan["order"] == ["route53-zone/new-example", "serverless-site/new-example"], plan
    site_op = plan["operations"][0]
    assert [(e["target"], e["via"]) for e in site_op["edges_added"]] == [
        ("route53-zone/new-example", "route53_zone_name")
    ]
    assert graph_dump() == before  # a plan writes nothing
    code, out = send(client, "/request-change", SITE, ZONE)
    assert code == 200 and out["status"] == "applied", out
    assert outgoing(client, "serverless-site/new-example") == [("route53-zone/new-example", "route53_zone_name")]


def test_a_by_value_reference_to_another_environment_resolves_when_the_scope_allows(client):
    site = {**SITE, "config": {"site_name": "shop.strall.com", "route53_zone_name": "strall.com"}}
    code, out = send(client, "/request-change", site)
    assert code == 200 and out["status"] == "applied", out
    assert outgoing(client, "serverless-site/new-example") == [("route53-zone/strall-com", "route53_zone_name")]
    assert client.get("/components/route53-zone/strall-com").get_json()["environment"] == "prod"
    # an update in a set moves the edge to the zone its new value names
    move = {
        "op": "update",
        "component": "serverless-site/new-example",
        "proposed_change": {"route53_zone_name": "new.example"},
    }
    code, out = send(client, "/request-change", ZONE, move)
    assert code == 200 and out["status"] == "applied", out
    assert outgoing(client, "serverless-site/new-example") == [("route53-zone/new-example", "route53_zone_name")]


def test_unresolved_and_ambiguous_references_are_422s_naming_operation_and_key(client, graph_dump):
    before = graph_dump()
    lost = {**SITE, "config": {"site_name": "x", "route53_zone_name": "nowhere.example"}}
    code, out = send(client, "/request-change", ZONE, lost)
    assert code == 422 and list(out["errors"]) == ["changes[1].config.route53_zone_name"], out
    assert (
        "references no route53-zone whose zone_name is 'nowhere.example'"
        in out["errors"]["changes[1].config.route53_zone_name"][0]
    )
    twin = {**ZONE, "component": "route53-zone/new-example-twin"}
    code, out = send(client, "/request-change", ZONE, twin, SITE)
    assert code == 422, out
    (message,) = out["errors"]["changes[2].config.route53_zone_name"]
    assert "matches several route53-zone components" in message
    assert "route53-zone/new-example" in message and "route53-zone/new-example-twin" in message
    stray = {
        "op": "update",
        "component": "subnet/karma-dev-private-a",
        "proposed_change": {"vpc_nickname": "no-such-vpc"},
    }
    code, out = send(client, "/plan", stray)
    assert code == 422 and out["errors"] == {
        "changes[0].proposed_change.vpc_nickname": ["references unknown component 'vpc/no-such-vpc'"]
    }, out
    assert graph_dump() == before


def test_a_value_that_matches_nothing_says_the_nearest_existing_value(client, graph_dump):
    """A by-value reference whose value matches nothing said only "references no route53-zone whose
    zone_name is 'strall.co'": the zone is `strall.com.`. Its message and `did_you_mean` ({value: near
    value}, as a name's) now say the existing value it most likely meant — the graph's (read on this error
    path only) or one the set creates — compared as the reference compares (trailing dot, case)."""
    before = graph_dump()
    typo = {**SITE, "config": {"site_name": "shop.strall.co", "route53_zone_name": "strall.co"}}
    code, out = send(client, "/plan", typo)
    assert code == 422 and out["errors"] == {
        "changes[0].config.route53_zone_name": [
            "references no route53-zone whose zone_name is 'strall.co' (in any environment); did you mean 'strall.com.'?"
        ]
    }, out
    assert out["did_you_mean"] == {"strall.co": "strall.com."}, out
    own = {**SITE, "config": {"site_name": "x", "route53_zone_name": "new.exampel"}}  # the set's own zone
    code, out = send(client, "/request-change", ZONE, own)
    assert code == 422 and out["did_you_mean"] == {"new.exampel": "new.example."}, out
    far = {**SITE, "config": {"site_name": "x", "route53_zone_name": "nowhere.example"}}
    code, out = send(client, "/plan", far)
    assert code == 422 and "did_you_mean" not in out and "did you mean" not in json.dumps(out), out
    assert graph_dump() == before


def test_renaming_a_zone_others_name_it_by_is_refused_unless_the_set_moves_them(client, graph_dump):
    before = graph_dump()
    rename = {"op": "update", "component": "route53-zone/karma-dev", "proposed_change": {"zone_name": "x.example."}}
    code, out = send(client, "/plan", rename)
    assert code == 422, out
    (message,) = out["errors"]["changes[0].proposed_change.zone_name"]
    assert message.startswith("serverless-site/karma-dev names this route53-zone by zone_name")
    move = {
        "op": "update",
        "component": "serverless-site/karma-dev",
        "proposed_change": {"route53_zone_name": "x.example"},
    }
    code, out = send(client, "/plan", rename, move)
    assert code == 200, out
    site_op = out["operations"][1]  # still the same zone, under its new name: the edge stays
    assert site_op["edges_added"] == [] and site_op["edges_removed"] == [], site_op
    # the site first (an import orders by id): the set renames the zone before the site names its new name
    code, out = send(client, "/plan", move, rename)
    assert code == 200, out
    assert out["order"] == ["route53-zone/karma-dev", "serverless-site/karma-dev"], out["order"]
    assert out["operations"][0]["edges_added"] == [] and out["operations"][0]["edges_removed"] == []
    assert graph_dump() == before


def test_a_mistyped_reference_or_id_says_the_name_it_most_likely_meant(client, graph_dump):
    """The context read holds only the names a set names, so a typo got "references unknown component
    'vpc/karma-dve'" and no hint, where an import of the same tree suggested the near name. Now a single
    change and a set say it too — in the message and as `did_you_mean` {name: near name} — as does an
    operation on an id that names nothing (404 `did_you_mean`: the id); a name with nothing near gets none."""
    before = graph_dump()
    single = client.post(
        "/plan",
        json={
            "component": "subnet/karma-dev-private-a",
            "proposed_change": {"vpc_nickname": "karma-dve"},
            "requested_by": "ted@strall.com",
        },
    ).get_json()
    assert single["errors"] == {
        "proposed_change.vpc_nickname": ["references unknown component 'vpc/karma-dve'; did you mean 'vpc/karma-dev'?"]
    }, single
    assert single["did_you_mean"] == {"vpc/karma-dve": "vpc/karma-dev"}
    subnet = {"vpc_nickname": "new-vpx", "cidr_block": "10.9.1.0/24", "availability_zone": "us-east-1a"}
    created = {"op": "create", "component": "subnet/new-c", "environment": "dev", "config": subnet}
    vpc = {"op": "create", "component": "vpc/new-vpc", "environment": "dev", "config": {"cidr": "10.9.0.0/16"}}
    code, out = send(client, "/request-change", vpc, created)  # the near name is one the set itself creates
    assert code == 422 and out["did_you_mean"] == {"vpc/new-vpx": "vpc/new-vpc"}, out
    assert list(out["errors"]) == ["changes[1].config.vpc_nickname"], out
    stray = {"op": "update", "component": "subnet/karma-dev-private-a", "proposed_change": {"vpc_nickname": "zzz"}}
    code, out = send(client, "/plan", stray)
    assert code == 422 and "did_you_mean" not in out, out
    update = {"op": "update", "component": "vpc/karma-de", "proposed_change": {"az_count": 3}}
    code, out = send(client, "/request-change", update)
    assert code == 404 and out["did_you_mean"] == "vpc/karma-dev" and out["operation"] == 0, out
    assert out["message"] == "component 'vpc/karma-de' not found; did you mean 'vpc/karma-dev'?"
    edge = {"op": "add_edge", "component": "ec2-instance/karma-dev-bastion", "target": "vpc/karma-dvv"}
    code, out = send(client, "/plan", {**edge, "kind": "depends_on"})
    assert code == 404 and out["did_you_mean"] == "vpc/karma-dev", out
    assert graph_dump() == before


def test_a_near_name_is_one_the_reference_could_resolve_to(client, graph_dump):
    """A subnet's `vpc_nickname` resolves in its own environment: a dev subnet's `karma-prd` was answered
    "did you mean 'vpc/karma-prod'?" — a prod VPC, the advice a second 422 ("references 'vpc/karma-prod' in
    environment 'prod', not 'dev'"). The near name read on the error path is now one in the reference's
    scope; a dev typo of the dev VPC is still answered."""
    before = graph_dump()
    far = {"op": "update", "component": "subnet/karma-dev-private-a", "proposed_change": {"vpc_nickname": "karma-prd"}}
    code, out = send(client, "/plan", far)
    assert code == 422 and out["errors"] == {
        "changes[0].proposed_change.vpc_nickname": ["references unknown component 'vpc/karma-prd'"]
    }, out
    assert "did_you_mean" not in out, out
    near = {**far, "proposed_change": {"vpc_nickname": "karma-de"}}
    code, out = send(client, "/plan", near)
    assert code == 422 and out["did_you_mean"] == {"vpc/karma-de": "vpc/karma-dev"}, out
    assert graph_dump() == before
