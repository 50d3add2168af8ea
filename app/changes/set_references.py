"""References inside a change set: each operation's references resolve against the graph AS THE SET
LEAVES IT before that operation — components created earlier in the set are there (a site naming the
zone the same set creates, by nickname or by `route53_zone_name`), components it deleted are not, an
updated component is matched by its new config — and against the graph beyond the set (read with the
set's context: `refs` by type and nickname, `ref_values` for the by-value lookups), in the scope each
reference declares (the same environment, any, or a named one). Resolution itself is the single
change's (app.components.references.resolve): unknown, out of scope, or several → errors per key."""

from __future__ import annotations

from app.changes.set_graph import GraphState
from app.components import references


class SetReferences:
    def __init__(self, state: GraphState, ctx: dict):
        self.state = state
        self.graph_refs = list(ctx.get("refs") or [])
        self.graph_values = list(ctx.get("ref_values") or [])

    def found(self, ctype) -> references.Found:
        """Every candidate a reference of `ctype` may name, as the set has left the graph so far."""
        state = self.state
        known = set(state.nodes)
        refs = [
            {
                "id": cid,
                "exists": True,
                "type": n["type"],
                "nickname": n.get("nickname"),
                "environment": n["environment"],
            }
            for cid, n in state.nodes.items()
            if state.exists(cid)
        ]
        refs += [r for r in self.graph_refs if r.get("id") not in known]
        wanted = {(r.target_type, r.by) for r in ctype.references if r.by_value}
        values = [
            {
                "type": n["type"],
                "property": f"cfg_{attr}",
                "value": (n.get("config") or {}).get(attr),
                "id": cid,
                "environment": n["environment"],
            }
            for cid, n in state.nodes.items()
            if state.exists(cid)
            for (type_name, attr) in wanted
            if n["type"] == type_name
        ]
        values += [v for v in self.graph_values if v.get("id") not in known]
        return references.Found(refs=refs, values=values)

    def resolve(self, ctype, environment: str, config: dict, keys=None) -> tuple[dict, dict[str, list[str]]]:
        if not any(keys is None or r.top in keys for r in ctype.references):
            return {}, {}  # the operation sets no reference key: nothing to look up
        return references.resolve(ctype, environment, config, self.found(ctype), keys=keys)
