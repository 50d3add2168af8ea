"""What the rules saw, kept in the audit entry (``karma rules replay``, app.ruletools.replay, re-evaluates it).

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
from datetime import datetime

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
