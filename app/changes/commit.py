"""Turning a change-set analysis (every change is one: a single change is a set of one update) into the
parameters of its one commit statement (cypher/commit_change.cypher), its one AuditEntry and its one
ChangeRequest — and a stored request's move that writes no operation (cancel, deny, expire) into the
same statement's parameters."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from app.audit.entries import audit_entry as build_audit_entry
from app.audit.entries import operation_names as names_of
from app.changes.operations import EDGE_OPS
from app.changes.set_analysis import SetAnalysis
from app.changes.sets import ChangeSet
from app.changes.status import ChangeStatus
from app.components import drift, get_type
from app.graph.codec import CONFIG_PREFIX, dumps, dumps_answer, flat_properties
from app.graph.repository import shown_commit_statements
from app.notifications import events as outbox_events
from app.observability import context as request_ids
from app.policy.record import set_record


def request_hash_of(body: dict) -> str:
    """Identity of a request's content (for Idempotency-Key reuse checks)."""
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def request_hashes(change_set: ChangeSet) -> set[str]:
    """The hashes a stored request with the same content may carry: its own, and for a single change the
    hash of the single form (how a single change's request was hashed before every change was a set)."""
    out = {request_hash_of(change_set.to_dict())}
    if change_set.single:
        op = change_set.operations[0]
        single = {
            "component": op.component,
            "proposed_change": op.proposed_change,
            "requested_by": change_set.requested_by,
            "reason": change_set.reason,
            "on_blocked": change_set.on_blocked,
            "expected_version": op.expected_version,
        }
        out.add(request_hash_of(single))
    return out


def drift_after(component: dict, new_config: dict) -> dict:
    """THE drift hook of a committed change (the commit statement's creates and updates, nothing else): the
    drift properties written with the new config in the same statement — contract and reference drift end
    (the gate validated both), runtime drift is the new config against the last report."""
    return drift.of_change(get_type(component["type"]), component, new_config)


def _edge(e: dict) -> dict:
    return {"source": e["source"], "target": e["target"], "kind": e["kind"], "via": e["via"]}


def _writes(analysis: SetAnalysis) -> dict:
    """The operations as the statement's creates / updates / deletes and its edge patch."""
    creates, updates, deletes, add, remove = [], [], [], [], []
    for o in analysis.operations:
        cid = o.component["id"]
        if o.op.op == "create":
            creates.append(
                {
                    "id": cid,
                    "type": o.component["type"],
                    "nickname": o.component["nickname"],
                    "environment": o.component["environment"],
                    "config": dumps(o.new_config),
                    "config_keys": list(o.new_config),
                    "props": flat_properties(CONFIG_PREFIX, o.new_config) | drift_after(o.component, o.new_config),
                }
            )
        elif o.op.op == "update":
            updates.append(
                {
                    "id": cid,
                    "config": dumps(o.new_config),
                    "config_keys": list(o.new_config),
                    "version": o.component["version"] + 1,
                    "props": flat_properties(
                        CONFIG_PREFIX,
                        {e["key"]: e["new"] for e in o.diff if e["op"] != "removed"},
                        [e["key"] for e in o.diff if e["op"] == "removed"],
                    )
                    | drift_after(o.component, o.new_config),
                }
            )
        elif o.op.op == "delete":
            deletes.append({"id": cid, "version": o.component["version"] + 1})
        if o.op.op != "delete":
            add += [_edge(e) for e in o.edges_add]
            remove += [_edge(e) for e in o.edges_remove]
    return {"creates": creates, "updates": updates, "deletes": deletes, "edges_add": add, "edges_remove": remove}


def statement(
    analysis: SetAnalysis,
    *,
    status: ChangeStatus,
    change_id: str,
    now: datetime,
    audit: dict,
    change_request: dict,
    rollback_of: str | None,
    enqueue: bool,
    new_request: bool,
) -> dict:
    """Parameters of commit_change for an analysed request: applied, rejected, queued, pending.
    `new_request`: its ChangeRequest is created (a second commit under the same id fails on the unique
    id, never merges into the first), else the stored one (queue, approval) is moved."""
    affected = analysis.affected
    queued = status == ChangeStatus.QUEUED
    audit, change_request = request_ids.stamp(audit, change_request)
    environments = sorted({o.component["environment"] for o in analysis.operations})
    return {
        "apply": status == ChangeStatus.APPLIED,
        **_writes(analysis),
        "now": now,
        "change_id": change_id,
        "affected_versions": sorted(
            ({"id": r["id"], "version": r["version"]} for r in affected), key=lambda v: v["id"]
        ),
        "affected": [r["id"] for r in affected],
        "touched": analysis.change_set.component_ids,
        "audit": audit,
        "change_request": change_request,
        "enqueue": enqueue,
        "new_request": new_request,
        "rollback_of": rollback_of,
        "waits_on": sorted({d["component"] for d in analysis.blockers}) if queued else [],
        "outbox": outbox_events.for_commit(
            status=status,
            audit=audit,
            change_request=change_request,
            now=now,
            change_set=event_data(analysis.change_set, environments),
            blockers=analysis.blockers,
        ),
    }


def operation_names(change_set: ChangeSet) -> list[str]:
    """Every operation named the same way on every surface (see app.audit.entries.operation_names)."""
    return names_of(change_set.to_dict())


def event_data(change_set: ChangeSet, environments: list[str]) -> dict:
    """What a change's events say besides its first component: every component it touches, every
    operation, its size and its environments (a subscription naming any of them gets the event)."""
    return {
        "components": change_set.component_ids,
        "operations": operation_names(change_set),
        "set_size": len(change_set.operations),
        "environments": environments,
    }


def graph_patch(analysis: SetAnalysis, change_id: str | None = None) -> dict:
    """What the commit writes, per operation, and the statement with its parameters (audit fields elided)."""
    operations = [
        {
            "op": o.op.op,
            "component": o.component["id"],
            "config_version": None if o.op.op in ("delete", *EDGE_OPS) else o.component["version"] + 1,
            "config": o.new_config,
            "edges_added": o.edges_add,
            "edges_removed": o.edges_remove,
        }
        for o in analysis.operations
    ]
    shown = {
        "apply": True,
        **_writes(analysis),
        "now": "<commit time>",
        "change_id": change_id,
        "affected_versions": [{"id": r["id"], "version": r["version"]} for r in analysis.affected],
        "affected": [r["id"] for r in analysis.affected],
        "touched": analysis.change_set.component_ids,
        "audit": "<AuditEntry properties>",
        "change_request": "<ChangeRequest properties>",
        "waits_on": [],
        "enqueue": False,
        "new_request": True,
        "rollback_of": None,
        "outbox": "<OutboxEvent properties>",
    }
    patch = {"operations": operations, "statements": shown_commit_statements(shown, analysis.change_set.refused_drift)}
    if analysis.change_set.single:  # the single form's fields: its one operation's
        patch.update({k: operations[0][k] for k in ("config_version", "config", "edges_added", "edges_removed")})
    return patch


def _stored_operations(result: dict) -> str:
    return dumps([{k: v for k, v in op.items() if k not in ("impact", "facts")} for op in result["operations"]])


def audit_entry(
    analysis: SetAnalysis,
    *,
    log_id: str,
    kind: str,
    now: datetime,
    status: ChangeStatus,
    change_id: str,
    result: dict,
    rollback_of: str | None = None,
    note: str | None = None,
    reported_by: str | None = None,
) -> dict:
    """The request's ONE AuditEntry: every operation's diff / created config / deleted snapshot included.
    `note`: what the one who acted said (an approval's comment), as a denial's entry keeps its reason;
    `reported_by`: whose runtime report ran it (a transition's step after a wait: its actor)."""
    cs, first = analysis.change_set, analysis.operations[0].component
    applied = status == ChangeStatus.APPLIED
    judged = [(o.index, o.rules_saw) for o in analysis.operations if o.rules_saw is not None]
    if judged and analysis.rules_at is not None:  # what the rules knew (karma rules replay)
        extra = {"facts": set_record(judged, analysis.rules_at, analysis.rules_fingerprint)}
    else:
        extra = {}
    return build_audit_entry(
        kind=kind,
        log_id=log_id,
        now=now,
        requested_by=cs.requested_by,
        status=str(status),
        component=first,
        request=cs.to_dict(),
        reason=cs.reason,
        change_id=change_id,
        note=note,
        version_before=first.get("version"),
        # an edge operation writes no config version: the component's stays what it was
        version_after=(first.get("version") or 0) + (1 if applied and not analysis.operations[0].op.is_edge else 0),
        affected=[r["id"] for r in analysis.affected],
        warnings=analysis.warnings,
        rollback_of=rollback_of,
        mode=analysis.mode,
        approved_by=analysis.approved_by,  # who approved it (requested_by stays the requester)
        reported_by=reported_by,
        set_size=len(analysis.operations),
        via=cs.via,
        components=cs.component_ids,
        operation_names=operation_names(cs),
        operations=_stored_operations(result),
        decisions=dumps(analysis.decisions),
        actions=dumps(analysis.actions),
        graph_patch=dumps({k: v for k, v in result.get("graph_patch", {}).items() if k != "statements"}),
        # one list over every operation, each entry naming its component
        diff=dumps(
            [{"component": o.component["id"], **e} for o in analysis.operations if not o.op.is_edge for e in o.diff]
        ),
        **extra,
    )


def transition_audit_entry(
    *,
    log_id: str,
    kind: str,
    now: datetime,
    component: dict,
    request: ChangeSet,
    status: str,
    change_id: str,
    note: str,
    refusal: dict | None = None,
    cancelled_by: str | None = None,
) -> dict:
    """The AuditEntry of a stored request's move that needs no analysis (cancel, deny, expire, reject; a
    rejection of one that can no longer apply keeps its `refusal` as the change request does: its trail and
    `GET /log/<id>` show it; a cancel names its canceller in `cancelled_by`, the requester staying
    `requested_by`)."""
    return build_audit_entry(
        kind=kind,
        log_id=log_id,
        now=now,
        requested_by=request.requested_by,
        status=status,
        component=component,
        request=request.to_dict(),
        reason=request.reason,
        change_id=change_id,
        note=note,
        version_before=component.get("version"),
        version_after=component.get("version"),
        via=request.via,
        set_size=len(request.operations),
        components=request.component_ids,
        operation_names=operation_names(request),
        refusal=dumps(refusal) if refusal else None,
        cancelled_by=cancelled_by,
    )


def change_request_properties(
    analysis: SetAnalysis,
    *,
    status: ChangeStatus,
    change_id: str,
    log_id: str,
    now: datetime,
    result: dict,
    stored: dict | None,
    rollback_of: str | None,
    queue_ttl_seconds: int = 0,
    extra: dict | None = None,
    note: str | None = None,
) -> dict:
    """The request's ONE ChangeRequest. `component_id` is its first existing component in lock order (its
    queue place); `component_ids` are all of them. A new request (`stored` None) gets who asked what and
    its first result; a stored one (queued, pending) only its new state. None values are not written."""
    cs = analysis.change_set
    ids = sorted(cs.component_ids)
    existing = sorted(cid for cid, version in analysis.versions.items() if version and cid in ids)
    props = {
        "id": change_id,
        "status": str(status),
        "component_id": (existing or ids)[0],
        "component_ids": ids,
        "kind": "set",
        "updated_at": now,
        "log_entry_id": log_id,
        "blockers": dumps(analysis.blockers),
        "impact": [r["id"] for r in analysis.affected],
        "note": note,
    }
    if status == ChangeStatus.APPLIED:
        props["operations"] = _stored_operations(result)
        if cs.single:  # the version the single form's component reached (what its readers look up)
            props["applied_version"] = analysis.operations[0].component["version"] + 1
    if analysis.approved_by:
        props["approved_by"] = analysis.approved_by
    if status == ChangeStatus.PENDING_APPROVAL:
        props["approver_role"] = max(
            (d.get("approver_role") or "approver" for d in analysis.decisions if d["effect"] == "require_approval"),
            key=lambda r: r == "admin",
        )
    if stored is None:
        request = cs.to_dict()
        props.update(
            {
                "created_at": now,
                "requested_by": cs.requested_by,
                "request": dumps(request),
                "request_hash": request_hash_of(request),
                "on_blocked": cs.on_blocked,
                "result": dumps_answer(result),
                "rollback_of": rollback_of,
                **(extra or {}),
            }
        )
        if status == ChangeStatus.QUEUED and queue_ttl_seconds:
            props["expires_at"] = now.timestamp() + queue_ttl_seconds
        if status in (ChangeStatus.QUEUED, ChangeStatus.PENDING_APPROVAL):  # both apply later, if at all
            props["seen_versions"] = dumps(seen_versions(analysis))
    return {k: v for k, v in props.items() if v is not None}


def seen_versions(analysis: SetAnalysis) -> dict[str, int]:
    """The version of each existing component a queued or pending request was judged on: what its
    requester saw, so that when it applies later (its queue pass, its approval) a change made since to a
    key it sets is seen (app.changes.since) rather than overwritten."""
    return {o.component["id"]: o.component["version"] for o in analysis.operations if o.op.op != "create"}


def transition_properties(
    *,
    change_id: str,
    status: ChangeStatus,
    log_id: str,
    now: datetime,
    note: str,
    refusal: dict | None = None,
    cancelled_by: str | None = None,
) -> dict:
    """The ChangeRequest node's properties after a move that needs no analysis (cancel, deny, expire, a
    rejection of one that can no longer apply: its `refusal`, JSON text as the request is; a cancel: who
    cancelled it, `cancelled_by`)."""
    props = {"id": change_id, "status": str(status), "updated_at": now, "log_entry_id": log_id, "note": note}
    props = {**props, "cancelled_by": cancelled_by} if cancelled_by else props
    return {**props, "refusal": dumps(refusal)} if refusal else props


def transition_statement(
    change: dict, request: ChangeSet, *, audit: dict, change_request: dict, now: datetime, refusal: dict | None = None
) -> dict:
    """commit_change's parameters for a stored request's move that writes no operation (cancel, deny,
    expire, reject): the audit entry, the ChangeRequest's new state and their events only (a rejection's
    with its `refusal`)."""
    audit, change_request = request_ids.stamp(audit, change_request)
    environments = sorted(
        {audit.get("environment"), *(o.environment for o in request.operations if o.op == "create")} - {None}
    )
    return {
        "outbox": outbox_events.for_commit(
            status=change_request["status"],
            audit=audit,
            change_request=change_request,
            now=now,
            # the change's requester, whoever moved it (its audit entry names the one who acted: `actor`)
            change_set={**event_data(request, environments), "requested_by": request.requested_by},
            refusal=refusal,
        ),
        "apply": False,
        "creates": [],
        "updates": [],
        "deletes": [],
        "edges_add": [],
        "edges_remove": [],
        "now": now,
        "change_id": change["id"],
        "affected_versions": [],
        "affected": [],
        "touched": change.get("component_ids") or [change["component_id"]],
        "audit": audit,
        "change_request": change_request,
        "enqueue": False,
        "new_request": False,
        "rollback_of": None,
        "waits_on": [],
    }
