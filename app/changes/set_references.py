"""References inside a change set: each operation's references resolve against the graph AS THE SET
LEAVES IT before that operation — components created earlier in the set are there (a site naming the
zone the same set creates, by nickname or by `route53_zone_name`), components it deleted are not, an
updated component is matched by its new config — and against the graph beyond the set (read with the
set's context: `refs` by type and nickname, `ref_values` for the by-value lookups), in the scope each
reference declares (the same environment, any, or a named one). Resolution itself is the single
change's (app.components.references.resolve): unknown, out of scope, or several → errors per key. A name
that names nothing is given its near name among the set's and, read then (`read_ids`), its type's in the
graph: the context read holds only the names the set named, so it has no near name of a typo."""

from __future__ import annotations

from itertools import islice

from app.changes.set_graph import GraphState
from app.components import references


class SetReferences:
    def __init__(self, state: GraphState, ctx: dict, read_ids=None, read_values=None):
        self.state = state
        self.graph_refs = list(ctx.get("refs") or [])
        self.graph_values = list(ctx.get("ref_values") or [])
        self._graph_ids = {r.get("id") for r in self.graph_refs}
        self._seen = (0, -1)  # (len(nodes), removals) the names below were built for
        self._known: set[str] = set()
        self._names: dict[str, list[dict]] = {}
        # one for the analysis: the first name that names nothing ends it (a 422), so what it said is that
        # error's `did_you_mean`; the set's names are taken then, as the set has left the graph
        self.near = references.NearNames(self._names_now(), read_ids, read_values=read_values)

    def _names_now(self):
        """The set's names as it has left the graph, (name, environment), when first iterated (a generator:
        NearNames reads its names only at the first name that names nothing)."""
        self._by_nickname()
        yield from references.placed(self._names)

    def _by_nickname(self) -> None:
        """The candidates by nickname, as the set has left the graph: a component it created is added to
        them, and they are rebuilt only when it removed one or created one the graph read names too (a
        1,000-operation `karma seed` rebuilt them for every operation)."""
        state = self.state
        size, removals = len(state.nodes), state.removals
        if (size, removals) == self._seen:
            return
        fresh = list(islice(state.nodes, self._seen[0], None))  # ids are added at the end of the dict
        if removals != self._seen[1] or self._graph_ids.intersection(fresh):
            self._known = set(state.nodes)
            self._names = references.by_name(
                [_row(cid, n) for cid, n in state.nodes.items() if state.exists(cid)]
                + [r for r in self.graph_refs if r.get("id") not in self._known]
            )
        else:
            self._known.update(fresh)
            for cid in fresh:
                if state.exists(cid):
                    references.add_name(self._names, _row(cid, state.nodes[cid]))
        self._seen = (size, removals)

    def found(self, ctype) -> references.Found:
        """Every candidate a reference of `ctype` may name, as the set has left the graph so far."""
        state = self.state
        self._by_nickname()
        wanted = {(r.target_type, r.by) for r in ctype.references if r.by_value}
        values = (
            [
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
            if wanted
            else []
        )
        values += [v for v in self.graph_values if v.get("id") not in self._known]
        return references.Found(values=values, by_nickname=self._names, near_names=self.near)

    def resolve(self, ctype, environment: str, config: dict, keys=None) -> tuple[dict, dict[str, list[str]]]:
        if not any(keys is None or r.top in keys for r in ctype.references):
            return {}, {}  # the operation sets no reference key: nothing to look up
        return references.resolve(ctype, environment, config, self.found(ctype), keys=keys)


def _row(cid: str, node: dict) -> dict:
    """A component of the set's graph as a by-nickname candidate (the graph read's `refs` row)."""
    return {
        "id": cid,
        "exists": True,
        "type": node["type"],
        "nickname": node.get("nickname"),
        "environment": node["environment"],
    }
