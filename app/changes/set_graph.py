"""The graph as a change set would leave it: the part of the graph the set can reach (its touched
components, everything they affect, the edges among them), with the set's operations applied one by one
— so each operation's impact and rules are judged after the operations ordered before it. The impact
walk is cypher/impact.cypher's, in memory: against depends_on / consumes_runtime_from edges, along at
most one emits_runtime_to edge, shortest paths first."""

from __future__ import annotations

import bisect
import heapq
from collections import deque
from collections.abc import Iterator
from functools import cached_property

from app.changes.actions import flow
from app.changes.facts import ImpactedRows, sibling_row
from app.components import MAX_SIBLINGS, get_type, registry

MAX_DEPTH = 25  # per backward segment, as cypher/impact.cypher


def _by_depth_and_id(row: dict) -> tuple[int, str]:
    return row["depth"], row["id"]


def edge_order(edge: dict) -> tuple[str, str, str, str]:
    """An edge or a referrer row ({source, [target,] kind, via}) by its ends, kind and key."""
    return tuple(str(edge.get(k) or "") for k in ("source", "target", "kind", "via"))


class GraphState:
    """The part of the graph the set can reach (touched components, everything they affect, the edges
    among them), with the operations applied one by one."""

    def __init__(self, ctx: dict):
        self.nodes: dict[str, dict] = {}
        self._index: _EdgeIndex | None = None
        self.edges: set[tuple[str, str, str, str]] = set()  # (source, target, kind, via)
        self._siblings: dict[str, tuple[dict, dict]] = {}  # id -> (its node, its sibling row)
        self.removals = 0  # components removed so far (with len(nodes): which components exist, for SetReferences)
        self.refs = {r["id"]: r for r in ctx["refs"]}
        self.referrers: dict[str, list[dict]] = {}
        self.explicit: dict[str, list[dict]] = {}
        self.value_referrers: dict[str, list[dict]] = {}  # who names it by value {source, source_type, via, value}
        self.outgoing: dict[str, list[dict]] = {}  # a touched component's config edges {source, target, kind, via}
        for item in ctx["touched"]:
            node = item["component"]
            self.nodes[node["id"]] = node
            keys_ = {r.key for r in get_type(node["type"]).references} if node["type"] in registry else set()
            # its edges and referrers in one order, whatever order the store keeps them in (what a delete
            # answers with: edges_removed, a 409's referrers), so two loads of one world answer alike
            self.outgoing[node["id"]] = sorted(
                (
                    {"source": node["id"], "target": e["target"], "kind": e["kind"], "via": e["via"]}
                    for e in item.get("outgoing") or []
                    if e.get("via") in keys_
                ),
                key=edge_order,
            )
            self.referrers[node["id"]] = sorted(item["referrers"], key=edge_order)
            self.value_referrers[node["id"]] = item.get("value_referrers") or []
            self.explicit[node["id"]] = sorted(item.get("explicit_edges", []), key=edge_order)
            for row in item["impacted"]:
                self.nodes.setdefault(row["id"], row)
            self.edges.update(item["edges"])  # (source, target, kind, via): the edges among what it reaches
            for e in item.get("explicit_edges", []):
                self.edges.add((e["source"], e["target"], e["kind"], e["via"]))
            for e in item.get("outgoing") or []:  # its own references (to its providers)
                self.edges.add((node["id"], e["target"], e["kind"], e.get("via")))
        groups = [g for item in ctx["touched"] for g in item.get("sibling_groups") or []]
        for group in groups + list(ctx.get("sibling_groups") or []):
            for member in group["members"]:  # who else depends on a provider through the same key
                self.nodes.setdefault(member["id"], member)
                self.edges.add((member["id"], group["provider"], "depends_on", group["via"]))

    @property
    def edges(self) -> set[tuple[str, str, str, str]]:
        """(source, target, kind, via) of every edge known. Not to be changed in place by a caller:
        assign a new set (or use set_config_edges / remove), so the index follows."""
        return self._edges

    @edges.setter
    def edges(self, value: set[tuple[str, str, str, str]]) -> None:
        if self._index is None:
            self._edges = set(value)
        else:
            self._change(self._edges - value, value - self._edges)

    def _change(self, drop: set, add: set) -> None:
        """Edges dropped and added by an operation, and the index updated by those edges only: a set of
        2,000 creates rebuilt its whole index 2,000 times (its analysis grew with the square of its size)."""
        if not drop and not add:
            return
        if self._index is None:
            self._edges = (self._edges - drop) | add
            return
        self._edges -= drop
        self._edges |= add
        self._index.apply(drop, add)

    def _indexed(self) -> _EdgeIndex:
        """The edges by source and target, and as the impact walk steps along them: built once per state
        (a 10-operation set walked and scanned its whole edge set for each operation, issue 21), then
        kept up to date as the operations change edges."""
        if self._index is None:
            self._index = _EdgeIndex(self._edges)
        return self._index

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
        drop = {
            e
            for e in self._indexed().going_out(component_id)
            if e[3] in keys_ or (e[3] is None and (e[1], e[2]) in gone)
        }
        add = {(e["source"], e["target"], e["kind"], e["via"]) for e in new_edges}
        self._change(drop - add, add - self._edges)  # an update that keeps its references changes nothing
        self.outgoing[component_id] = [dict(e) for e in new_edges if e["via"] in keys_]

    def remove(self, component_id: str) -> None:
        self.nodes[component_id] = {**self.nodes[component_id], "_deleted": True}
        self.removals += 1
        self.outgoing[component_id] = []
        index = self._indexed()
        self._change({*index.going_out(component_id), *index.into.get(component_id, ())}, set())

    def impact(self, start: str) -> list[dict]:
        """What a change to `start` propagates to, as cypher/impact.cypher finds it: against
        depends_on / consumes_runtime_from edges, along at most one emits_runtime_to edge; shortest first.
        Among equally short paths, the first in id order (consumers and emits targets visited sorted).

        Each walk state carries its path, edge kinds, path types and reference keys, each one hop longer
        than its parent's: a row's lists are built as the walk reaches it, not re-derived from its path
        (10,000 rows, issue 21)."""
        consumers, emits = self._indexed().walk
        nodes = self.nodes
        found: dict[str, tuple] = {}
        seen: tuple[set, set] = ({start}, set())  # nodes reached before / after the emits hop
        queue = deque([(start, 0, [start], [], [nodes[start]["type"]], [])])
        while queue:
            node, phase, path, kinds, path_types, vias = queue.popleft()
            if len(path) > 2 * MAX_DEPTH:
                continue
            for nphase, steps in ((phase, consumers.get(node, ())), (1, emits.get(node, ()) if phase == 0 else ())):
                reached = seen[nphase]
                for nxt, kind, via in steps:
                    if nxt in reached:
                        continue
                    node_ = nodes.get(nxt)
                    if node_ is None or node_.get("_deleted"):
                        continue
                    reached.add(nxt)
                    state = (nxt, nphase, path + [nxt], kinds + [kind], path_types + [node_["type"]], vias + [via])
                    if nxt != start and nxt not in found:
                        found[nxt] = state
                    queue.append(state)
        rows = ImpactedRows()
        out = [rows.row(nodes[n], len(p) - 1, p, k, t, v) for n, (_n, _ph, p, k, t, v) in found.items()]
        out.sort(key=_by_depth_and_id)
        return out

    def providers(self, component_id: str) -> set[tuple[str, str | None]]:
        """(provider, reference key) of each depends_on edge going out of the component now."""
        return {(t, v) for _s, t, k, v in self._indexed().going_out(component_id) if k == "depends_on"}

    def siblings(self, component_id: str, type_name: str, providers: set[tuple[str, str | None]]) -> list[dict]:
        """The rules' siblings, as cypher/impact.cypher reads them for a single change: components of the
        same type depending on one of `providers` through the same reference key — in the graph as the
        operations so far left it (created, moved or deleted siblings included)."""
        index = self._indexed()
        # per provider, in id order: the first MAX_SIBLINGS are read, not all of them
        named = [_depending(index.into_by_source(provider), key) for provider, key in providers]
        found: list[str] = []
        last = None
        for s in heapq.merge(*named):
            if s == last:  # named through two providers, or two edges
                continue
            last = s
            if s != component_id and self.exists(s) and self.nodes[s]["type"] == type_name:
                found.append(s)
                if len(found) == MAX_SIBLINGS:
                    break
        return [self._sibling_row(s) for s in found]

    def _sibling_row(self, component_id: str) -> dict:
        """A sibling's row, built once per state of its node (an operation replaces a node, never
        changes it in place): 1,000 creates under one provider each see up to 256 of the others."""
        node = self.nodes[component_id]
        kept = self._siblings.get(component_id)
        if kept is None or kept[0] is not node:
            kept = self._siblings[component_id] = (node, sibling_row(node))
        return kept[1]

    def flow_among(self, ids) -> set[tuple[str, str]]:
        """(provider, consumer) of each edge among `ids`: what orders their waves (app.changes.actions).
        Kept per set of ids while the edges stay as they are: a single change asks it for its impact, then
        again for its wave plan (the same 10,000 ids, one pass over the edges each, issue 21). Not to be
        changed by the caller."""
        flows = self._indexed().flows
        key = frozenset(ids)
        found = flows.get(key)
        if found is None:
            index = self._indexed()
            if index.by_source(lookups=len(key)):
                out = index.out
                found = {flow(s, t, k) for c in key for s, t, k, _v in out.get(c, ()) if t in key}
            else:
                found = {flow(s, t, k) for s, t, k, _v in self._edges if s in key and t in key}
            flows[key] = found
        return found


class _EdgeIndex:
    """A state's edges by source (`out`) and by target (`into`, the siblings' lookup), as the impact walk
    steps along them (`walk`), each built when first read from the state's own edge set (the live one),
    then kept up to date by `apply`; and the flows among sets of ids asked so far (dropped on any change)."""

    # passes over the whole edge set answered before `out` is built: one request's single change asks
    # three questions of its state (its flows, its providers, its old references), each one pass, which
    # costs less than building `out` (~10,000 edges at 10,000 affected); a set's operations ask more
    SCANS_BEFORE_INDEX = 3

    def __init__(self, edges: set[tuple[str, str, str, str]]):
        self.edges = edges
        self.flows: dict[frozenset, set[tuple[str, str]]] = {}  # GraphState.flow_among's answers
        self.scans = 0
        self._into_sorted: dict[str, list[tuple]] = {}  # into_by_source's lists, kept once made

    def into_by_source(self, target: str) -> list[tuple]:
        """The edges into `target` ordered by their source: the siblings' lookup reads the first few of a
        provider with thousands of dependents (sorted when first asked, then kept in order)."""
        found = self._into_sorted.get(target)
        if found is None:
            found = self._into_sorted[target] = sorted(self.into.get(target, ()), key=_source)
        return found

    def by_source(self, lookups: int = 1) -> bool:
        """Whether to answer from `out` (built now if it is time) rather than by one pass over the edges:
        `lookups` sources asked at once (as many as the edges: a pass is as cheap)."""
        if "out" in self.__dict__:
            return True
        if lookups * 4 < len(self.edges) and self.scans >= self.SCANS_BEFORE_INDEX:
            return True
        self.scans += 1
        return False

    def going_out(self, source: str) -> list[tuple] | set[tuple]:
        """The edges going out of `source`."""
        if self.by_source():
            return self.out.get(source, [])
        return {e for e in self.edges if e[0] == source}

    def apply(self, drop: set, add: set) -> None:
        """The edges `drop` are gone and `add` are new (the live edge set already says so)."""
        self.flows.clear()
        for name in ("out", "into"):
            by = self.__dict__.get(name)
            if by is not None:
                end = 0 if name == "out" else 1
                for edge in drop:
                    by[edge[end]].remove(edge)
                for edge in add:
                    by.setdefault(edge[end], []).append(edge)
        for edge in drop:
            if edge[1] in self._into_sorted:
                self._into_sorted[edge[1]].remove(edge)
        for edge in add:
            if edge[1] in self._into_sorted:
                bisect.insort(self._into_sorted[edge[1]], edge, key=_source)
        if "walk" in self.__dict__:
            for key in {edge[:3] for edge in (*drop, *add)}:
                self._rewalk(key)

    @cached_property
    def out(self) -> dict[str, list[tuple]]:
        return self._by(0)

    @cached_property
    def into(self) -> dict[str, list[tuple]]:
        return self._by(1)

    def _by(self, end: int) -> dict[str, list[tuple]]:
        found: dict[str, list[tuple]] = {}
        for edge in self.edges:
            found.setdefault(edge[end], []).append(edge)
        return found

    @cached_property
    def walk(self) -> tuple[dict[str, list[tuple]], dict[str, list[tuple]]]:
        """A provider's consumers (consumer, kind, via) and an emitter's targets (target,
        "emits_runtime_to", via), each list sorted (visited in order: sorted once, not per visit). One via
        per (source, target, kind): where an edge is stored with several, the first in the order of their
        text."""
        best: dict[tuple[str, str, str], tuple] = {}
        for edge in self.edges:
            key = edge[:3]
            kept = best.get(key)
            if kept is None or str(edge) < str(kept):
                best[key] = edge
        consumers: dict[str, list[tuple]] = {}
        emits: dict[str, list[tuple]] = {}
        for edge in best.values():
            by, at = _walk_step(edge)
            (emits if edge[2] == "emits_runtime_to" else consumers).setdefault(at, []).append(by)
        for steps in (*consumers.values(), *emits.values()):
            steps.sort()
        self._best = best
        return consumers, emits

    def _rewalk(self, key: tuple[str, str, str]) -> None:
        """The walk's one step for (source, target, kind) again, from the edges stored with that key now."""
        consumers, emits = self.walk
        steps = emits if key[2] == "emits_runtime_to" else consumers
        kept = self._best.pop(key, None)
        if kept is not None:
            by, at = _walk_step(kept)
            steps[at].remove(by)
        stored = [e for e in self.out.get(key[0], ()) if e[:3] == key]
        if stored:
            edge = self._best[key] = min(stored, key=str)
            by, at = _walk_step(edge)
            bisect.insort(steps.setdefault(at, []), by)


def _depending(edges: list[tuple], key: str | None) -> Iterator[str]:
    """The sources of the depends_on edges among `edges` made through reference `key` (a function of its
    own, so each provider's generator keeps its own key)."""
    return (s for s, _t, k, v in edges if k == "depends_on" and v == key)


def _source(edge: tuple[str, str, str, str]) -> str:
    return edge[0]


def _walk_step(edge: tuple[str, str, str, str]) -> tuple[tuple, str]:
    """(the step the walk takes, the component it takes it from): a change flows from the provider
    (target) back to its consumer (source), and along an emits_runtime_to edge from its source."""
    source, target, kind, via = edge
    if kind == "emits_runtime_to":
        return (target, kind, via), source
    return (source, kind, via), target
