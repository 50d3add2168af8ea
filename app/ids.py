"""Identifiers Karma mints: `<prefix>-<12 hex>` (chg-…, log-…, tok-…). At the bottom of the tree, so
every package may use it without importing upwards."""

from __future__ import annotations

import hashlib
import json
import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


def keyed_id(prefix: str, key: str, scope: str) -> str:
    """The id a change made with Idempotency-Key `key` by identity `scope` gets, the same on every attempt:
    a 503 `outcome_unknown` names it, and the replay that applies the change (its first commit had not
    landed) applies it under that id, so the id the client was told is never a 404 for ever. A key is its
    sender's own, so the scope is in the id: two people's same key are two changes, never one id. The pair
    is hashed as a JSON list, so no (scope, key) split of the same characters collides with another."""
    material = json.dumps([scope, key]).encode("ascii")  # ensure_ascii: a lone surrogate is escaped, not lost
    digest = hashlib.blake2b(material, digest_size=6, person=b"karma-idem-scope")
    return f"{prefix}-{digest.hexdigest()}"
