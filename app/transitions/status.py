"""The statuses of a stored transition and the one table of the moves between them (as
app/changes/status.py is for change requests): a move outside the table is a 409 naming both."""

from __future__ import annotations

from enum import StrEnum

from app.errors import Conflict


class TransitionStatus(StrEnum):
    PROPOSED = "proposed"  # a verified proposal (POST /transitions); stored only once executed
    RUNNING = "running"  # its next step is being applied
    WAITING = "waiting"  # its next step waits for a runtime report
    COMPLETED = "completed"  # the requested change applied (follow-ups may remain)
    STALLED = "stalled"  # a step was refused (or became invalid) when its time came; names it
    CANCELLED = "cancelled"  # DELETE /transitions/<id>: what had not run will not
    EXPIRED = "expired"  # a wait outlived KARMA_QUEUE_TTL, as a queued change does: what had not run will not


class StepStatus(StrEnum):
    PENDING = "pending"
    WAITING = "waiting"
    DONE = "done"
    REFUSED = "refused"  # the rules refused it at its time (the transition stalled on it)
    FAILED = "failed"  # it was no longer a valid change (422/404/409) at its time
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # the wait step whose runtime report did not come within KARMA_QUEUE_TTL
    FOLLOW_UP = "follow_up"  # restore steps: suggested after the change, not run by Karma


T = TransitionStatus
# what a stored transition can be (a proposal is stored only once executed): GET /transitions?status=
STORED = tuple(s.value for s in TransitionStatus if s != T.PROPOSED)
TRANSITIONS: dict[TransitionStatus, frozenset[TransitionStatus]] = {
    T.PROPOSED: frozenset({T.RUNNING}),
    T.RUNNING: frozenset({T.RUNNING, T.WAITING, T.COMPLETED, T.STALLED, T.CANCELLED}),
    T.WAITING: frozenset({T.RUNNING, T.STALLED, T.CANCELLED, T.EXPIRED}),
    T.STALLED: frozenset({T.CANCELLED}),
    T.COMPLETED: frozenset(),
    T.CANCELLED: frozenset(),
    T.EXPIRED: frozenset(),
}
ACTIVE = frozenset({T.RUNNING, T.WAITING})
ENDED_BEFORE_ITS_CHANGE = frozenset({T.STALLED, T.CANCELLED, T.EXPIRED})
AFTER_THE_CHANGE = ", after the change"  # how a restore step's description ends (search._restores)
NOT_RUN = "not_run"  # how a restore is shown once its transition ended without the change (never stored)


def counted_steps(steps: list[dict] | None) -> int:
    """The steps Karma runs, as every page counts them: a follow-up (a restore, suggested after the change,
    never run by Karma) is not one ("a proposal of 3 steps" beside "step 2 of 2" read as a step gone)."""
    return sum(1 for s in steps or [] if not s.get("follow_up"))


def progress(transition: dict) -> str:
    """Where a transition is, as the CLI and the console say it: `2 of 3` (steps numbered from 1; the
    JSON's `current_step` is an index from 0), or `done (3 steps)`."""
    counted = counted_steps(transition.get("steps"))
    if transition.get("status") == T.COMPLETED:
        return f"done ({counted} step{'' if counted == 1 else 's'})"
    return f"{(transition.get('current_step') or 0) + 1} of {counted}"


def steps_as_shown(transition: dict) -> list[dict]:
    """A transition's steps as a person reads them (the CLI's STEPS, the console's steps table): a restore
    of a transition that ended before its change (stalled, cancelled, expired) said `follow up` "…, after
    the change" — a change that never ran. It is `not run`, and says the change did not run."""
    steps = transition.get("steps") or []
    if transition.get("status") not in ENDED_BEFORE_ITS_CHANGE:
        return steps
    return [
        {
            **s,
            "status": NOT_RUN,
            "description": str(s.get("description") or "").removesuffix(AFTER_THE_CHANGE)
            + " — not needed for it now: the change did not run",
        }
        if s.get("follow_up")
        else s
        for s in steps
    ]


def move(current: str, target: str, transition_id: str) -> TransitionStatus:
    """The target status if `current → target` is in the table; 409 (cause transition_<status>) otherwise."""
    now, to = TransitionStatus(current), TransitionStatus(target)
    if to not in TRANSITIONS[now]:
        raise Conflict(
            f"transition {transition_id!r} is {now}; it cannot become {to}",
            cause=f"transition_{now}",
            current_status=str(now),
            requested_status=str(to),
            allowed=sorted(str(s) for s in TRANSITIONS[now]),
            transition_id=transition_id,
        )
    return to
