"""A fixture graph in memory, answering what ``cypher/impact.cypher`` answers — for ``karma rules test``.

The fixture is a seed document (``components`` and ``edges`` in the seed format), checked by the seed
loader's own validation (:func:`app.seeding.validate`), so a fixture is exactly a graph Karma could hold.
:meth:`FixtureGraph.context` returns the context the pipeline analyses — the same keys and decoded values
the repository returns for the Cypher query's row — so ``rules test`` runs the service's pipeline
(validation, impact, facts, rules) on it without a database. The equivalence with the real query is held
by tests/integration/test_policy_cases_http.py.

Impact, as in the query: from the changed component, any number of hops against ``depends_on`` /
``consumes_runtime_from`` edges (consumer <- provider), at most one hop along an ``emits_runtime_to`` edge,
then again against; each reached component once, at its smallest depth (25 hops per segment at most),
ordered by depth then id.
"""

from __future__ import annotations

from collections import deque

from app.components import EDGE_KINDS, MAX_SIBLINGS
from app.graph.codec import CONFIG_PREFIX, dumps, flat_properties
from app.graph.repository import decode_set_context, read_edges
from app.seeding import SeedError, validate

MAX_SEGMENT = 25


class FixtureGraph:
    def __init__(self, doc: dict):
        components, edges = validate(doc, {})  # SeedError naming component and field
        self.nodes = {
            c["id"]: {
                "id": c["id"],
                "type": c["type"],
                "nickname": c["nickname"],
                "environment": c["environment"],
                "version": 1,
                "config": dumps(c["config"]),
                "runtime": dumps(c["runtime"]),
                **flat_properties(CONFIG_PREFIX, c["config"]),
            }
            for c in components
        }  # cfg_<key> properties, as stored (by-value references)
        self.edges = [{"source": e["source"], "target": e["target"], "kind": e["kind"], "via": e["via"]} for e in edges]
        self._out: dict[str, list[dict]] = {}
        self._in: dict[str, list[dict]] = {}
        for e in self.edges:
            self._out.setdefault(e["source"], []).append(e)
            self._in.setdefault(e["target"], []).append(e)

    def assume_runtime(self, runtime: dict[str, dict]) -> None:
        """``assume: {runtime: {<id>: {...}}}``: replace components' runtime outputs for this case."""
        for cid, outputs in runtime.items():
            if cid not in self.nodes:
                raise SeedError([f"assume.runtime.{cid}: unknown component"])
            if not isinstance(outputs, dict):
                raise SeedError([f"assume.runtime.{cid}: expected a mapping of runtime outputs"])
            self.nodes[cid] = {**self.nodes[cid], "runtime": dumps(outputs)}

    # ------------------------------------------------------------------ impact
    def _steps(self, node: str, emitted: bool):
        """(edge, next node, emitted after) for one hop from ``node``, in the query's pattern."""
        for e in self._in.get(node, ()):
            if EDGE_KINDS.get(e["kind"]) == "to_source":  # depends_on / consumes_runtime_from, walked backward
                yield e, e["source"], emitted
        if not emitted:
            for e in self._out.get(node, ()):
                if e["kind"] == "emits_runtime_to":
                    yield e, e["target"], True

    def _reach(self, start: str) -> dict[str, list[dict]]:
        """Shortest path (as its edges) to every component the change reaches; ties go to the smaller ids."""
        best: dict[str, list[dict]] = {}
        seen = {(start, False)}
        queue = deque([(start, False, [], 0)])
        while queue:
            node, emitted, path, segment = queue.popleft()
            for edge, nxt, after in sorted(self._steps(node, emitted), key=lambda s: (s[1], s[0]["kind"])):
                hops = 0 if after != emitted else segment + 1
                if (nxt, after) in seen or hops > MAX_SEGMENT or nxt == start:
                    continue
                seen.add((nxt, after))
                new_path = path + [edge]
                if nxt not in best:
                    best[nxt] = new_path
                queue.append((nxt, after, new_path, hops))
        return best

    def _stored_context(
        self, component_id: str, ref_ids: list[str], ref_values: list[dict] | None = None
    ) -> dict | None:
        """What cypher/impact.cypher reads, in its stored form (JSON text config and runtime)."""
        x = self.nodes.get(component_id)
        if x is None:
            return None
        reached = self._reach(component_id)
        order = sorted(reached, key=lambda cid: (len(reached[cid]), cid))
        impacted = []
        for cid in order:
            path_edges = reached[cid]
            ids = [component_id]
            for e in path_edges:
                ids.append(e["source"] if e["target"] == ids[-1] else e["target"])
            node = self.nodes[cid]
            impacted.append(
                {
                    "id": cid,
                    "type": node["type"],
                    "nickname": node["nickname"],
                    "environment": node["environment"],
                    "version": node["version"],
                    "runtime": node["runtime"],
                    "config": node["config"],
                    "depth": len(path_edges),
                    "path": ids,
                    "path_types": [self.nodes[i]["type"] for i in ids],
                    "edge_kinds": [e["kind"] for e in path_edges],
                    "via": [e["via"] for e in path_edges],
                }
            )
        scope = {component_id, *order}
        edges = [  # with their reference key, as cypher/impact.cypher returns them
            {"source": e["source"], "target": e["target"], "kind": e["kind"], "via": e["via"]}
            for e in self.edges
            if e["source"] in scope and e["target"] in scope
        ]
        refs = [
            {
                "id": r,
                "exists": r in self.nodes,
                "type": self.nodes.get(r, {}).get("type"),
                "environment": self.nodes.get(r, {}).get("environment"),
            }
            for r in ref_ids
        ]
        ref_values = ref_values or []
        return {
            "component": dict(x),
            "impacted": impacted,
            "edges": edges,
            "siblings": self._siblings(x),
            "refs": refs,
            "ref_values": self._values([rv for rv in ref_values if rv.get("mode") == "value"]),
            "outgoing": [
                {"target": e["target"], "kind": e["kind"], "via": e["via"]} for e in self._out.get(component_id, ())
            ],
            "referrers": [
                {
                    "source": e["source"],
                    "source_type": self.nodes[e["source"]]["type"],
                    "via": e["via"],
                    "value": self.nodes[e["source"]].get(rv["property"]),
                }
                for rv in ref_values
                if rv.get("mode") == "referrer"
                for e in self._in.get(component_id, ())
                if e["via"] == rv["via"] and self.nodes[e["source"]]["type"] == rv["source_type"]
            ],
        }

    def set_context(
        self,
        ids: list[str],
        ref_ids: list[str],
        ref_values: list[dict] | None = None,
        sibling_lookups: list[dict] | None = None,
    ) -> dict:
        """What cypher/change_set_context.cypher reads for a change set, from the fixture: each existing
        component of `ids` with its impact, who references it by a config key, its explicit edges and
        its sibling groups; and the members of each of `sibling_lookups`."""
        touched = []
        for cid in ids:
            ctx = self._stored_context(cid, [])
            if ctx is None:
                continue
            touched.append(
                {
                    **ctx,
                    "edges": read_edges(cid, ctx["impacted"], ctx["edges"]),
                    "referrers": [
                        {"source": e["source"], "kind": e["kind"], "via": e["via"]}
                        for e in self._in.get(cid, ())
                        if e["via"] != "seed"
                    ],
                    "explicit_edges": [
                        e for e in self.edges if e["via"] == "seed" and cid in (e["source"], e["target"])
                    ],
                    "sibling_keys": [
                        [e["target"], e["via"]] for e in self._out.get(cid, ()) if e["kind"] == "depends_on"
                    ],
                }
            )
        # each group a touched component is a sibling in, once, with one member more (the decoder cuts
        # each component's own group from it, as it does the query's)
        shared = {
            (provider, via, item["component"]["type"]) for item in touched for provider, via in item["sibling_keys"]
        }
        shared_siblings = [
            {**self._group(provider, via, type_name, limit=MAX_SIBLINGS + 1), "type": type_name}
            for provider, via, type_name in sorted(shared, key=repr)
        ]
        refs = [
            {
                "id": r,
                "exists": r in self.nodes,
                "type": self.nodes.get(r, {}).get("type"),
                "environment": self.nodes.get(r, {}).get("environment"),
            }
            for r in ref_ids
        ]
        values = self._values([rv for rv in ref_values or [] if rv.get("mode") == "value"])
        groups = [self._group(sl["provider"], sl["via"], sl["type"]) for sl in sibling_lookups or []]
        # stored form → values, as the read does
        return decode_set_context(
            {
                "touched": touched,
                "refs": refs,
                "ref_values": values,
                "sibling_groups": groups,
                "shared_siblings": shared_siblings,
            }
        )

    def _group(self, provider: str, via: str, type_name: str, limit: int = MAX_SIBLINGS) -> dict:
        """The first `limit` components (by id) of `type_name` depending on `provider` through `via`."""
        members = sorted(
            e["source"]
            for e in self._in.get(provider, ())
            if e["kind"] == "depends_on" and e["via"] == via and self.nodes[e["source"]]["type"] == type_name
        )
        keep = ("id", "type", "nickname", "environment", "version", "config", "runtime")
        return {
            "provider": provider,
            "via": via,
            "members": [{k: self.nodes[m][k] for k in keep} for m in members[:limit]],
        }

    def _values(self, lookups: list[dict]) -> list[dict]:
        """Components whose by-value property matches a lookup (the query's 'value' mode)."""
        out = []
        for rv in lookups:
            for t in self.nodes.values():
                stored = t.get(rv["property"])
                if t["type"] != rv["type"] or not isinstance(stored, str):
                    continue
                if (stored.lower() if rv.get("ignore_case") else stored) in rv["candidates"]:
                    out.append(
                        {
                            "type": t["type"],
                            "property": rv["property"],
                            "value": stored,
                            "id": t["id"],
                            "environment": t["environment"],
                        }
                    )
        return out

    def _siblings(self, x: dict) -> list[dict]:
        found = set()
        for e in self._out.get(x["id"], ()):
            if e["kind"] != "depends_on":
                continue
            for other in self._in.get(e["target"], ()):
                s = self.nodes[other["source"]]
                if (
                    other["kind"] == "depends_on"
                    and other["via"] == e["via"]
                    and s["id"] != x["id"]
                    and s["type"] == x["type"]
                ):
                    found.add(s["id"])
        return [
            {k: self.nodes[sid][k] for k in ("id", "type", "nickname", "environment", "config")}
            for sid in sorted(found)[:MAX_SIBLINGS]
        ]
