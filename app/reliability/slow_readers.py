"""Answers that a client reads slowly, or not at all, are written by the worker's event loop, not by a thread.

Why: gunicorn writes an answer with a blocking send and no deadline. A client that asks and then reads
nothing held the thread writing to it for as long as it stayed connected: 40 clients with a few
pipelined requests each (more answer than the kernel buffers hold, ~3 MB per connection here) held
every thread of both workers, and the service answered nothing else. So a thread writes only what the
socket takes at once (`Unsent.write`); the rest is held, and the worker's event loop writes it as the
client reads (`Unsent.flush_later`). The connection goes on (its next request, or its close) once its
answer is out. A client that has not read it all within KARMA_CLIENT_TIMEOUT plus a second per 64 KiB of
what was held is let go: its connection is closed.

The same loop also does the wait that ends a connection (`Lingering`). Both are registrations in the
worker's selector: no thread waits for a slow peer, and neither does the loop.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import ssl
import time
from collections.abc import Callable
from functools import partial

log = logging.getLogger("karma.reliability")

RATE = 64 * 1024  # bytes a second a client reading a held answer is given, beyond KARMA_CLIENT_TIMEOUT


class Unsent:
    """Per worker process: the part of each connection's answer its socket has not taken yet."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.held: dict[int, bytearray] = {}  # fileno -> bytes still to write (only its one thread adds)
        self.flushing: dict[int, tuple[socket.socket, float, Callable, Callable]] = {}  # the event loop's

    def write(self, sock, data) -> None:
        """What gunicorn's write does, without waiting: the rest of `data` is held for the event loop.
        Once anything is held for a socket, later writes queue behind it, so the bytes stay in order."""
        if isinstance(sock, ssl.SSLSocket):  # a TLS socket takes no send flags: gunicorn's own write
            sock.sendall(data)
            return
        fd = sock.fileno()
        held = self.held.get(fd)
        if held is not None:
            held += data
            return
        sent = _send_what_fits(sock, memoryview(data))
        if sent < len(data):
            self.held[fd] = bytearray(memoryview(data)[sent:])

    def pending(self, sock) -> bool:
        with contextlib.suppress(OSError):
            return sock.fileno() in self.held
        return False

    def flush_later(self, sock, poller, then: Callable[[], None], drop: Callable[[], None]) -> None:
        """Write what is held for `sock` as it drains, then call `then`; call `drop` if it fails or the
        client is past its time (the caller closes the connection)."""
        fd = sock.fileno()
        deadline = time.monotonic() + self.seconds + len(self.held[fd]) / RATE
        self.flushing[fd] = (sock, deadline, then, drop)
        try:
            poller.register(sock, selectors.EVENT_WRITE, partial(self._flush, poller))
        except (OSError, ValueError, KeyError):
            self._end(fd, poller, failed=True)

    def _flush(self, poller, sock) -> None:
        fd = sock.fileno()
        held = self.held.get(fd)
        if held is None:
            return
        try:
            sent = _send_what_fits(sock, memoryview(held))
        except OSError:
            self._end(fd, poller, failed=True)
            return
        del held[:sent]
        if not held:
            self._end(fd, poller, failed=False)

    def reap(self, poller, now: float) -> None:
        for fd in [fd for fd, (_, deadline, _, _) in self.flushing.items() if deadline <= now]:
            unsent = len(self.held[fd])
            log.warning("client too slow to read its answer: connection closed", extra={"unsent_bytes": unsent})
            self._end(fd, poller, failed=True)

    def _end(self, fd: int, poller, *, failed: bool) -> None:
        sock, _, then, drop = self.flushing.pop(fd)
        self.held.pop(fd, None)
        with contextlib.suppress(OSError, KeyError, ValueError):
            poller.unregister(sock)
        (drop if failed else then)()


def _send_what_fits(sock, view: memoryview) -> int:
    sent = 0
    while sent < len(view):
        try:
            sent += sock.send(view[sent:], socket.MSG_DONTWAIT)
        except InterruptedError:
            continue
        except BlockingIOError:
            break
    return sent


class Lingering:
    """Connections closed after their last answer, lingering in the event loop until the peer closes too.

    Why: gthread closes such a connection "gracefully" (RFC 9112 9.6: send FIN, then read until the peer
    closes, so a reset does not cut the answer), but it lingers up to 2 s on the worker's event loop,
    blocking it. 40 clients that sent `Connection: close` and never closed held one worker's loop for
    35 s: it accepted nothing meanwhile. Here the wait is a registration in that loop: the peer's close
    (or what it still sends, up to 64 KiB) is read as it comes, and after 2 s the socket is closed anyway.
    """

    SECONDS, MAX_DRAIN = 2.0, 65536

    def __init__(self):
        self.socks: dict[socket.socket, list] = {}  # socket -> [deadline, bytes drained]

    def add(self, sock, poller) -> None:
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
            poller.register(sock, selectors.EVENT_READ, partial(self.drain, poller))
        except (OSError, ValueError, KeyError):
            close_quietly(sock)
            return
        self.socks[sock] = [time.monotonic() + self.SECONDS, 0]

    def drain(self, poller, sock) -> None:
        try:
            data = sock.recv(self.MAX_DRAIN)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        entry = self.socks.get(sock)
        if entry is None:
            return
        entry[1] += len(data)
        if not data or entry[1] >= self.MAX_DRAIN:
            self.close(sock, poller)

    def reap(self, poller, now: float) -> None:
        for sock in [s for s, (deadline, _) in self.socks.items() if deadline <= now]:
            self.close(sock, poller)

    def close(self, sock, poller) -> None:
        self.socks.pop(sock, None)
        with contextlib.suppress(OSError, KeyError, ValueError):
            poller.unregister(sock)
        close_quietly(sock)


def close_quietly(sock) -> None:
    with contextlib.suppress(OSError):
        sock.close()
