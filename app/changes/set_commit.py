"""Turning a change-set analysis into the parameters of its one commit statement (commit_change_set),
its one AuditEntry and its one ChangeRequest."""

from __future__ import annotations

from datetime import datetime

from app.audit.entries import audit_entry as build_audit_entry
from app.changes.commit import decided_properties, drift_after
from app.changes.set_analysis import SetAnalysis
from app.changes.sets import ChangeSet
from app.changes.status import ChangeStatus
from app.graph.codec import CONFIG_PREFIX, dumps, flat_properties
from app.notifications import events as outbox_events
from app.observability import context as request_ids
from app.policy.record import set_record


def _edge(e: dict) -> dict:
    return {"source": e["source"], "target": e["target"], "kind": e["kind"], "via": e["via"]}


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
) -> dict:
    applied = status == ChangeStatus.APPLIED
    creates, updates, deletes, add, remove = [], [], [], [], []
    for o in analysis.operations:
        cid = o.component["id"]
        if o.op.is_edge:
            add += [_edge(e) for e in o.edges_add]
            remove += [_edge(e) for e in o.edges_remove]
            continue
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
        else:
            deletes.append({"id": cid, "version": o.component["version"] + 1})
        if o.op.op != "delete":
            add += [_edge(e) for e in o.edges_add]
            remove += [_edge(e) for e in o.edges_remove]
    affected = analysis.affected
    queued = status == ChangeStatus.QUEUED
    audit, change_request = request_ids.stamp(audit, change_request)
    environments = sorted({o.component["environment"] for o in analysis.operations})
    return {
        "apply": applied,
        "creates": creates,
        "updates": updates,
        "deletes": deletes,
        "edges_add": add,
        "edges_remove": remove,
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
        "rollback_of": rollback_of,
        "waits_on": sorted({d["component"] for d in analysis.blockers}) if queued else [],
        "outbox": outbox_events.for_commit(
            status=status,
            audit=audit,
            change_request=change_request,
            now=now,
            change_set=_event_data(analysis.change_set, environments),
        ),
    }


def _event_data(change_set: ChangeSet, environments: list[str]) -> dict:
    """What a set's events say besides a single change's fields: every component it touches, its size
    and its environments (a subscription naming any of them gets the event)."""
    return {
        "components": change_set.component_ids,
        "set_size": len(change_set.operations),
        "environments": environments,
    }


def graph_patch(analysis: SetAnalysis) -> dict:
    """What the commit writes, per operation (shown in plans and results)."""
    return {
        "operations": [
            {
                "op": o.op.op,
                "component": o.component["id"],
                "config_version": None
                if o.op.op in ("delete", "add_edge", "remove_edge")
                else o.component["version"] + 1,
                "config": o.new_config,
                "edges_added": o.edges_add,
                "edges_removed": o.edges_remove,
            }
            for o in analysis.operations
        ]
    }


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
) -> dict:
    """The set's ONE AuditEntry: every operation's diff / created config / deleted snapshot included."""
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
        version_before=first.get("version"),
        version_after=(first.get("version") or 0) + (1 if applied else 0),
        affected=[r["id"] for r in analysis.affected],
        warnings=analysis.warnings,
        rollback_of=rollback_of,
        mode=analysis.mode,
        approved_by=analysis.approved_by,
        set_size=len(analysis.operations),
        via=cs.via,
        components=[o.component["id"] for o in analysis.operations],
        operations=dumps(
            [{k: v for k, v in op.items() if k not in ("impact", "facts")} for op in result["operations"]]
        ),
        decisions=dumps(analysis.decisions),
        actions=dumps(analysis.actions),
        # one list like a single change's diff (what every reader of audit entries expects), each entry
        # naming its component
        diff=dumps(
            [{"component": o.component["id"], **e} for o in analysis.operations if not o.op.is_edge for e in o.diff]
        ),
        **extra,
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
) -> dict:
    """The set's ONE ChangeRequest. `component_id` is its first component in lock order (its queue
    place); `component_ids` are all of them."""
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
    }
    if status == ChangeStatus.APPLIED:
        props["operations"] = dumps(
            [{k: v for k, v in op.items() if k not in ("impact", "facts")} for op in result["operations"]]
        )
    return decided_properties(
        props,
        analysis=analysis,
        status=status,
        now=now,
        request=cs.to_dict(),
        stored=stored,
        first={"result": dumps(result), "rollback_of": rollback_of, **(extra or {})},
        queue_ttl_seconds=queue_ttl_seconds,
    )


def transition_statement(change: dict, *, audit: dict, change_request: dict, now: datetime) -> dict:
    """commit_change_set's parameters for a stored set's move that writes no operation (cancel, deny,
    expire, reject) — or for a single change whose component was deleted since: the audit entry, the
    ChangeRequest's new state and their events only."""
    audit, change_request = request_ids.stamp(audit, change_request)
    status = change_request["status"]
    event_data = None
    if change.get("kind") == "set":
        change_set = ChangeSet.from_dict(change["request"])
        environments = sorted(
            {audit.get("environment"), *(o.environment for o in change_set.operations if o.op == "create")} - {None}
        )
        event_data = _event_data(change_set, environments)
    return {
        "outbox": outbox_events.for_commit(
            status=status, audit=audit, change_request=change_request, now=now, change_set=event_data
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
        "rollback_of": None,
        "waits_on": [],
    }
