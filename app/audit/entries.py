"""The one builder of AuditEntry properties, for every kind of entry Karma writes.

Kinds: `change`, `queue`, `approval`, `rollback` (change requests and their transitions), `runtime`
(a deploy's report), `security` (a refused call), `query` (an operator's read-only query), `import`,
and `admin` (a token, a subscription or the outbox changed by an operator: `admin_entry`). Every entry
has the same core — who, when, what status, which component — and kind-specific details. Neo4j
properties hold no maps, so structured details arrive here already encoded as JSON text by the caller;
unset values are dropped so an entry never stores nulls.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.changes.operations import EDGE_OPS
from app.clock import utcnow
from app.graph.codec import dumps
from app.ids import new_id
from app.observability import context as request_ids


def audit_entry(
    *,
    kind: str,
    log_id: str,
    now: datetime,
    requested_by: str,
    status: str,
    component: dict | None = None,
    request: dict | None = None,
    reason: str | None = None,
    change_id: str | None = None,
    note: str | None = None,
    version_before: int | None = None,
    version_after: int | None = None,
    affected: list[str] | None = None,
    warnings: list[str] | None = None,
    **details: Any,
) -> dict:
    """AuditEntry properties. `component` is the component the entry is FOR (id, environment);
    `details` are kind-specific properties (diff, decisions, http_status, cause, …), scalars or JSON text."""
    component = component or {}
    entry = {
        "id": log_id,
        "kind": kind,
        "timestamp": now,
        "component_id": component.get("id"),
        "environment": component.get("environment"),
        "requested_by": requested_by,
        "status": status,
        "reason": reason,
        "change_id": change_id,
        "note": note,
        "version_before": version_before,
        "version_after": version_after,
        "request": dumps(request) if request is not None else None,
        "affected": list(affected or []),
        "warnings": list(warnings or []),
        "request_id": request_ids.current(),  # the request (or worker pass) that wrote it
        **details,
    }
    return {k: v for k, v in entry.items() if v is not None}


def admin_entry(*, status: str, by: str, note: str, token_id: str | None = None, **details: Any) -> dict:
    """The AuditEntry of an operator's action on what is not the graph but governs it: a token made or
    revoked (who may act), a subscription made or deleted, outbox entries resent or pruned (who is told,
    and the record of having told them). They are written in the action's own transaction, so none of
    them happens unrecorded (`status`: one of app.audit.statuses.ADMIN_STATUSES; `by`: who did it, a
    token's identity or `cli:<os user>`; `subjects` in `details`: the ids it acted on)."""
    return audit_entry(
        kind="admin", log_id=new_id("log"), now=utcnow(), requested_by=by, status=status, note=note[:500],
        token_id=token_id, **details,
    )  # fmt: skip


def operation_names(request: dict | None) -> list[str]:
    """Every operation of a request named the same way on every surface (events, the log, change lists,
    git commits, the console): `<op> <component>`, an explicit edge `<op> <source> -<kind>-> <target>`, in
    request order. `request`: a change set's body, or a single change's (stored before every change was a
    set): one update."""
    if not request:
        return []
    if "changes" not in request:
        return [f"update {request['component']}"] if request.get("component") else []
    return [
        f"{o.get('op')} {o.get('component')} -{o.get('kind')}-> {o.get('target')}"
        if o.get("op") in EDGE_OPS
        else f"{o.get('op')} {o.get('component')}"
        for o in request["changes"]
    ]


def actor(entry: dict) -> str | None:
    """Who did what an audit entry records. An approval that ran the change through the gate keeps the
    requester in `requested_by` (the change's author on every one of its entries) and the approver in
    `approved_by`: its actor is the approver. A transition's move that someone's runtime report made (the
    wait it ended, the steps it then ran, and those steps' changes) keeps the transition's requester in
    `requested_by` and the reporter in `reported_by`: its actor is the reporter. A cancel (of a queued
    change, of a transition) keeps the requester in `requested_by` and the canceller in `cancelled_by`:
    its actor is the canceller. Every other entry (a denial, a rollback, a change, a report) writes the
    one who acted in `requested_by`. cypher/log_list.cypher filters by the same definition (`actor`)."""
    if entry.get("kind") == "approval" and entry.get("approved_by"):
        return entry["approved_by"]
    return entry.get("cancelled_by") or entry.get("reported_by") or entry.get("requested_by")


def shown(entry: dict) -> dict:
    """An audit entry as the API shows it: its operations named and its `actor`."""
    return {**with_operations(entry), "actor": actor(entry)}


def with_operations(entry: dict) -> dict:
    """An audit entry (or change request) as shown: its operations named (`operations` on a change
    request is what it wrote, so the names go under `operation_names`)."""
    if entry.get("operation_names") is not None:
        return entry
    request = entry.get("request")
    return {**entry, "operation_names": operation_names(request if isinstance(request, dict) else None)}
