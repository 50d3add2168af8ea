"""Ordering in waves (app.changes.set_analysis.set_actions builds every change's wave plan with it):
providers before consumers (reversed for removals).

A wave holds the components whose providers (within the affected set) are all in earlier waves,
i.e. layers by longest path from the changed component. Components on a dependency cycle cannot be
ordered; they are reported, never looped on.
"""

from __future__ import annotations

from app.components import EDGE_KINDS


def propagation_edges(edges: list[dict]) -> list[tuple[str, str]]:
    """Stored edges → (provider, consumer) pairs in the direction a change flows."""
    return [flow(e["source"], e["target"], e["kind"]) for e in edges]


def flow(source: str, target: str, kind: str) -> tuple[str, str]:
    """One stored edge as (provider, consumer): the direction a change flows along it."""
    return (target, source) if EDGE_KINDS.get(kind) == "to_source" else (source, target)


def layer(nodes: list[str], pairs) -> tuple[list[list[str]], list[str]]:
    """Kahn's algorithm by levels; returns (layers, nodes left on cycles). `pairs`: (provider, consumer)
    pairs, repeats allowed."""
    if not nodes:  # e.g. a plan's teardowns when it deletes nothing: no pass over its 10,000 edges
        return [], []
    indegree = dict.fromkeys(nodes, 0)
    consumers: dict[str, list[str]] = {}
    for provider, consumer in set(pairs):
        if provider != consumer and provider in indegree and consumer in indegree:
            consumers.setdefault(provider, []).append(consumer)  # each pair once: no repeats in a list
            indegree[consumer] += 1
    layers, current = [], sorted(n for n, d in indegree.items() if d == 0)
    while current:
        layers.append(current)
        nxt = []
        for n in current:
            for c in consumers.get(n, ()):
                indegree[c] -= 1
                if indegree[c] == 0:
                    nxt.append(c)
        current = sorted(nxt)
    stuck = sorted(n for n, d in indegree.items() if d > 0)
    return layers, stuck
