"""The naive peer: per request, read the WHOLE graph into memory (networkx), then compute the same impact
and run the same rules and pipeline as Karma's `/plan`.

This is what a gateway without a graph database (or without a bounded traversal) does: its cost follows
the size of the estate, not the size of the impact. It reuses Karma's own analysis (`app.changes.set_analysis`)
on a context it builds itself, so the two differ only in how the impact is obtained.
"""

from __future__ import annotations

from collections import defaultdict

import networkx as nx
from neo4j import Driver, RoutingControl

from app.changes.commit import graph_patch
from app.changes.model import ChangeRequest
from app.changes.set_analysis import analyse_set
from app.changes.sets import reference_ids
from app.components import EDGE_KINDS
from app.graph.repository import decode_set_context, read_edges
from karma_tools.bench.queries import query

MAX_DEPTH = 25


NODE_FIELDS = ("id", "type", "nickname", "environment", "version", "config", "runtime")


def read_graph(driver: Driver, database: str | None = None) -> tuple[dict[str, dict], list[dict]]:
    """Every component and edge, in one record (the fastest of the shapes tried: see docs/performance.md)."""
    record = driver.execute_query(query("bench_naive_graph"), database_=database, routing_=RoutingControl.READ).records[
        0
    ]
    nodes = {row[0]: dict(zip(NODE_FIELDS, row, strict=True)) for row in record["nodes"]}
    edges = [{"source": s, "target": t, "kind": k} for s, t, k in record["edges"]]
    return nodes, edges


def build(nodes: dict[str, dict], edges: list[dict]) -> nx.DiGraph:
    """A directed graph in the direction a change flows (provider → consumer, emitter → receiver)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    for e in edges:
        if EDGE_KINDS.get(e["kind"]) == "to_source":
            graph.add_edge(e["target"], e["source"], kind=e["kind"])
        else:
            graph.add_edge(e["source"], e["target"], kind=e["kind"])
    return graph


def impact_context(
    component_id: str, ref_ids: list[str], nodes: dict[str, dict], edges: list[dict], graph: nx.DiGraph
) -> dict | None:
    """The same row `cypher/impact.cypher` returns (stored form), computed in memory."""
    if component_id not in nodes:
        return None
    paths = nx.single_source_shortest_path(graph, component_id, cutoff=MAX_DEPTH)
    reached = sorted((p for p in paths if p != component_id), key=lambda n: (len(paths[n]) - 1, n))
    impacted = []
    for node_id in reached:
        path = paths[node_id]
        node = nodes[node_id]
        impacted.append(
            {
                "id": node_id,
                "type": node["type"],
                "nickname": node["nickname"],
                "environment": node["environment"],
                "version": node["version"],
                "runtime": node["runtime"],
                "depth": len(path) - 1,
                "path": path,
                "edge_kinds": [graph.edges[a, b]["kind"] for a, b in zip(path, path[1:], strict=False)],
            }
        )
    scope = {component_id, *reached}
    by_source = defaultdict(list)
    for e in edges:
        by_source[e["source"]].append(e)
    scoped = [
        {"source": e["source"], "target": e["target"], "kind": e["kind"]}
        for s in scope
        for e in by_source.get(s, ())
        if e["target"] in scope
    ]
    refs = [
        {
            "id": r,
            "exists": r in nodes,
            "type": nodes.get(r, {}).get("type"),
            "environment": nodes.get(r, {}).get("environment"),
        }
        for r in ref_ids
    ]
    return {"component": nodes[component_id], "impacted": impacted, "edges": scoped, "refs": refs}


def plan(driver: Driver, request: ChangeRequest, policy, database: str | None = None) -> dict:
    """One naive `/plan`: whole graph in, networkx BFS, then Karma's own analysis and rules (a single change
    is the one-update set it is, as in the service)."""
    change_set = request.to_set()
    nodes, edges = read_graph(driver, database)
    graph = build(nodes, edges)
    ctx = impact_context(request.component, reference_ids(change_set), nodes, edges, graph)
    touched = {"referrers": [], "outgoing": [], "explicit_edges": [], **ctx}
    touched["edges"] = read_edges(request.component, ctx["impacted"], ctx["edges"])
    stored = {"touched": [touched], "refs": ctx.pop("refs"), "ref_values": [], "sibling_groups": []}
    touched.pop("refs", None)
    analysis = analyse_set(change_set, decode_set_context(stored), mode="full", policy=policy)  # as the repository does
    return analysis.result("planned", graph_patch=graph_patch(analysis))
