"""ChangeGate: the one way a change reaches the graph — plan, request, apply a plan, roll back.

Every write runs as ONE Neo4j write transaction: lock the component and read its context (one
statement), analyse, commit (one statement) — or write nothing. All coordination state lives in
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
from app.changes.model import Analysis, ChangeRequest
from app.changes import set_commit
from app.changes.pipeline import analyse, reference_ids, reference_values
from app.changes.set_analysis import SetAnalysis, analyse_set
from app.changes.sets import ChangeSet, Operation, check_structure, sibling_lookups
from app.changes.sets import reference_ids as set_reference_ids
from app.changes.sets import reference_values as set_reference_values
from app.changes.sets import referrer_lookups as set_referrer_lookups
from app.changes.status import ChangeStatus, transition
from app.errors import Conflict, Forbidden, NotFound, OutcomeUnknown, ServiceUnavailable, Unprocessable
from app.graph.repository import GraphRepository, GraphTx

log = logging.getLogger("karma.changes")

MAX_ATTEMPTS = 8  # re-runs when an affected component moved between our read and our commit


class ImpactMoved(Exception):
    def __init__(self, moved: list[str]):
        super().__init__(", ".join(moved))
        self.moved = moved


def not_found(component_id: str) -> NotFound:
    return NotFound(f"component {component_id!r} not found", cause="unknown_component", component=component_id)


def unknown_change(change_id: str) -> NotFound:
    return NotFound(f"change {change_id!r} not found", cause="unknown_change")


@dataclass(frozen=True)
class Write:
    """One analysed write: the request, and the named steps that run around its analysis.

    Under the component's lock, in this order: `replay` (a stored answer to return instead, e.g. the
    result of the first request with this Idempotency-Key), `guard` (raises when the write must not
    happen now: the stored request moved, the component changed since the change to roll back), the
    analysis, `check` (raises when the analysis contradicts what was asked: a stale plan), commit, `then`
    (records what else this write means, in the same transaction: a transition's step).
    """

    request: ChangeRequest | ChangeSet
    kind: str = "change"  # the AuditEntry kind: change | rollback | approval | queue
    stored: dict | None = None  # the stored change request this write moves on (queue, approval)
    rollback_of: str | None = None
    approved_by: str | None = None
    via: str | None = None  # "cli" when the write does not come over HTTP (audited as such)
    result_extra: dict = field(default_factory=dict)  # added to the result (plan_id, approval_comment)
    record_extra: dict = field(default_factory=dict)  # added to a new ChangeRequest (idempotency_key)
    change_id: str | None = None  # a new ChangeRequest's id when fixed in advance (ids.keyed_id)
    replay: Callable[[GraphTx], dict | None] | None = None
    guard: Callable[[GraphTx], None] | None = None
    check: Callable[[Analysis], None] | None = None
    # after the commit, in the same transaction: what else this write records (a transition's step)
    then: Callable[[GraphTx, dict], None] | None = None

    @property
    def from_status(self) -> ChangeStatus:
        return ChangeStatus(self.stored["status"]) if self.stored else ChangeStatus.VALIDATED


class ChangeGate:
    """Analysis and commit: plan, request_change, apply_plan, rollback (and `execute` for the lifecycle)."""

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
        self, request: ChangeRequest, ctx: dict | None, check: Callable[[Analysis], None] | None = None, actor=None
    ) -> Analysis:
        if ctx is not None and actor is not None and not actor.may_touch(ctx["component"]["environment"]):
            raise Forbidden(
                f"this token may not change {ctx['component']['environment']!r} components",
                cause="environment",
                component=request.component,
            )
        analysis = analyse(
            request, ctx, mode=self.mode, policy=self.policy if self.mode == "full" else None, now=self.clock()
        )  # the request time the rules see (change windows)
        if check is not None:  # e.g. a plan's versions: a stale plan is a 409 before anything else
            check(analysis)
        if not analysis.diff:
            raise Unprocessable(
                "the proposed change changes nothing",
                errors={"proposed_change": ["no config key would change"]},
                component=request.component,
            )
        expected = request.expected_version
        if expected is not None and expected != analysis.component["version"]:
            raise Conflict(
                f"component {request.component!r} is at version {analysis.component['version']}, not {expected}",
                cause="stale_version",
                current_version=analysis.component["version"],
                expected_version=expected,
            )
        return analysis

    def _rules_fingerprint(self) -> str | None:
        return self.policy.status().get("fingerprint") if self.policy and self.mode == "full" else None

    def plan(self, request: ChangeRequest, actor=None) -> dict:
        """The full analysis, status `planned`, and a plan id; reads the graph once, writes nothing."""
        ctx = self.repo.impact(request.component, reference_ids(request), reference_values(request))
        analysis = self._analyse(request, ctx, actor=actor)
        plan_id = plans.sign(
            {
                "request": request.to_dict(),
                "mode": self.mode,
                "rules": self._rules_fingerprint(),
                "versions": analysis.versions,
            }
        )
        return analysis.result(ChangeStatus.PLANNED, plan_id=plan_id, graph_patch=commits.graph_patch(analysis))

    # -- the one write transaction ----------------------------------------------------------------
    def execute(self, write: Write, actor=None) -> dict:
        """Lock+read → replay → guard → analyse → check → commit, re-run whole if the impact moved."""
        if isinstance(write.request, ChangeSet):
            return self._execute_set(write, actor)
        request, ref_ids = write.request, reference_ids(write.request)
        ref_values = reference_values(request)
        # known before the commit, so a commit whose outcome is unknown can name the change to look up
        change_id, committing = (write.stored or {}).get("id") or write.change_id or self.new_id("chg"), []

        def work(gtx: GraphTx) -> dict:
            committing.clear()
            ctx = gtx.context_for_update(request.component, ref_ids, ref_values)  # lock + read, one statement
            if ctx is None:
                raise not_found(request.component)
            if write.replay is not None and (stored_answer := write.replay(gtx)) is not None:
                return stored_answer
            if write.guard is not None:
                write.guard(gtx)
            analysis = self._analyse(request, ctx, write.check, actor)
            analysis.approved_by = write.approved_by or (write.stored or {}).get("approved_by")
            decided = analysis.status()
            if write.from_status == ChangeStatus.QUEUED and decided == ChangeStatus.QUEUED:
                # still blocked: it keeps its place in the queue, nothing is written
                return {**analysis.result(decided), "change_id": write.stored["id"], "transition": False}
            status = transition(write.from_status, decided, change_id=(write.stored or {}).get("id"))
            committing.append(True)
            return _then(write, gtx, self._commit(gtx, analysis, status, write, change_id))

        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return self.repo.in_write_tx(work)
            except ImpactMoved as exc:
                log.info(
                    "impact moved, re-running",
                    extra={"component": request.component, "moved": exc.moved, "attempt": attempt},
                )
            except IncompleteCommit:
                # the connection was lost during COMMIT: it may have landed. Never "error" — unknown.
                log.warning("commit outcome unknown", extra={"component": request.component, "change_id": change_id})
                if not committing:  # nothing was being written (a replay): the outcome is known
                    raise ServiceUnavailable() from None
                raise OutcomeUnknown(change_id=change_id) from None
        raise Conflict(
            "the components this change affects kept changing; try again",
            cause="impact_contention",
            component=request.component,
        )

    def _commit(self, gtx: GraphTx, analysis: Analysis, status: ChangeStatus, write: Write, change_id: str) -> dict:
        now, log_id, req = self.clock(), self.new_id("log"), analysis.request
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
            analysis=analysis,
            status=status,
            change_id=change_id,
            log_id=log_id,
            now=now,
            result=result,
            stored=write.stored,
            rollback_of=write.rollback_of,
            queue_ttl_seconds=self.queue_ttl_seconds,
            extra=write.record_extra,
        )
        audit = commits.audit_entry(
            log_id=log_id,
            kind=write.kind,
            now=now,
            component=analysis.component,
            request=req,
            status=str(status),
            change_id=change_id,
            analysis=analysis,
            result=result,
            rollback_of=write.rollback_of,
            via=write.via,
        )
        enqueue = status == ChangeStatus.QUEUED and write.from_status != ChangeStatus.QUEUED
        params = commits.statement(
            component_id=req.component,
            analysis=analysis,
            status=status,
            audit=audit,
            change_request=record,
            now=now,
            rollback_of=write.rollback_of,
            enqueue=enqueue,
        )
        moved = gtx.commit(params)
        if moved:
            raise ImpactMoved(moved)
        log.info(
            "change committed",
            extra={
                "component": req.component,
                "status": str(status),
                "kind": write.kind,
                "change_id": change_id,
                "log_entry_id": log_id,
                "affected": len(analysis.impact.rows),
            },
        )
        return result

    # -- change sets ------------------------------------------------------------------------------
    def _analyse_set(
        self, change_set: ChangeSet, ctx: dict, actor=None, check: Callable[[SetAnalysis], None] | None = None
    ) -> SetAnalysis:
        if actor is not None:
            for item in ctx["touched"]:
                env = item["component"]["environment"]
                if not actor.may_touch(env):
                    raise Forbidden(
                        f"this token may not change {env!r} components",
                        cause="environment",
                        component=item["component"]["id"],
                    )
            for op in change_set.operations:
                if op.op == "create" and not actor.may_touch(op.environment):
                    raise Forbidden(
                        f"this token may not change {op.environment!r} components",
                        cause="environment",
                        component=op.component,
                    )
        analysis = analyse_set(
            change_set, ctx, mode=self.mode, policy=self.policy if self.mode == "full" else None, now=self.clock()
        )
        if check is not None:
            check(analysis)
        return analysis

    def plan_set(self, change_set: ChangeSet, actor=None) -> dict:
        """A set's full analysis, status `planned`, and a plan id: one read query, nothing written."""
        check_structure(change_set)
        ctx = self.repo.change_set_context(
            sorted(change_set.component_ids),
            set_reference_ids(change_set),
            set_reference_values(change_set),
            set_referrer_lookups(change_set),
            sibling_lookups(change_set),
        )
        analysis = self._analyse_set(change_set, ctx, actor)
        plan_id = plans.sign(
            {
                "set": change_set.to_dict(),
                "mode": self.mode,
                "rules": self._rules_fingerprint(),
                "versions": analysis.versions,
            }
        )
        return analysis.result(ChangeStatus.PLANNED, plan_id=plan_id, graph_patch=set_commit.graph_patch(analysis))

    def _execute_set(self, write: Write, actor=None) -> dict:
        change_set: ChangeSet = write.request
        check_structure(change_set)
        ids, ref_ids = sorted(change_set.component_ids), set_reference_ids(change_set)
        ref_values, referrers = set_reference_values(change_set), set_referrer_lookups(change_set)
        lookups = sibling_lookups(change_set)

        def work(gtx: GraphTx) -> dict:
            # every lock, by id, + the read
            ctx = gtx.change_set_context_for_update(ids, ref_ids, ref_values, referrers, lookups)
            if write.replay is not None and (stored_answer := write.replay(gtx)) is not None:
                return stored_answer
            if write.guard is not None:
                write.guard(gtx)
            analysis = self._analyse_set(change_set, ctx, actor, write.check)
            analysis.approved_by = write.approved_by or (write.stored or {}).get("approved_by")
            decided = analysis.status()
            if write.from_status == ChangeStatus.QUEUED and decided == ChangeStatus.QUEUED:
                return {**analysis.result(decided), "change_id": write.stored["id"], "transition": False}
            status = transition(write.from_status, decided, change_id=(write.stored or {}).get("id"))
            return _then(write, gtx, self._commit_set(gtx, analysis, status, write))

        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return self.repo.in_write_tx(work)
            except ImpactMoved as exc:
                log.info("impact moved, re-running", extra={"components": ids, "moved": exc.moved, "attempt": attempt})
        raise Conflict(
            "the components this change set affects kept changing; try again", cause="impact_contention", components=ids
        )

    def _commit_set(self, gtx: GraphTx, analysis: SetAnalysis, status: ChangeStatus, write: Write) -> dict:
        now, log_id = self.clock(), self.new_id("log")
        change_id = (write.stored or {}).get("id") or write.change_id or self.new_id("chg")
        result = analysis.result(
            status,
            log_entry_id=log_id,
            change_id=change_id,
            graph_patch=set_commit.graph_patch(analysis),
            **write.result_extra,
        )
        if write.rollback_of:
            result["rollback_of"] = write.rollback_of
        if analysis.approved_by:
            result["approved_by"] = analysis.approved_by
        record = set_commit.change_request_properties(
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
        )
        audit = set_commit.audit_entry(
            analysis,
            log_id=log_id,
            kind=write.kind,
            now=now,
            status=status,
            change_id=change_id,
            result=result,
            rollback_of=write.rollback_of,
        )
        params = set_commit.statement(
            analysis,
            status=status,
            change_id=change_id,
            now=now,
            audit=audit,
            change_request=record,
            rollback_of=write.rollback_of,
            enqueue=status == ChangeStatus.QUEUED and write.from_status != ChangeStatus.QUEUED,
        )
        moved = gtx.commit_change_set(params)
        if moved:
            raise ImpactMoved(moved)
        log.info(
            "change set committed",
            extra={
                "components": analysis.change_set.component_ids,
                "status": str(status),
                "kind": write.kind,
                "change_id": change_id,
                "log_entry_id": log_id,
                "affected": len(analysis.affected),
            },
        )
        return result

    def request_set(self, change_set: ChangeSet, idempotency_key: str | None = None, actor=None) -> dict:
        """Decide a change set as a whole and apply / reject / queue it, in one transaction."""
        write = Write(change_set)
        if idempotency_key:
            write = Write(
                change_set,
                replay=_replay(idempotency_key, commits.request_hash_of(change_set.to_dict())),
                record_extra={"idempotency_key": idempotency_key},
                change_id=ids.keyed_id("chg", idempotency_key),
            )
        try:
            return self.execute(write, actor=actor)
        except ConstraintError:
            # the same key, or a created id, committed concurrently: the re-run replays it or says 409
            return self.execute(write, actor=actor)

    # -- request-change ---------------------------------------------------------------------------
    def request_change(self, request: ChangeRequest, idempotency_key: str | None = None, actor=None) -> dict:
        """Validate, analyse and apply / reject / queue, atomically with the audit entry."""
        if not idempotency_key:
            return self.execute(Write(request), actor=actor)
        write = Write(
            request,
            replay=_replay(idempotency_key, commits.request_hash(request)),
            record_extra={"idempotency_key": idempotency_key},
            change_id=ids.keyed_id("chg", idempotency_key),
        )
        try:
            return self.execute(write, actor=actor)
        except ConstraintError:
            # the same key committed concurrently (on another component's lock): answer as a replay
            return self.execute(write, actor=actor)

    # -- plans ------------------------------------------------------------------------------------
    def apply_plan(self, plan_id: str, actor=None) -> dict:
        """Apply exactly what was planned, or 409 if anything in the plan's impact set moved."""
        payload = plans.verify(plan_id)
        if "set" in payload:
            return self._apply_set_plan(plan_id, payload, actor)
        request = ChangeRequest(**payload["request"])
        if actor is not None:
            request = replace(request, requested_by=actor.name)  # whoever applies it is accountable
        if payload.get("mode") != self.mode or payload.get("rules") != self._rules_fingerprint():
            raise Conflict(
                "the rules or mode changed since this plan was made; plan again",
                cause="stale_plan",
                plan_rules=payload.get("rules"),
            )
        write = Write(request, check=_unmoved_since(payload["versions"]), result_extra={"plan_id": plan_id})
        return self.execute(write, actor=actor)

    def _apply_set_plan(self, plan_id: str, payload: dict, actor=None) -> dict:
        change_set = ChangeSet.from_dict(payload["set"])
        if actor is not None:
            change_set = replace(change_set, requested_by=actor.name)
        if payload.get("mode") != self.mode or payload.get("rules") != self._rules_fingerprint():
            raise Conflict(
                "the rules or mode changed since this plan was made; plan again",
                cause="stale_plan",
                plan_rules=payload.get("rules"),
            )
        write = Write(change_set, check=_unmoved_since(payload["versions"]), result_extra={"plan_id": plan_id})
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
        """Run the inverse of an applied change through the full pipeline.

        Only the keys the change touched are reverted. If a later change modified any of those keys,
        the rollback is refused (409) rather than silently undoing the later change."""
        original = self.repo.change(change_id)
        if original is None:
            raise unknown_change(change_id)
        if original["status"] != ChangeStatus.APPLIED:
            raise Conflict(
                f"change {change_id!r} is {original['status']}; only an applied change can be rolled back",
                cause="not_applied",
                status=original["status"],
            )
        if any(rb["status"] == ChangeStatus.APPLIED for rb in original["rolled_back_by"]):
            raise Conflict(
                f"change {change_id!r} was already rolled back",
                cause="already_rolled_back",
                rolled_back_by=[rb["id"] for rb in original["rolled_back_by"]],
            )
        if original.get("kind") == "set":
            return self._rollback_set(original, requested_by, reason, on_blocked, actor, via)
        diff = original["diff"]
        before_values = {e["key"]: e["old"] for e in diff if e["op"] != "added"}
        after_values = {e["key"]: e["new"] for e in diff if e["op"] != "removed"}
        request = ChangeRequest(
            component=original["component_id"],
            proposed_change=merge_patch.create(after_values, before_values),
            requested_by=requested_by,
            reason=reason or f"rollback of {change_id}",
            on_blocked=on_blocked,
        )
        write = Write(
            request,
            kind="rollback",
            rollback_of=change_id,
            via=via,
            guard=_unchanged_since(change_id, request.component, [e["key"] for e in diff], after_values),
        )
        return self.execute(write, actor=actor)

    def _rollback_set(
        self, original: dict, requested_by: str, reason: str | None, on_blocked: str, actor=None, via: str | None = None
    ) -> dict:
        """The inverse set: update → the inverse patch, create → delete, delete → re-create from the last
        version (config, environment, explicit edges), add_edge ↔ remove_edge. 409 if a later change moved
        what the set wrote."""
        inverse, expected = [], {}
        for op in original["operations"]:
            cid = op["component"]
            if op["op"] == "update":
                before = {e["key"]: e["old"] for e in op["diff"] if e["op"] != "added"}
                after = {e["key"]: e["new"] for e in op["diff"] if e["op"] != "removed"}
                inverse.append(Operation("update", cid, proposed_change=merge_patch.create(after, before)))
                expected[cid] = ([e["key"] for e in op["diff"]], after)
            elif op["op"] in ("add_edge", "remove_edge"):
                edge = op["edge"]
                undo = "remove_edge" if op["op"] == "add_edge" else "add_edge"
                inverse.append(Operation(undo, edge["source"], target=edge["target"], kind=edge["kind"]))
            elif op["op"] == "create":
                inverse.append(Operation("delete", cid))
                expected[cid] = (list(op["config"]), op["config"])
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
        change_set = ChangeSet(
            tuple(inverse), requested_by, reason or f"rollback of {original['id']}", on_blocked, via=via
        )
        write = Write(
            change_set,
            kind="rollback",
            rollback_of=original["id"],
            guard=_set_unchanged_since(original["id"], expected),
        )
        return self.execute(write, actor=actor)


# -- the named steps ------------------------------------------------------------------------------
def _then(write: Write, gtx: GraphTx, result: dict) -> dict:
    if write.then is not None:
        write.then(gtx, result)
    return result


def _set_unchanged_since(change_id: str, expected: dict[str, tuple[list[str], dict]]) -> Callable[[GraphTx], None]:
    """A set's rollback undoes only its own writes: 409 if a touched key no longer holds what it set."""

    def guard(gtx: GraphTx) -> None:
        moved = {}
        for cid, (touched, values) in expected.items():
            current = gtx.component(cid)
            config = current["config"] if current else {}
            changed = [k for k in touched if config.get(k) != values.get(k)]
            if current is None or changed:
                moved[cid] = changed or ["<deleted>"]
        if moved:
            raise Conflict(
                f"components changed after {change_id}; refusing to undo the later changes",
                cause="changed_since",
                keys=moved,
            )

    return guard


def _replay(key: str, digest: str) -> Callable[[GraphTx], dict | None]:
    """Idempotency: the stored result of the first request with this key (422 if its body differed)."""

    def replay(gtx: GraphTx) -> dict | None:
        found = gtx.change_by_idempotency_key(key)
        if found is None:
            return None
        if found["request_hash"] != digest:
            raise Unprocessable(
                "this Idempotency-Key was used with a different request",
                errors={"Idempotency-Key": ["reused with a different body"]},
                cause="idempotency_key_reuse",
                change_id=found["id"],
            )
        return {**found["result"], "idempotent_replay": True}

    return replay


def _unmoved_since(planned: dict[str, int]) -> Callable[[Analysis], None]:
    """A plan applies only to the graph it was made on: 409 if any version in its impact set moved."""

    def check(analysis: Analysis) -> None:
        now = analysis.versions
        moved = sorted(k for k in set(now) | set(planned) if now.get(k) != planned.get(k))
        if moved:
            raise Conflict(
                "components in the plan's impact set changed since the plan; plan again",
                cause="stale_plan",
                changed=moved,
            )

    return check


def _unchanged_since(
    change_id: str, component_id: str, touched: list[str], after_values: dict
) -> Callable[[GraphTx], None]:
    """A rollback undoes only its own change: 409 if a touched key no longer holds what it set."""

    def guard(gtx: GraphTx) -> None:
        current = gtx.component(component_id)["config"]
        moved = [k for k in touched if current.get(k) != after_values.get(k)]
        if moved:
            raise Conflict(
                f"the component changed after {change_id}: keys {moved} no longer hold the values "
                "that change set; refusing to undo the later change",
                cause="changed_since",
                keys=moved,
            )

    return guard
