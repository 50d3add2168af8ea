"""Exit codes a pipeline acts on: 0 applied / allowed, 2 rejected, 3 queued or pending approval,
1 error, 4 outcome unknown (a write got no answer: look before retrying), 5 drift found (`karma drift`:
the report was read and is not empty — never 1, which says it could not be read)."""

from __future__ import annotations

from app.changes.status import ChangeStatus, decided

OK, ERROR, REJECTED, WAITING, UNKNOWN, DRIFT = 0, 1, 2, 3, 4, 5

STATUS_CODES = {
    "applied": OK,
    "rejected": REJECTED,
    "queued": WAITING,
    "pending_approval": WAITING,
    "cancelled": OK,
    "denied": OK,
    "expired": OK,
}


def would_be(result: dict, on_blocked: str = "reject") -> str:
    """What a planned change would become if requested now (the pipeline's own outcome rule)."""
    return str(decided(result.get("decisions") or [], on_blocked, approved=False))


def outcome(result: dict, on_blocked: str = "reject") -> str:
    status = result.get("status")
    return would_be(result, on_blocked) if status == ChangeStatus.PLANNED else status


def exit_code(result: dict, on_blocked: str = "reject") -> int:
    return STATUS_CODES.get(outcome(result, on_blocked), OK)


def loaded_exit_code(result: dict) -> int:
    """`karma seed` / `karma import`: 0 for a bulk load or nothing to change; a change set through the gate
    as `karma request` (and with --plan as `karma plan`): a set waiting for an approver is 3, not an error."""
    return OK if result.get("status") in (None, "unchanged", "imported") else exit_code(result)
