"""Karma on Karma's real configuration, on the real Neo4j: the real configs load, by-value references
resolve through the change pipeline's one query, the aws-config tree imports (audited) with its schemas,
and a changed type file reports the components it would make invalid."""

from __future__ import annotations

import getpass
import json
import shutil
import time
import subprocess
import sys

import pytest
import yaml

from app import create_app, importing, seeding
from app.components import TypeFileError, registry
from app.settings import REPO_ROOT, Settings
from tests.conftest import dump, wipe

FIXTURES = REPO_ROOT / "tests" / "fixtures"
AWS_CONFIG = FIXTURES / "aws-config"
AWS_TYPES = FIXTURES / "aws-config-types"
EXPECTED_DRIFT = json.loads((FIXTURES / "aws-config-drift.json").read_text())


def published_tree(tmp_path):
    """The real snapshot plus what its deploy scripts publish beside it (the OpenAPI specs' runtime in
    Parameter Store, tests/fixtures/aws-config-published): one tree, as `karma import` reads it."""
    tree = tmp_path / "aws-config"
    shutil.copytree(AWS_CONFIG, tree)
    shutil.copytree(FIXTURES / "aws-config-published" / "iac", tree / "iac", dirs_exist_ok=True)
    return tree


pytestmark = pytest.mark.usefixtures("restore_types")  # tests here switch the active types (conftest)


def post(client, path, body):
    resp = client.post(path, json=body)
    return resp.status_code, resp.get_json()


def outgoing(repo, component_id):
    return sorted((e["id"], e["via"]) for e in repo.get_component(component_id)["dependencies"])


# ------------------------------------------------------------------------------ the three real configs
def test_the_three_real_configs_load_and_the_dev_site_links_to_the_prod_zone(empty_graph, tmp_path):
    doc = importing.read_tree(FIXTURES / "karma-dev-config")
    path = tmp_path / "real.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = seeding.load(empty_graph, path)
    assert result["components"] == 3 and result["edges"] == 2
    assert outgoing(empty_graph, "serverless-site/usekarma-dev") == [("route53-zone/usekarma-dev", "route53_zone_name")]
    assert outgoing(empty_graph, "serverless-site/adage-usekarma-dev") == [
        ("route53-zone/usekarma-dev", "route53_zone_name")
    ]
    assert empty_graph.get_component("serverless-site/usekarma-dev")["environment"] == "dev"
    assert empty_graph.get_component("route53-zone/usekarma-dev")["environment"] == "prod"


def test_a_seed_value_reference_resolves_against_the_graph_or_is_refused(world, tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "components": [
                    {
                        "id": "serverless-site/new",
                        "environment": "dev",
                        "config": {"site_name": "n", "route53_zone_name": "strall.com"},
                    },
                    {
                        "id": "serverless-site/lost",
                        "environment": "dev",
                        "config": {"site_name": "l", "route53_zone_name": "x.example"},
                    },
                ]
            }
        )
    )
    with pytest.raises(seeding.SeedError) as info:
        seeding.load(world, path)
    assert info.value.errors == [
        "components[1] (serverless-site/lost): config.route53_zone_name: references no "
        "route53-zone whose zone_name is 'x.example' (in any environment)"
    ]
    doc = yaml.safe_load(path.read_text())
    doc["components"].pop()
    path.write_text(yaml.safe_dump(doc))
    seeding.load(world, path)
    assert outgoing(world, "serverless-site/new") == [("route53-zone/strall-com", "route53_zone_name")]


# ----------------------------------------------------------------- by-value references through the API
SITE = "serverless-site/karma-dev"


def test_the_seed_world_has_the_value_edges(world):
    assert ("route53-zone/karma-dev", "route53_zone_name") in outgoing(world, SITE)


def test_changing_a_value_reference_moves_its_edge_across_environments(client, world):
    code, body = post(
        client,
        "/request-change",
        {"component": SITE, "requested_by": "ted@strall.com", "proposed_change": {"route53_zone_name": "usekarma.dev"}},
    )
    assert code == 200 and body["status"] == "applied", body
    patch = body["graph_patch"]
    assert patch["edges_added"] == [
        {"source": SITE, "target": "route53-zone/usekarma-dev", "kind": "emits_runtime_to", "via": "route53_zone_name"}
    ]
    assert patch["edges_removed"] == [
        {"source": SITE, "target": "route53-zone/karma-dev", "kind": "emits_runtime_to", "via": "route53_zone_name"}
    ]
    assert ("route53-zone/usekarma-dev", "route53_zone_name") in outgoing(world, SITE)
    assert ("route53-zone/karma-dev", "route53_zone_nickname") in outgoing(world, SITE)


def test_a_change_that_leaves_the_value_reference_alone_keeps_its_edge(client, world):
    code, body = post(
        client,
        "/request-change",
        {"component": SITE, "requested_by": "ted@strall.com", "proposed_change": {"site_name": "dev2.usekarma.dev"}},
    )
    assert code == 200 and body["graph_patch"]["edges_added"] == body["graph_patch"]["edges_removed"] == []
    assert ("route53-zone/karma-dev", "route53_zone_name") in outgoing(world, SITE)


def test_a_value_reference_that_matches_nothing_is_a_422_and_changes_nothing(client, world):
    before = dump(world)
    code, body = post(
        client,
        "/request-change",
        {
            "component": SITE,
            "requested_by": "ted@strall.com",
            "proposed_change": {"route53_zone_name": "nowhere.example"},
        },
    )
    assert code == 422
    assert body["errors"] == {
        "proposed_change.route53_zone_name": [
            "references no route53-zone whose zone_name is 'nowhere.example' (in any environment)"
        ]
    }
    assert dump(world) == before


def test_a_value_reference_that_matches_several_names_them(client, world, tmp_path):
    path = tmp_path / "twin.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "components": [
                    {
                        "id": "route53-zone/usekarma-dev-twin",
                        "environment": "staging",
                        "config": {"zone_name": "usekarma.dev"},
                    }
                ]
            }
        )
    )
    seeding.load(world, path)
    code, body = post(
        client,
        "/plan",
        {
            "component": SITE,
            "requested_by": "ted@strall.com",
            "proposed_change": {"route53_zone_name": "usekarma.dev."},
        },
    )
    assert code == 422
    assert body["errors"]["proposed_change.route53_zone_name"] == [
        "'usekarma.dev.' matches several route53-zone components by zone_name: "
        "route53-zone/usekarma-dev, route53-zone/usekarma-dev-twin"
    ]


def test_a_nickname_under_another_key_name(client, world):
    api = "serverless-api/karma-api"
    code, body = post(
        client,
        "/plan",
        {"component": api, "requested_by": "ted@strall.com", "proposed_change": {"openapi": "karma-api"}},
    )
    assert code == 200 and body["graph_patch"]["edges_added"] == [
        {"source": api, "target": "openapi/karma-api", "kind": "consumes_runtime_from", "via": "openapi"}
    ]
    code, body = post(
        client, "/plan", {"component": api, "requested_by": "ted@strall.com", "proposed_change": {"openapi": "nope"}}
    )
    assert code == 422 and body["errors"] == {
        "proposed_change.openapi": ["references unknown component 'openapi/nope'"]
    }


def test_types_are_listed_with_their_schemas(client):
    body = client.get("/types").get_json()
    site = next(t for t in body["types"] if t["name"] == "serverless-site")
    ref = next(r for r in site["references"] if r["key"] == "route53_zone_name")
    assert ref == {
        "key": "route53_zone_name",
        "target_type": "route53-zone",
        "kind": "emits_runtime_to",
        "reads": [],
        "many": False,
        "scope": "any",
        "by": "zone_name",
        "normalize": ["trailing-dot"],
    }
    assert site["config_schema"]["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert site["config_keys"]["site_name"] == {"type": "string", "required": True}
    assert body["directory"] == str(REPO_ROOT / "types")


# --------------------------------------------------------------------------------------- the import
def test_the_aws_config_tree_imports_into_an_empty_graph_as_one_audited_bulk_import(empty_graph, tmp_path):
    registry.load(AWS_TYPES)  # Karma's reviewed declarations (no grafana: that file is refused, named)
    tree = published_tree(tmp_path)
    events: list[tuple] = []
    result = importing.import_tree(
        empty_graph,
        tree,
        identity="cli:tester",
        environments=["prod"],
        partial=True,
        progress=lambda *e: events.append(e),
    )
    assert len(result["components"]) == 15 and result["written"] == 15
    edges = len(result["edges"])  # what the work reported, phase by phase, ends with all of it done
    assert [e for e in events if e[0] != "files"] == [
        ("components", 0, 15),
        ("components", 15, 15),
        ("edges", 0, edges),
        ("edges", edges, edges),
    ]
    assert events[0][:2] == ("files", 1) and events[0][2] == len([e for e in events if e[0] == "files"])
    assert result["refused"] == [
        "iac/prod/clickhouse/usekarma-dev/config.json",
        "iac/prod/ecs-cluster/usekarma-dev/config.json",
        "iac/prod/grafana/usekarma-dev/config.json",
        "iac/prod/vpc/usekarma-dev/config.json",
    ]
    contract = {(e["file"], e["field"]) for e in EXPECTED_DRIFT["drift"] if e["kind"] == "contract"}
    assert contract <= {(e["file"], e["field"]) for e in result["drift"]}
    assert {e["message"] for e in result["drift"] if e["component"] == "grafana/usekarma-dev"} == {
        "no component type 'grafana' is declared"
    }
    assert empty_graph.get_component("clickhouse/usekarma-dev") is None
    assert outgoing(empty_graph, "serverless-api/karma-api") == [
        ("openapi/karma-api", "openapi"),
        ("route53-zone/usekarma-dev", "route53_zone_name"),
    ]
    assert outgoing(empty_graph, "serverless-site/usekarma-dev") == [("route53-zone/usekarma-dev", "route53_zone_name")]
    assert outgoing(empty_graph, "serverless-site/strall-com") == [("route53-zone/strall-com", "route53_zone_name")]
    node = empty_graph.get_component("s3-bucket/usekarma-dev")
    assert node["config"] == json.loads((AWS_CONFIG / "iac/prod/s3-bucket/usekarma-dev/config.json").read_text())
    assert empty_graph.get_component("openapi/karma-api")["runtime"]["source"].startswith("s3://")
    entry = empty_graph.log_get(result["log_entry_id"])
    assert entry["kind"] == "import" and entry["requested_by"] == "cli:tester" and entry["status"] == "imported"
    assert sorted(entry["affected"]) == result["components"]
    # and the imported components take changes through the gate, validated by the aws-config schemas
    (impact,) = empty_graph.change_set_context(["route53-zone/usekarma-dev"], [])["touched"]
    assert {r["id"] for r in impact["impacted"]} == {"serverless-api/karma-api", "serverless-api/demo-api"}


def test_importing_into_a_non_empty_graph_goes_through_the_gate_as_one_change_set(world, tmp_path):
    from app.factory import Karma
    from app.policy import PolicyEngine
    from app.settings import Settings

    tree = tmp_path / "tree"
    files = {
        "vpc/karma-dev": {
            "cidr": "10.42.0.0/16",
            "az_count": 3,
            "enable_ssm_endpoints": True,
            "single_nat_gateway": True,
            "tags": {"Project": "karma", "Environment": "dev"},
        },
        "subnet/karma-dev-private-c": {
            "vpc_nickname": "karma-dev",
            "cidr_block": "10.42.3.0/24",
            "availability_zone": "us-east-1c",
            "map_public_ip_on_launch": False,
        },
    }
    for cid, config in files.items():
        (tree / "iac/dev" / cid).mkdir(parents=True)
        (tree / "iac/dev" / cid / "config.json").write_text(json.dumps(config))
    settings = Settings.from_env()
    policy = PolicyEngine(settings.rules_dir)
    policy.load()
    karma = Karma(settings=settings, repo=world, policy=policy)
    before = dump(world)
    planned = importing.import_into(world, karma.gate, tree, identity="cli:tester", plan=True)
    assert planned["import"] == "change-set" and dump(world) == before  # --plan writes nothing
    events: list[tuple] = []
    result = importing.import_into(world, karma.gate, tree, identity="cli:tester", progress=lambda *e: events.append(e))
    assert result["status"] == "applied", result
    # progress from the real work: each file read, then the set's two operations once the gate committed them
    assert events == [("files", 1, 2), ("files", 2, 2), ("operations", 0, 2), ("operations", 2, 2)]
    entry = world.log_get(result["log_entry_id"])
    assert entry["requested_by"] == "cli:tester" and entry["kind"] == "change" and entry["set_size"] == 2
    doc = importing.read_tree(tree)
    for comp in doc["components"]:
        assert world.get_component(comp["id"])["config"] == comp["config"]
    # nothing deleted without --prune; the same tree again changes nothing
    assert world.component_count() > len(doc["components"])
    again = importing.import_into(world, karma.gate, tree, identity="cli:tester")
    assert again["status"] == "unchanged"


def test_a_bad_tree_imports_nothing(empty_graph, tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(FIXTURES / "karma-dev-config", tree)
    (tree / "iac/prod/route53-zone/usekarma-dev/config.json").write_text('{"zone_name": "usekarma.dev.", "ttl": 3}')
    with pytest.raises(importing.ImportError_) as info:
        importing.import_tree(empty_graph, tree, identity="cli:tester")
    assert (
        "iac/prod/route53-zone/usekarma-dev/config.json: config.ttl: Unknown field. "
        "[route53-zone.schema: additionalProperties]"
    ) in info.value.errors
    assert empty_graph.list_components(type_=None, environment=None, skip=0, limit=1)["total"] == 0


def test_the_import_cli_plans_then_imports_as_the_os_user(service_env, empty_graph, tmp_path):
    env = {**service_env, "KARMA_TYPES_DIR": str(AWS_TYPES)}
    tree = str(published_tree(tmp_path))
    run = subprocess.run(
        [sys.executable, "-m", "app.cli", "import", tree, "--environment", "prod", "--plan", "--partial", "--json"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["plan"] is True
    assert empty_graph.list_components(type_=None, environment=None, skip=0, limit=1)["total"] == 0
    run = subprocess.run(
        [sys.executable, "-m", "app.cli", "import", tree, "--environment", "prod", "--partial", "--json"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["requested_by"] == f"cli:{getpass.getuser()}"
    assert empty_graph.log_get(result["log_entry_id"])["kind"] == "import"
    again = subprocess.run(
        [sys.executable, "-m", "app.cli", "import", tree, "--environment", "prod", "--partial", "--json"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["status"] == "unchanged"  # the graph already is the tree


def test_a_change_to_an_imported_component_uses_the_aws_config_schemas(make_app, driver, empty_graph, tmp_path):
    wipe(driver)  # make_app seeds the karma world first
    registry.load(AWS_TYPES)
    tree = published_tree(tmp_path)
    imported = importing.import_tree(empty_graph, tree, identity="cli:tester", environments=["prod"], partial=True)
    client = make_app(types_dir=AWS_TYPES).test_client()
    entry = client.get(f"/log/{imported['log_entry_id']}").get_json()
    assert entry["kind"] == "import" and entry["requested_by"] == "cli:tester" and len(entry["affected"]) == 15
    body = {
        "component": "lambda/karma-api",
        "requested_by": "ops@usekarma.dev",
        "reason": "resize",
        "proposed_change": {"functions": {"karma-graph-query": {"memory_size": "256"}}},
    }
    code, out = post(client, "/request-change", body)
    assert code == 422 and out["errors"] == {
        "proposed_change.functions.karma-graph-query.memory_size": ["Not a valid integer."]
    }, out
    code, out = post(client, "/plan", {**body, "component": "s3-bucket/usekarma-dev", "proposed_change": {"x": 1}})
    assert code == 422 and "proposed_change.x" in out["errors"]
    ok = {"functions": {"karma-graph-query": {"memory_size": 256}}}
    code, out = post(client, "/request-change", {**body, "proposed_change": ok})
    assert code == 200 and out["status"] == "applied", out


# ---------------------------------------------------------------------------- changing a type file
@pytest.fixture
def tightened(tmp_path):
    """The built-in types, with vpc now requiring a key no vpc in the karma world has."""
    types = tmp_path / "types"
    shutil.copytree(REPO_ROOT / "types", types)
    schema = json.loads((types / "vpc.schema.json").read_text())
    schema["required"] = ["cidr", "nat_mode"]
    schema["properties"]["nat_mode"] = {"enum": ["single", "per-az"]}
    (types / "vpc.schema.json").write_text(json.dumps(schema, indent=2))
    return types


def test_types_check_lists_the_components_a_changed_schema_makes_invalid(service_env, world, tightened):
    vpcs = [c["id"] for c in world.list_components(type_="vpc", environment=None, skip=0, limit=100)["items"]]
    run = subprocess.run(
        [sys.executable, "-m", "app.cli", "types", "check", str(tightened), "--json"],
        env=service_env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    assert report["invalid_components"] == sorted(vpcs) and len(vpcs) >= 2
    assert {
        "component": vpcs[0],
        "type": "vpc",
        "field": "config.nat_mode",
        "message": "Missing data for required field.",
    } in report["problems"]
    ok = subprocess.run(
        [sys.executable, "-m", "app.cli", "types", "check"],
        env=service_env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0 and "0 would be invalid" in ok.stdout and "edge" not in ok.stdout


def test_the_start_up_check_reports_only_changed_types(make_app, tightened):
    client = make_app().test_client()
    assert client.get("/types").get_json()["check"]["invalid_components"] == []
    client = make_app(types_dir=tightened).test_client()
    check = client.get("/types").get_json()["check"]
    assert check["checked_types"] == ["vpc"]
    assert check["invalid_components"] and all(c.startswith("vpc/") for c in check["invalid_components"])


def test_a_broken_type_file_stops_the_start(world, tmp_path):
    types = tmp_path / "types"
    shutil.copytree(REPO_ROOT / "types", types)
    (types / "subnet.yaml").write_text((types / "subnet.yaml").read_text().replace("target: vpc", "target: vcp"))
    with pytest.raises(TypeFileError, match=r"subnet.yaml: references\[0\].target: unknown component type 'vcp'"):
        create_app(Settings(types_dir=types), repo=world)


def test_types_validate_cli(service_env, tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "app.cli", "types", "validate", str(AWS_TYPES)],
        env=service_env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0 and "OK, 10 types" in run.stdout
    (tmp_path / "x.yaml").write_text("action: redeploy\nconfig_schema: x.schema.json\n")
    run = subprocess.run(
        [sys.executable, "-m", "app.cli", "types", "validate", str(tmp_path)],
        env=service_env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1 and "x.yaml: config_schema: cannot read 'x.schema.json'" in run.stderr


def test_types_check_shows_the_edges_a_changed_reference_would_add(service_env, world, tmp_path):
    types = tmp_path / "types"
    shutil.copytree(REPO_ROOT / "types", types)
    with (types / "serverless-api.yaml").open("a") as fh:
        fh.write(
            "- {key: route53_zone_name, target: route53-zone, kind: depends_on, by: zone_name,\n"
            "   normalize: [trailing-dot], scope: any}\n"
        )
    run = subprocess.run(
        [sys.executable, "-m", "app.cli", "types", "check", str(types), "--json"],
        env=service_env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["problems"] == [] and report["edges_removed"] == []
    assert {
        "source": "serverless-api/karma-api",
        "target": "route53-zone/usekarma-dev",
        "kind": "depends_on",
        "via": "route53_zone_name",
    } in report["edges_added"]
    assert {e["source"] for e in report["edges_added"]} == {"serverless-api/karma-api", "serverless-api/demo-api"}


def test_renaming_what_others_name_a_component_by_is_refused_naming_them(client, world):
    zone = "route53-zone/karma-dev"
    before = dump(world)
    code, body = post(
        client,
        "/request-change",
        {"component": zone, "requested_by": "ted@strall.com", "proposed_change": {"zone_name": "other.usekarma.dev."}},
    )
    assert code == 422, body
    assert body["errors"] == {
        "proposed_change.zone_name": [
            "serverless-site/karma-dev names this route53-zone by zone_name (route53_zone_name: 'dev.usekarma.dev'); "
            "it would no longer resolve — change that reference first"
        ]
    }
    assert dump(world) == before
    # the same name written without its trailing dot still matches: allowed
    code, body = post(
        client,
        "/plan",
        {"component": zone, "requested_by": "ted@strall.com", "proposed_change": {"zone_name": "dev.usekarma.dev"}},
    )
    assert code == 200, body


def test_an_import_is_bounded_by_the_bulk_timeout(empty_graph, tmp_path, monkeypatch):
    """An import is one transaction by design, bounded by `bulk_tx_timeout` (100,000 configs outlast the
    server's 15 s default): a bound too short to load the tree ends it and loads nothing."""
    tree = tmp_path / "tree"
    shutil.copytree(FIXTURES / "karma-dev-config", tree)

    def slow(phase, done, _total):  # called as each batch returns, inside the transaction (each attempt)
        if phase == "components" and done:  # after a statement: the transaction has begun on the server
            time.sleep(3)

    monkeypatch.setattr(empty_graph, "bulk_tx_timeout", 0.5)
    with pytest.raises(Exception, match="(?i)timed? ?out|terminated"):
        importing.import_tree(empty_graph, tree, identity="cli:tester", progress=slow)
    assert empty_graph.list_components(type_=None, environment=None, skip=0, limit=1)["total"] == 0
    monkeypatch.setattr(empty_graph, "bulk_tx_timeout", 60.0)
    assert importing.import_tree(empty_graph, tree, identity="cli:tester")["written"]


def test_a_test_app_judges_its_rules_against_the_types_it_serves_as_the_service_does(make_app):
    """The service loads its types, then its rules, and judges the rules against them (app.factory); the
    make_app fixture loaded the rules first, against whatever types were active, so an app serving
    aws-config's types ran the shipped rules about subnets, instances and distributions as live (the
    service: inert, saying so) — and a rule misspelling one of its types would have been judged against
    the wrong ones. Now the fixture keeps the service's order."""
    registry.load(REPO_ROOT / "types")  # what was active before: the built-in types
    app = make_app(types_dir=AWS_TYPES)
    inert = {r.id for r in app.extensions["karma"].policy.rules() if r.inert}
    assert inert == {
        "subnet-change-with-running-instance",
        "subnet-cidr-overlaps-sibling",
        "subnet-vpc-move-strands-dependents",
        "many-running-instances-affected",
        "dns-alias-needs-cloudfront-outputs",
        "shared-bucket-reference-in-use",  # its remedies set lambda keys aws-config's closed schema lacks
    }
