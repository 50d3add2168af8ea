"""The read API over HTTP (the real Flask app) against the seeded real Neo4j."""

from __future__ import annotations

from tests.integration.servers import wait_for


def test_list_components_filters_and_pages(client):
    everything = client.get("/components?page_size=500").get_json()
    assert everything["total"] == len(everything["items"]) >= 30
    subnets = client.get("/components?type=subnet").get_json()
    assert subnets["total"] >= 2 and all(c["type"] == "subnet" for c in subnets["items"])
    prod = client.get("/components?environment=prod&page_size=500").get_json()
    assert prod["items"] and all(c["environment"] == "prod" for c in prod["items"])
    page1 = client.get("/components?page=1&page_size=5").get_json()
    page2 = client.get("/components?page=2&page_size=5").get_json()
    assert len(page1["items"]) == 5 and len(page2["items"]) == 5
    assert not {c["id"] for c in page1["items"]} & {c["id"] for c in page2["items"]}
    ids = [c["id"] for c in everything["items"]]
    assert ids == sorted(ids)


def test_an_environment_no_component_lives_in_is_an_empty_list_that_says_so(client):
    """?environment=prdd answered an empty page and nothing more: an operator's typo read as "no components
    there". Still 200 and empty (a filter is a filter), with a warning naming the environments there are;
    an empty answer in an environment that has components, or a list that finds some, warns of nothing."""
    everything = client.get("/components?page_size=500").get_json()["items"]
    named = ", ".join(sorted({c["environment"] for c in everything}))
    said = f"no component lives in environment 'prdd' (environments: {named})"
    typo = client.get("/components?environment=prdd")
    assert typo.status_code == 200
    assert typo.get_json() == {"items": [], "total": 0, "page": 1, "page_size": 50, "warnings": [said]}
    graph = client.get("/graph?environment=prdd").get_json()
    assert graph == {"nodes": [], "edges": [], "warnings": [said]}
    assert "warnings" not in client.get("/components?environment=prod&name=no-such-thing").get_json()
    assert "warnings" not in client.get("/components?environment=prod").get_json()
    assert "warnings" not in client.get("/graph?environment=dev").get_json()


def test_list_components_rejects_bad_paging(client):
    resp = client.get("/components?page=0")
    assert resp.status_code == 422
    assert "page" in resp.get_json()["errors"]["query.page"][0] or resp.get_json()["errors"]


def test_an_unknown_type_is_refused_naming_the_registered_ones(client, restore_types):
    """GET /components?type=nope answered an empty page, as if no component had that type: it is a 422
    naming `query.type` and the types there are, as an unknown status is. The types are the registry's,
    read when the request comes: a type no longer registered is refused, its name no longer offered."""
    from app.components import registry

    resp = client.get("/components?type=nope")
    assert resp.status_code == 422 and resp.get_json()["error"] == "validation_failed"
    said = resp.get_json()["errors"]["query.type"][0]
    assert said == f"Must be one of: {', '.join(registry.names())}." and "subnet" in said
    assert client.get("/components?type=subnet").status_code == 200
    types, directory = registry.snapshot()
    registry.replace([t for t in types if t.name != "subnet"], directory)
    resp = client.get("/components?type=subnet")
    assert resp.status_code == 422 and "subnet" not in resp.get_json()["errors"]["query.type"][0]


def test_get_component_with_slash_in_id(client):
    resp = client.get("/components/serverless-site/karma-dev")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["id"] == "serverless-site/karma-dev"
    assert body["config"]["cloudfront_aliases"] == ["dev.usekarma.dev"]
    assert body["runtime"]["cloudfront_distribution_id"]
    assert body["version"] == 1
    assert {d["id"] for d in body["dependencies"]} == {"cloudfront-distribution/karma-dev", "route53-zone/karma-dev"}
    dist = client.get("/components/cloudfront-distribution/karma-dev").get_json()
    assert {d["id"] for d in dist["dependents"]} == {"serverless-site/karma-dev", "route53-zone/karma-dev"}


def import_audit() -> dict:
    """The audit entry of an import that records refused files and changes no component."""
    from app.audit.entries import audit_entry
    from app.clock import utcnow
    from app.ids import new_id

    return audit_entry(kind="import", log_id=new_id("log"), now=utcnow(), requested_by="cli:tester", status="unchanged")


def test_a_component_read_carries_its_drift_as_the_drift_report_lists_it(client, repo):
    vpc = "/components/vpc/karma-dev"
    body = client.get(vpc).get_json()
    assert body["drift"] == []  # the seeded world is consistent
    runtime = body["runtime"]
    assert client.put(f"{vpc}/runtime", json={"runtime": {**runtime, "vpc_cidr": "10.99.0.0/16"}}).status_code == 200
    # a file an import refused under the same id is part of the component's drift too
    refused = {
        "kind": "contract",
        "component": "vpc/karma-dev",
        "file": "iac/dev/vpc/karma-dev/config.json",
        "field": "config.az_count",
        "rule": "vpc.schema: type",
        "message": "Not a valid integer.",
    }
    repo.record_refused({"files": [refused["file"]], "entries": [refused]}, import_audit())
    drift = client.get(vpc).get_json()["drift"]
    assert drift == client.get("/drift?component=vpc/karma-dev").get_json()["entries"]
    assert [(e["kind"], e["field"], e.get("file")) for e in drift] == [
        ("contract", "config.az_count", "iac/dev/vpc/karma-dev/config.json"),
        ("runtime", "runtime.vpc_cidr", None),
    ]
    assert "10.99.0.0" not in str(drift)  # the value is never echoed
    repo.record_refused({"files": [refused["file"]], "entries": []}, import_audit())
    assert client.put(f"{vpc}/runtime", json={"runtime": runtime}).status_code == 200
    assert client.get(vpc).get_json()["drift"] == []


def test_unknown_component_is_a_json_404(client):
    for path in [
        "/components/serverless-site/nope",
        "/components/mainframe/x",
        "/components/vpc/karma-dev/impact/x",
        "/components/serverless-site/nope/impact",
    ]:
        resp = client.get(path)
        assert resp.status_code == 404, path
        assert resp.is_json and resp.get_json()["code"] == 404
    # no route at all: said in one line naming the method and path, not werkzeug's "If you entered the URL
    # manually please check your spelling and try again"
    body = client.post("/components/vpc/karma-dev/impact/x/y").get_json()
    assert body["cause"] == "unknown_route", body
    assert (
        body["message"] == "no route answers POST /components/vpc/karma-dev/impact/x/y: check the address (docs/api.md)"
    )


def test_a_path_that_is_no_component_id_says_so_and_what_one_looks_like(client):
    """`/components/foo` answered the router's "The requested URL was not found…" and `/components/Vpc/X`
    "component 'Vpc/X' not found": both 404s now say it is no component id and what an id looks like."""
    for path, cid in [("/components/foo", "foo"), ("/components/Vpc/X", "Vpc/X"), ("/components/V!/x/impact", "V!/x")]:
        resp = client.get(path)
        body = resp.get_json()
        assert resp.status_code == 404 and body["cause"] == "malformed_component_id", (path, body)
        assert body["message"].startswith(f"{cid!r} is not a component id") and "'<type>/<nickname>'" in body["message"]
    anonymous = client.get("/components/foo", anonymous=True)
    assert anonymous.status_code == 401  # behind the same sign-in as every /components path


def test_impact_of_the_seed_page_example(client):
    body = client.get("/components/serverless-site/karma-dev/impact").get_json()
    assert {a["id"] for a in body["affected"]} == {"route53-zone/karma-dev", "cloudfront-distribution/karma-dev"}
    for row in body["affected"]:
        assert row["depth"] == 1
        assert row["path"] == ["serverless-site/karma-dev", row["id"]]
        assert row["edge_kinds"] == ["emits_runtime_to"]
    assert body["count"] == 2


def test_impact_is_transitive_with_depth_and_path(client):
    body = client.get("/components/vpc/karma-dev/impact").get_json()
    rows = {a["id"]: a for a in body["affected"]}
    bastion = rows["ec2-instance/karma-dev-bastion"]
    assert bastion["depth"] == 2
    assert bastion["path"] == ["vpc/karma-dev", "subnet/karma-dev-private-a", "ec2-instance/karma-dev-bastion"]
    assert bastion["edge_kinds"] == ["depends_on", "depends_on"]
    assert bastion["runtime"]["state"] == "running"
    assert "vpc/karma-prod" not in rows and all(r["environment"] == "dev" for r in rows.values())


def test_the_impact_view_names_the_paths_a_plan_names(client):
    # one read and one walk for both (before, the view ran cypher/impact.cypher, whose ANY SHORTEST names
    # any one of two equally short paths, and the plan walked to the first in id order)
    for vpc in ("vpc/karma-dev", "vpc/karma-prod"):
        view = client.get(f"/components/{vpc}/impact").get_json()
        plan = client.post(
            "/plan",
            json={
                "component": vpc,
                "proposed_change": {"tags": {"team": "platform"}},
                "requested_by": "ted@strall.com",
            },
        ).get_json()
        assert plan["status"] == "planned", plan
        keys = ("id", "depth", "path", "edge_kinds", "runtime", "action")
        assert [{k: r[k] for k in keys} for r in view["affected"]] == [{k: r[k] for k in keys} for r in plan["impact"]]
        assert view["count"] == len(plan["affected_components"]) > 0
    api = {r["id"]: r for r in client.get("/components/vpc/karma-dev/impact").get_json()["affected"]}
    assert api["serverless-api/karma-api"]["path"] == ["vpc/karma-dev", "lambda/karma-api", "serverless-api/karma-api"]
    # a tie: an API on two lambdas of the VPC is two hops from it along either; both name the path through
    # the first by id (a new one here, so it is not the first edge the store holds either)
    fns = {"functions": {"tie": {"runtime": "python3.12", "handler": "main.handler"}}, "vpc_nickname": "karma-dev"}
    created = client.post(
        "/request-change",
        json={
            "requested_by": "ted@strall.com",
            "changes": [
                {"op": "create", "component": "lambda/karma-a-tie", "environment": "dev", "config": fns},
                {
                    "op": "create",
                    "component": "serverless-api/karma-tie",
                    "environment": "dev",
                    "config": {"api_name": "tie", "lambda_nicknames": ["karma-api", "karma-a-tie"]},
                },
            ],
        },
    ).get_json()
    assert created["status"] == "applied", created
    view = {r["id"]: r for r in client.get("/components/vpc/karma-dev/impact").get_json()["affected"]}
    tie = ["vpc/karma-dev", "lambda/karma-a-tie", "serverless-api/karma-tie"]
    assert view["serverless-api/karma-tie"]["path"] == tie
    plan = client.post(
        "/plan",
        json={"component": "vpc/karma-dev", "proposed_change": {"tags": {"t": "x"}}, "requested_by": "ted@strall.com"},
    ).get_json()
    assert {r["id"]: r["path"] for r in plan["impact"]}["serverless-api/karma-tie"] == tie
    edges = client.get("/components/vpc/karma-dev/impact").get_json()["edges"]
    assert edges == sorted(edges, key=lambda e: (e["source"], e["target"], e["kind"], e["via"] or ""))
    assert {
        "source": "lambda/karma-api",
        "target": "vpc/karma-dev",
        "kind": "depends_on",
        "via": "vpc_nickname",
    } in edges


def test_graph_endpoint(client):
    body = client.get("/graph").get_json()
    ids = {n["id"] for n in body["nodes"]}
    assert len(ids) >= 30
    assert all(e["source"] in ids and e["target"] in ids for e in body["edges"])
    assert {
        "source": "ec2-instance/karma-dev-bastion",
        "target": "subnet/karma-dev-private-a",
        "kind": "depends_on",
        "via": "subnet_nickname",
    } in body["edges"]
    dev = client.get("/graph?environment=dev").get_json()
    assert dev["nodes"] and all(n["environment"] == "dev" for n in dev["nodes"])


def test_runtime_update_validates_and_bumps_version(client):
    path = "/components/cloudfront-distribution/karma-staging"
    before = client.get(path).get_json()
    resp = client.put(
        f"{path}/runtime",
        json={
            "runtime": {"distribution_id": "E2STAGING01", "domain_name": "d9staging.cloudfront.net"},
            "reported_by": "deploy-pipeline",
        },
    )
    assert resp.status_code == 200, resp.get_json()
    after = resp.get_json()
    assert after["version"] == before["version"] + 1
    assert after["runtime"] == {"distribution_id": "E2STAGING01", "domain_name": "d9staging.cloudfront.net"}
    entry = client.get(f"/log/{after['log_entry_id']}").get_json()
    assert entry["kind"] == "runtime" and entry["requested_by"] == "deploy-pipeline"
    versions = client.get(f"{path}/versions").get_json()["versions"]
    assert [v["version"] for v in versions][:2] == [after["version"], before["version"]]
    assert versions[1]["runtime"] == {}


def test_runtime_updated_at_is_the_last_report_not_the_last_config_change(app, client):
    """A component says when its runtime was last reported (the console shows it beside the runtime);
    a config change moves updated_at, not runtime_updated_at; never reported: null."""
    path = "/components/cloudfront-distribution/karma-staging"
    assert client.get(path).get_json()["runtime_updated_at"] is None  # seeded without runtime
    assert client.get("/components/ec2-instance/karma-dev-bastion").get_json()["runtime_updated_at"]  # with
    runtime = {"distribution_id": "E2STAGING01", "domain_name": "d9staging.cloudfront.net"}
    reported = client.put(f"{path}/runtime", json={"runtime": runtime, "reported_by": "deploy"}).get_json()
    assert reported["runtime_updated_at"] and reported["runtime_updated_at"] == reported["updated_at"]
    change = {"component": "cloudfront-distribution/karma-staging", "proposed_change": {"tags": {"a": "b"}}}
    assert client.post("/request-change", json=change).get_json()["status"] == "applied"
    after = client.get(path).get_json()
    assert after["updated_at"] > after["runtime_updated_at"] == reported["runtime_updated_at"]
    browser = app.test_client()
    browser.post("/console/login", data={"token": app.extensions["karma"].tokens.create("v@x.dev", "viewer")[0]})
    page = browser.get("/console/components/cloudfront-distribution/karma-staging").get_data(as_text=True)
    assert "(what its deploys reported, <time" in page


def test_invalid_runtime_update_is_422_and_changes_nothing(client, graph_dump):
    before = graph_dump()
    cases = [
        ({"runtime": {"distribution_identifier": "x"}, "reported_by": "ci"}, "runtime.distribution_identifier"),
        ({"runtime": {"state": "exploded"}, "reported_by": "ci"}, "runtime.state"),
        ({"runtime": "running", "reported_by": "ci"}, "runtime"),
    ]
    target = [
        "/components/cloudfront-distribution/karma-dev/runtime",
        "/components/ec2-instance/karma-dev-bastion/runtime",
        "/components/cloudfront-distribution/karma-dev/runtime",
    ]
    for (body, field), path in zip(cases, target):
        resp = client.put(path, json=body)
        assert resp.status_code == 422, (body, resp.get_json())
        assert field in resp.get_json()["errors"], resp.get_json()
    assert client.put("/components/vpc/nope/runtime", json={"runtime": {}, "reported_by": "ci"}).status_code == 404
    assert graph_dump() == before


def test_a_refused_runtime_report_says_what_the_type_reports(client, graph_dump, restore_types):
    """A misspelt output said `runtime.distribution_identifier: Unknown field.` and not which ones exist; on
    aws-config's inferred types (no runtime_outputs) every report was refused so, with nothing to say why."""
    from app.components import registry
    from app.settings import REPO_ROOT

    path = "/components/cloudfront-distribution/karma-dev/runtime"
    said = client.put(path, json={"runtime": {"distribution_identifier": "x"}, "reported_by": "ci"}).get_json()
    assert said["message"] == (
        "runtime outputs are not valid for this component type: cloudfront-distribution reports arn, "
        "distribution_id, domain_name"
    ), said
    before = graph_dump()
    registry.load(REPO_ROOT / "tests" / "fixtures" / "aws-config")  # inferred from its schemas: no outputs
    said = client.put("/components/s3-bucket/karma-shared/runtime", json={"runtime": {"bucket_arn": "a"}}).get_json()
    assert said["message"].endswith(
        ": s3-bucket declares no runtime outputs (its type declaration's runtime_outputs, docs/types.md)"
    ), said
    assert said["errors"] == {"runtime.bucket_arn": ["Unknown field."]} and graph_dump() == before


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    # ready once the change statements are planned: a test Neo4j restarted by an earlier test (its query
    # cache empty) is `warming_up` for a moment first (docs/reliability.md, "A Neo4j back but cold")
    ready = wait_for(lambda: (r := client.get("/readyz")).status_code == 200 and r, 60, 0.5, what="/readyz 200")
    assert ready.get_json()["status"] == "ready"


def test_openapi_document_and_docs(client):
    spec = client.get("/openapi.json").get_json()
    for path in [
        "/components",
        "/components/{ctype}/{nickname}",
        "/components/{ctype}/{nickname}/impact",
        "/graph",
        "/components/{ctype}/{nickname}/runtime",
        "/plan",
        "/request-change",
        "/log",
    ]:
        assert path in spec["paths"], path
    assert "ChangeRequest" in spec["components"]["schemas"]
    changes = spec["components"]["schemas"]["ChangeRequest"]["properties"]["changes"]["description"]
    for words in ("orders the operations", "as it would be after", "no dangling references", "all of it or none"):
        assert words in changes, words  # the change-set format documents its ordering and invariants
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert spec["security"] == [{"bearerAuth": []}]
    assert client.get("/docs").status_code == 200


def test_unknown_route_and_method_are_json(client):
    resp = client.get("/nothing-here")
    assert resp.status_code == 404 and resp.get_json()["code"] == 404
    resp = client.delete("/components")
    assert resp.status_code == 405 and resp.is_json


def test_an_import_stored_before_drift_was_keyed_by_file_still_replaces_its_records(empty_graph):
    """An import waiting for an approver keeps its refused files as it was planned: one stored before the
    records were keyed by file names component ids, and its approval replaces those."""
    old = {"kind": "contract", "component": "vpc/karma-dev", "file": "iac/dev/vpc/karma-dev/config.json"}
    old |= {"field": "config.az_count", "rule": "vpc.schema: type", "message": "Not a valid integer."}
    empty_graph.record_refused({"files": [old["file"]], "entries": [old]}, import_audit())
    assert [r["file"] for r in empty_graph.drift()["refused"]] == [old["file"]]
    empty_graph.record_refused({"component_ids": ["vpc/karma-dev"], "entries": []}, import_audit())
    assert empty_graph.drift()["refused"] == []


def test_an_unknown_component_says_the_id_it_most_likely_meant(client, repo):
    """`GET /components/vpc/karma-de` answered "component … not found" and left the operator to look the
    id up; the 404 now names the near id of the same type, in its message and as `did_you_mean` — read only
    on that error path (a type's ids, by index), qualified ids included; no near id, no field."""
    typo = client.get("/components/vpc/karma-de")
    body = typo.get_json()
    assert typo.status_code == 404 and body["cause"] == "unknown_component", body
    assert body["did_you_mean"] == "vpc/karma-dev"
    assert body["message"] == "component 'vpc/karma-de' not found; did you mean 'vpc/karma-dev'?"
    for path in ["/components/vpc/karma-de/impact", "/components/vpc/karma-de/versions"]:
        assert client.get(path).get_json()["did_you_mean"] == "vpc/karma-dev", path
    reported = client.put("/components/vpc/karma-de/runtime", json={"runtime": {}, "reported_by": "ci"})
    assert reported.status_code == 404 and reported.get_json()["did_you_mean"] == "vpc/karma-dev"
    qualified = client.get("/components/dev/subnet/karma-dev-private-c").get_json()
    assert qualified["cause"] == "unknown_component" and qualified["did_you_mean"] in {
        "subnet/karma-dev-private-a",
        "subnet/karma-dev-private-b",
    }, qualified
    nothing_near = client.get("/components/vpc/mainframe").get_json()
    assert nothing_near["message"] == "component 'vpc/mainframe' not found" and "did_you_mean" not in nothing_near
    unknown_type = client.get("/components/vpcc/karma-dev").get_json()
    assert unknown_type["cause"] == "unknown_component" and "did_you_mean" not in unknown_type
    documented = client.get("/openapi.json").get_json()["components"]["schemas"]["Error"]["properties"]
    assert "did_you_mean" in documented and "unknown_component" in documented["did_you_mean"]["description"]
