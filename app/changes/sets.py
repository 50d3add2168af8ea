"""Change sets: several create / update / delete operations decided and committed as one.

This module holds the request (Operation, ChangeSet), its structural checks and its safe order; the
analysis is app.changes.set_analysis (pure, given the context read in one query: every touched component
with its impact, the edges around it and who references it), the graph as the set would leave it is
app.changes.set_graph, the commit's parameters app.changes.commit. A single change is a set of one update.

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

import heapq
import re
from dataclasses import dataclass
from functools import cached_property

from app.changes.set_graph import GraphState
from app.components import EDGE_KINDS, UnknownType, get_type, name_key, parse_id, split_id
from app.components import references
from app.changes.operations import EDGE_OPS, OPS
from app.errors import Unprocessable

EXPLICIT_VIA = "seed"
ENVIRONMENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class Operation:
    op: str
    component: str
    environment: str | None = None  # create
    config: dict | None = None  # create
    proposed_change: dict | None = None  # update
    expected_version: int | None = None  # update, delete
    target: str | None = None  # add_edge, remove_edge: the edge goes component → target
    kind: str | None = None  # add_edge, remove_edge: an edge kind of the registry
    # create only, and only from a rollback: the explicit (`via: seed`) edges a deleted component had
    explicit_edges: tuple | None = None

    @property
    def is_edge(self) -> bool:
        return self.op in EDGE_OPS

    @property
    def edge(self) -> dict:
        return {"source": self.component, "target": self.target, "kind": self.kind, "via": EXPLICIT_VIA}

    def to_dict(self) -> dict:
        out = {"op": self.op, "component": self.component}
        for key in ("environment", "config", "proposed_change", "expected_version", "target", "kind", "explicit_edges"):
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
    # it arrived in the seed page's single form (component, proposed_change): answered in that form too
    single: bool = False
    # an import's file records (`karma import`): {files: the files it covers that have a :Drift record or
    # get one, entries: the drift of each file --partial refused, and the orphan drift of each component
    # whose file the tree lacks (no --prune)}. They replace those files' records
    # in the commit that applies the set (app.changes.gate), so the records exist exactly when the import
    # applied. Set by the import only (app.importing): the API's request schema has no such field.
    refused_drift: dict | None = None

    @property
    def component_ids(self) -> list[str]:
        """Every component the set touches, once: operated on, or an end of an explicit edge it changes.
        Found once per set (each operation's rule facts name them: a 1,000-operation set found them 1,000
        times); a new list each time."""
        return list(self._component_ids)

    @cached_property
    def fact_component_ids(self) -> list[str]:
        """`component_ids` as the ONE list every operation's rule facts name (`change.set_components`),
        never changed by its readers: a list per operation made a 6,000-operation import hold 36 million
        references (~280 MB), and its stored answer compare them all (app.graph.codec.dumps_answer)."""
        return list(self._component_ids)

    @cached_property
    def _component_ids(self) -> tuple[str, ...]:
        ids = [o.component for o in self.operations] + [o.target for o in self.operations if o.is_edge]
        return tuple(dict.fromkeys(i for i in ids if isinstance(i, str)))

    def to_dict(self) -> dict:
        out = {
            "changes": [o.to_dict() for o in self.operations],
            "requested_by": self.requested_by,
            "reason": self.reason,
            "on_blocked": self.on_blocked,
        }
        if self.via:
            out["via"] = self.via
        if self.single:
            out["single"] = True
        if self.refused_drift is not None:
            out["refused_drift"] = self.refused_drift
        return out

    @classmethod
    def from_dict(cls, body: dict) -> ChangeSet:
        if "changes" not in body:  # the single form (and a single change stored before every change was a set)
            return single_set(body)
        ops = tuple(
            Operation(
                **{
                    k: (tuple(v) if k == "explicit_edges" else v)
                    for k, v in o.items()
                    if k in Operation.__dataclass_fields__
                }
            )
            for o in body["changes"]
        )
        return cls(
            ops,
            body["requested_by"],
            body.get("reason"),
            body.get("on_blocked", "reject"),
            body.get("via"),
            bool(body.get("single")),
            body.get("refused_drift"),
        )


def single_set(body: dict) -> ChangeSet:
    """The seed page's single form (`component`, `proposed_change`, `requested_by`, …) as the one-update
    set it is; answered in the single form (see SetAnalysis.result)."""
    op = Operation(
        "update",
        body["component"],
        proposed_change=body["proposed_change"],
        expected_version=body.get("expected_version"),
    )
    return ChangeSet(
        (op,), body["requested_by"], body.get("reason"), body.get("on_blocked") or "reject", body.get("via"), True
    )


INVALID_SET = "the change set is not valid"


def check_structure(change_set: ChangeSet) -> None:
    """422 for an empty set, an unknown op or type, a component named twice."""
    errors: dict[str, list[str]] = {}
    if not change_set.operations:
        raise Unprocessable("a change set needs at least one operation", errors={"changes": ["empty"]})
    seen: dict = {}
    for i, op in enumerate(change_set.operations):
        where = f"changes[{i}]"
        if op.op not in OPS:
            errors[f"{where}.op"] = [f"unknown op {op.op!r}; one of {', '.join(OPS)}"]
        for name in ("component", "target") if op.is_edge else ("component",):
            try:
                get_type(split_id(getattr(op, name))[0])
            except (ValueError, UnknownType, TypeError) as exc:
                value = getattr(op, name)
                said = f"; {exc}" if isinstance(exc, ValueError) and isinstance(value, str) else ""
                errors.setdefault(f"{where}.{name}", []).append(
                    f"not a <type>/<nickname> of a known type: {value!r}{said}"
                )
        if op.is_edge and op.kind not in EDGE_KINDS:
            errors.setdefault(f"{where}.kind", []).append(f"one of {', '.join(sorted(EDGE_KINDS))}")
        key = (op.component, op.target, op.kind) if op.is_edge else op.component
        if key in seen:
            errors.setdefault(f"{where}.component", []).append(
                f"{op.component!r} is already changed by changes[{seen[key]}]; one operation per "
                "component (and per explicit edge)"
            )
        seen.setdefault(key, i)
        if op.op == "create" and (op.environment is None or op.config is None):
            errors.setdefault(where, []).append("create needs environment and config")
        elif op.op == "create" and not ENVIRONMENT.match(op.environment):
            errors.setdefault(f"{where}.environment", []).append("lower-case letters, digits and '-'")
        elif op.op == "create" and (qualifier := _qualifier(op.component)) not in (None, op.environment):
            errors.setdefault(f"{where}.component", []).append(
                f"an id qualified with environment {qualifier!r} is created in that environment, not {op.environment!r}"
            )
        if op.op == "update" and op.proposed_change is None:
            errors.setdefault(where, []).append("update needs proposed_change")
    if errors:
        raise Unprocessable(INVALID_SET, errors=errors)


def _qualifier(component_id: str) -> str | None:
    try:
        return parse_id(component_id)[0]
    except ValueError:
        return None


def _body(op: Operation) -> dict | None:
    return op.config if op.op == "create" else op.proposed_change if op.op == "update" else None


def reference_values(change_set: ChangeSet) -> list[dict]:
    """The by-value lookups of the set's configs and patches (read with the context, once per set)."""
    out = []
    for op in change_set.operations:
        body = None if op.is_edge else _body(op)
        if body:
            out += references.value_lookups(get_type(split_id(op.component)[0]), body)
    return out


def referrer_lookups(change_set: ChangeSet) -> list[dict]:
    """For the updates that change an attribute by-value references match (a zone's zone_name): who
    names the updated component by it (read with each touched component's context)."""
    out: list[dict] = []
    for op in change_set.operations:
        if op.op == "update" and op.proposed_change:
            out += [
                lk for lk in references.referrer_lookups(split_id(op.component)[0], op.proposed_change) if lk not in out
            ]
    return out


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


def sibling_lookups(change_set: ChangeSet) -> list[dict]:
    """{provider, via, type} for each depends_on reference a create or an update names: the provider's
    other dependents through that key are the operation's siblings (read with the context)."""
    out = []
    for op in change_set.operations:
        body = op.config if op.op == "create" else op.proposed_change if op.op == "update" else None
        if not body:
            continue
        type_name = split_id(op.component)[0]
        for ref in get_type(type_name).references:
            if ref.kind == "depends_on" and ref.top in body:
                out += [{"provider": t, "via": ref.key, "type": type_name} for t in ref.target_ids(body)]
    return [dict(t) for t in sorted({tuple(sorted(d.items())) for d in out})]


# -- ordering ---------------------------------------------------------------------------------------
class _Creates:
    """The set's providers, looked up by what a reference names: its creates by type and nickname, and its
    creates and updates by the normalised value they give the attribute a by-value reference compares (a
    zone renamed in the set goes before the sites that name its new name: an import of the three edited
    files ordered them by id, the zone last, and was refused). Indexed once per set (each operation
    scanned every other one: a 1,000-operation `karma seed` spent 12 s here)."""

    def __init__(self, ops) -> None:
        self.by_name: dict[str, set[int]] = {}
        self.by_type: dict[str, list[tuple[int, object]]] = {}
        self._values: dict[tuple, dict] = {}
        for j, other in enumerate(ops):
            if other.is_edge or other.op not in ("create", "update"):
                continue
            type_name, nickname = split_id(other.component)
            if other.op == "create":
                self.by_name.setdefault(name_key(type_name, nickname), set()).add(j)
            self.by_type.setdefault(type_name, []).append((j, other))

    def named(self, ref, value) -> set[int]:
        """The creates `ref` may name with `value`."""
        if not ref.by_value:
            return self.by_name.get(name_key(ref.target_type, value), set())
        key = (ref.target_type, ref.by, ref.normal)
        values = self._values.get(key)
        if values is None:  # normalised attribute → creates, per (type, attribute, normalisation)
            values = self._values[key] = {}
            for j, other in self.by_type.get(ref.target_type, ()):
                attr = (_body(other) or {}).get(ref.by)
                if isinstance(attr, str):
                    values.setdefault(ref.normal(attr), set()).add(j)
        return values.get(ref.normal(value), set())


def _created_providers(creates: _Creates, ctype, body: dict) -> set[int]:
    """The creates (and by-value renames) of the set that `body`'s references may name."""
    out: set[int] = set()
    for ref in ctype.references:
        for value in ref.values(body):
            out |= creates.named(ref, value)
    return out


def order(change_set: ChangeSet, state: GraphState) -> list[int]:
    """Indexes of the operations in a safe order (stable: the request's order where nothing constrains):
    at each step, the first operation in the request whose predecessors are all done."""
    ops = change_set.operations
    index = {o.component: i for i, o in enumerate(ops) if not o.is_edge}
    creates = _Creates(ops)
    before: dict[int, set[int]] = {i: set() for i in range(len(ops))}
    for i, op in enumerate(ops):
        if op.is_edge:  # after the creates of its ends, before their deletes
            for end in (op.component, op.target):
                j = index.get(end)
                if j is not None and ops[j].op == "create":
                    before[i].add(j)
                elif j is not None and ops[j].op == "delete":
                    before[j].add(i)
            continue
        ctype = get_type(split_id(op.component)[0])
        body = _body(op)
        if body:  # a created provider goes first
            before[i] |= _created_providers(creates, ctype, body) - {i}
        if op.op == "delete":  # whoever in the set references it now is updated/deleted first
            for referrer in state.referrers.get(op.component, []):
                j = index.get(referrer["source"])
                if j is not None and j != i:
                    before[i].add(j)
    waiting = {i: len(deps) for i, deps in before.items()}
    after: dict[int, list[int]] = {}
    for i, deps in before.items():
        for j in deps:
            after.setdefault(j, []).append(i)
    ready = [i for i, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    done: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        done.append(i)
        for k in after.get(i, ()):
            waiting[k] -= 1
            if waiting[k] == 0:
                heapq.heappush(ready, k)
    if len(done) < len(ops):
        pending = [i for i in range(len(ops)) if waiting[i] > 0]
        raise Unprocessable(
            "the operations of this set depend on each other in a cycle",
            errors={"changes": [f"cycle among {[ops[i].component for i in pending]}"]},
        )
    return done
