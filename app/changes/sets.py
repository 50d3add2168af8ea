"""Change sets: several create / update / delete operations decided and committed as one.

The request is the set; the analysis is pure given the context read for it (every touched component
with its impact, the edges around it and who references it, in one query):

1. structure: known ops, no component twice, not empty (422);
2. order for safety: providers created before their consumers, consumers updated or deleted before
   their providers are deleted (a cycle among the operations is 422);
3. per operation, in that order, against the graph AS IT WOULD BE after the operations before it:
   validation (create: new id, known type, valid config; update: as a single change; delete: exists),
   references resolving to existing or same-set components of the same environment, its impact (for a
   delete: everything that depended on it), the rules (facts carry `op`, `set_size`, `set_components`);
4. after the set: no reference key anywhere points at a deleted component (409 naming each referrer);
5. one status for the whole set, one wave plan of downstream actions.
"""

from __future__ import annotations

import copy
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from app.changes import merge_patch
from app.changes.actions import layer, propagation_edges
from app.changes.diff import diff as config_diff
from app.changes.diff import keys
from app.changes.status import ChangeStatus
from app.components import UnknownType, get_type, registry, split_id
from app.errors import Conflict, NotFound, Unprocessable
from app.policy import fields as fact_fields

OPS = ("create", "update", "delete")
ENVIRONMENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
MAX_DEPTH = 25  # per backward segment, as cypher/impact.cypher


@dataclass(frozen=True)
class Operation:
    op: str
    component: str
    environment: str | None = None       # create
    config: dict | None = None           # create
    proposed_change: dict | None = None  # update
    expected_version: int | None = None  # update, delete
    # create only, and only from a rollback: the explicit (`via: seed`) edges a deleted component had
    explicit_edges: tuple | None = None

    def to_dict(self) -> dict:
        out = {"op": self.op, "component": self.component}
        for key in ("environment", "config", "proposed_change", "expected_version", "explicit_edges"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True)
class ChangeSet:
    operations: tuple[Operation, ...]
    requested_by: str
    reason: str | None = None
    on_blocked: str = "reject"
    via: str | None = None  # how it arrived when not over the API: "cli" (karma seed)

    @property
    def component_ids(self) -> list[str]:
        return [o.component for o in self.operations]

    def to_dict(self) -> dict:
        out = {"changes": [o.to_dict() for o in self.operations], "requested_by": self.requested_by,
               "reason": self.reason, "on_blocked": self.on_blocked}
        if self.via:
            out["via"] = self.via
        return out

    @classmethod
    def from_dict(cls, body: dict) -> ChangeSet:
        ops = tuple(Operation(**{k: (tuple(v) if k == "explicit_edges" else v) for k, v in o.items()
                                 if k in Operation.__dataclass_fields__})
                    for o in body["changes"])
        return cls(ops, body["requested_by"], body.get("reason"), body.get("on_blocked", "reject"), body.get("via"))


def check_structure(change_set: ChangeSet) -> None:
    """422 for an empty set, an unknown op or type, a component named twice."""
    errors: dict[str, list[str]] = {}
    if not change_set.operations:
        raise Unprocessable("a change set needs at least one operation", errors={"changes": ["empty"]})
    seen: dict[str, int] = {}
    for i, op in enumerate(change_set.operations):
        where = f"changes[{i}]"
        if op.op not in OPS:
            errors[f"{where}.op"] = [f"unknown op {op.op!r}; one of {', '.join(OPS)}"]
        try:
            get_type(split_id(op.component)[0])
        except (ValueError, UnknownType):
            errors.setdefault(f"{where}.component", []).append(f"not a <type>/<nickname> of a known type: "
                                                               f"{op.component!r}")
        if op.component in seen:
            errors.setdefault(f"{where}.component", []).append(
                f"{op.component!r} is already changed by changes[{seen[op.component]}]; one operation per "
                "component")
        seen.setdefault(op.component, i)
        if op.op == "create" and (op.environment is None or op.config is None):
            errors.setdefault(where, []).append("create needs environment and config")
        elif op.op == "create" and not ENVIRONMENT.match(op.environment):
            errors.setdefault(f"{where}.environment", []).append("lower-case letters, digits and '-'")
        if op.op == "update" and op.proposed_change is None:
            errors.setdefault(where, []).append("update needs proposed_change")
    if errors:
        raise Unprocessable("the change set is not valid", errors=errors)


def reference_ids(change_set: ChangeSet) -> list[str]:
    """Components the set's configs and patches point at (read with the context, to check they exist)."""
    out: set[str] = set()
    for op in change_set.operations:
        ctype = get_type(split_id(op.component)[0])
        body = op.config if op.op == "create" else op.proposed_change if op.op == "update" else None
        for ref in ctype.references if body else []:
            out.update(ref.target_ids(body))
        for e in op.explicit_edges or ():
            out.update((e["source"], e["target"]))
    return sorted(out - set(change_set.component_ids))


# -- the graph as it would be ---------------------------------------------------------------------
class GraphState:
    """The part of the graph the set can reach (touched components, everything they affect, the edges
    among them), with the operations applied one by one."""

    def __init__(self, ctx: dict):
        self.nodes: dict[str, dict] = {}
        self.edges: set[tuple[str, str, str, str]] = set()  # (source, target, kind, via)
        self.refs = {r["id"]: r for r in ctx["refs"]}
        self.referrers: dict[str, list[dict]] = {}
        self.explicit: dict[str, list[dict]] = {}
        for item in ctx["touched"]:
            node = item["component"]
            self.nodes[node["id"]] = node
            self.referrers[node["id"]] = item["referrers"]
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

    def remove(self, component_id: str) -> None:
        self.nodes[component_id] = {**self.nodes[component_id], "_deleted": True}
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
        rows = [_impact_row(self.nodes[n], len(f["path"]) - 1, f["path"], f["edge_kinds"]) for n, f in found.items()]
        return sorted(rows, key=lambda r: (r["depth"], r["id"]))

    def edges_among(self, ids: set[str]) -> list[dict]:
        pairs = {(s, t, k) for s, t, k, _v in self.edges if s in ids and t in ids}
        return [{"source": s, "target": t, "kind": k} for s, t, k in sorted(pairs)]


def _impact_row(node: dict, depth: int, path: list[str], edge_kinds: list[str]) -> dict:
    rtype = registry.get(node["type"]) if node["type"] in registry else None
    runtime = node.get("runtime") or {}
    declared = rtype.runtime_outputs if rtype else []
    return {"id": node["id"], "type": node["type"], "nickname": node.get("nickname"),
            "environment": node["environment"], "version": node["version"], "depth": depth, "path": path,
            "edge_kinds": edge_kinds, "edge_kind": edge_kinds[-1] if edge_kinds else None,
            "runtime": runtime, "runtime_published": bool(runtime),
            "missing_outputs": [o for o in declared if o not in runtime],
            "unpublished_reads": registry.unpublished_reads(node["type"]) if rtype else [],
            "action": rtype.action if rtype else "review"}


# -- ordering ---------------------------------------------------------------------------------------
def order(change_set: ChangeSet, state: GraphState) -> list[int]:
    """Indexes of the operations in a safe order (stable: the request's order where nothing constrains)."""
    ops = change_set.operations
    index = {o.component: i for i, o in enumerate(ops)}
    before: dict[int, set[int]] = {i: set() for i in range(len(ops))}
    for i, op in enumerate(ops):
        ctype = get_type(split_id(op.component)[0])
        body = op.config if op.op == "create" else op.proposed_change if op.op == "update" else None
        if body:  # a created provider goes first
            for ref in ctype.references:
                for target in ref.target_ids(body):
                    j = index.get(target)
                    if j is not None and ops[j].op == "create":
                        before[i].add(j)
        if op.op == "delete":  # whoever in the set references it now is updated/deleted first
            for referrer in state.referrers.get(op.component, []):
                j = index.get(referrer["source"])
                if j is not None and j != i:
                    before[i].add(j)
    done: list[int] = []
    pending = list(range(len(ops)))
    while pending:
        ready = [i for i in pending if before[i] <= set(done)]
        if not ready:
            raise Unprocessable("the operations of this set depend on each other in a cycle",
                                errors={"changes": [f"cycle among {[ops[i].component for i in pending]}"]})
        done.append(ready[0])
        pending.remove(ready[0])
    return done


# -- the analysis ------------------------------------------------------------------------------------
@dataclass
class OperationAnalysis:
    index: int               # position in the request
    position: int            # position in the safe order
    op: Operation
    component: dict          # id, type, nickname, environment, version, config, runtime (before the op)
    new_config: dict | None  # None for a delete
    diff: list[dict]
    edges_add: list[dict]
    edges_remove: list[dict]
    impact: list[dict]
    edges: list[dict] = field(default_factory=list)
    explicit_edges: list[dict] = field(default_factory=list)  # a delete: its `via: seed` edges (they go too)
    decisions: list[dict] = field(default_factory=list)
    facts: dict = field(default_factory=dict)

    def result(self) -> dict:
        out: dict[str, Any] = {"index": self.index, "order": self.position, "op": self.op.op,
                               "component": self.component["id"],
                               "affected_components": [r["id"] for r in self.impact],
                               "impact": self.impact, "decisions": self.decisions, "facts": self.facts,
                               "edges_added": self.edges_add, "edges_removed": self.edges_remove}
        if self.op.op == "create":
            out.update(config=self.new_config, version={"current": None, "after": 1})
        elif self.op.op == "update":
            out.update(diff=self.diff, version={"current": self.component["version"],
                                                "after": self.component["version"] + 1})
        else:
            out.update(deleted={**{k: self.component[k] for k in ("id", "type", "environment", "version",
                                                                  "config", "runtime")},
                                "explicit_edges": self.explicit_edges},
                       version={"current": self.component["version"], "after": None})
        return out


@dataclass
class SetAnalysis:
    change_set: ChangeSet
    operations: list[OperationAnalysis]  # in the safe order
    mode: str = "full"
    actions: dict = field(default_factory=dict)
    approved_by: str | None = None

    @property
    def decisions(self) -> list[dict]:
        return [{**d, "operation": o.index} for o in self.operations for d in o.decisions]

    @property
    def affected(self) -> list[dict]:
        """Every affected component once (the smallest depth), none of them touched by the set."""
        touched = {o.component["id"] for o in self.operations}
        rows: dict[str, dict] = {}
        for o in self.operations:
            for r in o.impact:
                if r["id"] not in touched and (r["id"] not in rows or r["depth"] < rows[r["id"]]["depth"]):
                    rows[r["id"]] = r
        return sorted(rows.values(), key=lambda r: (r["depth"], r["id"]))

    @property
    def versions(self) -> dict[str, int]:
        """Touched (existing) and affected components at the versions the rules saw; a created one is 0."""
        out = {r["id"]: r["version"] for r in self.affected}
        for o in self.operations:
            out[o.component["id"]] = o.component["version"] if o.op.op != "create" else 0
        return out

    @property
    def blockers(self) -> list[dict]:
        holding = ("reject", "block") if self.approved_by else ("reject", "block", "require_approval")
        return [d for d in self.decisions if d["effect"] in holding]

    @property
    def warnings(self) -> list[str]:
        return [d["message"] for d in self.decisions if d["effect"] == "warn"]

    def status(self) -> ChangeStatus:
        effects = {d["effect"] for d in self.decisions}
        if "reject" in effects:
            return ChangeStatus.REJECTED
        if "block" in effects:
            return ChangeStatus.QUEUED if self.change_set.on_blocked == "queue" else ChangeStatus.REJECTED
        if "require_approval" in effects and not self.approved_by:
            return ChangeStatus.PENDING_APPROVAL
        return ChangeStatus.APPLIED

    def result(self, status: ChangeStatus, **extra: Any) -> dict:
        body = {"status": str(status), "affected_components": [r["id"] for r in self.affected],
                "warnings": self.warnings, "log_entry_id": None, "change_id": None, "mode": self.mode,
                "set_size": len(self.operations), "order": [o.component["id"] for o in self.operations],
                "operations": [o.result() for o in sorted(self.operations, key=lambda o: o.index)],
                "decisions": self.decisions, "blockers": self.blockers, "actions": self.actions}
        body.update(extra)
        return body


def analyse_set(change_set: ChangeSet, ctx: dict, *, mode: str, policy=None) -> SetAnalysis:
    check_structure(change_set)
    state = GraphState(ctx)
    _check_existence(change_set, state)
    analysed = []
    for position, i in enumerate(order(change_set, state)):
        analysed.append(_analyse_operation(change_set, i, position, state, mode, policy))
    _check_no_dangling(change_set, state, analysed)
    analysis = SetAnalysis(change_set, analysed, mode=mode)
    analysis.actions = set_actions(analysed, state)
    return analysis


def _check_existence(change_set: ChangeSet, state: GraphState) -> None:
    for i, op in enumerate(change_set.operations):
        if op.op == "create" and op.component in state.nodes:
            raise Conflict(f"component {op.component!r} already exists; update it instead",
                           cause="component_exists", component=op.component, operation=i)
        if op.op != "create" and op.component not in state.nodes:
            raise NotFound(f"component {op.component!r} not found", cause="unknown_component",
                           component=op.component, operation=i)
        expected = op.expected_version
        if op.op != "create" and expected is not None and expected != state.nodes[op.component]["version"]:
            current = state.nodes[op.component]["version"]
            raise Conflict(f"component {op.component!r} is at version {current}, not {expected}",
                           cause="stale_version", component=op.component, operation=i,
                           current_version=current, expected_version=expected)


def _component(node: dict) -> dict:
    return {"id": node["id"], "type": node["type"], "nickname": node.get("nickname"),
            "environment": node["environment"], "version": node["version"],
            "config": node.get("config") or {}, "runtime": node.get("runtime") or {}}


def _analyse_operation(change_set: ChangeSet, i: int, position: int, state: GraphState, mode: str,
                       policy) -> OperationAnalysis:
    op = change_set.operations[i]
    type_name, nickname = split_id(op.component)
    ctype = get_type(type_name)
    if op.op == "create":
        component = {"id": op.component, "type": type_name, "nickname": nickname,
                     "environment": op.environment, "version": 0, "config": {}, "runtime": {}}
        new_config = copy.deepcopy(op.config)
        _validate(ctype, i, "config", op.config, new_config, component, state)
    else:
        component = _component(state.nodes[op.component])
        if op.op == "update":
            new_config = merge_patch.apply(component["config"], op.proposed_change)
            _validate(ctype, i, "proposed_change", op.proposed_change, new_config, component, state)
        else:
            new_config = None
    entries = config_diff(component["config"], new_config or {})
    if op.op == "update" and not entries:
        raise Unprocessable("the proposed change changes nothing", component=op.component,
                            errors={f"changes[{i}].proposed_change": ["no config key would change"]})
    old_edges = {_edge_key(e): e for e in ctype.edges(op.component, component["config"])}
    new_edges = {_edge_key(e): e for e in ctype.edges(op.component, new_config or {})}
    if op.op == "create" and op.explicit_edges:  # a rollback re-creating a deleted component
        new_edges.update({(e["source"], e["target"], e["kind"], e["via"]): dict(e) for e in op.explicit_edges
                          if state.environment_of(e["target"] if e["source"] == op.component else e["source"])})
    impact = [] if mode == "just-apply" or op.op == "create" else state.impact(op.component)
    analysis = OperationAnalysis(
        index=i, position=position, op=op, component=component, new_config=new_config, diff=entries,
        edges_add=[new_edges[k] for k in new_edges if k not in old_edges],
        edges_remove=[old_edges[k] for k in old_edges if k not in new_edges], impact=impact)
    analysis.edges = state.edges_among({op.component, *(r["id"] for r in impact)})
    if op.op == "delete":
        analysis.explicit_edges = state.explicit.get(op.component, [])
    facts_ = operation_facts(change_set, analysis)
    analysis.facts = facts_[0]["change"]
    if policy is not None and mode == "full":
        analysis.decisions = [{**d.to_dict(), "operation": i} for d in policy.evaluate(facts_)]
    # the graph as it is after this operation, for the ones after it
    if op.op == "create":
        state.nodes[op.component] = {**component, "config": new_config, "runtime": {}}
        state.set_config_edges(op.component, [], list(new_edges.values()))
    elif op.op == "update":
        state.nodes[op.component] = {**state.nodes[op.component], "config": new_config}
        state.set_config_edges(op.component, list(old_edges.values()), list(new_edges.values()))
    else:
        state.remove(op.component)
    return analysis


def _edge_key(edge: dict) -> tuple:
    return edge["target"], edge["kind"], edge["via"]


def _validate(ctype, i: int, field_name: str, body: dict, new_config: dict, component: dict,
              state: GraphState) -> None:
    where = f"changes[{i}].{field_name}"
    errors: dict[str, list[str]] = {}
    for key in body:
        if key not in set(ctype.config_keys):
            errors[f"{where}.{key}"] = [f"unknown config key for type {ctype.name!r}"]
    for name, messages in ctype.validate_config(new_config).items():
        errors.setdefault(f"{where}.{name}", messages)
    for ref in ctype.references:
        if ref.key not in body:
            continue
        for target in ref.target_ids(body):
            env = state.environment_of(target)
            if env is None:
                errors.setdefault(f"{where}.{ref.key}", []).append(
                    f"references unknown component {target!r} (not in the graph, not created before it)")
            elif env != component["environment"]:
                errors.setdefault(f"{where}.{ref.key}", []).append(
                    f"references {target!r} in environment {env!r}; references stay within "
                    f"{component['environment']!r}")
    if errors:
        raise Unprocessable("an operation of the change set is not valid", errors=errors,
                            component=component["id"], operation=i)


def _check_no_dangling(change_set: ChangeSet, state: GraphState, analysed: list[OperationAnalysis]) -> None:
    """After the set, no reference key points at a deleted component (409 naming referrer and key)."""
    deleted = {o.component["id"] for o in analysed if o.op.op == "delete"}
    final_config = {o.component["id"]: o.new_config for o in analysed}
    dangling = []
    for target in sorted(deleted):
        for ref in state.referrers.get(target, []):
            source = ref["source"]
            if source in deleted:
                continue
            if source in final_config:  # updated in the set: does its new config still point here?
                ctype = get_type(split_id(source)[0])
                if not any(e["target"] == target for e in ctype.edges(source, final_config[source])):
                    continue
            dangling.append({"component": target, "referrer": source, "key": ref["via"]})
    for o in analysed:  # a create/update in the set pointing at a component the set deletes
        if o.new_config is None:
            continue
        ctype = get_type(o.component["type"])
        for e in ctype.edges(o.component["id"], o.new_config):
            if e["target"] in deleted:
                dangling.append({"component": e["target"], "referrer": o.component["id"], "key": e["via"]})
    if dangling:
        names = ", ".join(f"{d['referrer']} ({d['key']}) → {d['component']}" for d in dangling)
        raise Conflict(f"deleting would leave dangling references: {names}; update or delete the referrers "
                       "in the same set", cause="still_referenced", referrers=dangling)


def operation_facts(change_set: ChangeSet, o: OperationAnalysis) -> list[dict]:
    """What the rules see for one operation: exactly the fields app.policy.fields declares."""
    comp, entries = o.component, o.diff
    change = fact_fields.build("change", {
        "component": comp["id"], "type": comp["type"], "nickname": comp["nickname"],
        "environment": comp["environment"], "changed_keys": keys(entries),
        "added_keys": keys(entries, "added"), "removed_keys": keys(entries, "removed"),
        "modified_keys": keys(entries, "changed"),
        "old": {e["key"]: e["old"] for e in entries if e["op"] != "added"},
        "new": {e["key"]: e["new"] for e in entries if e["op"] != "removed"},
        "requested_by": change_set.requested_by, "reason": change_set.reason,
        "affected_count": len(o.impact), "on_blocked": change_set.on_blocked,
        "op": o.op.op, "set_size": len(change_set.operations), "set_components": change_set.component_ids,
    })
    seen = fact_fields.build("component", {**comp, "config": o.new_config if o.op.op == "create" else comp["config"]})
    rows = [fact_fields.build("impacted", row) for row in o.impact]
    return [{"change": change, "component": seen, "impacted": None}] + [
        {"change": change, "component": seen, "impacted": row} for row in rows]


def set_actions(analysed: list[OperationAnalysis], state: GraphState) -> dict:
    """One wave plan for the set: creates and updates providers-first with everything they affect,
    then the teardowns of deleted components, consumers first."""
    rows: dict[str, dict] = {}
    for o in analysed:
        for r in o.impact:
            rows.setdefault(r["id"], {"component": r["id"], "type": r["type"], "action": r["action"],
                                      "reason": f"{' → '.join(r['path'])} ({', '.join(r['edge_kinds'])})"})
    verbs = {"create": "create", "update": "apply-config", "delete": "teardown"}
    for o in analysed:
        rows[o.component["id"]] = {"component": o.component["id"], "type": o.component["type"],
                                   "action": verbs[o.op.op], "reason": f"operation {o.index} ({o.op.op})"}
    deleted = [o.component["id"] for o in analysed if o.op.op == "delete"]
    live = [n for n in rows if n not in deleted]
    pairs = propagation_edges(state.edges_among(set(rows)) + [e for o in analysed for e in o.edges])
    live_layers, live_stuck = layer(live, pairs)
    gone_layers, gone_stuck = layer(deleted, pairs)
    waves = [[rows[n] for n in ids] for ids in live_layers]
    if live_stuck:
        waves.append([{**rows[n], "cycle": True} for n in live_stuck])
    waves += [[rows[n] for n in ids] for ids in reversed(gone_layers)]
    if gone_stuck:
        waves.append([{**rows[n], "cycle": True} for n in gone_stuck])
    out = []
    for i, wave in enumerate(waves):
        out.append([{**item, "wave": i} for item in wave])
    return {"order": "providers-first, teardowns consumers-first", "waves": out,
            "cycles": [c for c in (live_stuck, gone_stuck) if c], "count": sum(len(w) for w in out)}
