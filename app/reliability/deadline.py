"""One deadline per request, which every wait on Neo4j and every retry loop respects.

Why: each wait was bounded on its own (connect, pool, transaction, retries), but they add up — a write
re-run 8 times after its impact moved, each attempt up to the transaction timeout, could outlive
gunicorn's worker timeout, whose answer is an HTML 500. A request now starts with one deadline
(`KARMA_REQUEST_DEADLINE`, below the worker timeout); the graph layer bounds each Bolt read and write
by it (a silent server is a lost connection at the deadline, app/graph/bolt_deadline.py), clamps each
transaction's server-side timeout to what is left, and the retry loops stop when it has passed. The
answer is then a JSON 503 `deadline_exceeded` — or `outcome_unknown` with the change_id when the
COMMIT was in flight.

A part of a request can get a tighter bound (`bounded`): a request probing a database that was down
waits at most `KARMA_NEO4J_PROBE_TIMEOUT`; a runtime report leaves time to answer after its queue pass
(`leaving`). Code outside a request (CLI, queue worker) has no deadline unless it sets one.

A contextvar (per thread in gunicorn's sync workers): no import of Flask or the driver here.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar, Token

from app.errors import ServiceUnavailable

_deadline: ContextVar[float | None] = ContextVar("karma_deadline", default=None)


class DeadlineExceeded(ServiceUnavailable):
    """The request ran out of its time before its work was done: nothing was written."""

    def __init__(self, what: str = "the request", retry_after: float = 2):
        super().__init__(
            f"{what} ran out of time (the request deadline); nothing was changed, retry later",
            retry_after=retry_after,
            cause="deadline_exceeded",
        )


def at() -> float | None:
    """The current deadline (time.monotonic()), or None when there is none."""
    return _deadline.get()


def remaining() -> float | None:
    """Seconds left (never negative), or None when there is no deadline."""
    limit = _deadline.get()
    return None if limit is None else max(0.0, limit - time.monotonic())


def expired() -> bool:
    limit = _deadline.get()
    return limit is not None and time.monotonic() >= limit


def check(what: str = "the request") -> None:
    """Raise DeadlineExceeded once the deadline has passed (call it before each retry, each attempt)."""
    if expired():
        raise DeadlineExceeded(what)


def clamp(seconds: float) -> float:
    """`seconds`, or less if the deadline comes first (a transaction's server-side timeout)."""
    left = remaining()
    return seconds if left is None else max(0.001, min(seconds, left))


def start(seconds: float | None) -> Token:
    """Begin a request's deadline (None or <= 0: none); give the token to `reset` when it ends."""
    return _deadline.set(time.monotonic() + seconds if seconds and seconds > 0 else None)


def reset(token: Token) -> None:
    try:
        _deadline.reset(token)
    except ValueError:  # set in another context: end it plainly
        _deadline.set(None)


@contextlib.contextmanager
def bounded(seconds: float | None) -> Iterator[None]:
    """Within the block, at most `seconds` more (None: unchanged); the outer deadline is restored after."""
    if seconds is None:
        yield
        return
    limit, ours = _deadline.get(), time.monotonic() + seconds
    token = _deadline.set(ours if limit is None else min(limit, ours))
    try:
        yield
    finally:
        _deadline.reset(token)


@contextlib.contextmanager
def leaving(seconds: float) -> Iterator[None]:
    """Within the block, the deadline comes `seconds` earlier: the time kept to answer after it."""
    limit = _deadline.get()
    if limit is None:
        yield
        return
    token = _deadline.set(limit - seconds)
    try:
        yield
    finally:
        _deadline.reset(token)
