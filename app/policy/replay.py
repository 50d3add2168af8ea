"""What the rules saw, kept in the audit entry; and ``karma rules replay``, which re-evaluates it.

The record (AuditEntry property ``facts``, compact JSON) holds the facts of one evaluation once each:
``{"v": 1, "at": <request time>, "rules": <fingerprint>, "change": {...}, "component": {...},
"impacted": [rows], "siblings": [rows]}`` — the change and component facts are shared by every row, so
they are stored once, and nothing derived (time, counts, overlaps) is stored: it is derived again from
``at`` and the rows. A record over 16 KiB (a wide impact) is stored zlib-compressed
(``{"v": 1, "zlib": <base64>, "bytes": n}``). It answers the auditor's "what did the rules know when
they allowed this?", and lets a rule set be replayed against history without the live graph: replaying
reads audit entries only and writes nothing. Sizes are in docs/rules.md ("Replaying rules against history").
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass, field
from datetime import datetime

from app.changes.status import decided
from app.policy.derive import aware

VERSION = 1
COMPRESS_ABOVE = 16 * 1024  # bytes of JSON; larger records (wide impacts) are stored zlib-compressed


def _doc(facts: list[dict], at: datetime) -> dict:
    first = facts[0] if facts else {}
    return {
        "at": aware(at).isoformat(),
        "change": first.get("change"),
        "component": first.get("component"),
        "impacted": [f["impacted"] for f in facts if f.get("impacted") is not None],
        "siblings": first.get("siblings") or [],
    }


def _packed(doc: dict) -> str:
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False, sort_keys=True, default=str)
    if len(text) <= COMPRESS_ABOVE:
        return text
    packed = base64.b64encode(zlib.compress(text.encode(), 6)).decode()
    return json.dumps({"v": VERSION, "zlib": packed, "bytes": len(text)}, separators=(",", ":"))


def record(facts: list[dict], at: datetime, rules: str | None) -> str:
    """The compact audit record of one evaluation's facts (see the module docstring)."""
    return _packed({"v": VERSION, "rules": rules, **_doc(facts, at)})


def set_record(evaluations: list[tuple[int, list[dict]]], at: datetime, rules: str | None) -> str:
    """The record of a change set: one evaluation per judged operation, `(operation index, its facts)`,
    in the order they were judged (``{"v": 1, "rules", "operations": [{"operation", "at", "change", …}]}``)."""
    ops = [{"operation": index, **_doc(facts, at)} for index, facts in evaluations]
    return _packed({"v": VERSION, "rules": rules, "operations": ops})


def _loaded(text: str | dict) -> dict:
    doc = json.loads(text) if isinstance(text, str) else text
    if isinstance(doc, dict) and "zlib" in doc:
        doc = json.loads(zlib.decompress(base64.b64decode(doc["zlib"])))
    if not isinstance(doc, dict) or doc.get("v") != VERSION:
        raise ValueError(f"unknown facts record version {doc.get('v') if isinstance(doc, dict) else doc!r}")
    return doc


def _facts(doc: dict) -> list[dict]:
    base = {"change": doc["change"], "component": doc["component"], "siblings": doc.get("siblings") or []}
    return [{**base, "impacted": None}] + [{**base, "impacted": row} for row in doc.get("impacted") or []]


def facts_of(text: str | dict) -> tuple[list[dict], datetime, str | None]:
    """(facts as the pipeline built them, the request time, the rules fingerprint) of a single change's
    record (a change set's: its first operation; see `evaluations_of`)."""
    doc = _loaded(text)
    if "operations" in doc:
        doc = {"rules": doc.get("rules"), **doc["operations"][0]}
    return _facts(doc), datetime.fromisoformat(doc["at"]), doc.get("rules")


def evaluations_of(text: str | dict) -> list[tuple[int | None, list[dict], datetime]]:
    """Every evaluation a record keeps: `(operation index or None, facts, request time)` — one for a single
    change, one per judged operation for a change set."""
    doc = _loaded(text)
    if "operations" not in doc:
        return [(None, _facts(doc), datetime.fromisoformat(doc["at"]))]
    return [(op["operation"], _facts(op), datetime.fromisoformat(op["at"])) for op in doc["operations"]]


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
