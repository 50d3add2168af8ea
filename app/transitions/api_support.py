"""The services the HTTP layer calls for what-if plans (kept out of app/api/changes.py)."""

from __future__ import annotations

from app.api.context import services
from app.transitions.simulation import Assumptions, Simulator, as_set


def simulator() -> Simulator:
    gate = services().gate
    return Simulator(gate.repo, gate.policy, gate.mode)


def what_if(change, assume: dict) -> dict:
    """POST /plan with `assume`: the hypothetical analysis (validated strictly, nothing written)."""
    assumptions = Assumptions.from_body(assume, as_set(change).requested_by)
    return simulator().what_if(change, assumptions)
