"""Turning an analysis (or a queue transition) into the parameters of the one commit statement."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from app.audit.entries import audit_entry as build_audit_entry
from app.changes.model import Analysis, ChangeRequest
from app.components import drift, get_type
from app.changes.status import ChangeStatus
from app.graph.repository import shown_commit_statements
from app.graph.codec import CONFIG_PREFIX, dumps, flat_properties
from app.notifications import events as outbox_events
from app.observability import context as request_ids
from app.policy.record import record as policy_record


def request_hash(request: ChangeRequest) -> str:
    """Identity of a request's content (for Idempotency-Key reuse checks)."""
    return request_hash_of(request.to_dict())


def request_hash_of(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def drift_after(component: dict, new_config: dict) -> dict:
    """THE drift hook of a committed change (both commit statements call it, nothing else): the drift
    properties written with the new config in the same statement — contract and reference drift end
    (the gate validated both), runtime drift is the new config against the last report."""
    return drift.of_change(get_type(component["type"]), component, new_config)


def patch_parameters(analysis: Analysis, apply: bool, change_id: str | None) -> dict:
    comp = analysis.component
    return {
        "id": comp["id"],
        "apply": apply,
        "config": dumps(analysis.new_config),
        "config_keys": list(analysis.new_config),
        # only the keys that change: cfg_<key> for set keys, null (= remove) for removed ones
        "props": flat_properties(
            CONFIG_PREFIX,
            {e["key"]: e["new"] for e in analysis.diff if e["op"] != "removed"},
            [e["key"] for e in analysis.diff if e["op"] == "removed"],
        )
        | drift_after(comp, analysis.new_config),
        "version": comp["version"] + 1,
        "cause": "change",
        "change_id": change_id,
        "edges_add": [{"target": e["target"], "kind": e["kind"], "via": e["via"]} for e in analysis.edges_add],
        "edges_remove": [{"target": e["target"], "kind": e["kind"], "via": e["via"]} for e in analysis.edges_remove],
        "affected": analysis.impact.ids,
        "affected_versions": [{"id": r["id"], "version": r["version"]} for r in analysis.impact.rows],
    }


def graph_patch(analysis: Analysis, change_id: str | None = None) -> dict:
    """What the commit writes, shown as the statement and its parameters (audit fields elided)."""
    params = patch_parameters(analysis, True, change_id)
    return {
        "config_version": params["version"],
        "config": analysis.new_config,
        "edges_added": analysis.edges_add,
        "edges_removed": analysis.edges_remove,
        "statements": shown_commit_statements(
            {
                **params,
                "now": "<commit time>",
                "audit": "<AuditEntry properties>",
                "change_request": "<ChangeRequest properties>",
                "waits_on": [],
                "enqueue": False,
                "rollback_of": None,
                "outbox": "<OutboxEvent properties>",
            }
        ),
    }


def _no_patch(component_id: str) -> dict:
    return {
        "id": component_id,
        "apply": False,
        "config": "",
        "config_keys": [],
        "props": {},
        "version": 0,
        "cause": "change",
        "change_id": None,
        "edges_add": [],
        "edges_remove": [],
        "affected": [],
        "affected_versions": [],
    }


def statement(
    *,
    component_id: str,
    analysis: Analysis | None,
    status: str,
    audit: dict,
    change_request: dict,
    now: datetime,
    rollback_of: str | None = None,
    enqueue: bool = False,
) -> dict:
    """Parameters of commit_change for any outcome: applied, rejected, queued, expired, cancelled."""
    applied = status == ChangeStatus.APPLIED and analysis is not None
    base = patch_parameters(analysis, applied, change_request["id"]) if analysis else _no_patch(component_id)
    queued = analysis is not None and status == ChangeStatus.QUEUED
    waits_on = sorted({d["component"] for d in analysis.blockers}) if queued else []
    audit, change_request = request_ids.stamp(audit, change_request)
    return {
        **base,
        "now": now,
        "audit": audit,
        "change_request": change_request,
        "waits_on": waits_on,
        "enqueue": enqueue,
        "rollback_of": rollback_of,
        "outbox": outbox_events.for_commit(status=status, audit=audit, change_request=change_request, now=now),
    }


def audit_entry(
    *,
    log_id: str,
    kind: str,
    now: datetime,
    component: dict,
    request: ChangeRequest,
    status: str,
    change_id: str,
    analysis: Analysis | None = None,
    result: dict | None = None,
    note: str | None = None,
    rollback_of: str | None = None,
    via: str | None = None,
) -> dict:
    """The AuditEntry of a change request or of one of its transitions (`via`: "cli" when not over HTTP)."""
    applied = status == ChangeStatus.APPLIED and analysis is not None
    details = {}
    if analysis is not None:
        details = {
            "mode": analysis.mode,
            "diff": dumps(analysis.diff),
            "decisions": dumps(analysis.decisions),
            "actions": dumps(analysis.actions),
            "graph_patch": dumps({k: v for k, v in (result or {}).get("graph_patch", {}).items() if k != "statements"}),
            "approved_by": analysis.approved_by,  # who approved it (requested_by stays the requester)
        }
        if analysis.rules_saw is not None:  # what the rules knew (karma rules replay), see app.policy.replay
            details["facts"] = policy_record(
                analysis.rules_saw["facts"], analysis.rules_saw["at"], analysis.rules_saw["rules"]
            )
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
        version_after=(component.get("version") or 0) + (1 if applied else 0),
        affected=analysis.impact.ids if analysis else [],
        warnings=analysis.warnings if analysis else [],
        rollback_of=rollback_of,
        via=via,
        **details,
    )


def change_request_properties(
    *,
    analysis: Analysis,
    status: ChangeStatus,
    change_id: str,
    log_id: str,
    now: datetime,
    result: dict,
    stored: dict | None,
    rollback_of: str | None,
    queue_ttl_seconds: int = 0,
    extra: dict | None = None,
) -> dict:
    """The ChangeRequest node's properties after an analysed write. A new request (`stored` None) gets
    its request, hash, base version and first result; a stored one (queued, pending) only its new state."""
    req = analysis.request
    props = {
        "id": change_id,
        "status": str(status),
        "component_id": req.component,
        "updated_at": now,
        "log_entry_id": log_id,
        "blockers": dumps(analysis.blockers),
        "impact": analysis.impact.ids,
    }
    if status == ChangeStatus.APPLIED:
        props.update({"applied_version": analysis.component["version"] + 1, "diff": dumps(analysis.diff)})
    return decided_properties(
        props,
        analysis=analysis,
        status=status,
        now=now,
        request=req.to_dict(),
        stored=stored,
        first={
            "base_version": analysis.component["version"],
            "result": dumps(result),
            "rollback_of": rollback_of,
            **(extra or {}),
        },
        queue_ttl_seconds=queue_ttl_seconds,
    )


def decided_properties(
    props: dict,
    *,
    analysis,
    status: ChangeStatus,
    now: datetime,
    request: dict,
    stored: dict | None,
    first: dict,
    queue_ttl_seconds: int,
) -> dict:
    """What a ChangeRequest of a single change and of a change set both record once the gate decided:
    the approval state, and for a new request (`stored` None) who asked what (`first`: its own extra
    properties) and when it expires in the queue. None values are not written."""
    props = dict(props)
    if analysis.approved_by:
        props["approved_by"] = analysis.approved_by
    if status == ChangeStatus.PENDING_APPROVAL:
        props["approver_role"] = max(
            (d.get("approver_role") or "approver" for d in analysis.decisions if d["effect"] == "require_approval"),
            key=lambda r: r == "admin",
        )
    if stored is None:
        props.update(
            {
                "created_at": now,
                "requested_by": request.get("requested_by"),
                "request": dumps(request),
                "request_hash": request_hash_of(request),
                "on_blocked": request.get("on_blocked"),
                **first,
            }
        )
        if status == ChangeStatus.QUEUED and queue_ttl_seconds:
            props["expires_at"] = now.timestamp() + queue_ttl_seconds
    return {k: v for k, v in props.items() if v is not None}


def transition_properties(*, change_id: str, status: ChangeStatus, log_id: str, now: datetime, note: str) -> dict:
    """The ChangeRequest node's properties after a move that needs no analysis (cancel, deny, expire)."""
    return {"id": change_id, "status": str(status), "updated_at": now, "log_entry_id": log_id, "note": note}
