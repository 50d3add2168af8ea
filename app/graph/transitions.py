"""The stored transitions' queries (issue 13): mixins of GraphRepository (reads, the list of active
ones) and GraphTx (create, lock, record a move — inside a change's commit transaction when a step
applies a change). Each method is one named query in cypher/; values come back decoded."""

from __future__ import annotations

from typing import Any

from app.clock import rfc3339
from app.graph.codec import dumps, iso, loads
from app.graph.cypher import query

_JSON = ("steps", "request", "stalled", "seen_versions")
EVERY_ACTIVE = 100_000  # the execute check reads every running or waiting transition (there are few)
STEP_TIMES = ("at", "expires_at")  # a step's times, in its stored JSON
STALL_TIMES = ("waiting_since", "expires_at")  # a wait that expired: its step's times, copied


def decode_transition(props: dict | None) -> dict | None:
    """Transition node properties → values: JSON text decoded, times as ISO text."""
    if props is None:
        return None
    out = dict(props)
    for key in _JSON:
        out[key] = loads(out.get(key)) if out.get(key) is not None else None
    for key in ("created_at", "updated_at"):
        out[key] = iso(out.get(key))
    return out


def answered(transition: dict) -> dict:
    """A decoded transition as a read answers it: the times its stored JSON keeps as Python wrote them
    (`+00:00`, six digits or none) in the answers' one form (app.clock.rfc3339). Only reads: a move
    writes back the steps it locked, as stored."""
    steps = [{**s, **{k: rfc3339(s[k]) for k in STEP_TIMES if s.get(k)}} for s in transition.get("steps") or []]
    stalled = transition.get("stalled")
    if stalled:
        stalled = {**stalled, **{k: rfc3339(stalled[k]) for k in STALL_TIMES if stalled.get(k)}}
    return {**transition, "steps": steps, "stalled": stalled}


def encode_transition(values: dict) -> dict:
    """The properties a Transition node stores (maps and lists of maps as JSON text)."""
    return {k: (dumps(v) if k in _JSON and v is not None else v) for k, v in values.items()}


class TransitionTxQueries:
    """Inside one write transaction (GraphTx)."""

    _tx: Any

    def _one(self, name: str, **params: Any) -> dict | None:
        record = self._tx.run(query(name), **params).single()
        return record.data() if record else None

    def create_transition(self, transition: dict, audit: dict, for_components: list[str]) -> dict:
        return self._one(
            "transition_create", transition=encode_transition(transition), audit=audit, for_components=for_components
        )

    def active_transitions_locked(self, components: list[str]) -> list[dict]:
        """Every transition still running or waiting (id, status, current_step, steps, proposal_key), read
        under the write locks of the components a proposal names (taken in id order, as a change set takes
        them): two executes of proposals naming one component serialise here, and the second sees the first."""
        for component_id in sorted(components):
            self.lock(component_id)
        found = self._one("transitions_active", waits_on=None, limit=EVERY_ACTIVE)["transitions"]
        return [decode_transition(t) for t in found]

    def transition_for_update(self, transition_id: str) -> dict | None:
        row = self._one("transition_for_update", id=transition_id)
        return None if row is None else decode_transition(row["transition"])

    def record_transition(
        self,
        transition_id: str,
        *,
        status: str,
        steps: list,
        current_step: int,
        stalled: dict | None,
        now: Any,
        audit: dict,
        step: int,
        change_id: str | None = None,
        waits_for: list[str] | None = None,
        for_components: list[str] | None = None,
        outbox: list[dict] | None = None,
        cancelled_by: str | None = None,
    ) -> dict:
        """Move a transition (locked by the caller) and audit the move; links a step's change request;
        writes the move's outbox events; a cancel keeps who cancelled it (`cancelled_by`)."""
        return self._one(
            "transition_record",
            id=transition_id,
            status=status,
            steps=dumps(steps),
            current_step=current_step,
            stalled=dumps(stalled) if stalled else None,
            now=now,
            audit=audit,
            step=step,
            change_id=change_id,
            waits_for=waits_for or [],
            for_components=for_components or [],
            outbox=outbox or [],
            cancelled_by=cancelled_by,
        )


class TransitionQueries:
    """Reads (GraphRepository)."""

    read: Any

    def transition(self, transition_id: str) -> dict | None:
        """A stored transition with its trail and the change requests of its steps, or None."""
        row = self.read("transition_get", id=transition_id)
        if row is None:
            return None
        trail = [
            {**{k: v for k, v in a.items() if v is not None}, "timestamp": iso(a["timestamp"])} for a in row["trail"]
        ]
        return {
            **answered(decode_transition(row["transition"])),
            "trail": trail,
            "changes": [c for c in row["changes"] if c is not None],
        }

    def list_transitions(self, *, status=None, requested_by=None, component=None, skip=0, limit=50) -> dict:
        """→ {"total", "total_is_lower_bound", "items": [transitions, decoded, without trail]}, newest first,
        counted as the log is (GraphRepository._newest_first)."""
        filters = {"status": status, "requested_by": requested_by}
        found = self._newest_first("transitions_list", component, filters, skip, limit)
        return {**found, "items": [answered(decode_transition(t)) for t in found["items"]]}

    def active_transitions(self, waits_on: str | None = None, limit: int = 100) -> list[str]:
        """Ids of the transitions still running or waiting (waiting for `waits_on`), oldest first."""
        return [t["id"] for t in self.read("transitions_active", waits_on=waits_on, limit=limit)["transitions"]]
