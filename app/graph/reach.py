"""A change set's impact rows in the order cypher/impact.cypher gives them — by depth, then id.

cypher/change_set_context.cypher reaches what impact.cypher reaches with breadth-first sets that Neo4j
prunes, not with an ANY SHORTEST search (half the server time at 10,000 affected, issue 21), so its rows
come without a depth and in no useful order; and it returns the edges among them as lists, not maps,
each naming its source by its position in [the touched component] + its rows, as read. Everything after
the read must see what it saw before (the set's reference candidates are listed in the order of the
nodes read), so this puts both back: each row's depth — the length of its shortest path under
impact.cypher's pattern (backward hops, at most one emits_runtime_to hop, at most `SEGMENT` backward
hops on each side of it) — walked here from the edges, the rows sorted by (depth, id), the edges as maps
in the order of their source among them. Every node on such a shortest path is itself reached, so the
edges among the reached set are all the walk needs.
"""

from __future__ import annotations

from itertools import groupby
from operator import itemgetter

SEGMENT = 25  # backward hops on each side of the one emits_runtime_to hop, as cypher/impact.cypher
NO_PATH = {"path": None, "path_types": None, "edge_kinds": None, "via": None}  # as read without paths


def ordered_context(row: dict) -> dict:
    """The set context record with each touched component's impact as impact.cypher orders it (the rows
    carry `depth` and null path fields, as impact.cypher's rows read without paths did). The record's
    rows are completed in place: they are this read's own."""
    return {**row, "touched": [_ordered(item) for item in row["touched"]]}


def _ordered(item: dict) -> dict:
    start = item["component"]["id"]
    read = [start, *(r["id"] for r in item["impacted"])]  # an edge's source is its position here
    edges = [(read[i], target, kind, via) for i, target, kind, via in item["edges"]]
    found = depths(start, edges)
    rows = {r["id"]: r for r in item["impacted"]}
    # `found` is filled distance by distance: sort each distance's ids, then the few rows it cannot
    # place (none when every node is a :Component), by id
    order = [i for _d, pairs in groupby(found.items(), key=itemgetter(1)) for i in sorted([i for i, _ in pairs])]
    order += sorted(rows.keys() - found.keys())
    for i in order:
        row = rows[i]
        row["depth"] = found.get(i)
        row.update(NO_PATH)
    return {**item, "impacted": [rows[i] for i in order], "edges": _edges_by_source([start, *order], edges)}


def _edges_by_source(order: list[str], edges: list[tuple]) -> list[dict]:
    """The edges as maps, grouped by their source in `order` (each source's edges in the order read)."""
    by_source: dict[str, list[dict]] = {}
    for source, target, kind, via in edges:
        by_source.setdefault(source, []).append({"source": source, "target": target, "kind": kind, "via": via})
    out = [e for source in order for e in by_source.pop(source, ())]
    return out + [e for group in by_source.values() for e in group]


def depths(start: str, edges: list) -> dict[str, int]:
    """{id: length of its shortest path from `start`} under impact.cypher's pattern, `start` excluded, in
    order of distance; `edges`: (source, target, kind, via) each.

    A breadth-first walk over states: before the emits hop, a node and its distance (at most 2 ×
    SEGMENT backward hops; the emits hop only from within SEGMENT); after it, a node and the backward
    hops taken since (at most SEGMENT). A later state of a node after the hop is kept only when it has
    fewer hops since the emit than every earlier one (the only way it can reach further)."""
    consumers: dict[str, list[str]] = {}
    emits: dict[str, list[str]] = {}
    for source, target, kind, _via in edges:
        if kind == "emits_runtime_to":
            emits.setdefault(source, []).append(target)
        else:  # a change flows from the provider (target) back to its consumer (source)
            consumers.setdefault(target, []).append(source)
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
