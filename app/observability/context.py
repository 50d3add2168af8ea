"""The request id of the work in progress, as a contextvar (no Flask here: the log formatter, the
commit builder and the queue worker all read it the same way).

An incoming `X-Request-Id` is kept only if it is short and of a safe charset; anything else is
replaced by a generated id, so a hostile header never reaches a log line, a response or Neo4j.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

REQUEST_ID_MAX = 128
_VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}")

_current: ContextVar[str | None] = ContextVar("karma_request_id", default=None)


def generate(prefix: str = "req") -> str:
    return f"{prefix}-{secrets.token_hex(8)}"


def accept(raw: str | None) -> str:
    """The header's value if it is valid (1–128 chars of [A-Za-z0-9._:@/+=-], not starting with a
    symbol), else a new id."""
    if raw and _VALID.fullmatch(raw):
        return raw
    return generate()


def current() -> str | None:
    return _current.get()


def bind(request_id: str):
    """Set the current request id; returns the token for `unbind`."""
    return _current.set(request_id)


def unbind(token) -> None:
    _current.reset(token)


@contextmanager
def bound(request_id: str | None = None, prefix: str = "req") -> Iterator[str]:
    """Run a block (a worker pass, a CLI command) under a request id of its own."""
    rid = request_id or generate(prefix)
    token = _current.set(rid)
    try:
        yield rid
    finally:
        _current.reset(token)


def stamp(audit: dict, change_request: dict) -> tuple[dict, dict]:
    """The commit's audit entry and change request with the current request id: every audit entry
    gets the id of the request (or worker pass) that wrote it; a change request keeps the id of the
    request that created it (a new one carries `created_at`)."""
    rid = current()
    if rid is None:
        return audit, change_request
    if "created_at" in change_request and "request_id" not in change_request:
        change_request = {**change_request, "request_id": rid}
    return {**audit, "request_id": rid}, change_request
