"""The statuses of a stored transition and the one table of the moves between them (as
app/changes/status.py is for change requests): a move outside the table is a 409 naming both."""

from __future__ import annotations

import json
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
NON_EMPTY = "non-empty"  # a wait step's output value: the wait is for any published value (policy.remedies)
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


def step_sets(step: dict) -> str | None:
    """What a change step changes, in one line (the CLI's and the console's proposals and steps): a step
    read "the requested change" or a remedy's sentence, and what it would write was only in --json.
    `update subnet/a: cidr_block=10.42.9.0/24; update lambda/x: openapi_nickname removed`."""
    if step.get("kind") != "change":
        return None
    said = []
    for op in (step.get("change") or {}).get("changes") or []:
        patch = op.get("proposed_change") or op.get("config")  # an update's merge patch, a create's config
        keys = ", ".join(_set_key(k, v) for k, v in patch.items()) if isinstance(patch, dict) else None
        edge = f" -{op.get('kind')}-> {op['target']}" if op.get("target") else ""
        said.append(f"{op.get('op')} {op.get('component')}{edge}" + (f": {keys}" if keys else ""))
    return "; ".join(said) or None


def requested_body(request_: dict) -> dict | None:
    """A stored change's request (a change set's body: `changes`, `single`, `reason`, `on_blocked`; or a
    single change in its own form, `component`, as a transition executed from the console kept it before
    2026-12) as the body `/plan` and `/transitions` take again: a single update as one (component +
    proposed_change), a set as its operations. None when it holds no operation. What "propose it again"
    sends, from the console's form, the CLI's command and a stale proposal's 409 alike."""
    if request_.get("component"):
        request_ = {**request_, "changes": [{"op": "update", **request_}], "single": True}
    ops = [
        {k: v for k, v in op.items() if v is not None and k != "expected_version"}
        for op in request_.get("changes") or []
    ]
    if not ops:
        return None
    if request_.get("single") and len(ops) == 1 and ops[0].get("op") == "update":
        body = {"component": ops[0]["component"], "proposed_change": ops[0].get("proposed_change") or {}}
    else:
        body = {"changes": ops}
    return body | {k: request_[k] for k in ("reason", "on_blocked") if request_.get(k)}


def _set_key(key: str, value) -> str:
    if value is None:
        return f"{key} removed"
    return f"{key}={value if isinstance(value, str) else json.dumps(value, sort_keys=True)}"


def step_why(step: dict) -> str | None:
    """Why a proposed step is there, in words: the refusing decisions it lifts (`resolves`), or, for the
    requested change, that it is accepted at its moment (every proposal is verified by simulating it)."""
    lifted = [f"{r.get('rule_id')} on {r.get('component')}" for r in step.get("resolves") or []]
    if lifted:
        return "lifts " + ", ".join(lifted)
    if step.get("requested"):
        return "the goal: no rule refuses it after the steps before it (simulated)"
    if step.get("follow_up"):
        return "a follow-up: what the waits disturbed, not run by Karma"
    return None


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
