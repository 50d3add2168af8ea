"""Plan ids: a signed, self-contained record of what was planned.

A plan must be appliable later by any API process on any host, while `/plan` writes nothing to the
graph. So the plan id carries the request, the version of the component and of every component in
the impact set, and the rule-set fingerprint, signed with HMAC-SHA256 (`KARMA_PLAN_SECRET`, shared by
all API hosts; by default a random secret kept in `.karma/plan-secret`, mode 0600).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from functools import lru_cache
from pathlib import Path

from app.errors import NotFound
from app.settings import plan_secret_source

PREFIX = "plan1."


def _secret() -> bytes:
    secret, location = plan_secret_source()
    if secret:
        return secret.encode()
    return _file_secret(str(location))


@lru_cache(maxsize=4)
def _file_secret(location: str) -> bytes:
    """Read once per process (created on first use, 0600, race-free across workers)."""
    path = Path(location)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    except FileExistsError:
        pass
    return path.read_text().strip().encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(prefix: str, body: str) -> str:
    # the prefix is signed too: a transition proposal's id (prop1.) can never pass for a plan id
    signed = body if prefix == PREFIX else f"{prefix}{body}"
    return _b64(hmac.new(_secret(), signed.encode(), hashlib.sha256).digest())


def sign(payload: dict, prefix: str = PREFIX) -> str:
    body = _b64(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode())
    return f"{prefix}{body}.{_mac(prefix, body)}"


def verify(plan_id: str, prefix: str = PREFIX, what: str = "plan") -> dict:
    """The payload of a plan id (or another signed id, e.g. a transition proposal's) this deployment
    issued; 404 for anything else."""
    try:
        assert plan_id.startswith(prefix)
        body, mac = plan_id[len(prefix) :].rsplit(".", 1)
        assert hmac.compare_digest(mac, _mac(prefix, body))
        return json.loads(_unb64(body))
    except (AssertionError, ValueError, json.JSONDecodeError):
        raise NotFound(f"unknown {what} id (not issued by this Karma, or altered)", cause=f"unknown_{what}") from None


def planned_request(payload: dict) -> dict:
    """The change a plan's payload holds, as a change set's body (a plan signed before every change was a
    set carries the single form under "request")."""
    return payload["set"] if "set" in payload else payload["request"]


def planned_change(plan_id: str) -> dict:
    """The change a plan id this deployment issued was made for — for the console's "Plan again" on a stale
    plan (as a stale proposal's 409 carries its change, `propose_again`): the signed id holds it, nothing
    was stored. 404 for an id it did not issue."""
    return planned_request(verify(plan_id))
