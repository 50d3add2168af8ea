"""A frozen Neo4j is noticed in seconds, and the requests waiting on it are let go (JSON 503).

Why: a killed Neo4j refuses connections, which the driver reports at once; a frozen one (SIGSTOP, a
stuck disk, a full GC pause, a network black hole) accepts connections and never answers, so every
request waited for its whole deadline (30 s) and held its thread meanwhile — /readyz took 31 s.

Every Bolt socket wait is registered here (app/graph/bolt_deadline.py) with its start time. A watchdog
thread per process (Availability.watch) looks at the oldest wait: older than `KARMA_NEO4J_STALL_AFTER`,
it pings Neo4j on another connection (a long query is not a frozen server: the ping answers), and if the
ping does not answer within the same bound, the database is marked down — new requests get 503 at once
— and the sockets of the waits older than the bound are shut: the driver sees a lost connection and the
request answers 503 `database_unavailable` (or `outcome_unknown` if its COMMIT was in flight).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar


class DatabaseStalled(Exception):
    """Neo4j accepted a query and answers nothing, not even a ping."""


_lock = threading.Lock()
_waits: dict[int, tuple[socket.socket, float]] = {}
_unwatched: ContextVar[bool] = ContextVar("karma_unwatched", default=False)


@contextlib.contextmanager
def waiting(sock: socket.socket) -> Iterator[None]:
    """Around one Bolt socket wait."""
    if _unwatched.get():
        yield
        return
    key = id(sock)
    with _lock:
        _waits[key] = (sock, time.monotonic())
    try:
        yield
    finally:
        with _lock:
            _waits.pop(key, None)


@contextlib.contextmanager
def unwatched() -> Iterator[None]:
    """The watchdog's own ping is not a wait to judge."""
    token = _unwatched.set(True)
    try:
        yield
    finally:
        _unwatched.reset(token)


def oldest() -> float | None:
    """Seconds the oldest wait in progress has lasted, or None."""
    with _lock:
        starts = [started for _, started in _waits.values()]
    return time.monotonic() - min(starts) if starts else None


def sever(older_than: float) -> int:
    """Shut the sockets of the waits older than `older_than` seconds; how many."""
    now = time.monotonic()
    with _lock:
        stuck = [sock for sock, started in _waits.values() if now - started >= older_than]
    for sock in stuck:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    return len(stuck)
