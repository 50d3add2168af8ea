"""Seeding the karma world and users' own files against the real Neo4j."""

from __future__ import annotations

import json

import pytest
import yaml

from app import seeding
from tests.conftest import SEED, raw_component


def test_seed_loads_the_karma_world(world, repo):
    page = repo.list_components(type_=None, environment=None, skip=0, limit=500)
    assert 30 <= page["total"] <= 40
    envs = {c["environment"] for c in page["items"]}
    assert envs == {"dev", "prod"}
    ids = {c["id"] for c in page["items"]}
    for needed in [
        "serverless-site/karma-dev",
        "cloudfront-distribution/karma-dev",
        "route53-zone/karma-dev",
        "serverless-site/karma-staging",
        "cloudfront-distribution/karma-staging",
        "vpc/karma-dev",
        "subnet/karma-dev-private-a",
        "ec2-instance/karma-dev-bastion",
        "s3-bucket/karma-shared",
        "openapi/karma-api",
        "lambda/karma-graph-query",
    ]:
        assert needed in ids


def test_seed_facts_the_scenarios_need(world, repo):
    def comp(cid):
        row = raw_component(repo, cid)["component"]
        return json.loads(row["config"]), json.loads(row["runtime"])

    _, dist = comp("cloudfront-distribution/karma-dev")
    assert dist["distribution_id"] and dist["domain_name"]
    assert comp("cloudfront-distribution/karma-staging")[1] == {}
    assert "cidr_block" in comp("subnet/karma-dev-private-a")[0]
    assert comp("ec2-instance/karma-dev-bastion")[1]["state"] == "running"
    assert comp("openapi/karma-api")[0]["s3_bucket_nickname"] == "karma-shared"
    bastion = raw_component(repo, "ec2-instance/karma-dev-bastion")
    assert {"id": "subnet/karma-dev-private-a", "kind": "depends_on", "via": "subnet_nickname"} in bastion["outgoing"]
    lam = raw_component(repo, "lambda/karma-graph-query")
    assert [e["id"] for e in lam["outgoing"]] == ["openapi/karma-api"]


def test_seeding_twice_is_idempotent(world, repo, graph_dump):
    before = graph_dump()
    result = seeding.load(repo, SEED)
    assert result["written"] == 0
    assert graph_dump() == before


def test_reseeding_a_changed_component_adds_a_version(world, repo, tmp_path):
    doc = yaml.safe_load(SEED.read_text())
    for comp in doc["components"]:
        if comp["id"] == "subnet/karma-dev-private-a":
            comp["config"]["cidr_block"] = "10.42.7.0/24"
            del comp["config"]["availability_zone"]
    path = tmp_path / "world.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert seeding.load(repo, path)["written"] == 1
    node = raw_component(repo, "subnet/karma-dev-private-a")["component"]
    assert node["version"] == 2 and node["cfg_cidr_block"] == "10.42.7.0/24"
    assert "cfg_availability_zone" not in node  # removed keys leave no stale property
    assert [v["version"] for v in repo.config_versions("subnet/karma-dev-private-a")] == [2, 1]


BAD_FILES = [
    ("unknown type", {"id": "mainframe/x", "environment": "dev", "config": {}}, "id: unknown component type"),
    (
        "missing required key",
        {"id": "subnet/x", "environment": "dev", "config": {"vpc_nickname": "karma-dev"}},
        "(subnet/x): config.cidr_block: Missing data for required field.",
    ),
    (
        "unknown key",
        {"id": "vpc/x", "environment": "dev", "config": {"cidr": "10.9.0.0/16", "colour": "red"}},
        "(vpc/x): config.colour: Unknown field.",
    ),
    (
        "wrong value type",
        {"id": "vpc/x", "environment": "dev", "config": {"cidr": "10.9.0.0/16", "az_count": "2"}},
        "(vpc/x): config.az_count: Not a valid integer.",
    ),
    (
        "dangling reference",
        {"id": "subnet/x", "environment": "dev", "config": {"vpc_nickname": "nowhere", "cidr_block": "10.9.0.0/24"}},
        "(subnet/x): config.vpc_nickname: references unknown component 'vpc/nowhere'",
    ),
    (
        "bad runtime output",
        {"id": "vpc/x", "environment": "dev", "config": {"cidr": "10.9.0.0/16"}, "runtime": {"vpc_identifier": "v"}},
        "(vpc/x): runtime.vpc_identifier: Unknown field.",
    ),
    ("no environment", {"id": "vpc/x", "config": {"cidr": "10.9.0.0/16"}}, "(vpc/x): environment: required"),
]


@pytest.mark.parametrize("label,bad,message", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_file_loads_nothing(empty_graph, graph_dump, tmp_path, label, bad, message):
    doc = yaml.safe_load(SEED.read_text())
    doc["components"].insert(5, bad)  # good components before and after the bad one
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    before = graph_dump()
    with pytest.raises(seeding.SeedError) as info:
        seeding.load(empty_graph, path)
    assert any(message in e for e in info.value.errors), info.value.errors
    assert "components[5]" in str(info.value)
    assert graph_dump() == before


def test_a_bad_file_does_not_touch_an_existing_graph(world, graph_dump, tmp_path):
    doc = yaml.safe_load(SEED.read_text())
    doc["components"][0]["config"]["cidr"] = "not-a-cidr"
    doc["components"][1]["config"]["cidr_block"] = "10.42.99.0/24"  # a valid edit in the same file
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    before = graph_dump()
    with pytest.raises(seeding.SeedError, match=r"components\[0\] \(vpc/karma-dev\): config.cidr"):
        seeding.load(world, path)
    assert graph_dump() == before


def test_cross_environment_reference_is_refused(empty_graph, tmp_path):
    doc = {
        "components": [
            {"id": "vpc/a", "environment": "prod", "config": {"cidr": "10.1.0.0/16"}},
            {"id": "subnet/b", "environment": "dev", "config": {"vpc_nickname": "a", "cidr_block": "10.1.1.0/24"}},
        ]
    }
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(seeding.SeedError, match="in environment 'prod', not 'dev'"):
        seeding.load(empty_graph, path)


def test_explicit_edges_and_references_to_existing_components(world, repo, tmp_path):
    doc = {
        "components": [
            {
                "id": "subnet/karma-dev-private-c",
                "environment": "dev",
                "config": {"vpc_nickname": "karma-dev", "cidr_block": "10.42.3.0/24"},
            },
        ],
        "edges": [{"from": "subnet/karma-dev-private-c", "to": "s3-bucket/karma-shared", "kind": "depends_on"}],
    }
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(doc))
    seeding.load(repo, path)
    out = raw_component(repo, "subnet/karma-dev-private-c")["outgoing"]
    assert {"id": "vpc/karma-dev", "kind": "depends_on", "via": "vpc_nickname"} in out
    assert {"id": "s3-bucket/karma-shared", "kind": "depends_on", "via": "seed"} in out


@pytest.mark.parametrize(
    "edge,message",
    [
        (
            {"from": "cloudfront-distribution/karma-dev", "to": "route53-zone/karma-dev", "kind": "emits_runtime_to"},
            "emits_runtime_to edges go from an emitting type",
        ),
        (
            {"from": "serverless-site/karma-dev", "to": "s3-bucket/karma-shared", "kind": "depends_on"},
            "cannot itself depend on another component",
        ),
    ],
)
def test_explicit_edges_keep_one_emits_hop_per_path(world, graph_dump, tmp_path, edge, message):
    path = tmp_path / "edges.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "components": [
                    {"id": "s3-bucket/karma-extra", "environment": "dev", "config": {"bucket_name": "karma-extra"}}
                ],
                "edges": [edge],
            }
        )
    )
    before = graph_dump()
    with pytest.raises(seeding.SeedError, match=message):
        seeding.load(world, path)
    assert graph_dump() == before


def test_a_bulk_load_reports_every_batch_and_writes_what_one_batch_would(empty_graph, repo, driver, graph_dump):
    from datetime import UTC, datetime

    from tests.conftest import wipe

    components, edges = seeding.validate(seeding.read_file(SEED), {}, [])
    rows, now = seeding.to_rows(components, {}), datetime(2026, 1, 1, tzinfo=UTC)
    events: list[tuple] = []
    repo.seed(rows, edges, now, batch=7, progress=lambda *event: events.append(event))
    n, m = len(rows), len(edges)
    assert n > 7 and m > 7
    assert [e for e in events if e[0] == "components"] == [("components", d, n) for d in [0, *range(7, n, 7), n]]
    assert [e for e in events if e[0] == "edges"] == [("edges", d, m) for d in [0, *range(7, m, 7), m]]
    batched = _shape(graph_dump())
    wipe(driver)
    repo.seed(rows, edges, now)  # one batch of each
    assert _shape(graph_dump()) == batched


def _shape(graph: dict) -> list:
    """A dump without Neo4j's element ids (two loads give their nodes different ones)."""
    nodes = {n["id"]: json.dumps([n["labels"], n["props"]], sort_keys=True, default=str) for n in graph["nodes"]}
    rels = [
        [nodes[r["start"]], r["type"], nodes[r["end"]], json.dumps(r["props"], sort_keys=True, default=str)]
        for r in graph["relationships"]
    ]
    return sorted(nodes.values()) + sorted(json.dumps(r) for r in rels)


def test_a_batched_reload_still_removes_the_edges_the_file_dropped(world, repo, tmp_path):
    doc = yaml.safe_load(SEED.read_text())
    doc["edges"] = [
        *doc.get("edges", []),
        {"from": "vpc/karma-dev", "to": "s3-bucket/karma-shared", "kind": "depends_on"},
    ]
    with_edge = tmp_path / "with.yaml"
    with_edge.write_text(yaml.safe_dump(doc))
    seeding.load(repo, with_edge)
    assert {"id": "s3-bucket/karma-shared", "kind": "depends_on", "via": "seed"} in raw_component(
        repo, "vpc/karma-dev"
    )["outgoing"]
    from datetime import UTC, datetime

    components, edges = seeding.validate(seeding.read_file(SEED), {}, [])
    existing = repo.existing([c["id"] for c in components])
    repo.seed(seeding.to_rows(components, existing), edges, datetime.now(UTC), batch=3)  # edges: batches of 3
    assert "s3-bucket/karma-shared" not in {e["id"] for e in raw_component(repo, "vpc/karma-dev")["outgoing"]}


def test_a_lone_surrogate_in_a_json_seed_is_refused_naming_the_field(app, graph_dump, tmp_path):
    """JSON allows the escape "\\ud800", Unicode has no such character (YAML's parser refuses it): a JSON
    seed holding one reached the rule engine through the gate (`karma seed FILE` into the world) and
    crashed it, or the driver on a bulk load into an empty graph. Refused as the file's other misreads are."""
    from app.changes.seed_sets import apply_file

    doc = yaml.safe_load(SEED.read_text())
    doc["components"][0]["config"]["tags"] = {"owner": "a\ud800b"}
    path = tmp_path / "world.json"
    path.write_text(json.dumps(doc))  # ensure_ascii: written as the escape
    karma = app.extensions["karma"]
    nodes = graph_dump()["nodes"]
    with pytest.raises(seeding.SeedError) as refused:
        apply_file(karma.repo, karma.gate, path, requested_by="cli:tester")
    assert refused.value.errors == [
        f"{path}: components[0] ({doc['components'][0]['id']}): config.tags.owner: a lone surrogate escape "
        "(\\ud800-\\udfff) is not a Unicode character: write the character itself, at line 1"
    ]
    assert [n for n in graph_dump()["nodes"] if "Component" in n["labels"]] == [
        n for n in nodes if "Component" in n["labels"]
    ]
