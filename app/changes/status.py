"""The statuses of a change request and the one table of the moves between them.

A request is analysed (`planned` for a dry run, `validated` for a request about to be stored) and is
then stored as applied, rejected, queued or pending_approval. Only queued and pending requests move
on. Every status change in app/changes goes through `transition`, so an illegal move (cancelling an
applied change, approving a queued one) is a 409 naming both statuses instead of a silent rewrite.
"""

from __future__ import annotations

from enum import StrEnum

from app.errors import Conflict


class ChangeStatus(StrEnum):
    """Serialises as its value: `ChangeStatus.QUEUED == "queued"`, and json.dumps writes "queued"."""

    PLANNED = "planned"
    VALIDATED = "validated"
    APPLIED = "applied"
    REJECTED = "rejected"
    QUEUED = "queued"
    PENDING_APPROVAL = "pending_approval"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    DENIED = "denied"


S = ChangeStatus
# what a stored change request can be (planned and validated are analyses, never stored): GET /changes?status=
STORED = tuple(s.value for s in ChangeStatus if s not in (S.PLANNED, S.VALIDATED))
_DECIDED = frozenset({S.APPLIED, S.REJECTED, S.QUEUED, S.PENDING_APPROVAL})

TRANSITIONS: dict[ChangeStatus, frozenset[ChangeStatus]] = {
    S.PLANNED: _DECIDED,
    S.VALIDATED: _DECIDED,
    # queued → pending_approval: a queued request whose blockers cleared but that now needs an approval
    # waits for the approver (as it always did before the table existed), rather than being rejected
    S.QUEUED: frozenset({S.APPLIED, S.REJECTED, S.PENDING_APPROVAL, S.CANCELLED, S.EXPIRED}),
    S.PENDING_APPROVAL: frozenset({S.APPLIED, S.REJECTED, S.QUEUED, S.DENIED}),
    S.APPLIED: frozenset(),
    S.REJECTED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
    S.DENIED: frozenset(),
}


class IllegalTransition(Conflict):
    """409: the change request is in a status from which the requested move does not exist."""

    def __init__(
        self, current: ChangeStatus, target: ChangeStatus, change_id: str | None = None, why: str | None = None
    ):
        allowed = sorted(TRANSITIONS[current])
        super().__init__(
            f"change {change_id!r} is {current}: {why or f'it cannot become {target}'}",
            cause=f"change_{current}",
            status=str(current),
            requested_status=str(target),
            allowed=[str(s) for s in allowed],
            change_id=change_id,
        )


def blockers_of(decisions: list[dict], approved: bool) -> list[dict]:
    """The decisions that hold a request (an approval satisfies require_approval)."""
    holding = ("reject", "block") if approved else ("reject", "block", "require_approval")
    return [d for d in decisions if d["effect"] in holding]


def a_step_could_lift(decisions: list[dict]) -> bool:
    """Whether searching the steps that make a refused change valid (POST /transitions) can find any: a
    reject or block decision that is `liftable` (its rule declares remedies or tests runtime a wait could
    change — app.policy.remedies.liftable). Otherwise the rule's message is the way to yes (resubmit with a
    reason), and the search would only answer no_transition. A decision stored before decisions said it
    is counted liftable: offered, as it was."""
    return any(d.get("effect") in ("reject", "block") and d.get("liftable", True) for d in decisions)


def decided(decisions: list[dict], on_blocked: str, approved: bool) -> ChangeStatus:
    """What the decisions make of a request or a set (the status it moves to from `validated`)."""
    effects = {d["effect"] for d in decisions}
    if "reject" in effects:
        return ChangeStatus.REJECTED
    if "block" in effects:
        return ChangeStatus.QUEUED if on_blocked == "queue" else ChangeStatus.REJECTED
    if "require_approval" in effects and not approved:
        return ChangeStatus.PENDING_APPROVAL
    return ChangeStatus.APPLIED


def status_of(value: str) -> ChangeStatus:
    """A stored status string → ChangeStatus (a status Karma never writes is a data error, not a 500)."""
    try:
        return ChangeStatus(value)
    except ValueError:
        raise Conflict(f"unknown change status {value!r}", cause="unknown_status", current_status=value) from None


def can_move(current: str, target: str) -> bool:
    return status_of(target) in TRANSITIONS[status_of(current)]


def transition(current: str, target: str, *, change_id: str | None = None, why: str | None = None) -> ChangeStatus:
    """The target status if `current → target` is in the table; IllegalTransition (409) otherwise."""
    now, to = status_of(current), status_of(target)
    if to not in TRANSITIONS[now]:
        raise IllegalTransition(now, to, change_id, why)
    return to


def require(current: str, expected: str, *, change_id: str | None = None, why: str | None = None) -> ChangeStatus:
    """409 (cause `change_<status>`) unless a stored request is still `expected`: the guard every
    lifecycle step runs under the lock before it moves the request."""
    now = status_of(current)
    if now != status_of(expected):
        raise Conflict(
            f"change {change_id!r} is {now}, {why or f'not {expected}'}",
            cause=f"change_{now}",
            current_status=str(now),
            change_id=change_id,
        )
    return now
