"""TransitionService: executing a verified proposal (POST /transitions/<proposal id>/execute) and
carrying it out — stored as a `Transition`, every move through the table in app/transitions/status.py,
every move audited.

- `execute`: the proposal id is signed (nothing was stored when it was proposed); it is re-simulated on
  the graph as it is now, and if anything it was verified on moved (a version of a touched or affected
  component, the rules, the mode) or it no longer holds, 409 `stale_proposal`: propose again.
- A `change` step applies through the normal pipeline (ChangeGate: lock, analyse, commit — atomic, with its
  audit entry), and in the SAME transaction the transition records the step and links its change request
  (`then`); a step the rules refuse at its time leaves the transition `stalled`, naming the step and the
  decisions, with that step's (rejected) change audited and nothing else written.
- A `wait` step is `waiting` until the component reports the outputs: advanced on the runtime-report path
  (synchronously, like queued changes) and by the queue worker's passes (the safety net `karma serve`
  supervises). Like a queued change it expires when KARMA_QUEUE_TTL is set and elapses first (its
  `expires_at` is fixed when it starts waiting): the transition ends `expired`, what had not run will not.
  The requested change applies last; `restore` steps are follow-ups, never run.
- Runners serialise on the transition's lock: a step is applied once, whoever gets there first.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from datetime import datetime, timedelta

from app import clock, ids
from app.audit.entries import actor as actor_of
from app.audit.entries import audit_entry
from app.audit.statuses import REPORTED
from app.changes.gate import ChangeGate, Write
from app.changes.model import ChangeRequest
from app.changes.sets import ChangeSet
from app.changes.since import require_unchanged, seen_by
from app.changes.status import ChangeStatus
from app.errors import Conflict, Forbidden, KarmaError, NotFound, OutcomeUnknown, ServiceUnavailable, Unprocessable
from app.graph.driver import DRIVER_ERRORS, IncompleteCommit, outage
from app.graph.repository import GraphTx
from app.notifications import events
from app.policy.remedies import NON_EMPTY
from app.transitions.search import DEFAULT_BOUNDS, TransitionSearch, verify_proposal
from app.transitions.simulation import Assumptions, Simulator, Wait, as_set, check_environments
from app.transitions.status import (
    ACTIVE,
    StepStatus,
    TransitionStatus,
    counted_steps,
    move,
    progress,
    requested_body,
)

log = logging.getLogger("karma.transitions")
MAX_PASS = 100  # transitions advanced per worker pass


class StepMoved(Exception):
    """Another runner moved the transition first (or it was cancelled): nothing to do here."""


def unknown_transition(transition_id: str) -> NotFound:
    return NotFound(f"transition {transition_id!r} not found", cause="unknown_transition")


def reported(runtime: dict, outputs: dict) -> bool:
    """Does a component's runtime show what a wait step waits for (NON_EMPTY: any published value)?"""
    return all(
        runtime.get(k) not in (None, "", [], {}) if v == NON_EMPTY else runtime.get(k) == v for k, v in outputs.items()
    )


class TransitionService:
    def __init__(self, gate: ChangeGate, clock_=clock.utcnow, new_id=ids.new_id, search_bounds=None):
        self.gate, self.repo = gate, gate.repo
        self.search_bounds = {**DEFAULT_BOUNDS, **dict(search_bounds or ())}  # KARMA_TRANSITION_* (settings)
        self.clock, self.new_id = clock_, new_id

    def simulator(self) -> Simulator:
        return Simulator(self.repo, self.gate.policy, self.gate.mode)

    # -- what-if plans and proposals (nothing written) ---------------------------------------------
    def what_if(self, change: ChangeRequest | ChangeSet, assume: dict, actor=None) -> dict:
        """POST /plan with `assume`: the hypothetical analysis (validated strictly, nothing written)."""
        assumptions = Assumptions.from_body(assume, as_set(change).requested_by)
        return self.simulator().what_if(change, assumptions, actor)

    def propose(self, change: ChangeRequest | ChangeSet, assume: dict | None, actor=None) -> dict:
        """POST /transitions: proposals verified by simulation, over this process's rules; candidates of
        declared remedies read from the graph (one query per type and environment asked about)."""
        assumptions = Assumptions.from_body(assume, as_set(change).requested_by)
        rules = self.gate.policy.rules() if self.gate.policy is not None else []
        search = TransitionSearch(
            self.simulator(),
            rules,
            components_of=self.components_of,
            rules_fingerprint=self.rules_fingerprint(),
            bounds=self.search_bounds,
        )
        return search.propose(change, assumptions, actor)

    def rules_fingerprint(self) -> str | None:
        policy = self.gate.policy
        return policy.status().get("fingerprint") if policy is not None and self.gate.mode == "full" else None

    def components_of(self, type_name: str, environment: str) -> list[dict]:
        """Candidates for a declared remedy: components of a type in an environment, by id (bounded)."""
        most = self.search_bounds["max_candidates"] * 4  # room for the ones a remedy excludes
        found = self.repo.list_components(type_=type_name, environment=environment, skip=0, limit=most)
        return [{"id": c["id"], "nickname": c["nickname"]} for c in found["items"]]

    # -- reading ------------------------------------------------------------------------------------
    def get(self, transition_id: str) -> dict:
        found = self.repo.transition(transition_id)
        if found is None:
            raise unknown_transition(transition_id)
        # who made each move (a report's reporter, not the requester: app.audit.entries.actor), as the log says
        return {**found, "trail": [{**e, "actor": actor_of(e)} for e in found.get("trail") or []]}

    def list(self, *, status=None, requested_by=None, component=None, page: int = 1, page_size: int = 50) -> dict:
        """GET /transitions: stored transitions, newest first (proposals are never stored)."""
        found = self.repo.list_transitions(
            status=status,
            requested_by=requested_by,
            component=component,
            skip=(page - 1) * page_size,
            limit=page_size,
        )
        return {**found, "page": page, "page_size": page_size}

    # -- execute ------------------------------------------------------------------------------------
    def execute(self, proposal_id: str, actor=None) -> dict:
        payload = verify_proposal(proposal_id)
        try:
            if payload.get("mode") != self.gate.mode or payload.get("rules") != self.rules_fingerprint():
                raise Conflict(
                    "the rules or mode changed since this proposal was made; propose again",
                    cause="stale_proposal",
                    changed=["rules"],
                )
            self._still_holds(payload["steps"], payload["versions"], actor)
        except Conflict as exc:  # "propose again" — with what: the signed id holds it, a client cannot read it
            exc.extra["propose_again"] = requested_body(payload["request"])
            raise
        requested_by = actor.name if actor is not None else payload["request"]["requested_by"]
        steps = payload["steps"]
        transition_id, now, log_id = self.new_id("trn"), self.clock(), self.new_id("log")
        stored = [
            {**s, "status": str(StepStatus.FOLLOW_UP if s.get("follow_up") else StepStatus.PENDING)} for s in steps
        ]
        status = move(TransitionStatus.PROPOSED, TransitionStatus.RUNNING, transition_id)
        record = {
            "id": transition_id,
            "status": str(status),
            "requested_by": requested_by,
            "created_at": now,
            "updated_at": now,
            "current_step": 0,
            "steps": stored,
            "request": payload["request"],  # its own `single` says if it was asked in the single form
            "proposal_rules": payload.get("rules"),
            "proposal_key": proposal_key(proposal_id),
            # what its requester saw of what its steps change: the versions the proposal was verified on
            "seen_versions": {c: payload["versions"][c] for c in changed_by(steps) if c in payload["versions"]},
        }
        audit = self._audit(record, status, log_id, now, note=_executing(steps), step=None)
        try:
            self.repo.in_write_tx(lambda gtx: self._create(gtx, record, audit, _components(steps)))
        except IncompleteCommit:  # it may have been stored: never "nothing was changed"
            raise OutcomeUnknown(
                transition_id=transition_id,
                look_up=f"look up GET /transitions/{transition_id} (executing the proposal again is refused "
                "while that transition runs, naming it)",
            ) from None
        log.info("transition started", extra={"transition_id": transition_id, "steps": len(steps)})
        try:
            return self.advance(transition_id)
        except (ServiceUnavailable, *DRIVER_ERRORS) as exc:  # stored and running: carried on by the next
            if not isinstance(exc, ServiceUnavailable) and not outage(exc):  # report or worker pass
                raise  # a bug (a Cypher error), not the database away: the API's 500 names it
            log.warning("transition stored, not advanced", extra={"transition_id": transition_id})
            return {
                **record,
                "created_at": clock.rfc3339(now),
                "updated_at": clock.rfc3339(now),
                "note": "stored; Neo4j did not answer in time while running its first steps: they run on "
                "the next runtime report or worker pass (GET /transitions/<id>)",
            }

    @staticmethod
    def _create(gtx: GraphTx, record: dict, audit: dict, components: list[str]) -> None:
        """Store the transition, unless one still running or waiting stands in its way (read under the
        locks of the components the proposal names, which an execute of any proposal naming one of them
        takes too: two executes serialise, and the second sees the first):
        - one executed from the same proposal (409 proposal_executing): a retried or double-clicked execute
          of a proposal whose first step waits passed every check (a wait moves no version) and ran the
          proposal twice — two transitions, the requested change applied twice;
        - one whose steps not yet run change a component this proposal's steps change (409
          component_in_transition): both would complete, the later silently overwriting the other's change.
        Once that one ended (completed, stalled, cancelled, expired), the proposal may run."""
        active = gtx.active_transitions_locked(components)
        same = next((t for t in active if t.get("proposal_key") == record["proposal_key"]), None)
        if same is not None:
            raise Conflict(
                f"this proposal is already being executed as {same['id']}; follow it (GET /transitions/{same['id']}), "
                "or cancel it to run the proposal again",
                cause="proposal_executing",
                transition_id=same["id"],
            )
        mine = set(changed_by(record["steps"]))
        for other in active:
            overlap = sorted(mine & set(changed_by(other["steps"], still_to_run=True)))
            if overlap:
                raise in_transition(other, overlap)
        gtx.create_transition(record, audit, components)

    def _still_holds(self, steps: list, versions: dict, actor) -> None:
        """Re-simulate the proposal on the graph as it is now: 409 if what it was verified on moved."""
        try:
            analyses = self.simulator().steps(_sequence(steps), {})
        except (NotFound, Conflict, Unprocessable) as exc:  # a component it names is gone, a step is invalid
            raise Conflict(
                f"this proposal no longer holds ({exc.message}); propose again",
                cause="stale_proposal",
                changed=sorted(filter(None, [exc.extra.get("component")])),
                **_near(exc),
            ) from None
        now: dict = {}
        for analysis in analyses:
            if analysis is not None:
                check_environments(analysis, actor)
                now.update(analysis.versions)
        changed = sorted(k for k in set(now) | set(versions) if now.get(k) != versions.get(k))
        if changed:
            raise Conflict(  # named in the message: the CLI's line and the console's page say what moved
                f"the graph moved since this proposal was made ({', '.join(changed)} changed since); propose again",
                cause="stale_proposal",
                changed=changed,
            )
        refused = [i for i, a in enumerate(analyses) if a is not None and a.status() != ChangeStatus.APPLIED]
        if refused:
            raise Conflict(
                "this proposal no longer holds (a step would be refused now); propose again",
                cause="stale_proposal",
                changed=[],
                refused_steps=refused,
            )

    # -- running --------------------------------------------------------------------------------------
    def advance(self, transition_id: str, reported_by: str | None = None) -> dict:
        """Run the transition's steps from where it is until it waits, stalls or completes. `reported_by`:
        the identity whose runtime report carries it on (PUT /components/<id>/runtime) — the moves that
        report makes (the wait it ends and every step after it) are audited as that identity's, the
        requester staying `requested_by` (app.audit.entries.actor). None: no report's call (execute, the
        worker's pass) — a wait found over then names the author of the component's newest report."""
        for _ in range(64):
            current = self.get(transition_id)
            if current["status"] not in ACTIVE:
                return current
            index = current["current_step"]
            step = current["steps"][index]
            try:
                if step["kind"] == "wait":
                    over, reported_by = self._wait(current, index, step, reported_by)
                    if not over:
                        return self.get(transition_id)
                if step["kind"] == "change":
                    self._apply(current, index, step, reported_by)
            except StepMoved:
                continue
        return self.get(transition_id)

    def _wait(self, current: dict, index: int, step: dict, reported_by: str | None = None) -> tuple[bool, str | None]:
        """(True, whose report ended it) when the wait is over (the component reported the outputs): the
        step is done — the reporter is the report's caller, or when no report carries it on (the worker's
        pass) the author of the component's newest report. A wait past its expiry ends the transition
        first, as the queue expires a change before it looks at it (no report made that move)."""
        if current["status"] == TransitionStatus.WAITING and self._expired(step):
            self._move(
                current["id"],
                index,
                TransitionStatus.EXPIRED,
                StepStatus.EXPIRED,
                advance=False,
                note=f"expired: {step['description']} did not come within KARMA_QUEUE_TTL "
                f"({self.gate.queue_ttl_seconds} s)",
                stalled={
                    "step": index,
                    "description": step["description"],
                    "cause": "wait_expired",
                    "waiting_since": step.get("at"),
                    "expires_at": step.get("expires_at"),
                },
                for_component=step["component"],
            )
            return False, reported_by
        component = self.repo.get_component(step["component"])
        if component is None:
            self._gone(current["id"], index, step)
            return False, reported_by
        if reported(component["runtime"], step["outputs"]):
            reported_by = reported_by or self._last_reporter(step["component"])
            self._move(
                current["id"],
                index,
                TransitionStatus.RUNNING,
                StepStatus.DONE,
                note=f"{step['component']} reported {_outputs(step['outputs'])}",
                for_component=step["component"],
                reported_by=reported_by,
            )
            return True, reported_by
        if current["status"] != TransitionStatus.WAITING:
            self._move(
                current["id"],
                index,
                TransitionStatus.WAITING,
                StepStatus.WAITING,
                advance=False,
                note=f"waiting for {step['description']}",
                waits_for=[step["component"]],
                for_component=step["component"],
                expires_in=self.gate.queue_ttl_seconds or None,
                reported_by=reported_by,
            )
        return False, reported_by

    def _last_reporter(self, component_id: str) -> str | None:
        """Who reported the component's runtime last: whose report a wait ended on when no report's own
        call carries the transition on (the worker's pass, after the API died between the report and the
        advance) — one read, only then."""
        found = self.repo.log_list(component=component_id, status=REPORTED, limit=1)["items"]
        return found[0].get("requested_by") if found else None

    def _gone(self, transition_id: str, index: int, step: dict) -> None:
        """The component a wait is for was deleted since: its report can never come, so the transition
        stalls on the step (it waited for ever, and the console's page of it was a 404) — cancel it, or
        propose again on the graph as it now is."""
        error = f"{step['component']} no longer exists (deleted since); the report this step waits for cannot come"
        self._move(
            transition_id,
            index,
            TransitionStatus.STALLED,
            StepStatus.FAILED,
            advance=False,
            note=f"step {index + 1} ({step['description']}) failed: {error}",
            stalled={"step": index, "description": step["description"], "error": error, "cause": "component_gone"},
        )

    def _expired(self, step: dict) -> bool:
        expires_at = step.get("expires_at")
        return expires_at is not None and self.clock() >= datetime.fromisoformat(expires_at)

    def _apply(self, current: dict, index: int, step: dict, reported_by: str | None = None) -> None:
        request = _request(current, step)
        write = Write(
            request,
            kind="transition",
            reported_by=reported_by,  # the change stays the requester's; the report that ran it is named
            guard=self._guard(current["id"], index, request),
            then=self._then(current["id"], index, step, reported_by),
            record_extra={"transition_id": current["id"]},  # the change links back to what made it
        )
        try:
            self.gate.execute(write)
        except (NotFound, Conflict, Unprocessable) as exc:  # no longer a valid change at its time: nothing written
            self._move(
                current["id"],
                index,
                TransitionStatus.STALLED,
                StepStatus.FAILED,
                advance=False,
                note=f"step {index + 1} ({step['description']}) failed: {exc.message}",
                stalled={
                    "step": index,
                    "description": step["description"],
                    "error": exc.message,
                    "cause": exc.extra.get("cause"),
                    # what is not valid now (per field) and a near name: "the change is not valid" alone
                    **({"errors": exc.errors} if exc.errors else {}),
                    **_near(exc),
                    # changed_since: the keys a change made since moved, and those changes
                    **{k: exc.extra[k] for k in ("keys", "changes") if k in exc.extra},
                },
                reported_by=reported_by,
            )

    def _guard(self, transition_id: str, index: int, request: ChangeSet):
        """Inside the step's transaction, under the transition's lock: still this step, still active — and
        no change made since the transition was executed (but its own earlier steps) moved a key the step
        sets: applied over it, the step would silently undo that change (409 changed_since: it stalls)."""

        def guard(gtx: GraphTx) -> None:
            locked = gtx.transition_for_update(transition_id)
            if locked is None or locked["status"] not in ACTIVE or locked["current_step"] != index:
                raise StepMoved(transition_id)
            own = [s["change_id"] for s in locked["steps"] if s.get("change_id")]
            seen = seen_by(request, locked.get("seen_versions") or {})
            require_unchanged(gtx, seen, STEP_CHANGED, ignore=own)

        return guard

    def _then(self, transition_id: str, index: int, step: dict, reported_by: str | None = None):
        """After the step's change committed, in the same transaction: the transition records it."""

        def then(gtx: GraphTx, result: dict) -> None:
            locked = gtx.transition_for_update(transition_id)
            applied = result["status"] == ChangeStatus.APPLIED
            if applied:
                to = TransitionStatus.COMPLETED if step.get("requested") else TransitionStatus.RUNNING
                note, stalled = f"step {index + 1} applied: {step['description']}", None
            else:
                to = TransitionStatus.STALLED
                decisions = [
                    {k: d.get(k) for k in ("rule_id", "effect", "component", "message")}
                    for d in result.get("blockers") or []
                ]
                note = f"step {index + 1} ({step['description']}) was {result['status']} at its time"
                stalled = {
                    "step": index,
                    "description": step["description"],
                    "status": result["status"],
                    "decisions": decisions,
                    "change_id": result.get("change_id"),
                }
            self._record(
                gtx,
                locked,
                index,
                to,
                StepStatus.DONE if applied else StepStatus.REFUSED,
                note=note,
                advance=applied,
                stalled=stalled,
                change_id=result.get("change_id"),
                log_entry_id=result.get("log_entry_id"),
                for_component=_first_component(step),
                reported_by=reported_by,
            )

        return then

    def _move(
        self,
        transition_id: str,
        index: int,
        to: TransitionStatus,
        step_status: StepStatus,
        *,
        note: str,
        advance: bool = True,
        **extra,
    ) -> None:
        """A move that applies no change (a wait, a failure): lock, check, record — one transaction."""

        def work(gtx: GraphTx) -> None:
            locked = gtx.transition_for_update(transition_id)
            if locked is None or locked["status"] not in ACTIVE or locked["current_step"] != index:
                raise StepMoved(transition_id)
            if not advance and locked["status"] == to:  # another pass (the API, the worker) recorded it first
                raise StepMoved(transition_id)
            self._record(gtx, locked, index, to, step_status, note=note, advance=advance, **extra)

        self.repo.in_write_tx(work)

    def _record(
        self,
        gtx: GraphTx,
        locked: dict,
        index: int,
        to: TransitionStatus,
        step_status: StepStatus,
        *,
        note: str,
        advance: bool,
        stalled: dict | None = None,
        change_id: str | None = None,
        log_entry_id: str | None = None,
        waits_for: list | None = None,
        for_component: str | None = None,
        expires_in: int | None = None,
        reported_by: str | None = None,
    ) -> None:
        status = move(locked["status"], to, locked["id"])
        now, log_id = self.clock(), self.new_id("log")
        steps = [dict(s) for s in locked["steps"]]
        steps[index].update(
            status=str(step_status),
            at=now.isoformat(),
            **{k: v for k, v in (("change_id", change_id), ("log_entry_id", log_entry_id)) if v},
        )
        if expires_in:  # a wait begins: it ends by this time, whatever the TTL is later
            steps[index]["expires_at"] = (now + timedelta(seconds=expires_in)).isoformat()
        if status == TransitionStatus.COMPLETED:
            steps = [{**s, "status": str(StepStatus.FOLLOW_UP)} if s.get("follow_up") else s for s in steps]
        if status == TransitionStatus.EXPIRED:  # what had not run will not (as cancel says it)
            steps = _not_run_cancelled(steps)
        audit = self._audit(
            locked, status, log_id, now, note=note, step=index, change_id=change_id, reported_by=reported_by
        )
        gtx.record_transition(
            locked["id"],
            status=str(status),
            steps=steps,
            current_step=index + 1 if advance else index,
            stalled=stalled,
            now=now,
            audit=audit,
            step=index,
            change_id=change_id,
            waits_for=waits_for,
            for_components=[for_component] if for_component else [],
            outbox=events.for_transition(
                status=status, transition={**locked, "stalled": stalled}, audit=audit, now=now
            ),
        )
        log.info(
            "transition moved",
            extra={"transition_id": locked["id"], "status": str(status), "step": index, "note": note},
        )

    def _audit(
        self,
        transition: dict,
        status,
        log_id: str,
        now,
        *,
        note: str,
        step: int | None,
        change_id: str | None = None,
        reported_by: str | None = None,
    ) -> dict:
        """A move's entry: `requested_by` the transition's requester (whose transition it is, on every
        entry: the log's `requested_by` filter, its events), `reported_by` the one whose runtime report
        made the move when it was not the requester's own call — the entry's actor."""
        return audit_entry(
            kind="transition",
            log_id=log_id,
            now=now,
            requested_by=transition["requested_by"],
            status=str(status),
            change_id=change_id,
            note=note,
            transition_id=transition["id"],
            step=step,
            request=transition.get("request"),
            reported_by=reported_by,
        )

    # -- cancel -------------------------------------------------------------------------------------
    def cancel(self, transition_id: str, actor=None) -> dict:
        """What has not run will not: the transition is cancelled (applied steps stay, audited)."""
        current = self.get(transition_id)
        if actor is not None and actor.role != "admin" and current["requested_by"] != actor.name:
            raise Forbidden("only the requester (or an admin) may cancel a transition", cause="not_requester")

        def work(gtx: GraphTx) -> None:
            locked = gtx.transition_for_update(transition_id)
            status = move(locked["status"], TransitionStatus.CANCELLED, transition_id)
            now, log_id = self.clock(), self.new_id("log")
            steps = _not_run_cancelled(locked["steps"])
            who = actor.name if actor is not None else locked["requested_by"]
            # the requester stays `requested_by` (the log's and the list's filter); the canceller is its own
            # field, on the entry (its `actor`) and the transition
            audit = {
                **self._audit(locked, status, log_id, now, note=f"cancelled by {who}", step=locked["current_step"]),
                "cancelled_by": who,
            }
            gtx.record_transition(
                transition_id,
                status=str(status),
                steps=steps,
                current_step=locked["current_step"],
                stalled=locked.get("stalled"),
                now=now,
                audit=audit,
                step=locked["current_step"],
                outbox=events.for_transition(status=status, transition=locked, audit=audit, now=now),
                cancelled_by=who,
            )

        self.repo.in_write_tx(work)
        return self.get(transition_id)

    # -- what moves waits on -----------------------------------------------------------------------
    def waiting_on(self, component_id: str) -> list[dict]:
        """The transitions waiting for this component's report, each with its waiting step(s): the
        component's page says so, where the person who reports (after the deploy) looks."""
        found = [self.get(t) for t in self.repo.active_transitions(component_id)]
        return [
            {**t, "waits": [s for s in t["steps"] if s.get("kind") == "wait" and s.get("status") == "waiting"]}
            for t in found
            if t["status"] == "waiting"
        ]

    def on_runtime(self, component_id: str, reported_by: str | None = None) -> list[dict]:
        """A component reported runtime: advance the transitions waiting for it, as moved by its reporter."""
        return [self._summary(self.advance(t, reported_by)) for t in self.repo.active_transitions(component_id)]

    def process(self, limit: int = MAX_PASS) -> list[dict]:
        """The worker's pass: advance every running or waiting transition (the safety net)."""
        out = []
        for transition_id in self.repo.active_transitions(None, limit):
            before = self.get(transition_id)
            after = self.advance(transition_id)
            if (after["status"], after["current_step"]) != (before["status"], before["current_step"]):
                out.append(self._summary(after))
        return out

    @staticmethod
    def _summary(transition: dict) -> dict:
        return {k: transition.get(k) for k in ("id", "status", "current_step")}


# -- helpers ----------------------------------------------------------------------------------------
def proposal_key(proposal_id: str) -> str:
    """What a stored transition keeps of the proposal it was executed from (the id itself is long)."""
    return hashlib.sha256(proposal_id.encode()).hexdigest()[:32]


def _executing(steps: list) -> str:
    """The first audit note, counting steps as `step 2 of 2` does: the follow-ups (restores, never run by
    Karma) apart — "a proposal of 3 steps" beside "step 2 of 2" read as a step gone missing."""
    run = counted_steps(steps)
    follow_ups = len(steps) - run
    return f"executing a proposal of {run} step{'s' if run != 1 else ''}" + (
        f" (and {follow_ups} follow-up{'s' if follow_ups != 1 else ''} after it)" if follow_ups else ""
    )


def _near(exc: KarmaError) -> dict:
    """The `did_you_mean` of an error whose message a stale proposal or a stalled step repeats: the
    message kept its "did you mean" and the answer lost the field a client reads (docs/api.md)."""
    return {"did_you_mean": exc.extra["did_you_mean"]} if "did_you_mean" in exc.extra else {}


def _sequence(steps: list) -> list:
    """The steps a simulation runs: waits and change sets, in order, without follow-ups."""
    out = []
    for s in steps:
        if s["kind"] == "wait":
            out.append(Wait(s["component"], s["outputs"]))
        elif s["kind"] == "change":
            out.append(ChangeSet.from_dict(s["change"]))
    return out


def _request(current: dict, step: dict) -> ChangeSet:
    """A step's change as the pipeline takes it: on_blocked reject (a step never queues), requested by the
    transition's requester; the requested change as it was asked (a single change stays one). A record
    stored before every change was a set holds its request in the single form (`component`, no `changes`;
    it also said `single: true`, a field new records no longer write — it said false for every set-era
    request, the single ones too): that request applies, not the step's copy of it."""
    who = current["requested_by"]
    if step.get("requested") and "changes" not in current["request"]:
        return replace(ChangeSet.from_dict(current["request"]), requested_by=who, on_blocked="reject")
    change_set = ChangeSet.from_dict(step["change"])
    return replace(
        change_set,
        requested_by=who,
        on_blocked="reject",
        reason=change_set.reason or f"transition {current['id']}: {step['description']}",
    )


def _not_run_cancelled(steps: list) -> list:
    """The steps with those that had not run (pending, or still waiting) cancelled: a transition that
    ends before them (cancel, expiry; the expired wait step is marked `expired` before this)."""
    return [
        {**s, "status": str(StepStatus.CANCELLED)} if s["status"] in (StepStatus.PENDING, StepStatus.WAITING) else s
        for s in steps
    ]


STEP_CHANGED = (
    "a key this step sets changed since the transition was executed (applied now, it would overwrite that "
    "change; cancel it and propose again on the config as it is)"
)


def changed_by(steps: list, still_to_run: bool = False) -> list[str]:
    """The components a proposal's (or a stored transition's) change steps change — follow-ups are never
    run; `still_to_run`: only the steps that have not run yet (pending)."""
    return sorted(
        {
            o["component"]
            for s in steps
            if s["kind"] == "change"
            and not s.get("follow_up")
            and (not still_to_run or s.get("status") == StepStatus.PENDING)
            for o in s.get("change", {}).get("changes", [])
        }
    )


def proposal_handle(key: str) -> str:
    """The handle (`prop-…`, app.ids.handle_of) of the proposal a transition was executed from, from the
    `proposal_key` it keeps: both are digests of the proposal id, the handle its first 8 hex digits."""
    return f"prop-{key[:8]}"


def in_transition(other: dict, components: list[str]) -> Conflict:
    """409: another active transition will change these components (it names it, and its proposal's handle)."""
    handle = proposal_handle(other["proposal_key"]) if other.get("proposal_key") else None
    via = f"executed from {handle}, " if handle else ""
    return Conflict(
        f"{', '.join(components)} will be changed by transition {other['id']} ({via}{other['status']} at step "
        f"{progress(other)}); let it end, or cancel it (DELETE /transitions/{other['id']}), then propose again",
        cause="component_in_transition",
        transition_id=other["id"],
        components=components,
        component=components[0],
        transition_status=other["status"],
        **({"proposal": handle} if handle else {}),
    )


def _components(steps: list) -> list[str]:
    return sorted(
        {
            c
            for s in steps
            for c in (
                [s["component"]]
                if "component" in s
                else [o["component"] for o in s.get("change", {}).get("changes", [])]
            )
        }
    )


def _first_component(step: dict) -> str | None:
    ops = step.get("change", {}).get("changes") or []
    return ops[0]["component"] if ops else step.get("component")


def _outputs(outputs: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in outputs.items())
