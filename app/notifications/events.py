"""Events a committed change reports, written as outbox entries by the commit statement itself.

The commit statement (`cypher/commit_change.cypher`, block `outbox_write.cypher`) receives `$outbox`,
a list of event maps built here, and creates one `OutboxEvent` per event and matching subscription in
the SAME transaction as the change: a rolled-back change leaves no event, a committed one always does.

An event map is generic, so other producers (e.g. config-store write-back) can use the same outbox:
`event_id`, `type`, `environment`, `change_id`, `body` (the exact JSON the receiver gets, stable across
retries) and `destination` — None means "every subscription that wants this type", anything else
names one destination whose deliverer `deliver_pending` is given.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime

from app.clock import rfc3339
from app.audit.entries import actor

# Each type a subscription may ask for. Adding one (e.g. transition progress) is a line here and a
# producer; nothing in the outbox or delivery changes.
EVENT_TYPES = {
    "applied": "a change was applied (directly, from the queue, after approval, or a rollback)",
    "rejected": "a change was rejected (by a rule, or when a queued change became invalid)",
    "queued": "a blocked change was queued",
    "pending_approval": "a change waits for an approver",
    "approved": "an approver approved a pending change (followed by its outcome event)",
    "denied": "an approver denied a pending change",
    "expired": "a queued change expired (queue TTL)",
    "cancelled": "a queued change was cancelled",
    "runtime_reported": "a deploy reported a component's runtime outputs (PUT /components/<id>/runtime)",
    "transition_waiting": "a transition waits for a component's runtime report (its wait step)",
    "transition_completed": "a transition applied its requested change",
    "transition_stalled": "a transition stopped: a step was refused, or no longer valid, when its time came",
    "transition_cancelled": "a transition was cancelled (DELETE /transitions/<id>)",
    "transition_expired": "a transition's wait outlived KARMA_QUEUE_TTL",
}
STATUS_EVENTS = {"applied", "rejected", "queued", "pending_approval", "denied", "expired", "cancelled"}
# the outcomes a rule decided by holding the change: their events name the decisions that held it
HELD = {"rejected", "queued", "pending_approval"}
# an event is one bounded POST: a set can hold hundreds of decisions and a rule's message is an operator's
# text, so an event carries at most this many blockers (`blockers_total` says how many there were) ...
MAX_EVENT_BLOCKERS = 10
MAX_BLOCKER_MESSAGE = 500  # ... each message cut to this many characters
BLOCKER_FIELDS = ("rule_id", "effect", "message", "component")
# a change rejected because it could no longer apply (docs/lifecycle.md): the gate's error, bounded alike —
# its kind and message, and at most this many field paths with their messages (`errors_total`: how many)
MAX_EVENT_ERRORS = 20
REFUSAL_FIELDS = ("code", "status", "error", "message", "cause", "component")
SCHEMA_VERSION = "karma.event/v1"


def new_event_id() -> str:
    return f"evt-{secrets.token_hex(10)}"


def _iso(now: datetime) -> str:
    return rfc3339(now)  # as the API writes times (isoformat dropped the fraction at a whole second)


def body(*, event_id: str, event_type: str, now: datetime, data: dict) -> str:
    """The exact bytes (as text) a receiver gets; signed at each attempt, never rebuilt."""
    return json.dumps(
        {"id": event_id, "type": event_type, "schema": SCHEMA_VERSION, "created_at": _iso(now), "data": data},
        separators=(",", ":"),
        sort_keys=True,
    )


def event(
    *,
    event_type: str,
    now: datetime,
    data: dict,
    environment: str | None = None,
    change_id: str | None = None,
    destination: str | None = None,
    environments: list[str] | None = None,
) -> dict:
    """One outbox event map (the `$outbox` element the commit statement writes). `environments`: every
    environment the change touches when there are several (a change set); a subscription naming any of
    them gets the event."""
    event_id = new_event_id()
    return {
        "event_id": event_id,
        "type": event_type,
        "environment": environment,
        "change_id": change_id,
        "destination": destination,
        "environments": environments or [environment],
        "body": body(event_id=event_id, event_type=event_type, now=now, data=data),
    }


def _change_data(status: str, audit: dict, change_request: dict) -> dict:
    data = {
        "change_id": audit.get("change_id") or change_request.get("id"),
        "status": status,
        "kind": audit.get("kind"),
        "component": audit.get("component_id") or change_request.get("component_id"),
        "environment": audit.get("environment"),
        "requested_by": audit.get("requested_by"),
        "actor": actor(audit),  # who did it: an approval's approver (docs/security.md)
        "reason": audit.get("reason"),
        "note": audit.get("note"),
        "log_entry_id": audit.get("id"),
        "request_id": audit.get("request_id"),
        "version_before": audit.get("version_before"),
        "version_after": audit.get("version_after"),
        "affected_components": audit.get("affected") or [],
        "rollback_of": audit.get("rollback_of"),
        "approved_by": change_request.get("approved_by"),
        "cancelled_by": audit.get("cancelled_by"),  # a cancel's canceller (requested_by: the requester)
    }
    if status == "pending_approval":
        data["approver_role"] = change_request.get("approver_role")
    return {k: v for k, v in data.items() if v is not None}


def blockers_data(blockers: list[dict]) -> dict:
    """Why a held change is held, for a receiver that tells people (a chat message needs the rule and its
    message): the first MAX_EVENT_BLOCKERS decisions that held it, each its rule, effect, message and
    component, and how many there were in all."""
    if not blockers:
        return {}
    shown = [
        {k: (d.get(k) or "")[:MAX_BLOCKER_MESSAGE] if k == "message" else d.get(k) for k in BLOCKER_FIELDS}
        for d in blockers[:MAX_EVENT_BLOCKERS]
    ]
    return {"blockers": shown, "blockers_total": len(blockers)}


def refusal_data(refusal: dict | None) -> dict:
    """Why a stored change was rejected when it could no longer apply (invalid now, its component deleted,
    an illegal move, a key it sets changed since it was queued): the gate's error as the API answers one —
    `error`, `message`, `cause`, `component` — with its field errors in the one path format, and for
    `changed_since` the `keys` and the `changes` that moved them, bounded as blockers are."""
    if not refusal:
        return {}
    shown = {k: refusal[k] for k in REFUSAL_FIELDS if refusal.get(k) is not None}
    errors = refusal.get("errors") or {}
    if errors:
        paths = sorted(errors)[:MAX_EVENT_ERRORS]
        shown["errors"] = {p: [str(m)[:MAX_BLOCKER_MESSAGE] for m in errors[p]] for p in paths}
        shown["errors_total"] = len(errors)
    if refusal.get("changes"):  # changed_since: which keys a change made since moved, and those changes
        components = sorted(refusal.get("keys") or {})[:MAX_EVENT_ERRORS]
        shown["keys"] = {c: refusal["keys"][c] for c in components}
        shown["changes"] = refusal["changes"][:MAX_EVENT_ERRORS]
        shown["changes_total"] = len(refusal["changes"])
    return {"refusal": shown}


def for_commit(
    *,
    status: str,
    audit: dict,
    change_request: dict,
    now: datetime,
    change_set: dict | None = None,
    blockers: list[dict] | None = None,
    refusal: dict | None = None,
) -> list[dict]:
    """The events one commit of a change request reports (in order): `approved` first when an
    approval led to it, then the event named by the outcome. A change set's events also say which
    components it touches (`components`, `set_size`) and in which `environments`; a held change's
    (rejected, queued, pending approval) the `blockers` that held it; one rejected because it could no
    longer apply its `refusal`."""
    status, types = str(status), []  # a ChangeStatus serialises as its value
    if audit.get("kind") == "approval" and status != "denied":
        types.append("approved")
    if status in STATUS_EVENTS:
        types.append(status)
    data = {**_change_data(status, audit, change_request), **(change_set or {})}
    if status in HELD:
        data.update(blockers_data(blockers or []))
    data.update(refusal_data(refusal))
    return [
        event(
            event_type=t,
            now=now,
            data=data,
            environment=audit.get("environment"),
            change_id=data.get("change_id"),
            environments=(change_set or {}).get("environments"),
        )
        for t in types
    ]


def for_runtime_report(*, audit: dict, now: datetime) -> list[dict]:
    """The event a committed runtime report writes (the report's own statement writes it)."""
    data = {
        k: v
        for k, v in {
            "status": "reported",
            "kind": "runtime",
            "component": audit.get("component_id"),
            "environment": audit.get("environment"),
            "requested_by": audit.get("requested_by"),
            "actor": actor(audit),  # the reporter, as every event names who did it
            "log_entry_id": audit.get("id"),
            "request_id": audit.get("request_id"),
            "version_before": audit.get("version_before"),
            "version_after": audit.get("version_after"),
        }.items()
        if v is not None
    }
    return [event(event_type="runtime_reported", now=now, data=data, environment=audit.get("environment"))]


def for_transition(*, status: str, transition: dict, audit: dict, now: datetime) -> list[dict]:
    """The event a move of a stored transition reports (written by the move's own statement): one of
    `transition_<status>` for the moves a person waits on or must act on; none for `running` (each step's
    change reports itself). Environments: those of the components the transition touches."""
    event_type = f"transition_{status}"
    if event_type not in EVENT_TYPES:
        return []
    environments = sorted(transition.get("environments") or [])
    data = {
        k: v
        for k, v in {
            "transition_id": transition["id"],
            "status": str(status),
            "kind": "transition",
            "step": audit.get("step"),
            "note": audit.get("note"),
            "requested_by": audit.get("requested_by"),
            "actor": actor(audit),  # who made the move: the reporter whose report carried it on, the canceller
            "cancelled_by": audit.get("cancelled_by"),
            "change_id": audit.get("change_id"),
            "log_entry_id": audit.get("id"),
            "request_id": audit.get("request_id"),
            "stalled": transition.get("stalled"),
            "environments": environments,
        }.items()
        if v is not None
    }
    return [
        event(
            event_type=event_type,
            now=now,
            data=data,
            environment=environments[0] if len(environments) == 1 else None,
            change_id=audit.get("change_id"),
            environments=environments,
        )
    ]
