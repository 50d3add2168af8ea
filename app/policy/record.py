"""What the rules saw, kept in the audit entry (``karma rules replay``, app.ruletools.replay, re-evaluates it).

The record (AuditEntry property ``facts``, compact JSON) holds the facts of one evaluation once each:
``{"v": 1, "at": <request time>, "rules": <fingerprint>, "change": {...}, "component": {...},
"impacted": [rows], "siblings": [rows]}`` — the change and component facts are shared by every row, so
they are stored once, and nothing derived (time, counts, overlaps) is stored: it is derived again from
``at`` and the rows. A record over 16 KiB (a wide impact) is stored zlib-compressed
(``{"v": 1, "zlib": <base64>, "bytes": n}``). It answers the auditor's "what did the rules know when
they allowed this?", and lets a rule set be replayed against history without the live graph: replaying
reads audit entries only and writes nothing. Sizes are in docs/rules.md ("Replaying rules against history").

A change set's record (version 2) keeps one evaluation per judged operation. What its operations share is
stored once: the set's components (every operation's ``change.set_components``) and each row (an
impacted row, a sibling) that several operations saw, in a table the operations name by position. The
operations of a 2,000-operation import share one list of 2,000 ids and up to 256 siblings each: stored
per operation, as version 1 did, its record grew with the square of its size (17.5 MB compressed, 3.4 s
to write, at 2,000 operations). Version 1 records are still read.
"""

from __future__ import annotations

import json
from datetime import datetime

from app import packing
from app.policy.derive import aware

VERSION = 1
SET_VERSION = 2  # a change set's record: shared rows and set components stored once (see the docstring)
READ = (VERSION, SET_VERSION)
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
    return packing.envelope(text, COMPRESS_ABOVE, 6, v=doc["v"])


def record(facts: list[dict], at: datetime, rules: str | None) -> str:
    """The compact audit record of one evaluation's facts (see the module docstring)."""
    return _packed({"v": VERSION, "rules": rules, **_doc(facts, at)})


def set_record(evaluations: list[tuple[int, list[dict]]], at: datetime, rules: str | None) -> str:
    """The record of a change set: one evaluation per judged operation, `(operation index, its facts)`, in
    the order they were judged (``{"v": 2, "rules", "set_components", "rows", "operations": [{"operation",
    "at", "change", "component", "impacted": [row positions], "siblings": [row positions]}]}``)."""
    table = _Rows()
    shared = None
    ops = []
    for index, facts in evaluations:
        doc = _doc(facts, at)
        change = doc["change"]
        if isinstance(change, dict) and "set_components" in change:
            if shared is None:
                shared = change["set_components"]
            if change["set_components"] == shared:  # the same set: named once for all operations
                doc["change"] = {k: v for k, v in change.items() if k != "set_components"}
        doc["impacted"] = table.positions(doc["impacted"])
        doc["siblings"] = table.positions(doc["siblings"])
        ops.append({"operation": index, **doc})
    out = {"v": SET_VERSION, "rules": rules, "rows": table.rows, "operations": ops}
    if shared is not None:
        out["set_components"] = shared
    return _packed(out)


class _Rows:
    """The rows of a set's record, each stored once: a row object several operations share (a sibling row
    is built once per state of its node) is recognised by identity, then rows by content. Identities stay
    valid: every row is held by the evaluations being recorded for as long as this table lives."""

    def __init__(self) -> None:
        self.rows: list = []
        self._by_id: dict[int, int] = {}
        self._by_content: dict[str, int] = {}

    def positions(self, rows: list) -> list[int]:
        return [self._position(row) for row in rows]

    def _position(self, row) -> int:
        found = self._by_id.get(id(row))
        if found is None:
            key = json.dumps(row, separators=(",", ":"), ensure_ascii=False, sort_keys=True, default=str)
            found = self._by_content.setdefault(key, len(self.rows))
            if found == len(self.rows):
                self.rows.append(row)
            self._by_id[id(row)] = found
        return found


def _loaded(text: str | dict) -> dict:
    doc = json.loads(text) if isinstance(text, str) else text
    inner = packing.opened(doc, header=("v",))
    if inner is not None:
        doc = json.loads(inner)
    if not isinstance(doc, dict) or doc.get("v") not in READ:
        raise ValueError(f"unknown facts record version {doc.get('v') if isinstance(doc, dict) else doc!r}")
    return _expanded(doc) if doc["v"] == SET_VERSION else doc


def _expanded(doc: dict) -> dict:
    """A version 2 set record as version 1 wrote it: each operation with its own rows and set components."""
    rows, shared = doc["rows"], doc.get("set_components")
    ops = []
    for op in doc["operations"]:
        change = op["change"]
        if shared is not None and isinstance(change, dict) and "set_components" not in change:
            change = {**change, "set_components": shared}
        impacted = [rows[i] for i in op.get("impacted") or []]
        ops.append(
            {**op, "change": change, "impacted": impacted, "siblings": [rows[i] for i in op.get("siblings") or []]}
        )
    return {"v": VERSION, "rules": doc.get("rules"), "operations": ops}


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
