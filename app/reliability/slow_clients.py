"""A request's headers, and then its body, have a bounded time to arrive (`KARMA_CLIENT_TIMEOUT`), whatever its rate.

Why: a client sending a body one byte every few seconds held a worker (then a thread) for as long as it
liked — rate limits count requests, and this one had not arrived yet. The WSGI middleware below gives
request a body deadline; a reaper thread per process shuts the read side of a connection whose body is
overdue (a blocked read sees the end at once, and gunicorn does not wait again draining the rest), and
the read answers a JSON 408 `request_timeout` (werkzeug's RequestTimeout, rendered by app/api/errors.py).
(A socket timeout per read would not do: one read of N bytes is many socket reads, each of which a
trickle satisfies.)

The same reaper bounds the request line and headers (app/gunicorn_worker.py: `watch` once the first
bytes are there, until the app is called). Only under gunicorn (`gunicorn.socket` in the environ); the
Flask test client has no socket to bound.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from gunicorn.http.errors import ParseException
from werkzeug.exceptions import RequestTimeout

from app.errors import BadRequest

_lock = threading.Lock()
_pending: dict[int, tuple[socket.socket, float]] = {}  # id(socket) -> (socket, read deadline)
_reaper_pid: list[int] = []


def _reap() -> None:
    """Shut the read side of every socket whose body is overdue: the blocked read sees the end."""
    while True:
        time.sleep(0.25)
        now = time.monotonic()
        with _lock:
            due = [key for key, (_, until) in _pending.items() if until <= now]
            socks = [_pending.pop(key)[0] for key in due]
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RD)


def watch(sock: socket.socket, until: float) -> None:
    import os  # noqa: PLC0415 - the reaper is per process (gunicorn forks workers)

    with _lock:
        _pending[id(sock)] = (sock, until)
        if _reaper_pid != [os.getpid()]:
            _reaper_pid[:] = [os.getpid()]
            threading.Thread(target=_reap, name="karma-body-reaper", daemon=True).start()


def unwatch(sock: socket.socket) -> None:
    with _lock:
        _pending.pop(id(sock), None)


def _malformed_body(exc: ParseException) -> BadRequest:
    """gunicorn parses a chunked body's framing as the app reads it, and says what is wrong by raising
    from that read: the request's fault (400 naming it), not the server's (it was a 500). gunicorn then
    closes the connection: where the next request would start is unknown."""
    return BadRequest(f"the request body's chunked framing is invalid: {str(exc)[:200]}", cause="malformed_body")


class TimedInput:
    """`wsgi.input` whose reads all end by `until` (time.monotonic()): past it, a 408. The socket is
    watched only while a read waits, so an app that reaches the body late (a busy moment before its first
    read) still reads what has arrived: the budget measures the client, not the server."""

    def __init__(self, stream, until: float, seconds: float, sock: socket.socket | None = None):
        self._stream, self._until, self._seconds, self._sock = stream, until, seconds, sock

    def _call(self, method: str, *args):
        until = max(self._until, time.monotonic() + 0.5)  # a late read: a moment for what is already there
        if self._sock is not None:
            watch(self._sock, until)
        try:
            data = getattr(self._stream, method)(*args)
        except OSError:
            data = None
        except ParseException as exc:  # a chunk size that is no number, a chunk without its CRLF...
            raise _malformed_body(exc) from None
        finally:
            if self._sock is not None:
                unwatch(self._sock)
        if time.monotonic() >= until:
            raise RequestTimeout(f"the request body did not arrive within {self._seconds:g} s (KARMA_CLIENT_TIMEOUT)")
        if data is None:
            raise RequestTimeout("the connection failed while the request body was read")
        return data

    def read(self, *args):
        return self._call("read", *args)

    def readline(self, *args):
        return self._call("readline", *args)

    def readlines(self, *args):
        return self._call("readlines", *args)

    def __iter__(self):
        return iter(self.readline, b"")


class BoundedBodies:
    """WSGI middleware: the body budget starts when the app is called (the headers have arrived)."""

    def __init__(self, app, seconds: float):
        self.app, self.seconds = app, seconds

    def __call__(self, environ, start_response):
        sock = environ.get("gunicorn.socket")
        if sock is None or self.seconds <= 0 or "wsgi.input" not in environ:
            return self.app(environ, start_response)
        until = time.monotonic() + self.seconds
        environ["wsgi.input"] = TimedInput(environ["wsgi.input"], until, self.seconds, sock)
        return self.app(environ, start_response)
