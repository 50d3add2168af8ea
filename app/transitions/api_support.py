"""The services the HTTP layer calls for what-if plans (kept out of app/api/changes.py)."""

from __future__ import annotations

from app.api.auth import current_principal
from app.api.context import services
from app.transitions.search import TransitionSearch
from app.transitions.simulation import Assumptions, Simulator, as_set


def simulator() -> Simulator:
    gate = services().gate
    return Simulator(gate.repo, gate.policy, gate.mode)


def what_if(change, assume: dict) -> dict:
    """POST /plan with `assume`: the hypothetical analysis (validated strictly, nothing written)."""
    assumptions = Assumptions.from_body(assume, as_set(change).requested_by)
    return simulator().what_if(change, assumptions, current_principal())


def transitions_for(change, assume: dict | None) -> dict:
    """POST /transitions: proposals verified by simulation (nothing written)."""
    gate = services().gate
    assumptions = Assumptions.from_body(assume, as_set(change).requested_by)
    rules = gate.policy.rules() if gate.policy is not None else []
    return TransitionSearch(simulator(), rules).propose(change, assumptions, current_principal())
