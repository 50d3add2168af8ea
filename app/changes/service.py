"""ChangeService: plan, request-change, plans applied later, rollback, and queue transitions.

Every write runs as ONE Neo4j write transaction that first takes the component's lock, then reads
the context, analyses it and commits (or not). All coordination state lives in Neo4j, so any number
of API processes and queue workers can run side by side.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from collections.abc import Callable

from neo4j.exceptions import ConstraintError

from app.changes import commit as commits
from app.changes import merge_patch, plans
from app.changes.model import Analysis, ChangeRequest
from app.changes.pipeline import analyse, reference_ids, reference_values
from app.errors import Conflict, Forbidden, KarmaError, NotFound, Unprocessable
from app.graph.model import iso, loads
from app.graph.repository import GraphRepository, GraphTx

log = logging.getLogger("karma.changes")

MAX_ATTEMPTS = 8  # re-runs when an affected component moved between our read and our commit


class ImpactMoved(Exception):
    def __init__(self, moved: list[str]):
        super().__init__(", ".join(moved))
        self.moved = moved


def _not_found(component_id: str) -> NotFound:
    return NotFound(f"component {component_id!r} not found", cause="unknown_component", component=component_id)


class ChangeService:
    def __init__(self, repo: GraphRepository, policy, mode: str = "full",
                 clock=commits.utcnow, new_id=commits.new_id, queue_ttl_seconds: int = 0):
        self.repo = repo
        self.policy = policy
        self.mode = mode
        self.clock = clock
        self.new_id = new_id
        self.queue_ttl_seconds = queue_ttl_seconds

    # -- analysis ---------------------------------------------------------------------------------
    def _analyse(self, request: ChangeRequest, ctx: dict | None,
                 check: Callable[[Analysis], None] | None = None, actor=None) -> Analysis:
        if ctx is not None and actor is not None and not actor.may_touch(ctx["component"]["environment"]):
            raise Forbidden(f"this token may not change {ctx['component']['environment']!r} components",
                            cause="environment", component=request.component)
        analysis = analyse(request, ctx, mode=self.mode, policy=self.policy if self.mode == "full" else None)
        if check is not None:  # e.g. a plan's versions: a stale plan is a 409 before anything else
            check(analysis)
        if not analysis.diff:
            raise Unprocessable("the proposed change changes nothing",
                                errors={"proposed_change": ["no config key would change"]},
                                component=request.component)
        expected = request.expected_version
        if expected is not None and expected != analysis.component["version"]:
            raise Conflict(f"component {request.component!r} is at version "
                           f"{analysis.component['version']}, not {expected}",
                           cause="stale_version", current_version=analysis.component["version"],
                           expected_version=expected)
        return analysis

    def _rules_fingerprint(self) -> str | None:
        return self.policy.status().get("fingerprint") if self.policy and self.mode == "full" else None

    def plan(self, request: ChangeRequest, actor=None) -> dict:
        """The full analysis, status `planned`, and a plan id; reads the graph once, writes nothing."""
        ctx = self.repo.impact(request.component, reference_ids(request), reference_values(request))
        analysis = self._analyse(request, ctx, actor=actor)
        plan_id = plans.sign({
            "request": request.to_dict(), "mode": self.mode, "rules": self._rules_fingerprint(),
            "versions": analysis.versions,
        })
        return analysis.result("planned", plan_id=plan_id, graph_patch=commits.graph_patch(analysis))

    # -- the one write transaction ----------------------------------------------------------------
    def _transact(self, request: ChangeRequest, *, kind: str = "change", change_id: str | None = None,
                  existing: dict | None = None, rollback_of: str | None = None,
                  check: Callable[[Analysis], None] | None = None,
                  before: Callable[[GraphTx], dict | None] | None = None,
                  extra: dict | None = None, cr_extra: dict | None = None, actor=None,
                  approved_by: str | None = None) -> dict:
        """Lock+read → (before) → analyse → (check) → commit, retried whole if the impact moved."""
        ref_ids, ref_values = reference_ids(request), reference_values(request)

        def work(gtx: GraphTx) -> dict:
            ctx = gtx.context_for_update(request.component, ref_ids, ref_values)  # lock + read, one statement
            if ctx is None:
                raise _not_found(request.component)
            if before is not None and (early := before(gtx)) is not None:
                return early
            analysis = self._analyse(request, ctx, check, actor)
            analysis.approved_by = approved_by or (existing or {}).get("approved_by")
            status = analysis.status()
            if existing is not None and existing.get("status") == "queued" and status == "queued":
                return {**analysis.result("queued"), "change_id": existing["id"], "transition": False}
            return self._commit(gtx, analysis, status, kind=kind,
                                change_id=change_id or (existing or {}).get("id") or self.new_id("chg"),
                                existing=existing, rollback_of=rollback_of, extra=extra or {},
                                cr_extra=cr_extra or {})

        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return self.repo.in_write_tx(work)
            except ImpactMoved as exc:
                log.info("impact moved, re-running", extra={"component": request.component,
                                                            "moved": exc.moved, "attempt": attempt})
        raise Conflict("the components this change affects kept changing; try again",
                       cause="impact_contention", component=request.component)

    def _commit(self, gtx: GraphTx, analysis: Analysis, status: str, *, kind: str, change_id: str,
                existing: dict | None, rollback_of: str | None, extra: dict, cr_extra: dict) -> dict:
        now, log_id, req = self.clock(), self.new_id("log"), analysis.request
        result = analysis.result(status, log_entry_id=log_id, change_id=change_id,
                                 graph_patch=commits.graph_patch(analysis, change_id), **extra)
        if rollback_of:
            result["rollback_of"] = rollback_of
        cr = {"id": change_id, "status": status, "component_id": req.component, "updated_at": now,
              "log_entry_id": log_id, "blockers": commits.dumps(analysis.blockers),
              "impact": analysis.impact.ids}
        if status == "applied":
            cr.update({"applied_version": analysis.component["version"] + 1,
                       "diff": commits.dumps(analysis.diff)})
        if analysis.approved_by:
            cr["approved_by"] = analysis.approved_by
            result["approved_by"] = analysis.approved_by
        if status == "pending_approval":
            cr["approver_role"] = max((d.get("approver_role") or "approver" for d in analysis.decisions
                                       if d["effect"] == "require_approval"), key=lambda r: r == "admin")
        if existing is None:
            cr.update({"created_at": now, "requested_by": req.requested_by, "request": commits.dumps(req.to_dict()),
                       "request_hash": commits.request_hash(req), "on_blocked": req.on_blocked,
                       "base_version": analysis.component["version"], "result": commits.dumps(result),
                       "rollback_of": rollback_of, **cr_extra})
            if status == "queued" and self.queue_ttl_seconds:
                cr["expires_at"] = now.timestamp() + self.queue_ttl_seconds
        cr = {k: v for k, v in cr.items() if v is not None}
        audit = commits.audit_entry(log_id=log_id, kind=kind, now=now, component=analysis.component,
                                    request=req, status=status, change_id=change_id, analysis=analysis,
                                    result=result, rollback_of=rollback_of)
        params = commits.statement(component_id=req.component, analysis=analysis, status=status, audit=audit,
                                   change_request=cr, now=now, rollback_of=rollback_of,
                                   enqueue=status == "queued" and (existing or {}).get("status") != "queued")
        moved = gtx.commit(params)["moved"]
        if moved:
            raise ImpactMoved(moved)
        log.info("change committed", extra={"component": req.component, "status": status, "kind": kind,
                                            "change_id": change_id, "log_entry_id": log_id,
                                            "affected": len(analysis.impact.rows)})
        return result

    # -- request-change ---------------------------------------------------------------------------
    def request_change(self, request: ChangeRequest, idempotency_key: str | None = None, actor=None) -> dict:
        """Validate, analyse and apply / reject / queue, atomically with the audit entry."""
        if not idempotency_key:
            return self._transact(request, actor=actor)
        digest = commits.request_hash(request)

        def replay(gtx: GraphTx) -> dict | None:
            found = gtx.run("change_by_idempotency_key", key=idempotency_key)
            if found is None:
                return None
            if found["request_hash"] != digest:
                raise Unprocessable("this Idempotency-Key was used with a different request",
                                    errors={"Idempotency-Key": ["reused with a different body"]},
                                    cause="idempotency_key_reuse", change_id=found["id"])
            return {**loads(found["result"]), "idempotent_replay": True}

        cr_extra = {"idempotency_key": idempotency_key}
        try:
            return self._transact(request, before=replay, cr_extra=cr_extra, actor=actor)
        except ConstraintError:
            # the same key committed concurrently (on another component's lock): answer as a replay
            return self._transact(request, before=replay, cr_extra=cr_extra, actor=actor)

    # -- plans ------------------------------------------------------------------------------------
    def apply_plan(self, plan_id: str, actor=None) -> dict:
        """Apply exactly what was planned, or 409 if anything in the plan's impact set moved."""
        payload = plans.verify(plan_id)
        request = ChangeRequest(**payload["request"])
        if actor is not None:
            request = replace(request, requested_by=actor.name)  # whoever applies it is accountable
        if payload.get("mode") != self.mode or payload.get("rules") != self._rules_fingerprint():
            raise Conflict("the rules or mode changed since this plan was made; plan again",
                           cause="stale_plan", plan_rules=payload.get("rules"))

        def check(analysis: Analysis) -> None:
            now, planned = analysis.versions, payload["versions"]
            moved = sorted(k for k in set(now) | set(planned) if now.get(k) != planned.get(k))
            if moved:
                raise Conflict("components in the plan's impact set changed since the plan; plan again",
                               cause="stale_plan", changed=moved)

        return self._transact(request, check=check, extra={"plan_id": plan_id}, actor=actor)

    # -- change requests --------------------------------------------------------------------------
    def get_change(self, change_id: str) -> dict:
        row = self.repo.read("change_get", id=change_id)
        if row is None:
            raise NotFound(f"change {change_id!r} not found", cause="unknown_change")
        return change_view(row)

    @staticmethod
    def _require_status(change: dict, expected: str, why: str | None = None) -> dict:
        """409 unless a stored change request is in `expected` status (read outside or under the lock)."""
        status = change["status"]
        if status != expected:
            raise Conflict(f"change {change['id']!r} is {status}, {why or f'not {expected}'}",
                           cause=f"change_{status}", status=status)
        return change

    def _locked_change(self, gtx: GraphTx, change_id: str, expected: str, why: str | None = None) -> dict:
        """The change request as it is under the component's lock, which must still be `expected`."""
        return self._require_status(gtx.run("change_get", id=change_id)["change"], expected, why)

    def cancel(self, change_id: str, requested_by: str, actor=None) -> dict:
        current = self.get_change(change_id)
        request = ChangeRequest(**current["request"])
        if actor is not None and actor.role != "admin" and current["requested_by"] != actor.name:
            raise Forbidden("only the requester (or an admin) may cancel a change", cause="not_requester",
                            component=current["component_id"])

        def before(gtx: GraphTx) -> dict:
            change = self._locked_change(gtx, change_id, "queued", "only a queued change can be cancelled")
            return self._transition(gtx, change, "cancelled", note=f"cancelled by {requested_by}",
                                    actor=requested_by)

        return self._transact(request, before=before)

    def _transition(self, gtx: GraphTx, change: dict, status: str, *, note: str, actor: str | None = None,
                    kind: str = "queue") -> dict:
        """Move a stored change request to a terminal status without applying it (audited)."""
        request = ChangeRequest(**loads(change["request"]))
        now, log_id = self.clock(), self.new_id("log")
        component = gtx.run("component_get", id=change["component_id"])["component"]
        audit = commits.audit_entry(log_id=log_id, kind=kind, now=now, component=component,
                                    request=replace(request, requested_by=actor or request.requested_by),
                                    status=status, change_id=change["id"], note=note)
        cr = {"id": change["id"], "status": status, "updated_at": now, "log_entry_id": log_id, "note": note}
        params = commits.statement(component_id=change["component_id"], analysis=None, status=status,
                                   audit=audit, change_request=cr, now=now)
        gtx.commit(params)
        log.info("change transition", extra={"change_id": change["id"], "status": status, "note": note})
        return {"change_id": change["id"], "status": status, "note": note, "log_entry_id": log_id,
                "component": change["component_id"], "transition": True}

    # -- approvals --------------------------------------------------------------------------------
    def _pending(self, change_id: str, actor) -> tuple[dict, ChangeRequest]:
        change = self._require_status(self.get_change(change_id), "pending_approval")
        if actor is not None:
            if actor.name == change["requested_by"]:
                raise Forbidden("a change cannot be approved or denied by its requester",
                                cause="self_approval", component=change["component_id"])
            needed = change.get("approver_role") or "approver"
            if actor.role not in (needed, "admin"):
                raise Forbidden(f"this change needs a {needed!r} to approve it", cause="approver_role",
                                component=change["component_id"])
        return change, ChangeRequest(**change["request"])

    def approve(self, change_id: str, actor, comment: str | None = None) -> dict:
        """Approve a pending change: it re-runs the full pipeline against the graph as it is now."""
        change, request = self._pending(change_id, actor)
        existing = {"id": change_id, "status": "pending_approval"}
        def before(gtx: GraphTx) -> None:
            self._locked_change(gtx, change_id, "pending_approval")

        return self._transact(request, kind="approval", existing=existing, before=before,
                              actor=actor, approved_by=actor.name if actor else "system",
                              extra={"approval_comment": comment} if comment else None)

    def deny(self, change_id: str, actor, reason: str | None = None) -> dict:
        change, request = self._pending(change_id, actor)
        who = actor.name if actor else "system"

        def before(gtx: GraphTx) -> dict:
            change = self._locked_change(gtx, change_id, "pending_approval")
            return self._transition(gtx, change, "denied", note=f"denied by {who}: {reason or 'no reason'}",
                                    actor=who, kind="approval")

        return self._transact(request, before=before)

    # -- queue ------------------------------------------------------------------------------------
    def process_head(self, component_id: str) -> dict | None:
        """Re-evaluate the oldest queued request on a component against the current graph.

        Runs under the component's lock, so concurrent processors (any process, any host) apply
        each request exactly once; an uncommitted attempt (crash, kill) leaves it queued.
        """
        def head(gtx: GraphTx) -> dict | None:
            if gtx.lock(component_id) is None:
                return None
            row = gtx.run("queue_head", component=component_id)
            return None if row is None else row["change"]

        change = self.repo.in_write_tx(head)
        if change is None:
            return None
        request = ChangeRequest(**loads(change["request"]))
        expires_at = change.get("expires_at")

        def before(gtx: GraphTx) -> dict | None:
            row = gtx.run("change_get", id=change["id"])
            if row is None or row["change"]["status"] != "queued":
                return {"change_id": change["id"], "status": row["change"]["status"] if row else "gone",
                        "transition": False}
            if expires_at is not None and self.clock().timestamp() >= expires_at:
                return self._transition(gtx, row["change"], "expired", note="queue TTL elapsed")
            return None

        try:
            return self._transact(request, kind="queue", existing=change, before=before)
        except KarmaError as exc:
            note = exc.message

            def reject(gtx: GraphTx) -> dict:
                gtx.lock(component_id)
                row = gtx.run("change_get", id=change["id"])
                if row["change"]["status"] != "queued":
                    return {"change_id": change["id"], "status": row["change"]["status"], "transition": False}
                return self._transition(gtx, row["change"], "rejected", note=note)

            return self.repo.in_write_tx(reject)

    def process_component(self, component_id: str, limit: int = 100) -> list[dict]:
        """Drain a component's queue in FIFO order; stops at the first request still blocked."""
        out = []
        for _ in range(limit):
            result = self.process_head(component_id)
            if result is None:
                break
            if result.get("transition") is False and result["status"] != "queued":
                continue  # another processor moved it first: nothing done here
            out.append({k: result.get(k) for k in ("change_id", "status", "log_entry_id", "note", "blockers")
                        if result.get(k) is not None})
            if result["status"] == "queued":
                break
        return out

    def process_queue(self, waits_on: str | None = None) -> list[dict]:
        row = self.repo.read("queue_components", waits_on=waits_on)
        out = []
        for component_id in sorted(row["components"]):
            out += self.process_component(component_id)
        return out

    def queue(self, component: str | None = None) -> list[dict]:
        row = self.repo.read("queue_list", component=component)
        return [{**item, "request": loads(item["request"]), "blockers": loads(item["blockers"]),
                 "created_at": iso(item["created_at"]), "updated_at": iso(item["updated_at"])}
                for item in row["items"]]

    # -- rollback ---------------------------------------------------------------------------------
    def rollback(self, change_id: str, requested_by: str, reason: str | None = None,
                 on_blocked: str = "reject", actor=None) -> dict:
        """Run the inverse of an applied change through the full pipeline.

        Only the keys the change touched are reverted. If a later change modified any of those keys,
        the rollback is refused (409) rather than silently undoing the later change.
        """
        original = self.get_change(change_id)
        if original["status"] != "applied":
            raise Conflict(f"change {change_id!r} is {original['status']}; only an applied change can be "
                           "rolled back", cause="not_applied", status=original["status"])
        if any(rb["status"] == "applied" for rb in original["rolled_back_by"]):
            raise Conflict(f"change {change_id!r} was already rolled back", cause="already_rolled_back",
                           rolled_back_by=[rb["id"] for rb in original["rolled_back_by"]])
        diff = original["diff"]
        before_values = {e["key"]: e["old"] for e in diff if e["op"] != "added"}
        after_values = {e["key"]: e["new"] for e in diff if e["op"] != "removed"}
        touched = [e["key"] for e in diff]
        inverse = merge_patch.create(after_values, before_values)
        request = ChangeRequest(component=original["component_id"], proposed_change=inverse,
                                requested_by=requested_by, reason=reason or f"rollback of {change_id}",
                                on_blocked=on_blocked)

        def before(gtx: GraphTx) -> None:
            current = loads(gtx.run("component_get", id=request.component)["component"]["config"])
            moved = [k for k in touched if current.get(k) != after_values.get(k)]
            if moved:
                raise Conflict(f"the component changed after {change_id}: keys {moved} no longer hold the values "
                               "that change set; refusing to undo the later change", cause="changed_since",
                               keys=moved)
            return None

        return self._transact(request, kind="rollback", rollback_of=change_id, before=before, actor=actor)


def change_view(row: dict) -> dict:
    change = row["change"]
    out = {k: v for k, v in change.items() if k not in ("result",)}
    for key in ("request", "blockers", "diff"):
        if key in out:
            out[key] = loads(out[key])
    for key in ("created_at", "updated_at"):
        out[key] = iso(out.get(key))
    out["trail"] = [{**t, "timestamp": iso(t["timestamp"])} for t in row["trail"]]
    out["waits_on"] = row["waits_on"]
    out["rolled_back_by"] = row["rolled_back_by"]
    return out
