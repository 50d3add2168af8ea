"""``karma rules replay``: re-evaluate a rule set against the audited history (the records app.policy.record
keeps), and say which requests, which rules changed — before -> after — so a rules PR can be gated on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.changes.status import decided
from app.policy.record import evaluations_of


def outcome(decisions: list[dict], on_blocked: str | None) -> str:
    """The status a set of decisions gives, without an approval (the gate's own rule, status.decided)."""
    return str(decided(decisions, on_blocked or "reject", approved=False))


def _key(d: dict) -> tuple:
    return d.get("rule_id"), d.get("effect"), d.get("component"), d.get("operation")


@dataclass
class Replayed:
    entry: dict
    then: list[dict]
    now: list[dict]
    status_then: str
    status_now: str
    error: str | None = None
    added: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed) or self.error is not None

    def to_dict(self) -> dict:
        e = self.entry
        return {
            "log_entry_id": e.get("id"),
            "timestamp": e.get("timestamp"),
            "component": e.get("component_id"),
            "environment": e.get("environment"),
            "kind": e.get("kind"),
            "status_then": self.status_then,
            "status_now": self.status_now,
            "decisions_then": self.then,
            "decisions_now": self.now,
            "added": self.added,
            "removed": self.removed,
            "error": self.error,
        }


def replay_entry(entry: dict, policy) -> Replayed:
    """Re-evaluate one audited request: the decisions then (stored) and now (this rule set)."""
    then = entry.get("decisions") or []
    status_then = entry.get("status") or ""
    try:
        now, on_blocked = [], None
        for index, facts, at in evaluations_of(entry["facts"]):
            found = [d.to_dict() for d in policy.evaluate(facts, now=at)]
            now += found if index is None else [{**d, "operation": index} for d in found]
            on_blocked = on_blocked or (facts[0].get("change") or {}).get("on_blocked")
    except Exception as exc:  # noqa: BLE001 - one unreadable entry is reported, not fatal
        return Replayed(entry, then, [], status_then, "error", error=f"{type(exc).__name__}: {exc}")
    then_keys = {_key(d) for d in then}
    now_keys = {_key(d) for d in now}
    return Replayed(
        entry,
        then,
        now,
        status_then,
        outcome(now, on_blocked),
        added=[d for d in now if _key(d) not in then_keys],
        removed=[d for d in then if _key(d) not in now_keys],
    )


@dataclass
class Summary:
    entries: int = 0
    changed: int = 0
    errors: int = 0
    by_status: dict = field(default_factory=dict)  # status then -> {status now -> n}

    def add(self, r: Replayed) -> None:
        self.entries += 1
        self.changed += r.changed
        self.errors += r.error is not None
        row = self.by_status.setdefault(r.status_then, {})
        row[r.status_now] = row.get(r.status_now, 0) + 1

    def lines(self) -> list[str]:
        out = [
            f"{self.entries} audited request(s) replayed, {self.changed} with different decisions"
            + (f", {self.errors} unreadable" if self.errors else "")
        ]
        for then, nows in sorted(self.by_status.items()):
            total = sum(nows.values())
            for now, n in sorted(nows.items()):
                if now != then:
                    out.append(f"this rule set would have {_verb(now)} {n} of the {total} {then} request(s)")
        return out

    def to_dict(self) -> dict:
        return {"entries": self.entries, "changed": self.changed, "errors": self.errors, "by_status": self.by_status}


def _verb(status: str) -> str:
    return {
        "rejected": "rejected",
        "queued": "queued",
        "pending_approval": "held for approval",
        "applied": "applied",
        "error": "failed to evaluate",
    }.get(status, status)


def describe(r: Replayed) -> list[str]:
    e = r.entry
    head = f"{e.get('timestamp')}  {e.get('id')}  {e.get('component_id')}  {r.status_then} -> {r.status_now}"
    lines = [head]
    if r.error:
        lines.append(f"  error: {r.error}")
    lines += [f"  + {d['effect']} {d['rule_id']} on {d['component']}: {d['message']}" for d in r.added]
    lines += [f"  - {d['effect']} {d['rule_id']} on {d['component']}: {d.get('message', '')}" for d in r.removed]
    return lines
