"""ChangeGate: the one way a change reaches the graph — plan, request, apply a plan, roll back.

Every change is a change set (a single change is a set of one update, parsed so at the edge), and every
write runs as ONE Neo4j write transaction: lock every component it touches and read its context (one
statement), analyse (app.changes.set_analysis), commit (one statement, app.changes.commit) — or write
nothing. All coordination state lives in
Neo4j, so any number of API processes and queue workers run side by side. What differs between a
request, a plan applied later, a rollback, an approval or a queue pass is said by a `Write`: its named
steps (replay, guard, check) and what the commit records besides the analysis.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from neo4j.exceptions import ConstraintError, IncompleteCommit

from app import clock, ids
from app.changes import commit as commits
from app.changes import merge_patch, plans
from app.changes.model import ChangeRequest, as_set
from app.changes.operations import EDGE_OPS
from app.changes.since import Seen, require_unchanged
from app.changes.set_analysis import SetAnalysis, analyse_set, single_form
from app.changes.sets import ChangeSet, Operation, check_structure, reference_ids, reference_values
from app.changes.sets import referrer_lookups, sibling_lookups
from app.changes.status import ChangeStatus, transition
from app.components import drift
from app.changes.stored import StoredChange
from app.errors import Conflict, Forbidden, NotFound, OutcomeUnknown, ServiceUnavailable, Unprocessable
from app.graph.repository import GraphRepository, GraphTx

log = logging.getLogger("karma.changes")

MAX_ATTEMPTS = 8  # re-runs when an affected component moved between our read and our commit


class ImpactMoved(Exception):
    def __init__(self, moved: list[str]):
        super().__init__(", ".join(moved))
        self.moved = moved


def unknown_change(change_id: str) -> NotFound:
    return NotFound(f"change {change_id!r} not found", cause="unknown_change")


@dataclass(frozen=True)
class Write:
    """One analysed write: the request, and the named steps that run around its analysis.

    Under the locks of the components it touches, in this order: `replay` (a stored answer to return
    instead, e.g. the result of the first request with this Idempotency-Key), `guard` (raises when the
    write must not happen now: the stored request moved, a component changed since the change to roll
    back), the analysis, `check` (raises when the analysis contradicts what was asked: a stale plan),
    commit, `then` (records what else this write means, in the same transaction: a transition's step).
    `twin` runs between the analysis and the commit of a new request the analysis makes wait — queued or
    pending approval (a second identical change of one requester's is refused rather than stored twice).
    """

    request: ChangeSet
    kind: str = "change"  # the AuditEntry kind: change | rollback | approval | queue
    stored: dict | None = None  # the stored change request this write moves on (queue, approval)
    rollback_of: str | None = None
    approved_by: str | None = None
    # a transition's step that a runtime report ran: the reporter (its audit entry's actor; the change
    # stays its requester's)
    reported_by: str | None = None
    note: str | None = None  # kept on the audit entry and the change request (an approver's comment)
    result_extra: dict = field(default_factory=dict)  # added to the result (plan_id, approval_comment)
    record_extra: dict = field(default_factory=dict)  # added to a new ChangeRequest (idempotency_key)
    change_id: str | None = None  # a new ChangeRequest's id when fixed in advance (ids.keyed_id)
    replay: Callable[[GraphTx], dict | None] | None = None
    guard: Callable[[GraphTx], None] | None = None
    check: Callable[[SetAnalysis], None] | None = None
    # when the analysis would make a new request wait: raises if the same requester's identical change waits
    twin: Callable[[GraphTx], None] | None = None
    # after the commit, in the same transaction: what else this write records (a transition's step)
    then: Callable[[GraphTx, dict], None] | None = None

    @property
    def from_status(self) -> ChangeStatus:
        return ChangeStatus(self.stored["status"]) if self.stored else ChangeStatus.VALIDATED


class ChangeGate:
    """Analysis and commit: plan, request_change, apply_plan, rollback (and `execute` for the lifecycle).

    One pipeline: every request is a change set (the single form arrives as a set of one update)."""

    def __init__(
        self,
        repo: GraphRepository,
        policy,
        mode: str = "full",
        clock=clock.utcnow,
        new_id=ids.new_id,
        queue_ttl_seconds: int = 0,
    ):
        self.repo = repo
        self.policy = policy
        self.mode = mode
        self.clock = clock
        self.new_id = new_id
        self.queue_ttl_seconds = queue_ttl_seconds

    # -- analysis ---------------------------------------------------------------------------------
    def _analyse(
        self,
        change_set: ChangeSet,
        ctx: dict,
        actor=None,
        check: Callable[[SetAnalysis], None] | None = None,
        reader: GraphRepository | GraphTx | None = None,
    ) -> SetAnalysis:
        """`reader`: where the error path reads (the request's own transaction, or the repository; None:
        nowhere) — only when a name, an id or a value names nothing, as the context read has just what the set
        named: a type's ids (a typo's near name), a type's values of an attribute (a by-value reference's near
        value), an id's drift records (did an import refuse its file?). The success path reads nothing more
        (tests/integration/test_round_trips.py)."""
        read_refused = (reader or self.repo).refused_records
        if actor is not None:
            environments = [(i["component"]["environment"], i["component"]["id"]) for i in ctx["touched"]]
            environments += [(o.environment, o.component) for o in change_set.operations if o.op == "create"]
            for env, component in environments:
                if not actor.may_touch(env):
                    raise Forbidden(
                        f"this token may not change {env!r} components", cause="environment", component=component
                    )
        try:
            analysis = analyse_set(
                change_set,
                ctx,
                mode=self.mode,
                policy=self.policy if self.mode == "full" else None,
                now=self.clock(),  # the request time the rules see (change windows)
                read_ids=reader.component_ids_of_type if reader is not None else None,
                read_values=reader.component_values_of_type if reader is not None else None,
            )
        except NotFound as exc:  # an update of a component whose file an import refused: say so
            raise drift.refused_here(exc, read_refused) from None
        except Unprocessable as exc:
            # a reference to a component whose file an import refused: say so, read on this error path only
            exc = drift.refused_references(exc, read_refused)
            if check is None:
                raise exc from None
            # a plan that was valid when made and no longer is: the graph moved under it — said with what
            # is not valid now (per field) and the near name of a name that names nothing, as /plan says them
            raise Conflict(
                "the plan no longer applies to the graph as it is; plan again",
                errors=exc.errors,
                cause="stale_plan",
                changed=sorted(i["component"]["id"] for i in ctx["touched"]),
                why=exc.message,
                **{k: exc.extra[k] for k in ("did_you_mean", "refused_file") if k in exc.extra},
            ) from None
        if check is not None:  # e.g. a plan's versions: a stale plan is a 409 before anything else
            check(analysis)
        return analysis

    def _rules_fingerprint(self) -> str | None:
        return self.policy.status().get("fingerprint") if self.policy and self.mode == "full" else None

    def plan(self, change: ChangeSet | ChangeRequest, actor=None) -> dict:
        """The full analysis, status `planned`, and a plan id: one read query, nothing written."""
        change_set = as_set(change)
        with single_form(change_set):
            check_structure(change_set)
            ctx = self.repo.change_set_context(*_context_args(change_set))
            analysis = self._analyse(change_set, ctx, actor, reader=self.repo)
        plan_id = plans.sign(
            {
                "set": change_set.to_dict(),
                "mode": self.mode,
                "rules": self._rules_fingerprint(),
                "versions": analysis.versions,
            }
        )
        return analysis.result(ChangeStatus.PLANNED, plan_id=plan_id, graph_patch=commits.graph_patch(analysis))

    # -- the one write transaction ----------------------------------------------------------------
    def execute(self, write: Write, actor=None) -> dict:
        """Lock+read → replay → guard → analyse → check → commit, re-run whole if the impact moved."""
        change_set = write.request
        with single_form(change_set):
            check_structure(change_set)
            return self._execute(write, actor)

    def _execute(self, write: Write, actor=None) -> dict:
        change_set = write.request
        args, components = _context_args(change_set), sorted(change_set.component_ids)
        # known before the commit, so a commit whose outcome is unknown can name the change to look up
        change_id, committing = (write.stored or {}).get("id") or write.change_id or self.new_id("chg"), []
        committed: list[dict] = []  # what the log says of the commit, once COMMIT has returned

        def work(gtx: GraphTx) -> dict:
            committing.clear()
            ctx = gtx.change_set_context_for_update(*args)  # every lock, by id, + the read: one statement
            if write.replay is not None and (stored_answer := write.replay(gtx)) is not None:
                return stored_answer
            if write.guard is not None:
                write.guard(gtx)
            analysis = self._analyse(change_set, ctx, actor, write.check, gtx)
            analysis.approved_by = write.approved_by or (write.stored or {}).get("approved_by")
            decided = analysis.status()
            if write.from_status == ChangeStatus.QUEUED and decided == ChangeStatus.QUEUED:
                # still blocked: it keeps its place in the queue, nothing is written
                return {**analysis.result(decided), "change_id": write.stored["id"], "transition": False}
            if decided in _WAITING and write.twin is not None:
                write.twin(gtx)
            status = transition(write.from_status, decided, change_id=(write.stored or {}).get("id"))
            committing.append(True)
            result, said = self._commit(gtx, analysis, status, write, change_id)
            committed[:] = [said]
            return _then(write, gtx, result)

        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                answer = self.repo.in_write_tx(work)
                if committing:  # said once COMMIT has returned: a commit that failed was never "committed"
                    log.info("change committed", extra=committed[0])
                return answer
            except ImpactMoved as exc:
                log.info(
                    "impact moved, re-running", extra={"components": components, "moved": exc.moved, "attempt": attempt}
                )
            except IncompleteCommit:
                # the connection was lost during COMMIT: it may have landed. Never "error" — unknown.
                log.warning("commit outcome unknown", extra={"components": components, "change_id": change_id})
                if not committing:  # nothing was being written (a replay): the outcome is known
                    raise ServiceUnavailable() from None
                raise OutcomeUnknown(change_id=change_id) from None
        raise Conflict(
            "the components this change affects kept changing; try again",
            cause="impact_contention",
            component=components[0],
            components=components,
        )

    def _commit(
        self, gtx: GraphTx, analysis: SetAnalysis, status: ChangeStatus, write: Write, change_id: str
    ) -> tuple[dict, dict]:
        """The commit statement of an analysed change → (its answer, what the log says of it once COMMIT
        has returned)."""
        now, log_id = self.clock(), self.new_id("log")
        result = analysis.result(
            status,
            log_entry_id=log_id,
            change_id=change_id,
            graph_patch=commits.graph_patch(analysis, change_id),
            **write.result_extra,
        )
        if write.rollback_of:
            result["rollback_of"] = write.rollback_of
        if analysis.approved_by:
            result["approved_by"] = analysis.approved_by
        record = commits.change_request_properties(
            analysis,
            status=status,
            change_id=change_id,
            log_id=log_id,
            now=now,
            result=result,
            stored=write.stored,
            rollback_of=write.rollback_of,
            queue_ttl_seconds=self.queue_ttl_seconds,
            extra=write.record_extra,
            note=write.note,
        )
        audit = commits.audit_entry(
            analysis,
            log_id=log_id,
            kind=write.kind,
            now=now,
            status=status,
            change_id=change_id,
            result=result,
            rollback_of=write.rollback_of,
            note=write.note,
            reported_by=write.reported_by,
        )
        params = commits.statement(
            analysis,
            status=status,
            change_id=change_id,
            now=now,
            audit=audit,
            change_request=record,
            rollback_of=write.rollback_of,
            enqueue=status == ChangeStatus.QUEUED and write.from_status != ChangeStatus.QUEUED,
            new_request=write.stored is None,
        )
        moved = gtx.commit(params)
        if moved:
            raise ImpactMoved(moved)
        if status == ChangeStatus.APPLIED and analysis.change_set.refused_drift is not None:
            gtx.record_refused(analysis.change_set.refused_drift)  # an import's refused files, in its commit
        said = {
            "components": analysis.change_set.component_ids,
            "status": str(status),
            "kind": write.kind,
            "change_id": change_id,
            "log_entry_id": log_id,
            "affected": len(analysis.affected),
        }
        return result, said

    # -- request-change ---------------------------------------------------------------------------
    def request_change(self, change: ChangeSet | ChangeRequest, idempotency_key: str | None = None, actor=None) -> dict:
        """Validate, analyse and apply / reject / queue, atomically with the audit entry: one status for
        the whole request, one transaction."""
        change_set = as_set(change)
        write = _keyed(change_set, idempotency_key, actor) if idempotency_key else _unkeyed(change_set)
        try:
            return self.execute(write, actor=actor)
        except ConstraintError:
            # the same key, or a created id, committed concurrently: the re-run replays it or says 409
            return self.execute(write, actor=actor)

    # -- plans ------------------------------------------------------------------------------------
    def apply_plan(self, plan_id: str, idempotency_key: str | None = None, actor=None) -> dict:
        """Apply exactly what was planned, or 409 if the rules, the mode or anything in the plan's impact
        set moved since. With an Idempotency-Key (as /request-change), a retry returns the first answer: a
        plan whose apply queued or waits for an approver moves no version, so without one a retry after a
        lost answer stored a second waiting change."""
        payload = plans.verify(plan_id)
        change_set = ChangeSet.from_dict(plans.planned_request(payload))
        if actor is not None:
            change_set = replace(change_set, requested_by=actor.name)  # whoever applies it is accountable
        if payload.get("mode") != self.mode or payload.get("rules") != self._rules_fingerprint():
            raise Conflict(
                "the rules or mode changed since this plan was made; plan again",
                cause="stale_plan",
                plan_rules=payload.get("rules"),
                plan_mode=payload.get("mode"),
            )
        write = _keyed(change_set, idempotency_key, actor) if idempotency_key else _unkeyed(change_set)
        write = replace(write, check=_unmoved_since(payload["versions"]), result_extra={"plan_id": plan_id})
        try:
            return self.execute(write, actor=actor)
        except ConstraintError:
            # the same key committed concurrently: the re-run replays it or says 422
            return self.execute(write, actor=actor)

    # -- rollback ---------------------------------------------------------------------------------
    def rollback(
        self,
        change_id: str,
        requested_by: str,
        reason: str | None = None,
        on_blocked: str = "reject",
        actor=None,
        via: str | None = None,
    ) -> dict:
        """Run the inverse set of an applied change through the full pipeline.

        update → the inverse patch (only the keys it touched), create → delete, delete → re-create from
        the last version (config, environment, explicit edges), add_edge ↔ remove_edge. 409 if a later
        change moved what it wrote (rather than silently undoing the later change), if it was already
        rolled back, or if a rollback of it is already waiting (queued or pending approval)."""
        record = self.repo.change(change_id)
        if record is None:
            raise unknown_change(change_id)
        original = StoredChange.from_record(record)
        if original.status != ChangeStatus.APPLIED:
            raise Conflict(
                f"change {change_id!r} is {original.status}; only an applied change can be rolled back",
                cause="not_applied",
                current_status=str(original.status),
                change_id=change_id,  # as approve's and cancel's 409s name the change whose status refused
            )
        done = [rb.id for rb in original.rolled_back_by if rb.status == ChangeStatus.APPLIED]
        if done:
            raise Conflict(
                f"change {change_id!r} was already rolled back", cause="already_rolled_back", rolled_back_by=done
            )
        waiting = [rb.id for rb in original.rolled_back_by if rb.status in _WAITING]
        if waiting:
            raise Conflict(
                f"a rollback of change {change_id!r} is already waiting ({', '.join(waiting)})",
                cause="rollback_pending",
                rolled_back_by=waiting,
            )
        inverse, seen = inverse_of(original)
        change_set = ChangeSet(
            tuple(inverse),
            requested_by,
            reason or f"rollback of {change_id}",
            on_blocked,
            via=via,
            single=original.request.single and len(inverse) == 1,
        )
        refusal = f"components changed after {change_id}; refusing to undo the later changes"
        write = Write(
            change_set, kind="rollback", rollback_of=change_id, guard=lambda gtx: require_unchanged(gtx, seen, refusal)
        )
        return self.execute(write, actor=actor)


_WAITING = (ChangeStatus.QUEUED, ChangeStatus.PENDING_APPROVAL)


def inverse_of(original: StoredChange) -> tuple[list[Operation], list[Seen]]:
    """The inverse operations of an applied change, and the keys of each component it wrote that no later
    change may have moved (app.changes.since) for the rollback to undo only that change."""
    inverse, seen = [], []
    for op in original.operations:
        cid = op["component"]
        if op["op"] == "update":
            before = {e["key"]: e["old"] for e in op["diff"] if e["op"] != "added"}
            after = {e["key"]: e["new"] for e in op["diff"] if e["op"] != "removed"}
            inverse.append(Operation("update", cid, proposed_change=merge_patch.create(after, before)))
            seen.append(Seen(cid, tuple(e["key"] for e in op["diff"]), written_by=original.id))
        elif op["op"] in EDGE_OPS:
            edge = op["edge"]
            undo = "remove_edge" if op["op"] == "add_edge" else "add_edge"
            inverse.append(Operation(undo, edge["source"], target=edge["target"], kind=edge["kind"]))
        elif op["op"] == "create":
            inverse.append(Operation("delete", cid))
            seen.append(Seen(cid, tuple(op["config"]), written_by=original.id))
        else:
            snap = op["deleted"]
            inverse.append(
                Operation(
                    "create",
                    cid,
                    environment=snap["environment"],
                    config=snap["config"],
                    explicit_edges=tuple(snap.get("explicit_edges") or ()) or None,
                )
            )
    return inverse, seen


def _context_args(change_set: ChangeSet) -> tuple:
    """What the one context read needs: the touched ids (lock order), the references to resolve, the
    components that name a touched one by value, and the sibling lookups."""
    return (
        sorted(change_set.component_ids),
        reference_ids(change_set),
        reference_values(change_set),
        referrer_lookups(change_set),
        sibling_lookups(change_set),
    )


# -- the named steps ------------------------------------------------------------------------------
def _then(write: Write, gtx: GraphTx, result: dict) -> dict:
    if write.then is not None:
        write.then(gtx, result)
    return result


def _keyed(change_set: ChangeSet, key: str, actor=None) -> Write:
    """A request made with an Idempotency-Key, which is its sender's own (the Stripe model): scoped by the
    authenticated identity — the actor's name, which the API and the console also make `requested_by`
    (a body naming anyone else is refused, an admin included: nobody acts as someone else) — so two
    people using the same key get two changes and never learn of each other's."""
    scope = actor.name if actor is not None else change_set.requested_by
    return Write(
        change_set,
        replay=_replay(scope, key, commits.request_hashes(change_set)),
        record_extra={"idempotency_key": key, "idempotency_scope": scope},
        change_id=ids.keyed_id("chg", key, scope),  # the id a 503 outcome_unknown names
    )


def _unkeyed(change_set: ChangeSet) -> Write:
    """A request made without an Idempotency-Key: nothing says a second one is a retry, so a second identical
    change of one requester's that would wait (in the queue, or for an approver) behind the first still
    waiting is refused naming it (`_waiting_twin`) — queued twice, the second was rejected later as changing
    nothing; waiting for approval twice, an approver was asked twice. With a key, the key says which requests
    are one (`_keyed`): two keys are two requests, as they always were."""
    return Write(change_set, twin=_waiting_twin(change_set))


# the 409 of a second identical change, by the status of the one that waits: what moves it differs (a queue
# pass or its requester's cancel; an approver)
TWIN_CAUSES = {ChangeStatus.QUEUED: "already_queued", ChangeStatus.PENDING_APPROVAL: "already_pending"}
_WAITS = {ChangeStatus.QUEUED: "waits in the queue", ChangeStatus.PENDING_APPROVAL: "waits for approval"}


def _waiting_twin(change_set: ChangeSet) -> Callable[[GraphTx], None]:
    """409 naming the change of the same requester, still waiting (queued: `already_queued`; pending
    approval: `already_pending`), whose operations are the same as this set's (read holding their
    components' locks, so two identical requests racing serialise and the second sees the first). The reason
    may differ: it is the same change."""
    asked = _operations_digest(change_set)

    def twin(gtx: GraphTx) -> None:
        statuses = [s.value for s in TWIN_CAUSES]
        for waiting in gtx.waiting_by(change_set.requested_by, sorted(change_set.component_ids), statuses):
            if _operations_digest(ChangeSet.from_dict(waiting["request"])) == asked:
                status = ChangeStatus(waiting["status"])
                raise Conflict(
                    f"an identical change of yours already {_WAITS[status]}: {waiting['id']}; nothing new was stored",
                    cause=TWIN_CAUSES[status],
                    change_id=waiting["id"],
                    waiting_status=status.value,
                )

    return twin


def _operations_digest(change_set: ChangeSet) -> str:
    return commits.request_hash_of({"changes": [o.to_dict() for o in change_set.operations]})


def _replay(scope: str, key: str, digests: set[str]) -> Callable[[GraphTx], dict | None]:
    """Idempotency: the stored result of this identity's first request with this key (422 naming that
    change, their own, if its body differed)."""

    def replay(gtx: GraphTx) -> dict | None:
        found = gtx.change_by_idempotency_key(scope, key)
        if found is None:
            return None
        if found["request_hash"] not in digests:
            raise Unprocessable(
                "you used this Idempotency-Key with a different request",
                errors={"Idempotency-Key": ["reused with a different body"]},
                cause="idempotency_key_reuse",
                change_id=found["id"],
            )
        return {**found["result"], "idempotent_replay": True}

    return replay


def _unmoved_since(planned: dict[str, int]) -> Callable[[SetAnalysis], None]:
    """A plan applies only to the graph it was made on: 409 if any version in its impact set moved."""

    def check(analysis: SetAnalysis) -> None:
        now = analysis.versions
        moved = sorted(k for k in set(now) | set(planned) if now.get(k) != planned.get(k))
        if moved:
            raise Conflict(
                "components in the plan's impact set changed since the plan; plan again",
                cause="stale_plan",
                changed=moved,
            )

    return check
