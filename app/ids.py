"""Identifiers Karma mints: `<prefix>-<12 hex>` (chg-…, log-…, tok-…). At the bottom of the tree, so
every package may use it without importing upwards."""

from __future__ import annotations

import hashlib
import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


def keyed_id(prefix: str, key: str) -> str:
    """The id a change made with Idempotency-Key `key` gets, the same on every attempt: a 503
    `outcome_unknown` names it, and the replay that applies the change (its first commit had not landed)
    applies it under that id, so the id the client was told is never a 404 for ever."""
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=6, person=b"karma-idem-key")
    return f"{prefix}-{digest.hexdigest()}"
