"""Downstream actions, ordered in waves: providers before consumers (reversed for removals).

A wave holds the components whose providers (within the affected set) are all in earlier waves,
i.e. layers by longest path from the changed component. Components on a dependency cycle cannot be
ordered; they are reported, never looped on.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from app.components import EDGE_KINDS


@dataclass
class ActionPlan:
    waves: list[list[dict]]
    order: str  # "providers-first" | "consumers-first"
    cycles: list[list[str]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "order": self.order,
            "waves": self.waves,
            "cycles": self.cycles,
            "count": sum(len(w) for w in self.waves),
        }


def propagation_edges(edges: list[dict]) -> list[tuple[str, str]]:
    """Stored edges → (provider, consumer) pairs in the direction a change flows."""
    pairs = []
    for e in edges:
        if EDGE_KINDS.get(e["kind"]) == "to_source":
            pairs.append((e["target"], e["source"]))
        else:
            pairs.append((e["source"], e["target"]))
    return pairs


def layer(nodes: list[str], pairs: list[tuple[str, str]]) -> tuple[list[list[str]], list[str]]:
    """Kahn's algorithm by levels; returns (layers, nodes left on cycles)."""
    scope = set(nodes)
    consumers: dict[str, set[str]] = defaultdict(set)
    indegree = dict.fromkeys(nodes, 0)
    for provider, consumer in set(pairs):
        if provider in scope and consumer in scope and provider != consumer:
            consumers[provider].add(consumer)
            indegree[consumer] += 1
    layers, current = [], sorted(n for n in nodes if indegree[n] == 0)
    while current:
        layers.append(current)
        nxt = set()
        for n in current:
            for c in consumers[n]:
                indegree[c] -= 1
                if indegree[c] == 0:
                    nxt.add(c)
        current = sorted(nxt)
    stuck = sorted(n for n, d in indegree.items() if d > 0)
    return layers, stuck


def plan_actions(changed: dict, impacted: list[dict], edges: list[dict], *, removal: bool) -> ActionPlan:
    """`changed` and each impacted row carry id, type and action; edges are the stored edges."""
    rows = {changed["id"]: changed, **{r["id"]: r for r in impacted}}
    layers, stuck = layer(list(rows), propagation_edges(edges))
    waves = [[_action(rows[n], changed["id"]) for n in ids] for ids in layers]
    cycles = [stuck] if stuck else []
    if stuck:  # still listed, once, after everything that could be ordered
        waves.append([{**_action(rows[n], changed["id"]), "cycle": True} for n in stuck])
    if removal:
        waves.reverse()
    for i, wave in enumerate(waves):
        for item in wave:
            item["wave"] = i
    return ActionPlan(waves=waves, order="consumers-first" if removal else "providers-first", cycles=cycles)


def _action(row: dict, changed_id: str) -> dict:
    if row["id"] == changed_id:
        return {"component": row["id"], "type": row["type"], "action": "apply-config", "reason": "the requested change"}
    via = row.get("path", [changed_id])
    return {
        "component": row["id"],
        "type": row["type"],
        "action": row["action"],
        "reason": f"{' → '.join(via)} ({', '.join(row.get('edge_kinds', []))})",
    }
