"""A change set's impact rows in the order cypher/impact.cypher gives them — by depth, then id.

cypher/change_set_context.cypher reaches what impact.cypher reaches with breadth-first sets that Neo4j
prunes, not with an ANY SHORTEST search (half the server time at 10,000 affected, issue 21), so its rows
come without a depth and in no useful order; and it returns the edges among them as lists, not maps.
Everything after the read must see what it saw before (the set's reference candidates are listed in
the order of the nodes read), so this puts both back: each row's depth — the length of its shortest
path under impact.cypher's pattern (backward hops, at most one emits_runtime_to hop, at most
`SEGMENT` backward hops on each side of it) — walked here from the edges, the rows sorted by (depth,
id), the edges as maps in the order of their source among them. Every node on such a shortest path is
itself reached, so the edges among the reached set are all the walk needs.
"""

from __future__ import annotations

SEGMENT = 25  # backward hops on each side of the one emits_runtime_to hop, as cypher/impact.cypher
EDGE_KEYS = ("source", "target", "kind", "via")


def ordered_context(row: dict) -> dict:
    """The set context record with each touched component's impact as impact.cypher orders it (the rows
    carry `depth` and null path fields, as impact.cypher's rows read without paths did)."""
    return {**row, "touched": [_ordered(item) for item in row["touched"]]}


def _ordered(item: dict) -> dict:
    start = item["component"]["id"]
    edges = [dict(zip(EDGE_KEYS, e, strict=True)) for e in item["edges"]]
    depth = depths(start, edges)
    rows = [
        {**r, "depth": depth.get(r["id"]), "path": None, "path_types": None, "edge_kinds": None, "via": None}
        for r in item["impacted"]
    ]
    rows.sort(key=lambda r: (r["depth"] is None, r["depth"] or 0, r["id"]))
    position = {start: -1} | {r["id"]: i for i, r in enumerate(rows)}
    edges.sort(key=lambda e: position.get(e["source"], len(rows)))  # stable: each source's own order kept
    return {**item, "impacted": rows, "edges": edges}


def depths(start: str, edges: list[dict]) -> dict[str, int]:
    """{id: length of its shortest path from `start`} under impact.cypher's pattern, `start` excluded.

    A breadth-first walk over states: before the emits hop, a node and its distance (at most 2 ×
    SEGMENT backward hops; the emits hop only from within SEGMENT); after it, a node and the backward
    hops taken since (at most SEGMENT). A later state of a node after the hop is kept only when it has
    fewer hops since the emit than every earlier one (the only way it can reach further)."""
    consumers: dict[str, list[str]] = {}
    emits: dict[str, list[str]] = {}
    for e in edges:
        if e["kind"] == "emits_runtime_to":
            emits.setdefault(e["source"], []).append(e["target"])
        else:  # a change flows from the provider (target) back to its consumer (source)
            consumers.setdefault(e["target"], []).append(e["source"])
    found: dict[str, int] = {}
    seen = {start}
    since_emit: dict[str, int] = {}
    before, after = [start], []  # this distance's states: before the emits hop / (node, hops since it)
    distance = 0
    while before or after:
        next_before, next_after = [], []
        for node in before:
            if distance < 2 * SEGMENT:
                for c in consumers.get(node, ()):
                    if c not in seen:
                        seen.add(c)
                        next_before.append(c)
            for t in emits.get(node, ()) if distance <= SEGMENT else ():
                if since_emit.get(t, SEGMENT + 1) > 0:
                    since_emit[t] = 0
                    next_after.append((t, 0))
        for node, hops in after:
            if hops < SEGMENT:
                for c in consumers.get(node, ()):
                    if since_emit.get(c, SEGMENT + 1) > hops + 1:
                        since_emit[c] = hops + 1
                        next_after.append((c, hops + 1))
        distance += 1
        for node in next_before:
            found.setdefault(node, distance)
        for node, _hops in next_after:
            found.setdefault(node, distance)
        before, after = next_before, next_after
    found.pop(start, None)
    return found
