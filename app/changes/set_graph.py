"""The graph as a change set would leave it: the part of the graph the set can reach (its touched
components, everything they affect, the edges among them), with the set's operations applied one by one
— so each operation's impact and rules are judged after the operations ordered before it. The impact
walk is cypher/impact.cypher's, in memory: against depends_on / consumes_runtime_from edges, along at
most one emits_runtime_to edge, shortest paths first."""

from __future__ import annotations

from collections import deque

from app.components import get_type, registry, split_id

MAX_DEPTH = 25  # per backward segment, as cypher/impact.cypher


class GraphState:
    """The part of the graph the set can reach (touched components, everything they affect, the edges
    among them), with the operations applied one by one."""

    def __init__(self, ctx: dict):
        self.nodes: dict[str, dict] = {}
        self.edges: set[tuple[str, str, str, str]] = set()  # (source, target, kind, via)
        self.refs = {r["id"]: r for r in ctx["refs"]}
        self.referrers: dict[str, list[dict]] = {}
        self.explicit: dict[str, list[dict]] = {}
        self.value_referrers: dict[str, list[dict]] = {}  # who names it by value {source, source_type, via, value}
        self.outgoing: dict[str, list[dict]] = {}  # a touched component's config edges {source, target, kind, via}
        for item in ctx["touched"]:
            node = item["component"]
            self.nodes[node["id"]] = node
            keys_ = {r.key for r in get_type(node["type"]).references} if node["type"] in registry else set()
            self.outgoing[node["id"]] = [{"source": node["id"], "target": e["target"], "kind": e["kind"],
                                          "via": e["via"]} for e in item.get("outgoing") or []
                                         if e.get("via") in keys_]
            self.referrers[node["id"]] = item["referrers"]
            self.value_referrers[node["id"]] = item.get("value_referrers") or []
            self.explicit[node["id"]] = item.get("explicit_edges", [])
            for row in item["impacted"]:
                self.nodes.setdefault(row["id"], row)
            for e in item["edges"]:  # the impact read's edges carry no `via`
                self.edges.add((e["source"], e["target"], e["kind"], e.get("via")))
            for e in item.get("explicit_edges", []):
                self.edges.add((e["source"], e["target"], e["kind"], e["via"]))

    def exists(self, component_id: str) -> bool:
        return component_id in self.nodes and not self.nodes[component_id].get("_deleted")

    def environment_of(self, component_id: str) -> str | None:
        if component_id in self.nodes:
            return None if self.nodes[component_id].get("_deleted") else self.nodes[component_id]["environment"]
        ref = self.refs.get(component_id)
        return ref["environment"] if ref and ref["exists"] else None

    def set_config_edges(self, component_id: str, old_edges: list[dict], new_edges: list[dict]) -> None:
        """Replace the component's config-derived outgoing edges (explicit `seed` edges stay). An edge
        read without its `via` goes when the old config declared it and the new one does not."""
        keys_ = {r.key for r in get_type(self.nodes[component_id]["type"]).references}
        gone = {(e["target"], e["kind"]) for e in old_edges} - {(e["target"], e["kind"]) for e in new_edges}
        self.edges = {e for e in self.edges if not (e[0] == component_id and (
            e[3] in keys_ or (e[3] is None and (e[1], e[2]) in gone)))}
        self.edges |= {(e["source"], e["target"], e["kind"], e["via"]) for e in new_edges}
        self.outgoing[component_id] = [dict(e) for e in new_edges if e["via"] in keys_]

    def remove(self, component_id: str) -> None:
        self.nodes[component_id] = {**self.nodes[component_id], "_deleted": True}
        self.outgoing[component_id] = []
        self.edges = {e for e in self.edges if component_id not in (e[0], e[1])}

    def impact(self, start: str) -> list[dict]:
        """What a change to `start` propagates to, as cypher/impact.cypher finds it: against
        depends_on / consumes_runtime_from edges, along at most one emits_runtime_to edge; shortest first."""
        consumers: dict[str, list[tuple[str, str]]] = {}
        emits: dict[str, list[str]] = {}
        for source, target, kind, _via in self.edges:
            if kind == "emits_runtime_to":
                emits.setdefault(source, []).append(target)
            else:
                consumers.setdefault(target, []).append((source, kind))
        found: dict[str, dict] = {}
        seen = {(start, 0)}
        queue = deque([(start, 0, [start], [])])
        while queue:
            node, phase, path, kinds = queue.popleft()
            steps = [(c, phase, k) for c, k in sorted(consumers.get(node, []))]
            if phase == 0:
                steps += [(t, 1, "emits_runtime_to") for t in sorted(emits.get(node, []))]
            for nxt, nphase, kind in steps:
                if (nxt, nphase) in seen or not self.exists(nxt) or len(path) > 2 * MAX_DEPTH:
                    continue
                seen.add((nxt, nphase))
                npath, nkinds = path + [nxt], kinds + [kind]
                if nxt != start and nxt not in found:
                    found[nxt] = {"path": npath, "edge_kinds": nkinds}
                queue.append((nxt, nphase, npath, nkinds))
        rows = [_impact_row(self.nodes[n], len(f["path"]) - 1, f["path"], f["edge_kinds"], self._vias(f))
                for n, f in found.items()]
        return sorted(rows, key=lambda r: (r["depth"], r["id"]))

    def _vias(self, found: dict) -> list[str | None]:
        """The reference key of each hop along a path (a hop against depends_on / consumes_runtime_from
        runs from the provider to its consumer, so the stored edge points the other way)."""
        vias = []
        for (a, b), kind in zip(zip(found["path"], found["path"][1:], strict=False), found["edge_kinds"],
                                strict=False):
            source, target = (a, b) if kind == "emits_runtime_to" else (b, a)
            vias.append(next((v for s, t, k, v in sorted(self.edges, key=str)
                              if (s, t, k) == (source, target, kind)), None))
        return vias

    def edges_among(self, ids: set[str]) -> list[dict]:
        pairs = {(s, t, k) for s, t, k, _v in self.edges if s in ids and t in ids}
        return [{"source": s, "target": t, "kind": k} for s, t, k in sorted(pairs)]


def _impact_row(node: dict, depth: int, path: list[str], edge_kinds: list[str], vias: list) -> dict:
    rtype = registry.get(node["type"]) if node["type"] in registry else None
    runtime = node.get("runtime") or {}
    declared = rtype.runtime_outputs if rtype else []
    return {"id": node["id"], "type": node["type"], "nickname": node.get("nickname"),
            "environment": node["environment"], "version": node["version"], "depth": depth, "path": path,
            "edge_kinds": edge_kinds, "edge_kind": edge_kinds[-1] if edge_kinds else None,
            "runtime": runtime, "runtime_published": bool(runtime),
            "missing_outputs": [o for o in declared if o not in runtime],
            "unpublished_reads": registry.unpublished_reads(node["type"]) if rtype else [],
            "action": rtype.action if rtype else "review", "config": node.get("config") or {},
            "path_types": [split_id(p)[0] for p in path], "via": vias}
