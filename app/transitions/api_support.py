"""The services the HTTP layer calls for what-if plans (kept out of app/api/changes.py)."""

from __future__ import annotations

from app.api.auth import current_principal
from app.api.context import services
from app.errors import Forbidden
from app.transitions.simulation import Assumptions, Simulator, as_set


def simulator() -> Simulator:
    gate = services().gate
    return Simulator(gate.repo, gate.policy, gate.mode)


def what_if(change, assume: dict) -> dict:
    """POST /plan with `assume`: the hypothetical analysis (validated strictly, nothing written)."""
    assumptions = Assumptions.from_body(assume, as_set(change).requested_by)
    result = simulator().what_if(change, assumptions)
    actor = current_principal()
    if actor is not None:
        for op in result["operations"]:
            env = (op.get("deleted") or {}).get("environment")
            for row in op["impact"][:0]:
                env = row["environment"]
            if env and not actor.may_touch(env):
                raise Forbidden(f"this token may not change {env!r} components", cause="environment")
    return result
