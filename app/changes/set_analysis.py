"""The analysis of a change set (pure, given the context read for it): per operation in the safe order,
validation, references, impact and rules against the graph as it would be after the operations before it;
then the no-dangling-reference check over the whole set, one status and one wave plan of actions."""

from __future__ import annotations

import copy
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

from app.changes import merge_patch
from app.changes.actions import layer
from app.changes.diff import diff as config_diff
from app.changes.facts import rule_facts
from app.changes.set_graph import GraphState
from app.changes.set_references import SetReferences
from app.changes.sets import INVALID_SET, ChangeSet, Operation, check_structure, order
from app.seeding import emits_problem
from app.changes.status import ChangeStatus, blockers_of, decided
from app.components import get_type, references, split_id
from app.errors import Conflict, KarmaError, NotFound, Unprocessable
from app.observability import metrics


@dataclass
class OperationAnalysis:
    index: int  # position in the request
    position: int  # position in the safe order
    op: Operation
    component: dict  # id, type, nickname, environment, version, config, runtime (before the op)
    new_config: dict | None  # None for a delete
    diff: list[dict]
    edges_add: list[dict]
    edges_remove: list[dict]
    impact: list[dict]
    flow: set[tuple[str, str]] = field(default_factory=set)  # (provider, consumer) among it and its impact
    explicit_edges: list[dict] = field(default_factory=list)  # a delete: its `via: seed` edges (they go too)
    out_edges: list[dict] = field(default_factory=list)  # its config edges after the operation
    decisions: list[dict] = field(default_factory=list)
    facts: dict = field(default_factory=dict)
    siblings: list[dict] = field(default_factory=list)  # the siblings its rules saw (as the set left them)
    rules_saw: list[dict] | None = None  # the facts its rules were given (kept by the audit entry, for replay)

    def result(self) -> dict:
        out: dict[str, Any] = {
            "index": self.index,
            "order": self.position,
            "op": self.op.op,
            "component": self.component["id"],
            "affected_components": [r["id"] for r in self.impact],
            "impact": self.impact,
            "decisions": self.decisions,
            "facts": self.facts,
            "edges_added": self.edges_add,
            "edges_removed": self.edges_remove,
        }
        if self.op.is_edge:
            out.update(
                edge=self.op.edge, version={"current": self.component["version"], "after": self.component["version"]}
            )
        elif self.op.op == "create":
            out.update(config=self.new_config, version={"current": None, "after": 1})
        elif self.op.op == "update":
            out.update(
                diff=self.diff, version={"current": self.component["version"], "after": self.component["version"] + 1}
            )
        else:
            out.update(
                deleted={
                    **{k: self.component[k] for k in ("id", "type", "environment", "version", "config", "runtime")},
                    "explicit_edges": self.explicit_edges,
                },
                version={"current": self.component["version"], "after": None},
            )
        return out


@dataclass
class SetAnalysis:
    change_set: ChangeSet
    operations: list[OperationAnalysis]  # in the safe order
    mode: str = "full"
    actions: dict = field(default_factory=dict)
    approved_by: str | None = None
    rules_at: datetime | None = None  # the request time the rules saw (None: no rules ran)
    rules_fingerprint: str | None = None
    # a broken edit of the rule files the last good rules decided in spite of (GET /admin/rules' last_error):
    # an author who saved a rule and plans to see it fire is told why it does not
    rules_broken: str | None = None

    @property
    def decisions(self) -> list[dict]:
        return [{**d, "operation": o.index} for o in self.operations for d in o.decisions]

    @cached_property
    def affected(self) -> list[dict]:
        """Every affected component once (the smallest depth), none of them touched by the set. Computed
        once (a plan reads it for its versions, its answer and its graph patch: 10,000 rows sorted each
        time); the operations' impacts are final when a SetAnalysis is made."""
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
        return blockers_of(self.decisions, bool(self.approved_by))

    @property
    def warnings(self) -> list[str]:
        return [d["message"] for d in self.decisions if d["effect"] == "warn"]

    def status(self) -> ChangeStatus:
        """What the decisions make of this request (the status it moves to from `validated`)."""
        return decided(self.decisions, self.change_set.on_blocked, bool(self.approved_by))

    def result(self, status: ChangeStatus, **extra: Any) -> dict:
        body = {
            "status": str(status),
            "affected_components": [r["id"] for r in self.affected],
            "warnings": self.warnings,
            **({"rules_broken": self.rules_broken} if self.rules_broken else {}),
            "log_entry_id": None,
            "change_id": None,
            "mode": self.mode,
            "set_size": len(self.operations),
            "order": [o.component["id"] for o in self.operations],
            "operations": [o.result() for o in sorted(self.operations, key=lambda o: o.index)],
            "decisions": self.decisions,
            "blockers": self.blockers,
            "actions": self.actions,
        }
        if self.change_set.single:
            body.update(self._single_fields(status))
        body.update(extra)
        return body

    def _single_fields(self, status: ChangeStatus) -> dict:
        """The seed page's single form answers with its one operation's component, version, diff and
        impact at the top level (as it always did), besides the set's fields."""
        only = self.operations[0]
        current = only.component["version"]
        return {
            "component": only.component["id"],
            "version": {"current": current, "after": current + 1 if status == ChangeStatus.APPLIED else current},
            "diff": only.diff,
            "impact": only.impact,
        }


# a set operation that is not valid (the single form says "the change is not valid": single_form)
INVALID_OPERATION = "an operation of the change set is not valid"
SINGLE_INVALID = "the change is not valid"


@contextmanager
def single_form(change_set: ChangeSet):
    """The single form's errors name its fields as the seed page does (`proposed_change.<key>`, no
    operation index, "the change is not valid"): the adapter at the edge, for errors as SetAnalysis.result
    is for results. The one adapter every surface that judges a change answers through — the gate (/plan,
    /request-change, a plan applied) and the simulator (what-if plans, POST /transitions) — so one change
    is answered as one change wherever it is sent. A `component` that cannot exist (no
    `<type>/<nickname>`, or a type Karma does not have) is the 422 check_structure says, naming
    `component` and the shape, as in the set form — not a 404, which sent people looking for a component."""
    try:
        yield
    except KarmaError as exc:
        if not change_set.single:
            raise
        exc.errors = {_single_key(k): v for k, v in exc.errors.items()}
        exc.extra.pop("operation", None)
        if exc.message in (INVALID_OPERATION, INVALID_SET):  # one change, not "an operation of the change set"
            exc.message = SINGLE_INVALID
        if exc.extra.get("why") in (INVALID_OPERATION, INVALID_SET):  # a stale plan's: what is not valid now
            exc.extra["why"] = SINGLE_INVALID
        raise


def _single_key(key: str) -> str:
    return key.removeprefix("changes[0].").removeprefix("changes[0]")


def analyse_set(
    change_set: ChangeSet,
    ctx: dict,
    *,
    mode: str,
    policy=None,
    now=None,
    state: GraphState | None = None,
    read_ids=None,
    read_values=None,
) -> SetAnalysis:
    """``now``: the request time the rules see (time conditions); the engine's clock when None.
    ``state``: the graph as earlier (simulated) sets left it, for what-if plans; built from ctx when None.
    ``read_ids(type, limit)``: a type's component ids in the graph, read only for a name or an id that
    names nothing, for the near name its error says (references.NearNames); ``read_values(type, property,
    limit)``: the values a by-value reference compares, read only for a value that matches nothing."""
    check_structure(change_set)
    if policy is not None and now is None:
        now = datetime.now(timezone.utc)  # one request time for every operation (and the audit record)
    state = state if state is not None else GraphState(ctx)
    refs = SetReferences(state, ctx, read_ids, read_values)
    _check_existence(change_set, state, read_ids)
    analysed = []
    for position, i in enumerate(order(change_set, state)):
        analysed.append(_analyse_operation(change_set, i, position, state, mode, policy, refs, now, read_ids))
    _check_no_dangling(change_set, state, analysed)
    if policy is not None and mode == "full":
        _decide(analysed, policy, now)
    analysis = SetAnalysis(change_set, analysed, mode=mode)
    analysis.actions = set_actions(analysed, state)
    if policy is not None and mode == "full":
        analysis.rules_at = now
        analysis.rules_fingerprint = getattr(policy, "fingerprint", None)
        analysis.rules_broken = _rules_broken(policy)
    return analysis


def _rules_broken(policy) -> str | None:
    """The refused edit of the rule files, when the rules that decided are the last good set."""
    status = policy.status() if callable(getattr(policy, "status", None)) else {}
    error = status.get("last_error")
    if not error:
        return None
    return f"the rule files have a broken edit, so the last good rules ({status.get('fingerprint')}) decided: {error}"


def _check_existence(change_set: ChangeSet, state: GraphState, read_ids=None) -> None:
    for i, op in enumerate(change_set.operations):
        if op.is_edge:
            continue  # its ends may be created by the set: checked in order (_analyse_edge)
        if op.op == "create" and op.component in state.nodes:
            raise Conflict(
                f"component {op.component!r} already exists; update it instead",
                cause="component_exists",
                component=op.component,
                operation=i,
            )
        if op.op != "create" and op.component not in state.nodes:
            raise missing(op.component, state, read_ids, operation=i)
        expected = op.expected_version
        if op.op != "create" and expected is not None and expected != state.nodes[op.component]["version"]:
            current = state.nodes[op.component]["version"]
            raise Conflict(
                f"component {op.component!r} is at version {current}, not {expected}",
                cause="stale_version",
                component=op.component,
                operation=i,
                current_version=current,
                expected_version=expected,
            )


def missing(component_id: str, state: GraphState, read_ids, **extra) -> NotFound:
    """The 404 of an id that names no component — an operation's, a simulated wait's — with the id it
    most likely meant among the set's (as the steps before left the graph) and, read now (`read_ids`, on
    this error path only), the graph's components of its type."""
    near = references.NearNames([c for c in state.nodes if state.exists(c)], read_ids, as_ids=True)
    return references.missing_component(component_id, near, **extra)


def _component(node: dict) -> dict:
    return {
        "id": node["id"],
        "type": node["type"],
        "nickname": node.get("nickname"),
        "environment": node["environment"],
        "version": node["version"],
        "config": node.get("config") or {},
        "runtime": node.get("runtime") or {},
        "drift": list(node.get("drift") or []),
    }


def _analyse_operation(
    change_set: ChangeSet,
    i: int,
    position: int,
    state: GraphState,
    mode: str,
    policy,
    refs: SetReferences,
    now,
    read_ids=None,
) -> OperationAnalysis:
    op = change_set.operations[i]
    if op.is_edge:
        return _analyse_edge(change_set, i, position, state, mode, policy, now, read_ids)
    type_name, nickname = split_id(op.component)
    ctype = get_type(type_name)
    if op.op == "create":
        component = {
            "id": op.component,
            "type": type_name,
            "nickname": nickname,
            "environment": op.environment,
            "version": 0,
            "config": {},
            "runtime": {},
        }
        new_config = copy.deepcopy(op.config)
        resolved = _validate(ctype, i, "config", op.config, new_config, component, refs)
    else:
        component = _component(state.nodes[op.component])
        if op.op == "update":
            new_config = merge_patch.apply(component["config"], op.proposed_change)
            resolved = _validate(ctype, i, "proposed_change", op.proposed_change, new_config, component, refs)
            _check_value_referrers(change_set, i, ctype, new_config, state)
        else:
            new_config, resolved = None, {}
    entries = config_diff(component["config"], new_config or {})
    if op.op == "update" and not entries:
        raise Unprocessable(
            "the proposed change changes nothing",
            component=op.component,
            cause="no_change",  # the goal is already reached: `karma transitions propose` says nothing to do
            errors={f"changes[{i}].proposed_change": ["no config key would change"]},
        )
    # the edges its references have now, and after: a key the operation does not touch keeps its edge
    touched_keys = set(op.config or {}) if op.op == "create" else set(op.proposed_change or {})
    current = state.outgoing.get(op.component, [])
    old_edges = {_edge_key(e): e for e in current}
    new_edges = (
        {}
        if new_config is None
        else {
            _edge_key(e): e
            for e in (
                [e for e in current if e["via"] not in touched_keys]
                + [e for e in ctype.edges(op.component, new_config, resolved) if e["via"] in touched_keys]
            )
        }
    )
    if op.op == "create" and op.explicit_edges:  # a rollback re-creating a deleted component
        new_edges.update(
            {
                (e["source"], e["target"], e["kind"], e["via"]): dict(e)
                for e in op.explicit_edges
                if state.environment_of(e["target"] if e["source"] == op.component else e["source"])
            }
        )
    impact = [] if mode == "just-apply" or op.op == "create" else state.impact(op.component)
    analysis = OperationAnalysis(
        index=i,
        position=position,
        op=op,
        component=component,
        new_config=new_config,
        diff=entries,
        edges_add=[new_edges[k] for k in new_edges if k not in old_edges],
        edges_remove=[old_edges[k] for k in old_edges if k not in new_edges],
        impact=impact,
    )
    analysis.flow = state.flow_among({op.component, *(r["id"] for r in impact)})
    analysis.out_edges = [e for e in new_edges.values() if e["via"] != "seed"]
    if op.op == "delete":
        analysis.explicit_edges = state.explicit.get(op.component, [])
    providers = (
        {(e["target"], e["via"]) for e in new_edges.values() if e["kind"] == "depends_on"}
        if op.op == "create"
        else state.providers(op.component)
    )
    _judge(change_set, analysis, state.siblings(op.component, type_name, providers), mode, policy, now)
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


def _analyse_edge(
    change_set: ChangeSet, i: int, position: int, state: GraphState, mode: str, policy, now, read_ids=None
) -> OperationAnalysis:
    """add_edge / remove_edge: an explicit dependency no config key expresses. Both ends exist (or were
    created before it) in one environment; the emits rule of the seed loader holds; a config-derived edge
    is changed through its key, not here. Its impact is the source's: what depends on it."""
    op, where = change_set.operations[i], f"changes[{i}]"
    for end in (op.component, op.target):
        if not state.exists(end):
            raise missing(end, state, read_ids, operation=i)
    source, target = state.nodes[op.component], state.nodes[op.target]
    if source["environment"] != target["environment"]:
        raise Unprocessable(
            "an edge stays within one environment",
            component=op.component,
            operation=i,
            errors={
                f"{where}.target": [f"{op.target!r} is in {target['environment']!r}, not {source['environment']!r}"]
            },
        )
    problem = emits_problem(source["type"], target["type"], op.kind)
    if problem:
        raise Unprocessable(
            "this explicit edge is not allowed",
            errors={f"{where}.kind": [problem]},
            component=op.component,
            operation=i,
        )
    edge = op.edge
    present = (edge["source"], edge["target"], edge["kind"], edge["via"]) in state.edges
    if op.op == "add_edge" and present:
        raise Conflict(
            f"the explicit edge {op.component} -{op.kind}-> {op.target} already exists",
            cause="edge_exists",
            component=op.component,
            operation=i,
        )
    if op.op == "remove_edge" and not present:
        raise NotFound(
            f"no explicit edge {op.component} -{op.kind}-> {op.target} (a config reference is removed through its key)",
            cause="unknown_edge",
            component=op.component,
            operation=i,
        )
    component = _component(source)
    impact = [] if mode == "just-apply" else state.impact(op.component)
    analysis = OperationAnalysis(
        index=i,
        position=position,
        op=op,
        component=component,
        new_config=None,
        diff=[],
        edges_add=[edge] if op.op == "add_edge" else [],
        edges_remove=[edge] if op.op == "remove_edge" else [],
        impact=impact,
    )
    analysis.flow = state.flow_among({op.component, *(r["id"] for r in impact)})
    siblings = state.siblings(op.component, source["type"], state.providers(op.component))
    _judge(change_set, analysis, siblings, mode, policy, now)
    key = (edge["source"], edge["target"], edge["kind"], edge["via"])
    state.edges = state.edges | {key} if op.op == "add_edge" else state.edges - {key}
    return analysis


def _edge_key(edge: dict) -> tuple:
    return edge["target"], edge["kind"], edge["via"]


def _validate(
    ctype, i: int, field_name: str, body: dict, new_config: dict, component: dict, refs: SetReferences
) -> dict:
    """422 naming the operation and each key (schema, references) → the references resolved
    ({(key, value): target id}) for the keys `body` sets."""
    where = f"changes[{i}].{field_name}"
    errors: dict[str, list[str]] = {}
    for key in body:
        if key not in set(ctype.config_keys):
            errors[f"{where}.{key}"] = [f"unknown config key for type {ctype.name!r}"]
    for name, messages in ctype.validate_config(new_config).items():
        errors.setdefault(f"{where}.{name}", messages)
    resolved, problems = refs.resolve(ctype, component["environment"], new_config, keys=set(body))
    for key, messages in problems.items():
        errors.setdefault(f"{where}.{key}", []).extend(messages)
    if errors:
        # the near names its messages say, as data: {name that names nothing: the name it most likely meant}
        near = {"did_you_mean": dict(refs.near.said)} if refs.near.said else {}
        raise Unprocessable(INVALID_OPERATION, errors=errors, component=component["id"], operation=i, **near)
    return resolved


def _check_value_referrers(change_set: ChangeSet, i: int, ctype, new_config: dict, state: GraphState) -> None:
    """An update to the attribute others name this component by (a zone's zone_name) must keep matching
    them — unless the set deletes the referrer or changes its referring key (its own op resolves it)."""
    op = change_set.operations[i]
    moving = {(o.component, key) for o in change_set.operations if o.op == "update" for key in o.proposed_change or {}}
    deleted = {o.component for o in change_set.operations if o.op == "delete"}
    rows = [
        r
        for r in state.value_referrers.get(op.component, [])
        if r["source"] not in deleted and (r["source"], r["via"]) not in moving
    ]
    problems = references.referrer_errors(ctype.name, new_config, op.proposed_change, rows)
    if problems:
        raise Unprocessable(
            INVALID_OPERATION,
            component=op.component,
            operation=i,
            errors={f"changes[{i}].proposed_change.{k}": v for k, v in problems.items()},
            # who would break, as data: an import names their files (app.importing)
            referrers=references.broken_referrers(ctype.name, new_config, op.proposed_change, rows),
        )


STILL_REFERENCED = "still_referenced"  # the 409 of a delete that would leave a reference dangling


def _check_no_dangling(change_set: ChangeSet, state: GraphState, analysed: list[OperationAnalysis]) -> None:
    """After the set, no reference key points at a deleted component (409 naming referrer and key)."""
    deleted = {o.component["id"] for o in analysed if o.op.op == "delete"}
    final_config = {o.component["id"]: o.new_config for o in analysed if not o.op.is_edge}
    dangling = []
    for target in sorted(deleted):
        for ref in state.referrers.get(target, []):
            source = ref["source"]
            if source in deleted:
                continue
            if source in final_config and not any(  # updated in the set: does it still point here?
                e["target"] == target for e in state.outgoing.get(source, [])
            ):
                continue
            dangling.append({"component": target, "referrer": source, "key": ref["via"]})
    for o in analysed:  # a create/update in the set pointing at a component the set deletes
        if o.op.is_edge and o.op.op == "add_edge" and {o.op.component, o.op.target} & deleted:
            dangling.append({"component": o.op.target, "referrer": o.op.component, "key": "edge"})
        if o.new_config is None:
            continue
        for e in o.out_edges:
            if e["target"] in deleted:
                dangling.append({"component": e["target"], "referrer": o.component["id"], "key": e["via"]})
    if dangling:
        names = ", ".join(f"{d['referrer']} ({d['key']}) → {d['component']}" for d in dangling)
        raise Conflict(
            f"deleting would leave dangling references: {names}; update or delete the referrers in the same set",
            cause=STILL_REFERENCED,
            referrers=dangling,
        )


def operation_facts(change_set: ChangeSet, o: OperationAnalysis, siblings: list[dict] | None = None) -> list[dict]:
    """What the rules see for one operation: the single change's facts (app.changes.facts), with the
    operation and the set. `siblings`: those the rules see (default: those its judgement saw)."""
    siblings = o.siblings if siblings is None else siblings
    comp = o.component
    return rule_facts(
        component=comp,
        seen_config=o.new_config if o.op.op == "create" else comp["config"],
        diff=o.diff,
        requested_by=change_set.requested_by,
        reason=change_set.reason,
        on_blocked=change_set.on_blocked,
        impacted=o.impact,
        siblings=siblings,
        op=o.op.op,
        set_size=len(change_set.operations),
        set_components=change_set.fact_component_ids,
    )


def _judge(change_set: ChangeSet, o: OperationAnalysis, siblings: list[dict], mode: str, policy, now) -> None:
    """What the rules will see of one operation, as the operations before it left the graph: its facts
    (shown in the result; its decisions come with the others', _decide)."""
    o.siblings = siblings
    facts_ = operation_facts(change_set, o)
    o.facts = facts_[0]["change"]
    if policy is not None and mode == "full":
        o.rules_saw = facts_


def _decide(analysed: list[OperationAnalysis], policy, now) -> None:
    """Every operation's decisions, from one evaluation of all their facts (each operation's facts are
    judged as their own: app.policy.engine.PolicyEngine.evaluate_many)."""
    with metrics.phase("rules"):
        decided = policy.evaluate_many([o.rules_saw for o in analysed], now=now)
    for o, decisions in zip(analysed, decided, strict=True):
        o.decisions = [{**d.to_dict(), "operation": o.index} for d in decisions]
        metrics.decisions(o.decisions)  # karma_rule_decisions_total (plans included)


def set_actions(analysed: list[OperationAnalysis], state: GraphState) -> dict:
    """One wave plan for the set: creates and updates providers-first with everything they affect,
    then the teardowns of deleted components, consumers first."""
    rows: dict[str, dict] = {}  # made here, each in exactly one wave: completed in place below
    for o in analysed:
        for r in o.impact:
            if r["id"] not in rows:
                rows[r["id"]] = {
                    "component": r["id"],
                    "type": r["type"],
                    "action": r["action"],
                    "reason": f"{' → '.join(r['path'])} ({', '.join(r['edge_kinds'])})",
                }
    verbs = {"create": "create", "update": "apply-config", "delete": "teardown"}
    single = len(analysed) == 1
    for o in analysed:
        if o.op.is_edge:  # its dependencies changed: its own type's action, unless an op on it says more
            action = get_type(o.component["type"]).action
            rows.setdefault(
                o.component["id"],
                {
                    "component": o.component["id"],
                    "type": o.component["type"],
                    "action": action,
                    "reason": f"operation {o.index + 1} ({o.op.op})",
                },
            )
            continue
        rows[o.component["id"]] = {
            "component": o.component["id"],
            "type": o.component["type"],
            "action": verbs[o.op.op],
            "reason": "the requested change" if single else f"operation {o.index + 1} ({o.op.op})",
        }
    deleted = [o.component["id"] for o in analysed if o.op.op == "delete"]
    live = [n for n in rows if n not in deleted]
    pairs = state.flow_among(rows.keys()).union(*(o.flow for o in analysed))
    live_layers, live_stuck = layer(live, pairs)
    gone_layers, gone_stuck = layer(deleted, pairs)
    # an update that only drops references is a removal: its consumers let go first
    removal = single and analysed[0].op.op == "update" and analysed[0].edges_remove and not analysed[0].edges_add
    waves = list(reversed(live_layers)) if removal else list(live_layers)
    waves += [live_stuck] if live_stuck else []
    waves += reversed(gone_layers)
    waves += [gone_stuck] if gone_stuck else []
    stuck = {*live_stuck, *gone_stuck}
    out = []
    for i, wave in enumerate(waves):
        for n in wave:
            if n in stuck:
                rows[n]["cycle"] = True
            rows[n]["wave"] = i
        out.append([rows[n] for n in wave])
    return {
        "order": "consumers-first"
        if removal
        else ("providers-first, teardowns consumers-first" if deleted else "providers-first"),
        "waves": out,
        "cycles": [c for c in (live_stuck, gone_stuck) if c],
        "count": sum(len(w) for w in out),
    }
