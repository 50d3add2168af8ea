"""One drawing model for impact and plan results: nodes in waves, edges in the direction a change flows."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace

from app.changes.actions import layer, propagation_edges
from app.changes.status import decided

BLOCKING_EFFECTS = ("reject", "block", "require_approval")


def wave_number(index: int) -> int:
    """A wave as text numbers it: from 1 (`wave 1` acts first), as text counts a set's operations and a
    transition's steps; the JSON's `wave` and its place in `waves` (and an SVG node's data-wave) count
    from 0. A wave is a place in the order of acting, not a depth: impact rows carry their `depth`."""
    return index + 1


COLLAPSE_OVER = 40  # a picture with more nodes draws the plain ones as one node per (wave, type), with counts
RUNTIME_FIRST = ("state", "status", "instance_state", "health")
VERDICT = {
    "applied": "would apply",
    "rejected": "would be rejected",
    "queued": "would be queued",
    "pending_approval": "would need an approval",
}


@dataclass(frozen=True)
class Node:
    id: str
    type: str
    action: str
    wave: int
    changed: bool = False
    blocked_by: tuple[str, ...] = ()  # "effect: rule id" of each rule that rejects, blocks or holds it here
    runtime: str = ""  # what its deploy last reported, in short ("state=running")
    count: int = 1  # > 1: a collapsed group of `count` components of `type` in this wave


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
    nodes += [
        Node(
            i,
            by_id[i]["type"],
            by_id[i].get("action") or "review",
            wave_of.get(i, last),
            runtime=runtime_text(by_id[i].get("runtime")),
        )
        for i in ids[1:]
    ]
    notes = [f"on a dependency cycle: {', '.join(stuck)}"] if stuck else []
    title = f"impact of a change to {changed}: {len(rows)} component{'' if len(rows) == 1 else 's'} reached"
    return collapsed(Picture(title, changed, None, _sorted(nodes), _keep(edges, ids), notes))


def runtime_text(runtime) -> str:
    """A component's reported runtime in a few words: its state (or its first output), and how many more."""
    if not isinstance(runtime, dict) or not runtime:
        return ""
    keys = [k for k in RUNTIME_FIRST if k in runtime] + sorted(k for k in runtime if k not in RUNTIME_FIRST)
    return f"{keys[0]}={_short(runtime[keys[0]])}" + (f" (+{len(keys) - 1})" if len(keys) > 1 else "")


def _short(value, limit: int = 24) -> str:
    """A runtime value in a box: long ARNs and ids are cut (the component page has them whole)."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def verdict_title(result: dict) -> str:
    """The status, and for a plan the verdict its decisions would give (`planned, would be rejected`)."""
    status = result.get("status") or "plan"
    if status != "planned":
        return status.replace("_", " ")
    on_blocked = result.get("on_blocked") or (result.get("request") or {}).get("on_blocked") or "reject"
    would = decided(result.get("decisions") or [], on_blocked, False)
    return f"planned, {VERDICT.get(str(would), str(would))}"


def change_title(result: dict, limit: int = 6) -> str:
    """A change named by its size and operations, in request order: "3 operations: create subnet/a,
    update ec2-instance/b, delete lambda/c" (a single change: its component)."""
    ops = result.get("operations") or []
    if len(ops) <= 1 and result.get("component"):
        return result["component"]
    names = [f"{o['op']} {o['component']}" for o in ops[:limit]]
    more = f", … {len(ops) - limit} more" if len(ops) > limit else ""
    return f"{len(ops)} operation{'s' if len(ops) != 1 else ''}: {', '.join(names)}{more}"


def from_plan(result: dict, stored_edges: list[dict] | None = None) -> Picture:
    """`POST /plan` / `/request-change` results: every operation (marked changed) and what it affects in
    the waves the action planner made, the edges among them (each affected component's path, the edges
    the operations add, and `stored_edges`: e.g. a past change drawn on today's edges), blockers marked.
    The edges are all in before a large picture is collapsed, so its groups keep theirs."""
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
    edges = _path_edges(rows) + _stored_edges(added) + _stored_edges(stored_edges or [])
    runtime = {r["id"]: runtime_text(r.get("runtime")) for r in rows if r.get("runtime")}
    nodes = [replace(n, runtime=runtime.get(n.id, "")) for n in nodes]
    return collapsed(
        Picture(
            f"{verdict_title(result)}: {'change to ' if len(changed_ids) == 1 else ''}{change_title(result)}",
            changed,
            result.get("status"),
            _sorted(nodes),
            _keep(edges, ids),
            list(result.get("warnings") or []),
        )
    )


def collapsed(picture: Picture, limit: int = COLLAPSE_OVER) -> Picture:
    """Over `limit` nodes, the plain ones (not changed, not blocked) become one node per wave and type,
    with their count, and edges between groups are drawn once: a 1,000-component impact stays readable.
    The changed ones are grouped too (per wave and type, still drawn as changed) when they alone are over
    `limit`: a set creating 500 instances drew 500 boxes, a picture 37,000 px tall."""
    if len(picture.nodes) <= limit:
        return picture
    fold_changed = sum(1 for n in picture.nodes if n.changed and not n.blocked_by) > limit
    group_of: dict[str, str] = {}
    groups: dict[tuple[int, str, bool], list[Node]] = {}
    for n in picture.nodes:
        if not n.blocked_by and (fold_changed or not n.changed):
            groups.setdefault((n.wave, n.type, n.changed), []).append(n)
    grouped = {m.id for members in groups.values() for m in members}
    nodes = [n for n in picture.nodes if n.id not in grouped]
    for (wave, type_, changed), members in groups.items():
        if len(members) == 1:
            nodes.append(members[0])
            continue
        name = f"{type_} ×{len(members)} {'changed ' if changed else ''}(wave {wave_number(wave)})"
        for m in members:
            group_of[m.id] = name
        actions = sorted({m.action for m in members if m.action})
        first = members[0]
        nodes.append(Node(name, first.type, "/".join(actions), first.wave, changed=changed, count=len(members)))
    edges = {Edge(group_of.get(e.source, e.source), group_of.get(e.target, e.target), e.kind) for e in picture.edges}
    which = "changed and plain ones" if fold_changed else "plain ones"
    notes = [*picture.notes, f"{len(picture.nodes)} components: {which} drawn as one node per wave and type"]
    return Picture(
        picture.title, picture.changed, picture.status, _sorted(nodes), _keep(list(edges), [n.id for n in nodes]), notes
    )


COMPONENT_ID = re.compile(r"^[a-z0-9][a-z0-9-]*(/[A-Za-z0-9][A-Za-z0-9._-]*){1,2}$")


def _ids_in(value) -> list[str]:
    """Component ids in one answer cell: an id string, a node (its `id`), or lists / paths of them."""
    if isinstance(value, str):
        return [value] if COMPONENT_ID.match(value) else []
    if isinstance(value, dict):
        return _ids_in(value.get("id")) if "Component" in (value.get("labels") or ["Component"]) else []
    if isinstance(value, list):
        return [i for v in value for i in _ids_in(v)]
    return []


def from_rows(title: str, rows: list[list]) -> Picture:
    """An operator query's answer: the components its cells name; in a row, the first leads to the others
    (a path's nodes lead one to the next). Waves by longest path, large answers collapsed."""
    ids: dict[str, None] = {}
    pairs: dict[tuple[str, str], None] = {}
    for row in rows:
        found = []
        for cell in row:
            cell_ids = _ids_in(cell)
            if isinstance(cell, list) and cell and isinstance(cell[0], dict):  # a path
                pairs.update(dict.fromkeys(zip(cell_ids, cell_ids[1:], strict=False)))
            found += cell_ids
        ids.update(dict.fromkeys(found))
        pairs.update({(found[0], other): None for other in found[1:] if other != found[0]})
    layers, stuck = layer(list(ids), list(pairs))
    wave_of = {n: i for i, ids_ in enumerate(layers) for n in ids_}
    nodes = [Node(i, i.split("/")[-2], "", wave_of.get(i, len(layers))) for i in ids]
    edges = [Edge(a, b, "row") for a, b in pairs]
    notes = [f"on a cycle: {', '.join(stuck)}"] if stuck else []
    return collapsed(Picture(title, "", None, _sorted(nodes), _keep(edges, list(ids)), notes))


def _sorted(nodes: list[Node]) -> list[Node]:
    return sorted(nodes, key=lambda n: (n.wave, not n.changed, n.id))


def _keep(edges: list[Edge], ids: list[str]) -> list[Edge]:
    scope = set(ids)
    return sorted(
        {e for e in edges if e.source in scope and e.target in scope and e.source != e.target},
        key=lambda e: (e.source, e.target, e.kind),
    )
