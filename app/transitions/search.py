"""Proposals for a refused change: ordered steps, each verified by simulation (what-if plans) to be
accepted at the moment it would run — never assumed.

Each refusing decision gets its ways out: a `wait` derived from the rule's condition on impacted runtime
values (the condition's negation), and the `change` steps its rule declares (`remedies:`, rendered from
the decision's facts, once per candidate). A candidate proposal picks one way out per decision; its
steps — changes, then waits (or waits first when the changes need them), then the requested change, then
`restore` follow-ups for what the waits disturbed — are simulated in order in ONE read of the graph, and
kept only if every step is accepted at its moment. When none holds, a candidate whose step a NEW decision
refused is searched deeper: that decision's ways out go before the step, and the longer sequence is
simulated again (breadth first). Bounded (steps, seconds, simulated plans, candidates),
ranked (fewest steps, fewest affected components, no wait before a change, the rule's own order),
deterministic for the same graph."""

from __future__ import annotations

import itertools
import json
import time
import zlib
from dataclasses import dataclass, field

from app import packing
from app.changes import plans
from app.changes.set_analysis import SetAnalysis, operation_facts
from app.changes.sets import ChangeSet
from app.changes.status import ChangeStatus, blockers_of
from app.components import get_type, registry
from app.errors import KarmaError, NotFound
from app.policy import remedies
from app.settings import DEFAULT_TRANSITION_BOUNDS, TRANSITION_BOUNDS
from app.transitions.status import AFTER_THE_CHANGE
from app.transitions.simulation import Assumptions, Simulator, Wait, as_set, check_environments, hypothetical

PROPOSAL_PREFIX = "prop1."
# The search's bounds are settings (KARMA_TRANSITION_*, app/settings.py TRANSITION_BOUNDS), each capped:
# max_steps (a proposal's steps before its follow-ups), max_seconds (wall time after which no further
# alternative is tried; the first always is), max_simulated_plans (one read each: the live analysis, then
# one per candidate proposal), max_candidates (renderings per declared remedy), max_proposals.
DEFAULT_BOUNDS = dict(DEFAULT_TRANSITION_BOUNDS)


def setting_of(bound_name: str) -> str:
    """The KARMA_* setting that widens a bound of the search."""
    return TRANSITION_BOUNDS[bound_name][0]


def _choices(type_name: str, output: str) -> list | None:
    """The values a type declares for a runtime output (its JSON Schema `enum`), in declared order."""
    spec = get_type(type_name).runtime_schema.get("properties", {}).get(output, {})
    enum = spec.get("enum") if isinstance(spec, dict) else None
    return list(enum) if isinstance(enum, list) else None


@dataclass(frozen=True)
class WayOut:
    """One way to lift one refusing decision: a wait, or a change set Karma can apply."""

    kind: str  # wait | change
    resolves: tuple  # the ((rule_id, component), …) it lifts
    description: str
    wait: Wait | None = None
    change: ChangeSet | None = None
    preference: tuple = ()  # the rule's declared order, then the candidate's


@dataclass
class Search:
    """What one search spent (stated in the answer)."""

    bounds: dict = field(default_factory=lambda: dict(DEFAULT_BOUNDS))
    started: float = field(default_factory=time.monotonic)
    simulated_plans: int = 0
    simulated_steps: int = 0
    stopped_by: str | None = None  # the bound that cut the search short, if any
    failures: list = field(default_factory=list)
    runtime_before: dict = field(default_factory=dict)  # {impacted id: runtime} as the live analysis saw it

    def out_of_budget(self) -> bool:
        """Before each simulation. The time bound only stops the search for alternatives: the first candidate
        proposal is always simulated, so a slow moment never turns a valid answer into no_transition."""
        if self.simulated_plans >= self.bounds["max_simulated_plans"]:
            self.stopped_by = "max_simulated_plans"
        elif self.simulated_plans > 1 and time.monotonic() - self.started > self.bounds["max_seconds"]:
            self.stopped_by = "max_seconds"
        return self.stopped_by is not None

    def report(self) -> dict:
        return {
            **self.bounds,
            "simulated_plans": self.simulated_plans,
            "simulated_steps": self.simulated_steps,
            "seconds": round(time.monotonic() - self.started, 3),
            "stopped_by": self.stopped_by,
        }


def _stopped(bound_name: str | None, bounds: dict) -> str:
    """No proposal held within the bound that cut the search short: which bound, its value, the setting
    that widens it, and what the person can do without an operator — a smaller change searches a smaller
    space."""
    value = bounds.get(bound_name or "", "?")
    widen = f"; {setting_of(bound_name)} widens it" if bound_name in TRANSITION_BOUNDS else ""
    return (
        f"the search stopped at its bound ({bound_name}: {value}{widen}; the answer's `search` says what it "
        "took) before any proposal held: propose a smaller change (fewer operations or keys at once), or make "
        "one of the refused steps first, then propose the rest"
    )


def _no_step(rule) -> str:
    """Why no step lifts a rule: only an approver gives a sign-off; otherwise only a different request
    (what the rule's message asks for) satisfies it."""
    if rule.effect == "require_approval" and not rule.remedies:
        return (
            f"rule {rule.id!r} asks for an approver's sign-off, which no step can give: request the change, "
            "it waits as pending_approval until an approver approves it"
        )
    return (
        f"rule {rule.id!r} does not test impacted runtime values and declares no remedy: "
        "only a different request (e.g. one it accepts) can satisfy it"
    )


class TransitionSearch:
    def __init__(self, simulator: Simulator, rules: list, components_of=None, rules_fingerprint=None, bounds=None):
        """`bounds`: {bound: value} of the process's settings (KARMA_TRANSITION_*); the defaults if None."""
        self.sim = simulator
        self.bounds = {**DEFAULT_BOUNDS, **(bounds or {})}
        self.rules = {r.id: r for r in rules}
        self.components_of = components_of or (lambda _type, _env: [])
        self.rules_fingerprint = rules_fingerprint
        self._candidates_read: dict[tuple, list] = {}  # one read per (type, environment) per search

    # -- the answer ---------------------------------------------------------------------------------
    def propose(self, change, assume: Assumptions, actor=None) -> dict:
        search, target = Search(bounds=self.bounds), as_set(change)
        prefix = list(assume.applied)
        live = self._simulate(search, [*prefix, target], assume.runtime, near=True, assumed=len(prefix))[-1]
        check_environments(live, actor)
        plan = hypothetical(live, assume)
        search.runtime_before = {r["id"]: r["runtime"] for o in live.operations for r in o.impact}
        if live.status() == ChangeStatus.APPLIED:
            return {"status": "allowed", "plan": plan, "proposals": [], "refused": [], "search": search.report()}
        refused = refusing(live)
        ways, unresolved = {}, []
        for d in refused:
            found, why = self._ways_out(d, live, target)
            if found:
                ways[(d["rule_id"], d["component"])] = found
            else:
                unresolved.append(
                    {
                        "rule_id": d["rule_id"],
                        "component": d["component"],
                        "effect": d["effect"],
                        "message": d["message"],
                        "why": why,
                    }
                )
        proposals = [] if unresolved else self._search(search, ways, prefix, target, assume, change)
        answer = {"proposals": proposals, "refused": refused, "search": search.report()}
        if proposals:
            return {"status": "proposals", **answer}
        if not unresolved:  # what the candidates tried ran into, and the bound that cut the search short
            whys = [
                *dict.fromkeys(search.failures),
                *([_stopped(search.stopped_by, self.bounds)] * bool(search.stopped_by)),
            ]
            unresolved = [{"rule_id": None, "why": why} for why in whys] or [
                {"rule_id": None, "why": _stopped(None, self.bounds)}
            ]
        return {"status": "no_transition", "unresolved": unresolved, **answer}

    def _simulate(self, search: Search, steps: list, runtime: dict, near: bool = False, assumed: int = 0) -> list:
        """`assumed`: how many first steps are the request's assumptions (what was typed: its errors name them)."""
        search.simulated_plans += 1
        search.simulated_steps += len(steps)
        return self.sim.steps(steps, runtime, near=near, assumed=assumed)

    # -- ways out of one decision -------------------------------------------------------------------
    def _ways_out(self, decision: dict, live: SetAnalysis, target: ChangeSet) -> tuple[list[WayOut], str | None]:
        rule = self.rules.get(decision["rule_id"])
        if rule is None:
            return [], "the rule is no longer loaded"
        if not rule.liftable:  # no remedy, no runtime a wait changes: known at load, each decision says it
            return [], _no_step(rule)
        key = ((decision["rule_id"], decision["component"]),)
        ways, why = [], None
        fact, row = _fact_of(decision, live, target)
        wait, why = self._derived_wait(rule, row)
        if wait is not None:
            outputs = ", ".join(f"{k} {v}" for k, v in wait.outputs.items())
            ways.append(WayOut("wait", key, f"{wait.component} reports {outputs}", wait=wait))
        for rendered in render_remedies(
            rule, decision, live, target, self._candidates, max_candidates=self.bounds["max_candidates"]
        ):
            try:
                change_set = ChangeSet.from_dict(
                    {
                        "changes": rendered["changes"],
                        "requested_by": target.requested_by,
                        "reason": target.reason or f"transition: {rendered['description']}",
                    }
                )
            except (KarmaError, TypeError, ValueError, KeyError):
                continue  # a rendering that is no change set (a placeholder unset here) is no way out
            ways.append(
                WayOut("change", key, rendered["description"], change=change_set, preference=rendered["preference"])
            )
        if not ways and rule.remedies:
            why = f"rule {rule.id!r} declares remedies, but none renders to a change set for this change"
        elif not ways and rule.effect == "require_approval":
            why = _no_step(rule)
        return ways, why

    def _candidates(self, type_name: str, environment: str | None) -> list[dict]:
        if type_name not in registry or not environment:
            return []
        key = (type_name, environment)
        if key not in self._candidates_read:
            self._candidates_read[key] = self.components_of(type_name, environment)
        return self._candidates_read[key]

    @staticmethod
    def _derived_wait(rule, row: dict | None) -> tuple[Wait | None, str]:
        tests = remedies.wait_tests(rule)
        if not tests or row is None:
            return None, _no_step(rule)
        outputs = {}
        for test in tests:
            value = remedies.negation(test, _choices(row["type"], test.output))
            if value is None:
                return None, f"no value of {row['type']} output {test.output!r} makes the rule's test false"
            outputs[test.output] = value
        return Wait(row["id"], outputs), ""

    # -- candidate proposals ------------------------------------------------------------------------
    def _search(
        self, search: Search, ways: dict, prefix: list, target: ChangeSet, assume: Assumptions, request
    ) -> list[dict]:
        """The candidates of one way out per decision, in the rules' order of preference; then, only if
        none holds, deeper ones: a candidate whose step (or the change) a NEW decision refused gets that
        decision's ways out before that step, and is tried again — breadth first, within the same bounds
        (steps, simulated plans, seconds), so the answer stays bounded and deterministic."""
        found: dict[str, dict] = {}
        deeper: list[tuple[list, tuple]] = []
        run = _Run(search, found, deeper, (prefix, target, assume, request))
        most = self.bounds["max_proposals"]
        for combo in itertools.product(*ways.values()):
            for steps in _orders(combo):
                outcome = self._attempt(run, steps, combo)
                if outcome == "stop":
                    return _ranked(found, most)
                if outcome == "found":
                    break
            if len(found) >= most:  # choices come in the rules' order of preference
                break
        while deeper and not found:
            level = list(deeper)
            deeper.clear()
            for steps, combo in level:
                if self._attempt(run, steps, combo) == "stop" or len(found) >= most:
                    return _ranked(found, most)
        return _ranked(found, most)

    def _attempt(self, run: _Run, steps: list, combo: tuple) -> str:
        """One candidate: 'skip' (too many steps), 'stop' (out of budget), 'found', or 'refused' (its
        deeper candidates queued)."""
        most = self.bounds["max_steps"]
        if len(steps) + 1 > most:
            run.search.failures.append(
                f"a proposal would take more than {most} steps (max_steps; {setting_of('max_steps')} widens "
                "it): make one of its steps (or part of the change) first, then propose the rest"
            )
            return "skip"
        if run.search.out_of_budget():
            return "stop"
        prefix, target, assume, request = run.context
        proposal, refusal = self._verified(run.search, steps, combo, prefix, target, assume, request)
        if proposal is not None:
            run.found.setdefault(_signature(proposal), proposal)
            return "found"
        run.deeper += self._deepened(steps, combo, refusal, target)
        return "refused"

    def _deepened(self, steps: list, combo: tuple, refusal: tuple | None, target: ChangeSet) -> list:
        """The candidates that add, before the refused step, a way out of each decision that refused it —
        only when every one of them is new (a decision a step was already meant to lift, refusing again,
        means that way out does not work) and each has a way out."""
        if refusal is None:
            return []
        position, analysis = refusal
        lifted = {key for way in combo for key in way.resolves}
        decisions = refusing(analysis)
        if not decisions or any((d["rule_id"], d["component"]) in lifted for d in decisions):
            return []
        change_set = target if position == len(steps) else steps[position].change
        ways = []
        for d in decisions:
            found, _why = self._ways_out(d, analysis, change_set)
            if not found:
                return []
            ways.append(found)
        out = []
        for extra in itertools.product(*ways):
            for order in _orders(extra):
                out.append(([*steps[:position], *order, *steps[position:]], combo + extra))
        return out

    def _verified(
        self, search: Search, steps: list, combo: tuple, prefix: list, target: ChangeSet, assume: Assumptions, request
    ) -> tuple[dict | None, tuple | None]:
        """Simulate the steps then the change in order (one read): the proposal if each is accepted, else
        where it was refused — (the step's position, its analysis) — when a rule refused it."""
        sequence = [w.wait if w.kind == "wait" else w.change for w in steps]
        try:
            analyses = self._simulate(search, [*prefix, *sequence, target], assume.runtime, assumed=len(prefix))
            analyses = analyses[len(prefix) :]
        except KarmaError as exc:
            search.failures.append(f"a step is not valid against the graph: {exc.message}")
            return None, None
        for position, (way, analysis) in enumerate(zip([*steps, None], analyses, strict=True)):
            if analysis is None or analysis.status() == ChangeStatus.APPLIED:
                continue
            left = sorted({d["rule_id"] for d in blockers_of(analysis.decisions, False)})
            what = "the requested change" if way is None else f"the step {way.description!r}"
            search.failures.append(f"{what} would still be refused by {left}")
            return None, (position, analysis)
        return self._proposal(steps, analyses, combo, target, assume, request, search.runtime_before), None

    def _proposal(
        self,
        steps: list,
        analyses: list,
        combo: tuple,
        target: ChangeSet,
        assume: Assumptions,
        request,
        runtime_before: dict,
    ) -> dict:
        out, affected, versions, waits = [], set(), {}, {}
        for way, analysis in zip([*steps, None], analyses, strict=True):
            if way is not None and way.kind == "wait":
                waits[way.wait.component] = way.wait.outputs
                affected.add(way.wait.component)
                out.append(
                    {
                        "kind": "wait",
                        "component": way.wait.component,
                        "outputs": way.wait.outputs,
                        "description": way.description,
                        "resolves": _resolves(way),
                    }
                )
                continue
            result = hypothetical(analysis, assume)
            affected |= set(result["affected_components"]) | {o.component["id"] for o in analysis.operations}
            versions.update(analysis.versions)
            out.append(
                {
                    "kind": "change",
                    "requested": way is None,
                    "description": "the requested change" if way is None else way.description,
                    "change": (way.change if way is not None else target).to_dict(),
                    "resolves": [] if way is None else _resolves(way),
                    "plan": result,
                    "impact": result["affected_components"],
                    "decisions": result["decisions"],
                    "actions": result["actions"],
                }
            )
        out += _restores(waits, runtime_before)
        first_change = next((i for i, s in enumerate(out) if s["kind"] == "change"), len(out))
        rank = {
            "steps": sum(1 for s in out if not s.get("follow_up")),
            "affected_components": len(affected),
            "wait_before_change": any(s["kind"] == "wait" for s in out[:first_change]),
            "preference": [list(w.preference) for w in combo],
        }
        proposal = {"id": None, "steps": out, "rank": rank}
        if not assume.runtime and not assume.applied:  # a hypothetical proposal cannot be executed
            proposal["id"] = sign_proposal(
                {
                    "request": request.to_dict() if hasattr(request, "to_dict") else request,
                    "mode": self.sim.mode,
                    "rules": self.rules_fingerprint,
                    "steps": [_compact(s) for s in out],
                    "versions": versions,
                }
            )
        return proposal


@dataclass
class _Run:
    """One search's state while its candidates are tried: the proposals found, the deeper candidates
    queued (TransitionSearch._deepened), what every simulation needs."""

    search: Search
    found: dict
    deeper: list
    context: tuple  # (prefix, target, assume, request)


# -- helpers ------------------------------------------------------------------------------------------
def refusing(analysis: SetAnalysis) -> list[dict]:
    """The decisions that refuse a change as it is, once per (rule, component), in a stable order."""
    return _distinct(blockers_of(analysis.decisions, False))


def render_remedies(
    rule,
    decision: dict,
    analysis: SetAnalysis,
    target: ChangeSet,
    components_of,
    max_candidates: int = DEFAULT_BOUNDS["max_candidates"],
) -> list[dict]:
    """A decision's declared remedies rendered from the fact its rule saw (every candidate's rendering, at
    most `max_candidates` a remedy), in the rule's order: [{rule_id, component, description, changes,
    candidate, preference}]."""
    if rule is None:
        return []
    fact, _row = _fact_of(decision, analysis, target)
    out = []
    for remedy in rule.remedies:
        for position, r in enumerate(remedies.expand(rule.id, remedy, fact, components_of, max_candidates)):
            out.append(
                {
                    "rule_id": rule.id,
                    "component": decision["component"],
                    "description": r.description,
                    "changes": r.changes,
                    "candidate": r.candidate,
                    "preference": (remedy.index, position),
                }
            )
    return out


def _distinct(decisions: list[dict]) -> list[dict]:
    seen, out = set(), []
    for d in sorted(decisions, key=lambda d: (d["rule_id"], d["component"])):
        if (d["rule_id"], d["component"]) not in seen:
            seen.add((d["rule_id"], d["component"]))
            out.append(d)
    return out


def _fact_of(decision: dict, live: SetAnalysis, target: ChangeSet) -> tuple[dict, dict | None]:
    """The fact the rule saw when it decided (the same placeholders as its message), and the impacted row."""
    op = next((o for o in live.operations if o.index == decision.get("operation", 0)), live.operations[0])
    facts = operation_facts(target, op)
    for fact in facts[1:]:
        if fact["impacted"]["id"] == decision["component"]:
            row = next((r for r in op.impact if r["id"] == decision["component"]), None)
            return fact, row
    return facts[0], None


def _resolves(way: WayOut) -> list[dict]:
    return [{"rule_id": rule_id, "component": component} for rule_id, component in way.resolves]


def _orders(combo: tuple) -> list[list[WayOut]]:
    """The steps of one choice, deduplicated: changes first (no wait before a change), then the waits
    (one per component, outputs merged); if there are both, also waits first (a change may need them)."""
    changes: dict[str, WayOut] = {}
    waits: dict[str, WayOut] = {}
    for way in combo:
        if way.kind == "change":
            key = repr(way.change.to_dict())
            kept = changes.get(key)
            changes[key] = (
                way
                if kept is None
                else WayOut(
                    "change",
                    kept.resolves + way.resolves,
                    kept.description,
                    change=kept.change,
                    preference=kept.preference,
                )
            )
        else:
            kept = waits.get(way.wait.component)
            merged = {**(kept.wait.outputs if kept else {}), **way.wait.outputs}
            waits[way.wait.component] = WayOut(
                "wait",
                (kept.resolves if kept else ()) + way.resolves,
                _wait_text(way.wait.component, merged),
                wait=Wait(way.wait.component, merged),
            )
    ordered = [waits[c] for c in sorted(waits)]
    changes = list(changes.values())
    if changes and ordered:
        return [changes + ordered, ordered + changes]
    return [changes + ordered]


def _wait_text(component: str, outputs: dict) -> str:
    return f"{component} reports " + ", ".join(f"{k} {v}" for k, v in outputs.items())


def _restores(waits: dict, before: dict) -> list[dict]:
    """What the waits disturbed: the outputs they replace, which the component can report again after. A
    value the wait keeps (already what it waits for, or any published value where one is published) is not
    disturbed: "can report domain_name d9… again (deploy it back)" asked to restore what never moved."""
    out = []
    for cid in sorted(waits):
        was = before.get(cid, {})
        disturbed = {
            k: was[k]
            for k, wanted in waits[cid].items()
            if was.get(k) not in (None, "", [], {}) and wanted not in (remedies.NON_EMPTY, was[k])
        }
        if disturbed:
            out.append(
                {
                    "kind": "restore",
                    "component": cid,
                    "outputs": disturbed,
                    "follow_up": True,
                    "description": f"{cid} can report "
                    + ", ".join(f"{k} {v}" for k, v in disturbed.items())
                    + " again (deploy it back)"
                    + AFTER_THE_CHANGE,
                }
            )
    return out


def _signature(proposal: dict) -> str:
    return repr([_compact(s) for s in proposal["steps"]])


def _rank_key(proposal: dict) -> tuple:
    r = proposal["rank"]
    return r["steps"], r["affected_components"], r["wait_before_change"], r["preference"], _signature(proposal)


def _ranked(found: dict, most: int) -> list[dict]:
    return sorted(found.values(), key=_rank_key)[:most]


def _compact(step: dict) -> dict:
    """What a proposal id carries of a step: enough to run it (not its simulated plan)."""
    keep = ("kind", "component", "outputs", "description", "requested", "change", "follow_up", "resolves")
    return {k: step[k] for k in keep if k in step}


def sign_proposal(payload: dict) -> str:
    """A signed, self-contained proposal id. Compressed: it travels in a URL path, and gunicorn refuses a
    request line over 4 KiB (a proposal of a dozen steps is ~1 KiB compressed)."""
    packed = packing.compress(json.dumps(payload, sort_keys=True, separators=(",", ":")), 9)
    return plans.sign({"z": packed}, prefix=PROPOSAL_PREFIX)


def verify_proposal(proposal_id: str) -> dict:
    """The payload of a proposal id this deployment issued; 404 for anything else."""
    signed = plans.verify(proposal_id, prefix=PROPOSAL_PREFIX, what="proposal")
    try:
        return json.loads(packing.decompress(signed["z"]))
    except (KeyError, TypeError, ValueError, zlib.error):  # signed by us, so only a format change gets here
        raise NotFound("unknown proposal id (not issued by this Karma, or altered)", cause="unknown_proposal") from None
