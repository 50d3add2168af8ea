"""What-if analysis: a change (or change set) judged against the live graph with hypothetical facts laid
over it — runtime outputs of named components, and change sets taken as already applied (simulated in
order with the change-set machinery, each against the graph as the ones before it left it).

One read of the graph (the union of every set's context), nothing written; the overlay lives in this
call's memory only, so it never leaks into another request."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.changes.model import ChangeRequest, as_set
from app.changes.set_analysis import INVALID_OPERATION, SetAnalysis, analyse_set, missing, single_form
from app.changes.set_graph import GraphState
from app.changes.sets import INVALID_SET, ChangeSet, Operation, check_structure
from app.changes.sets import reference_ids as set_reference_ids
from app.changes.status import ChangeStatus
from app.components import UnknownType, get_type, references, split_id
from app.errors import Forbidden, KarmaError, Unprocessable
from app.policy.remedies import NON_EMPTY

MAX_APPLIED = 20  # assumed change sets per what-if plan


@dataclass
class Assumptions:
    """Hypothetical facts: {component id: runtime outputs} and change sets taken as applied, in order."""

    runtime: dict[str, dict] = field(default_factory=dict)
    applied: list[ChangeSet] = field(default_factory=list)

    @classmethod
    def from_body(cls, body: dict | None, requested_by: str) -> Assumptions:
        """Strict: unknown keys, components or runtime outputs are 422 naming the field."""
        body = body or {}
        if not isinstance(body, dict):
            raise Unprocessable("assume must be an object", errors={"assume": ["not an object"]})
        unknown = sorted(set(body) - {"runtime", "applied"})
        if unknown:
            raise Unprocessable("unknown assumption", errors={f"assume.{k}": ["unknown field"] for k in unknown})
        runtime = body.get("runtime", {})
        applied = body.get("applied", [])
        if not isinstance(runtime, dict):
            raise Unprocessable(
                "assume.runtime must map component ids to outputs", errors={"assume.runtime": ["not an object"]}
            )
        if not isinstance(applied, list) or len(applied) > MAX_APPLIED:
            raise Unprocessable(
                "assume.applied must be a list of change sets",
                errors={"assume.applied": [f"a list of at most {MAX_APPLIED} change sets"]},
            )
        errors: dict[str, list[str]] = {}
        for cid, outputs in runtime.items():
            where = f"assume.runtime.{cid}"
            try:
                ctype = get_type(split_id(cid)[0])
            except (ValueError, UnknownType):
                errors[where] = ["unknown component type or malformed id"]
                continue
            if not isinstance(outputs, dict):
                errors[where] = ["runtime outputs must be an object"]
                continue
            for key, messages in ctype.validate_runtime(outputs).items():
                errors[f"{where}.{key}"] = messages
        sets = []
        for i, raw in enumerate(applied):
            sets.append(_change_set(raw, f"assume.applied[{i}]", requested_by, errors))
        if errors:
            raise Unprocessable("the assumptions are not valid", errors=errors)
        return cls(runtime=dict(runtime), applied=[s for s in sets if s is not None])

    def to_dict(self) -> dict:
        return {"runtime": self.runtime, "applied": [s.to_dict() for s in self.applied]}


def _change_set(raw, where: str, requested_by: str, errors: dict) -> ChangeSet | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("changes"), list):
        errors[where] = ["a change set: an object with `changes`"]
        return None
    extra = sorted(set(raw) - {"changes", "reason", "requested_by", "on_blocked"})
    for k in extra:
        errors[f"{where}.{k}"] = ["unknown field"]
    for j, op in enumerate(raw["changes"]):
        if not isinstance(op, dict) or not isinstance(op.get("component"), str) or "op" not in op:
            errors[f"{where}.changes[{j}]"] = ["an operation needs `op` and `component`"]
            continue
        bad = sorted(set(op) - set(Operation.__dataclass_fields__) - {"explicit_edges"})
        for k in bad:
            errors[f"{where}.changes[{j}].{k}"] = ["unknown field"]
    if extra or any(k.startswith(f"{where}.") for k in errors):
        return None
    try:
        change_set = ChangeSet.from_dict({**raw, "requested_by": raw.get("requested_by") or requested_by})
        check_structure(change_set)
    except KarmaError as exc:
        errors[where] = [exc.message, *[f"{k}: {v}" for k, v in exc.errors.items()]]
        return None
    except (TypeError, ValueError) as exc:
        errors[where] = [str(exc)]
        return None
    return change_set


@dataclass(frozen=True)
class Wait:
    """A step of a simulation: `component` reports these runtime outputs (NON_EMPTY: any value)."""

    component: str
    outputs: dict


def reported(current: dict, outputs: dict) -> dict:
    """The runtime a component has once it reported `outputs` (a NON_EMPTY output gets a stand-in value)."""
    return {**current, **{k: (f"<published {k}>" if v == NON_EMPTY else v) for k, v in outputs.items()}}


class Simulator:
    """Judges change sets in order over the live graph plus assumptions: one read, nothing written."""

    def __init__(self, repo, policy, mode: str = "full"):
        self.repo, self.policy, self.mode = repo, policy, mode

    def run(
        self, sets: list[ChangeSet], runtime: dict[str, dict], *, near: bool = False, assumed: int = 0
    ) -> list[SetAnalysis]:
        """Every set analysed against the graph as the ones before it (and the runtime overlay) leave it."""
        return [a for a in self.steps(list(sets), runtime, near=near, assumed=assumed) if a is not None]

    def steps(
        self, steps: list, runtime: dict[str, dict], *, near: bool = False, assumed: int = 0
    ) -> list[SetAnalysis | None]:
        """Change sets and `Wait`s in order, each set judged against the graph as the steps before it left
        it (a Wait changes the runtime the later sets see): ONE read of the graph, nothing written.
        → per step its SetAnalysis (None for a Wait). A set's errors are said in its own form: a single
        change's as /plan says them (single_form), not as the set of one it is analysed as.

        `near`: an id, a name or a by-value reference's value that names nothing is answered with the one
        it most likely meant, read then from the graph (NearNames; `did_you_mean`, as /plan answers) — for
        what a person typed (the change asked about, its assumptions), never for a search's candidates,
        whose failures stay one read each (a step whose component was deleted since is gone, not mistyped).

        `assumed`: how many of the first steps are the request's `assume.applied` sets — an error in one of
        them is said as that assumption's (assumed_set_error), never as the change planned's; a step after
        them (a search's candidate, a proposal's step) is no assumption, and its error is not named so."""
        read_ids = self.repo.component_ids_of_type if near else None
        read_values = self.repo.component_values_of_type if near else None
        sets = [s for s in steps if isinstance(s, ChangeSet)]
        for change_set in sets:  # malformed ids, unknown types and ops are a 422 before anything reads them
            with single_form(change_set):  # a single change's errors said as /plan says them (one change)
                check_structure(change_set)
        waited = {s.component for s in steps if isinstance(s, Wait)}
        ids = sorted({c for s in sets for c in s.component_ids} | set(runtime) | waited)
        refs = sorted({r for s in sets for r in set_reference_ids(s)})
        ctx = self.repo.change_set_context(ids, refs)
        state = GraphState(ctx)
        _check_assumed(runtime, state, read_ids)
        for cid, outputs in runtime.items():
            state.nodes[cid] = {**state.nodes[cid], "runtime": dict(outputs)}
        policy = self.policy if self.mode == "full" else None
        out: list[SetAnalysis | None] = []
        for i, step in enumerate(steps):
            if isinstance(step, Wait):
                if step.component not in state.nodes:
                    raise missing(step.component, state, read_ids)
                node = state.nodes[step.component]
                state.nodes[step.component] = {**node, "runtime": reported(node.get("runtime") or {}, step.outputs)}
                out.append(None)
                continue
            try:
                with single_form(step):
                    out.append(
                        analyse_set(
                            step,
                            ctx,
                            mode=self.mode,
                            policy=policy,
                            state=state,
                            read_ids=read_ids,
                            read_values=read_values,
                        )
                    )
            except KarmaError as exc:
                if i < assumed:
                    assumed_set_error(exc, i)
                raise
        return out

    def what_if(self, change: ChangeRequest | ChangeSet, assume: Assumptions, actor=None) -> dict:
        """The full analysis of `change` over the assumptions, marked hypothetical, with no plan id.
        A token limited to some environments may only ask about changes there (as for /plan)."""
        analyses = self.run([*assume.applied, as_set(change)], assume.runtime, near=True, assumed=len(assume.applied))
        check_environments(analyses[-1], actor)
        return hypothetical(analyses[-1], assume, analyses[:-1])


def assumed_set_error(exc: KarmaError, index: int) -> None:
    """An error of the assumed set `assume.applied[index]`, said as that set's: each field by its full path
    (`assume.applied[0].changes[1].proposed_change.x`), the message naming the assumption and its operation,
    and no top-level `operation`, which names an operation of the change planned: "an operation of the
    change set is not valid" with `"operation": 1` read as the planned change's second operation, even when
    the change planned was a single one. The operation's path is `assumption` instead."""
    where = f"assume.applied[{index}]"
    operation = exc.extra.pop("operation", None)
    at = where if operation is None else f"{where}.changes[{operation}]"
    exc.errors = {f"{where}.{k}": v for k, v in exc.errors.items()} or {at: [exc.message]}
    plain = exc.message in (INVALID_OPERATION, INVALID_SET)  # the field errors say the rest
    exc.message = f"an assumption is not valid ({at}, not the change planned)" + ("" if plain else f": {exc.message}")
    exc.extra["assumption"] = at


def _check_assumed(runtime: dict[str, dict], state: GraphState, read_ids) -> None:
    """422 naming each assumed component that is not in the graph, with the id it most likely meant (in
    its message and `did_you_mean`, {id: near id}, as a reference that names nothing is answered)."""
    unknown = sorted(c for c in runtime if c not in state.nodes)
    if not unknown:
        return
    near = references.NearNames([c for c in state.nodes if state.exists(c)], read_ids, as_ids=True)
    errors = {}
    for cid in unknown:
        close = near.of(cid)
        errors[f"assume.runtime.{cid}"] = ["unknown component" + (f"; did you mean {close!r}?" if close else "")]
    raise Unprocessable(
        "assumed runtime names components that are not in the graph",
        errors=errors,
        **({"did_you_mean": dict(near.said)} if near.said else {}),
    )


def check_environments(analysis: SetAnalysis, actor) -> None:
    """403 unless the token may change every component the set touches (as /plan and /request-change)."""
    for o in analysis.operations if actor is not None else ():
        if not actor.may_touch(o.component["environment"]):
            raise Forbidden(
                f"this token may not change {o.component['environment']!r} components",
                cause="environment",
                component=o.component["id"],
            )


def hypothetical(final: SetAnalysis, assume: Assumptions | None = None, before: list | None = None) -> dict:
    """A simulated analysis as a what-if plan: status planned, hypothetical, no plan id."""
    result = final.result(ChangeStatus.PLANNED, plan_id=None)
    result.update(
        hypothetical=True,
        would_be=str(final.status()),
        assumed=(assume or Assumptions()).to_dict(),
        assumed_status=[str(a.status()) for a in before or []],
    )
    return result
