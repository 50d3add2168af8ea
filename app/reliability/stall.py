"""A frozen Neo4j is noticed in seconds, and the requests waiting on it are let go (JSON 503).

Why: a killed Neo4j refuses connections, which the driver reports at once; a frozen one (SIGSTOP, a
stuck disk, a full GC pause, a network black hole) accepts connections and never answers, so every
request waited for its whole deadline (30 s) and held its thread meanwhile — /readyz took 31 s.

Every Bolt socket wait of a request is registered here (app/graph/bolt_deadline.py) with its start time. A watchdog
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
from contextvars import ContextVar, Token


class DatabaseStalled(Exception):
    """Neo4j accepted a query and answers nothing, not even a ping."""


_lock = threading.Lock()
_waits: dict[int, tuple[socket.socket, float, object]] = {}  # id(socket) -> (socket, started, owner)
# The Availability of the request being served (set around each request, app/api/auth.py). Only a
# request's waits are judged, and only by its own app's watchdog: the CLI's, the queue worker's and a
# test's own calls are never cut, and two apps in one process never cut each other's.
_owner: ContextVar[object | None] = ContextVar("karma_stall_owner", default=None)


def own(owner: object) -> Token:
    return _owner.set(owner)


def disown(token: Token) -> None:
    try:
        _owner.reset(token)
    except ValueError:  # set in another context
        _owner.set(None)


@contextlib.contextmanager
def waiting(sock: socket.socket) -> Iterator[None]:
    """Around one Bolt socket wait."""
    owner = _owner.get()
    if owner is None:
        yield
        return
    key = id(sock)
    with _lock:
        _waits[key] = (sock, time.monotonic(), owner)
    try:
        yield
    finally:
        with _lock:
            _waits.pop(key, None)


@contextlib.contextmanager
def unowned() -> Iterator[None]:
    """The watchdog's own ping is not a wait to judge."""
    token = _owner.set(None)
    try:
        yield
    finally:
        _owner.reset(token)


def oldest(owner: object) -> float | None:
    """Seconds the oldest of `owner`'s waits in progress has lasted, or None."""
    with _lock:
        starts = [started for _, started, whose in _waits.values() if whose is owner]
    return time.monotonic() - min(starts) if starts else None


def sever(owner: object, older_than: float) -> int:
    """Shut the sockets of `owner`'s waits older than `older_than` seconds; how many."""
    now = time.monotonic()
    with _lock:
        stuck = [sock for sock, started, whose in _waits.values() if whose is owner and now - started >= older_than]
    for sock in stuck:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    return len(stuck)
