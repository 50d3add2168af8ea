"""Proposals for a refused change: ordered steps, each verified by simulation (what-if plans) to be
accepted at the moment it would run — never assumed. Derived from rule conditions on impacted runtime
values (a `wait` for the condition's negation), then the requested change, then `restore` follow-ups for
what the proposal disturbed. Bounded (steps, seconds, simulated plans), ranked, deterministic."""

from __future__ import annotations

import time

from app.components import get_type
from app.policy import remedies
from app.transitions.simulation import Assumptions, Simulator, as_set

MAX_STEPS = 8
MAX_SECONDS = 5.0
MAX_SIMULATIONS = 16
BLOCKING = ("reject", "block", "require_approval")


def _choices(type_name: str, output: str) -> list | None:
    """The values a type declares for a runtime output (its JSON Schema `enum`), in declared order."""
    spec = get_type(type_name).runtime_schema.get("properties", {}).get(output, {})
    enum = spec.get("enum") if isinstance(spec, dict) else None
    return list(enum) if isinstance(enum, list) else None


class TransitionSearch:
    def __init__(self, simulator: Simulator, rules: list):
        self.sim = simulator
        self.rules = {r.id: r for r in rules}

    def propose(self, change, assume: Assumptions, actor=None) -> dict:
        started, simulations = time.monotonic(), 1
        bound = {"max_steps": MAX_STEPS, "max_seconds": MAX_SECONDS, "max_simulated_plans": MAX_SIMULATIONS}
        live = self.sim.what_if(change, assume, actor)
        if live["would_be"] == "applied":
            return {"status": "allowed", "plan": live, "proposals": [], "search": {**bound, "simulated_plans": 1}}
        blockers = [d for d in live["decisions"] if d["effect"] in BLOCKING]
        rows = {r["id"]: r for op in live["operations"] for r in op["impact"]}
        waits, unresolved = {}, []
        for d in sorted(blockers, key=lambda d: (d["rule_id"], d["component"])):
            wait, why = self._derived_wait(d, rows.get(d["component"]))
            if wait is None:
                unresolved.append({"rule_id": d["rule_id"], "component": d["component"], "effect": d["effect"],
                                   "message": d["message"], "why": why})
            else:
                waits.setdefault(wait["component"], {}).update(wait["outputs"])
        proposals = []
        if not unresolved and waits and 1 + 2 * len(waits) <= MAX_STEPS:
            proposal, why = self._verified(change, assume, waits, rows)
            simulations += 1
            if proposal is not None:
                proposals.append(proposal)
            else:
                unresolved.append({"rule_id": None, "why": why})
        elapsed = round(time.monotonic() - started, 3)
        search = {**bound, "simulated_plans": simulations, "seconds": elapsed}
        if proposals:
            return {"status": "proposals", "proposals": proposals, "search": search, "refused": blockers}
        return {"status": "no_transition", "proposals": [], "unresolved": unresolved, "search": search,
                "refused": blockers}

    def _derived_wait(self, decision: dict, row: dict | None):
        rule = self.rules.get(decision["rule_id"])
        if rule is None:
            return None, "the rule is no longer loaded"
        tests = remedies.runtime_tests(rule.when)
        if not tests or row is None or rule.scope != "impacted":
            return None, (f"rule {decision['rule_id']!r} does not test impacted runtime values and declares "
                          "no remedy: only a different request (e.g. one it accepts) can satisfy it")
        outputs = {}
        for test in tests:
            value = remedies.negation(test, _choices(row["type"], test.output))
            if value is None:
                return None, f"no value of {row['type']} output {test.output!r} makes the rule's test false"
            outputs[test.output] = value
        return {"component": row["id"], "outputs": outputs}, None

    def _verified(self, change, assume: Assumptions, waits: dict, rows: dict):
        """Simulate the change with every wait's outputs reported; the proposal only if it is accepted."""
        runtime = dict(assume.runtime)
        for cid, outputs in waits.items():
            current = dict(runtime.get(cid, rows[cid]["runtime"]))
            current.update({k: (f"<published {k}>" if v == remedies.NON_EMPTY else v) for k, v in outputs.items()})
            runtime[cid] = current
        result = self.sim.what_if(change, Assumptions(runtime=runtime, applied=list(assume.applied)))
        if result["would_be"] != "applied":
            left = sorted({d["rule_id"] for d in result["decisions"] if d["effect"] in BLOCKING})
            return None, f"even after the waits, the change is still refused by {left}"
        steps = []
        for cid in sorted(waits):
            outputs = waits[cid]
            steps.append({"kind": "wait", "component": cid, "outputs": outputs,
                          "description": f"{cid} reports " + ", ".join(f"{k} {v}" for k, v in outputs.items())})
        target = as_set(change)
        steps.append({"kind": "change", "requested": True, "change": target.to_dict(), "plan": result,
                      "impact": result["affected_components"], "decisions": result["decisions"],
                      "actions": result["actions"]})
        for cid in sorted(waits):
            before = rows[cid]["runtime"]
            disturbed = {k: before[k] for k in waits[cid] if before.get(k) not in (None, "", [])}
            if disturbed:
                steps.append({"kind": "restore", "component": cid, "outputs": disturbed, "follow_up": True,
                              "description": f"{cid} can report " + ", ".join(f"{k} {v}" for k, v in
                                                                             disturbed.items())
                              + " again (deploy it back), after the change"})
        affected = sorted(set(waits) | set(result["affected_components"]))
        return {"steps": steps, "rank": {"steps": len(steps), "affected_components": len(affected),
                                         "wait_before_change": bool(waits)}}, None
