"""The naive peer's in-memory impact: same semantics as cypher/impact.cypher (direction per edge kind)."""

from __future__ import annotations

from karma_tools.bench import generator, naive


def _graph():
    nodes = {
        cid: {
            "id": cid,
            "type": cid.split("/")[0],
            "nickname": cid.split("/")[1],
            "environment": "e",
            "version": 1,
            "config": "{}",
            "runtime": "{}",
        }
        for cid in (
            "vpc/v",
            "subnet/s",
            "ec2-instance/i",
            "serverless-site/w",
            "cloudfront-distribution/d",
            "route53-zone/z",
        )
    }
    edges = [
        {"source": "subnet/s", "target": "vpc/v", "kind": "depends_on"},
        {"source": "ec2-instance/i", "target": "subnet/s", "kind": "depends_on"},
        {"source": "serverless-site/w", "target": "cloudfront-distribution/d", "kind": "emits_runtime_to"},
        {"source": "route53-zone/z", "target": "cloudfront-distribution/d", "kind": "consumes_runtime_from"},
    ]
    return nodes, edges


def test_change_flows_against_depends_on_and_along_emits():
    nodes, edges = _graph()
    graph = naive.build(nodes, edges)
    ctx = naive.impact_context("vpc/v", [], nodes, edges, graph)
    assert [(r["id"], r["depth"]) for r in ctx["impacted"]] == [("subnet/s", 1), ("ec2-instance/i", 2)]
    assert ctx["impacted"][1]["path"] == ["vpc/v", "subnet/s", "ec2-instance/i"]
    assert ctx["impacted"][1]["edge_kinds"] == ["depends_on", "depends_on"]
    site = naive.impact_context("serverless-site/w", [], nodes, edges, graph)
    assert [r["id"] for r in site["impacted"]] == ["cloudfront-distribution/d", "route53-zone/z"]
    assert naive.impact_context("ec2-instance/i", [], nodes, edges, graph)["impacted"] == []


def test_edges_among_the_affected_set_and_reference_checks():
    nodes, edges = _graph()
    graph = naive.build(nodes, edges)
    ctx = naive.impact_context("subnet/s", ["vpc/v", "vpc/nope"], nodes, edges, graph)
    assert ctx["edges"] == [{"source": "ec2-instance/i", "target": "subnet/s", "kind": "depends_on"}]
    assert [(r["id"], r["exists"]) for r in ctx["refs"]] == [("vpc/v", True), ("vpc/nope", False)]
    assert naive.impact_context("vpc/missing", [], nodes, edges, graph) is None


def test_the_local_probe_has_a_fixed_impact():
    world = generator.probe_environment()
    nodes = {c["id"]: {**c, "version": 1} for c in world}
    edges = generator.edges(world)
    graph = naive.build(nodes, edges)
    ctx = naive.impact_context(generator.LOCAL.component, [], nodes, edges, graph)
    assert len(ctx["impacted"]) == 43
    assert len(naive.impact_context(generator.PROBES["none"].component, [], nodes, edges, graph)["impacted"]) == 0
