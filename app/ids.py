"""Identifiers Karma mints: `<prefix>-<12 hex>` (chg-…, log-…, tok-…), and the short handles of the long
signed ids it issues (plan-…, prop-…). At the bottom of the tree, so every package may use it without
importing upwards: the server names a signed id by the handle the CLI prints (app/client/handles.py keeps
them locally)."""

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


# signed ids (plan ids, transition proposal ids: 450–800 characters) → the kind of their handle
SIGNED_KINDS = {"plan1.": "plan", "prop1.": "prop"}


def handle_of(full_id: str) -> str:
    """`plan-3f9a2c1d`: a digest of the signed id, so the same id always gets the same handle."""
    kind = next((k for prefix, k in SIGNED_KINDS.items() if full_id.startswith(prefix)), "plan")
    return f"{kind}-{hashlib.sha256(full_id.encode()).hexdigest()[:8]}"


def shortened(path: str) -> str:
    """A request path with each signed id in it named by its handle: the server's messages quote the path
    (a viewer's 403 on `POST /transitions/<id>/execute`), and the id is 450–800 characters of signed text."""
    return "/".join(handle_of(p) if p.startswith(tuple(SIGNED_KINDS)) else p for p in path.split("/"))
