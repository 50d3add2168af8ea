"""ChangeLifecycle: what happens to a stored change request after the gate decided it.

Reading it, the queue (list, FIFO processing, expiry) and the moves people make (cancel, approve,
deny). A move that re-decides the request (a queue pass, an approval) goes back through the gate's
analysis; a move that needs none (cancel, deny, expire) only locks the component, checks the stored
status and transitions it — every move through the one table in app.changes.status, audited.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from app.clock import rfc3339
from app.audit.entries import actor as actor_of
from app.changes import commit as commits
from app.changes.gate import ChangeGate, Write, unknown_change
from app.changes.sets import ChangeSet
from app.changes.status import ChangeStatus, require, transition
from app.changes.since import CHANGED_SINCE, require_unchanged, seen_by
from app.changes.stored import environments, judged_versions, normalized
from app.errors import Conflict, Forbidden, KarmaError, NotFound, ServiceUnavailable, Unprocessable
from app.graph.repository import GraphTx

log = logging.getLogger("karma.changes")


class ChangeLifecycle:
    def __init__(self, gate: ChangeGate):
        self.gate = gate
        self.repo = gate.repo

    # -- reading ----------------------------------------------------------------------------------
    def get_change(self, change_id: str) -> dict:
        change = self.repo.change(change_id)
        if change is None:
            raise unknown_change(change_id)
        shown = {k: v for k, v in normalized(change).items() if k not in ("result", "existing_environments")}
        shown["environments"] = environments(shown.get("request"), change.get("existing_environments") or [])
        if shown.get("trail"):
            shown["trail"] = [{**t, "actor": actor_of(t)} for t in shown["trail"]]
        return shown

    def queue(self, component: str | None = None) -> list[dict]:
        return self.repo.queue(component)

    # -- moves that need no analysis --------------------------------------------------------------
    def _move(
        self,
        gtx: GraphTx,
        change: dict,
        to: ChangeStatus,
        *,
        note: str,
        actor: str | None = None,
        kind: str = "queue",
        refusal: dict | None = None,
    ) -> dict:
        """Move a stored change request (read under its component's lock) without applying it; audited.
        `actor`: who moved it — a cancel keeps the requester in `requested_by` and the canceller in
        `cancelled_by` (the entry's and the record's: app.audit.entries.actor); a denial's entry names
        the denier in `requested_by`. A change on a component deleted since it was stored moves too: its
        audit entry names the deleted component (there is no node to link it to any more). `refusal`: why
        a rejected one could no longer apply (the gate's error body: a `changed_since` one names the keys
        and the changes), kept on the change and its audit entry, and carried by its event."""
        status = transition(change["status"], to, change_id=change["id"])
        request = request_of(change)
        cancelled_by = actor if status is ChangeStatus.CANCELLED else None
        now, log_id = self.gate.clock(), self.gate.new_id("log")
        live = gtx.component(change["component_id"])
        component = live or gtx.deleted_component(change["component_id"]) or {"id": change["component_id"]}
        audit = commits.transition_audit_entry(
            log_id=log_id,
            kind=kind,
            now=now,
            component=component,
            request=request if cancelled_by else replace(request, requested_by=actor or request.requested_by),
            status=str(status),
            change_id=change["id"],
            note=note,
            refusal=refusal,
            cancelled_by=cancelled_by,
        )
        record = commits.transition_properties(
            change_id=change["id"], status=status, log_id=log_id, now=now, note=note, refusal=refusal,
            cancelled_by=cancelled_by,
        )  # fmt: skip
        gtx.commit(
            commits.transition_statement(change, request, audit=audit, change_request=record, now=now, refusal=refusal)
        )
        log.info("change transition", extra={"change_id": change["id"], "status": str(status), "note": note})
        moved = {
            "change_id": change["id"],
            "status": str(status),
            "note": note,
            "log_entry_id": log_id,
            "component": change["component_id"],
            "transition": True,
        }
        return {**moved, "refusal": refusal} if refusal else moved

    def _locked_move(
        self,
        change: dict,
        expected: ChangeStatus,
        to: ChangeStatus,
        *,
        note: str,
        actor: str | None = None,
        kind: str = "queue",
        why: str | None = None,
        principal=None,
    ) -> dict:
        """Lock the component, check the request is still `expected` (and that `principal` may act on its
        environment), move it to `to`: one transaction."""

        def work(gtx: GraphTx) -> dict:
            gtx.lock(change["component_id"])  # when it exists: a set's creates and deleted components have none
            if principal is not None:
                refused = [e for e in _environments(gtx, change) if not principal.may_touch(e)]
                if refused:
                    environment = refused[0]
                    raise Forbidden(
                        f"this token may not act on {environment!r} components",
                        cause="environment",
                        component=change["component_id"],
                    )
            current = gtx.change_for_update(change["id"])
            require(current["status"], expected, change_id=change["id"], why=why)
            return self._move(gtx, current, to, note=note, actor=actor, kind=kind)

        return self.repo.in_write_tx(work)

    def cancel(self, change_id: str, requested_by: str, actor=None) -> dict:
        current = self.get_change(change_id)
        if actor is not None and actor.role != "admin" and current["requested_by"] != actor.name:
            raise Forbidden(
                "only the requester (or an admin) may cancel a change",
                cause="not_requester",
                component=current["component_id"],
            )
        return self._locked_move(
            current,
            ChangeStatus.QUEUED,
            ChangeStatus.CANCELLED,
            note=f"cancelled by {requested_by}",
            actor=requested_by,
            why="only a queued change can be cancelled",
            principal=actor,
        )

    # -- approvals --------------------------------------------------------------------------------
    def _pending(self, change_id: str, actor) -> dict:
        change = self.get_change(change_id)
        require(change["status"], ChangeStatus.PENDING_APPROVAL, change_id=change_id)
        refused = decision_refused(change, actor) if actor is not None else None
        if refused is not None:
            raise refused
        return change

    def approve(self, change_id: str, actor, comment: str | None = None) -> dict:
        """Approve a pending change: it re-runs the full pipeline against the graph as it is now. One that
        can no longer apply to it (invalid now — e.g. a change to a value another change already made —
        or its component deleted) is rejected, saying why, as the queue rejects one: it stayed pending for
        good, its every approval a 422."""
        change = self._pending(change_id, actor)
        who = actor.name if actor else "system"
        try:
            return self._approved(change, change_id, who, actor, comment)
        except (Unprocessable, NotFound, Conflict) as exc:
            if isinstance(exc, NotFound) and exc.extra.get("cause") != "unknown_component":
                raise
            if isinstance(exc, Conflict) and exc.extra.get("cause") != CHANGED_SINCE:
                raise  # a stale expected_version, a move by another approver: the approver is told
            return self._reject_if(
                change, ChangeStatus.PENDING_APPROVAL, exc, actor=who, kind="approval", said=f"approved by {who}, but "
            )

    def _approved(self, change: dict, change_id: str, who: str, actor, comment: str | None) -> dict:
        write = Write(
            request_of(change),
            kind="approval",
            stored={"id": change_id, "status": ChangeStatus.PENDING_APPROVAL},
            guard=_still_as_seen(change, ChangeStatus.PENDING_APPROVAL),
            approved_by=who,
            # kept in the log as a denial's reason is: "approved by eve@…: <comment>"
            note=f"approved by {who}" + (f": {comment}" if comment else ""),
            result_extra={"approval_comment": comment} if comment else {},
        )
        return self.gate.execute(write, actor=actor)

    def deny(self, change_id: str, actor, reason: str | None = None) -> dict:
        change = self._pending(change_id, actor)
        who = actor.name if actor else "system"
        return self._locked_move(
            change,
            ChangeStatus.PENDING_APPROVAL,
            ChangeStatus.DENIED,
            note=f"denied by {who}: {reason or 'no reason'}",
            actor=who,
            kind="approval",
            principal=actor,
        )

    # -- queue ------------------------------------------------------------------------------------
    def process_head(self, component_id: str) -> dict | None:
        """Re-evaluate the oldest queued request on a component against the current graph.

        Runs under the component's lock, so concurrent processors (any process, any host) apply
        each request exactly once; an uncommitted attempt (crash, kill) leaves it queued.
        """

        def head(gtx: GraphTx) -> dict | None:
            # the component's lock when it exists; a set of creates waits on ids not in the graph yet, and a
            # change on a component deleted since must still leave the queue (rejected, saying why)
            gtx.lock(component_id)
            return gtx.queue_head(component_id)

        change = self.repo.in_write_tx(head)
        if change is None:
            return None
        try:
            if self._expired(change):
                return self._locked_move(change, ChangeStatus.QUEUED, ChangeStatus.EXPIRED, note="queue TTL elapsed")
            write = Write(
                request_of(change), kind="queue", stored=change, guard=_still_as_seen(change, ChangeStatus.QUEUED)
            )
            return self.gate.execute(write)
        except ServiceUnavailable:
            raise  # the database, not the change: it stays queued (an unknown outcome is settled by the lock)
        except KarmaError as exc:
            return self._reject_if(change, ChangeStatus.QUEUED, exc)

    def _expired(self, change: dict) -> bool:
        expires_at = change.get("expires_at")
        return expires_at is not None and self.gate.clock().timestamp() >= expires_at

    def _reject_if(
        self, change: dict, expected: ChangeStatus, why: KarmaError, *, actor=None, kind="queue", said=""
    ) -> dict:
        """A queued (or pending, on its approval) request that can no longer apply (invalid now, illegal
        move, its component deleted) is rejected, saying why; one another processor moved first is left
        alone."""

        def work(gtx: GraphTx) -> dict:
            gtx.lock(change["component_id"])
            current = gtx.change_for_update(change["id"])
            if current is None or current["status"] != expected:
                return {
                    "change_id": change["id"],
                    "status": current["status"] if current else "gone",
                    "transition": False,
                }
            reason = _reason(gtx, why)
            refusal = {**why.body(), "message": reason}  # what a receiver or a reader can act on, not just a note
            return self._move(
                gtx, current, ChangeStatus.REJECTED, note=said + reason, actor=actor, kind=kind, refusal=refusal
            )

        return self.repo.in_write_tx(work)

    def process_component(self, component_id: str, limit: int = 100) -> list[dict]:
        """Drain a component's queue in FIFO order; stops at the first request still blocked."""
        out = []
        for _ in range(limit):
            result = self.process_head(component_id)
            if result is None:
                break
            if result.get("transition") is False and result["status"] != ChangeStatus.QUEUED:
                continue  # another processor moved it first: nothing done here
            out.append(
                {
                    k: result.get(k)
                    for k in ("change_id", "status", "log_entry_id", "note", "blockers", "refusal")
                    if result.get(k) is not None
                }
            )
            if result["status"] == ChangeStatus.QUEUED:
                break
        return out

    def process_queue(self, waits_on: str | None = None) -> list[dict]:
        out = []
        for component_id in self.repo.queued_components(waits_on):
            out += self.process_component(component_id)
        return out


def decision_refused(change: dict, actor) -> Forbidden | None:
    """Why `actor` may not approve or deny this pending change — its requester, or a role short of the one
    it needs — else None: the lifecycle raises it, the console shows it in place of the buttons."""
    if actor.name == change["requested_by"]:
        return Forbidden(
            "a change cannot be approved or denied by its requester",
            cause="self_approval",
            component=change["component_id"],
        )
    needed = change.get("approver_role") or "approver"
    if actor.role not in (needed, "admin"):
        return Forbidden(
            f"this change needs a {needed!r} to approve it", cause="approver_role", component=change["component_id"]
        )
    return None


def _reason(gtx: GraphTx, exc: KarmaError) -> str:
    """Why a queued (or pending) change can no longer apply; a component deleted since it was asked for is
    named with the change that deleted it."""
    missing = exc.extra.get("component") if exc.extra.get("cause") == "unknown_component" else None
    deleted = gtx.deleted_component(missing) if missing else None
    if deleted is None:
        return exc.message
    return (
        f"component {missing!r} was deleted by change {deleted['change_id']} at {deleted['deleted_at']}; "
        "this change can no longer apply"
    )


def _environments(gtx: GraphTx, change: dict) -> list[str]:
    """The environments a stored change acts on: its component's (or the deleted component's), and for
    a set the environment of each create (its components may not exist yet)."""
    found = gtx.component(change["component_id"]) or gtx.deleted_component(change["component_id"])
    envs = [found["environment"]] if found else []
    envs += [op.environment for op in request_of(change).operations if op.op == "create"]
    return sorted(set(envs))


CHANGED_WHILE = {
    ChangeStatus.QUEUED: "a key it sets changed since it was queued",
    ChangeStatus.PENDING_APPROVAL: "a key it sets changed since it was asked",
}
CHANGED_ADVICE = " (applied now, it would overwrite that change; request it again on the config as it is)"


def _still_as_seen(change: dict, expected: ChangeStatus):
    """Guard of a queue pass or an approval: the request is still `expected`, and no change asked after it
    moved a key it sets — applied now, it would silently overwrite that change, so it is rejected (cause
    changed_since, naming the keys and the changes). A change asked before it (one queued ahead of it on
    the component, which FIFO applies first; one pending beside it) is no conflict — its requester could
    see it waiting —, nor is a later change to other keys; an update made with `expected_version` keeps
    that check instead (a stale one is refused as stale)."""
    still = _still(change["id"], expected)

    def guard(gtx: GraphTx) -> None:
        still(gtx)
        versions = judged_versions(change, lambda: gtx.change_result(change["id"]))
        asked = rfc3339(change.get("created_at"))
        message = CHANGED_WHILE[expected] + CHANGED_ADVICE
        require_unchanged(gtx, seen_by(request_of(change), versions), message, asked_after=asked)

    return guard


def _still(change_id: str, expected: ChangeStatus):
    """Guard: the stored request is still `expected` under the lock (else 409, cause change_<status>)."""

    def guard(gtx: GraphTx) -> None:
        current = gtx.change_for_update(change_id)
        if current is None:
            raise unknown_change(change_id)
        require(current["status"], expected, change_id=change_id)

    return guard


def request_of(change: dict) -> ChangeSet:
    """The stored request of a change request as the change set it is (one stored by a single change
    before every change was a set reads as a set of one update)."""
    return ChangeSet.from_dict(change["request"])
