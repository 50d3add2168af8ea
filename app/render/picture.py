"""One drawing model for impact and plan results: nodes in waves, edges in the direction a change flows."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.changes.actions import layer, propagation_edges

BLOCKING_EFFECTS = ("reject", "block", "require_approval")


@dataclass(frozen=True)
class Node:
    id: str
    type: str
    action: str
    wave: int
    changed: bool = False
    blocked_by: tuple[str, ...] = ()  # "effect: rule id" of each rule that rejects, blocks or holds it here


@dataclass(frozen=True)
class Edge:
    source: str  # the provider a change comes from
    target: str  # the component it flows to
    kind: str  # the stored edge kind: depends_on | consumes_runtime_from | emits_runtime_to


@dataclass
class Picture:
    title: str
    changed: str
    status: str | None
    nodes: list[Node]
    edges: list[Edge]
    notes: list[str] = field(default_factory=list)

    @property
    def waves(self) -> list[list[Node]]:
        count = 1 + max((n.wave for n in self.nodes), default=0)
        return [[n for n in self.nodes if n.wave == w] for w in range(count)]

    @property
    def blocked(self) -> list[Node]:
        return [n for n in self.nodes if n.blocked_by]


def _path_edges(rows: list[dict]) -> list[Edge]:
    """The edges on each affected component's path from the changed one (how it is reached)."""
    seen: dict[tuple[str, str], Edge] = {}
    for row in rows:
        path, kinds = row.get("path") or [], row.get("edge_kinds") or []
        for (a, b), kind in zip(zip(path, path[1:], strict=False), kinds, strict=False):
            seen.setdefault((a, b), Edge(a, b, kind))
    return list(seen.values())


def _stored_edges(edges: list[dict]) -> list[Edge]:
    """Stored edges turned into the direction a change flows (provider → consumer)."""
    out = {}
    for stored, (provider, consumer) in zip(edges, propagation_edges(edges), strict=True):
        out.setdefault((provider, consumer), Edge(provider, consumer, stored["kind"]))
    return list(out.values())


def _blockers(decisions: list[dict], changed: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for d in decisions:
        if d.get("effect") in BLOCKING_EFFECTS:
            found.setdefault(d.get("component") or changed, []).append(f"{d['effect']}: {d.get('rule_id') or '?'}")
    return found


def from_impact(result: dict) -> Picture:
    """`GET /components/<id>/impact`: waves by longest path over the affected subgraph's edges."""
    changed = result["component"]
    rows = result.get("affected", [])
    edges = _stored_edges(result.get("edges") or []) or _path_edges(rows)
    ids = [changed, *(r["id"] for r in rows)]
    layers, stuck = layer(ids, [(e.source, e.target) for e in edges])
    wave_of = {n: i for i, ids_ in enumerate(layers) for n in ids_}
    last = len(layers)
    by_id = {r["id"]: r for r in rows}
    nodes = [Node(changed, changed.split("/", 1)[0], "change", 0, changed=True)]
    nodes += [Node(i, by_id[i]["type"], by_id[i].get("action") or "review", wave_of.get(i, last)) for i in ids[1:]]
    notes = [f"on a dependency cycle: {', '.join(stuck)}"] if stuck else []
    return Picture(f"impact of a change to {changed}", changed, None, _sorted(nodes), _keep(edges, ids), notes)


def change_title(result: dict, limit: int = 6) -> str:
    """A change named by its size and operations, in request order: "3 operations: create subnet/a,
    update ec2-instance/b, delete lambda/c" (a single change: its component)."""
    ops = result.get("operations") or []
    if len(ops) <= 1 and result.get("component"):
        return result["component"]
    names = [f"{o['op']} {o['component']}" for o in ops[:limit]]
    more = f", … {len(ops) - limit} more" if len(ops) > limit else ""
    return f"{len(ops)} operation{'s' if len(ops) != 1 else ''}: {', '.join(names)}{more}"


def from_plan(result: dict) -> Picture:
    """`POST /plan` / `/request-change` results: every operation (marked changed) and what it affects in
    the waves the action planner made, the edges among them (each affected component's path, the edges
    the operations add), blockers marked."""
    ops = result.get("operations") or []
    changed_ids = [o["component"] for o in ops] or [result["component"]]
    changed = changed_ids[0]
    waves = (result.get("actions") or {}).get("waves") or [
        [{"component": c, "type": "", "action": ""} for c in changed_ids]
    ]
    blockers = _blockers(result.get("decisions") or [], changed)
    nodes = []
    for w, wave in enumerate(waves):
        for item in wave:
            cid = item["component"]
            nodes.append(
                Node(
                    cid,
                    item.get("type") or cid.split("/", 1)[0],
                    item.get("action") or "",
                    w,
                    changed=cid in changed_ids,
                    blocked_by=tuple(blockers.get(cid, ())),
                )
            )
    ids = [n.id for n in nodes]
    for missing in sorted(set(blockers) - set(ids)):  # a rule that names a component outside the impact
        nodes.append(Node(missing, missing.split("/", 1)[0], "", len(waves), blocked_by=tuple(blockers[missing])))
        ids.append(missing)
    rows = [r for o in ops for r in o.get("impact") or []] or result.get("impact") or []
    added = [e for o in ops for e in o.get("edges_added") or []]
    edges = _path_edges(rows) + _stored_edges(added)
    status = result.get("status")
    return Picture(
        f"{status or 'plan'}: {'change to ' if len(changed_ids) == 1 else ''}{change_title(result)}",
        changed,
        status,
        _sorted(nodes),
        _keep(edges, ids),
        list(result.get("warnings") or []),
    )


def with_edges(picture: Picture, stored_edges: list[dict]) -> Picture:
    """The picture with the stored edges among its nodes (e.g. a past change drawn on today's edges)."""
    picture.edges = _keep([*picture.edges, *_stored_edges(stored_edges)], [n.id for n in picture.nodes])
    return picture


def _sorted(nodes: list[Node]) -> list[Node]:
    return sorted(nodes, key=lambda n: (n.wave, not n.changed, n.id))


def _keep(edges: list[Edge], ids: list[str]) -> list[Edge]:
    scope = set(ids)
    return sorted(
        {e for e in edges if e.source in scope and e.target in scope}, key=lambda e: (e.source, e.target, e.kind)
    )
