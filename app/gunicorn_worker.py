"""The gunicorn worker Karma runs: gunicorn's threaded worker (gthread), hardened against slow peers.

Why threads (docs/operations.md "Worker model"): with sync workers one connection held one process, so six
clients sending a body a byte at a time held every worker until gunicorn's timeout killed them all, and a
frozen Neo4j did the same with one request per worker. Here a worker accepts and waits for a request's
first bytes in its event loop (gunicorn's gthread), runs requests on `KARMA_THREADS` threads, and:

- a request arrives in the event loop: a connection gets a thread only once its request line, headers and
  whole body (up to KARMA_MAX_BODY_BYTES, chunked or not) are there (`slow_clients.Arrival`), so clients
  stopped part-way cost no thread. The headers have `KARMA_CLIENT_TIMEOUT` seconds from their first
  byte and the body as long again, whatever the rate; then the client gets a JSON 408 and the connection is closed;
- an answer is written by a thread only as far as the socket takes it at once; the event loop writes
  the rest as the client reads, and lets a client go that has not read it in its time
  (app/reliability/slow_readers.py `Unsent`); the close after a last answer waits there too (`Lingering`);
- the `100 Continue` a client sending `Expect: 100-continue` waits for is said by the event loop, which
  then gathers its body like any other (gunicorn said it from the request's thread);
- what a thread still reads (a chunked body whose framing outgrew what the loop holds) has
  `KARMA_CLIENT_TIMEOUT` seconds in all to arrive
  (app/reliability/slow_clients.py `BoundedBodies`): a body trickling in is a JSON 408;
- what gunicorn answers itself, before the app sees the request (a malformed request line, a negative
  Content-Length, chunked plus Content-Length, a 10 KB URL: 414, a header over 8 KB: 431) is JSON in
  Karma's error shape, not gunicorn's HTML page; so is a header that holds one value sent twice
  (`ONE_VALUE_HEADERS`, besides gunicorn's own Host, Content-Type and Content-Length), and an HTTP/1.1
  request without Host;
- a request announcing a body over KARMA_MAX_BODY_BYTES is answered (the app's 413) with `Connection:
  close` and closed at once, not drained on its thread for up to 5 s first.

Async workers (gevent) were not chosen: the Neo4j driver's synchronous API and durable_rules (a C
extension holding a process-wide lock) would block the event loop; a buffering proxy (nginx) is what a
deployment puts in front anyway, but it is not something the project can install or start with `make run`.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from functools import partial
from http import HTTPStatus

from gunicorn import util
from gunicorn.http.errors import InvalidHeader
from gunicorn.workers import gthread

from app.reliability import slow_clients
from app.reliability.slow_readers import Lingering, Unsent, close_quietly
from app.settings import Settings

CAUSES = {
    400: "malformed_request",
    403: "forbidden",
    408: "request_timeout",
    414: "uri_too_long",
    417: "expectation_failed",
    431: "headers_too_large",
    500: "internal_error",
    501: "unsupported_transfer_coding",
}


# Request headers Karma reads as one value, which gunicorn does not already refuse twice (it does Host,
# Content-Type, Content-Length and a second chunked Transfer-Encoding). gunicorn joins a repeated header
# with a comma: two Authorization headers reached the app as one token "<a>,Bearer <b>" (a 401
# `invalid_token` that did not say why). Not here: Idempotency-Key (the app names two different keys, 422,
# and takes the same key twice: app/api/changes.py) and X-Request-Id (an invalid id is replaced, never
# refused: docs/observability.md), nor list-valued headers (Accept, X-Forwarded-For...).
ONE_VALUE_HEADERS = ("AUTHORIZATION",)


class RepeatedHeader(InvalidHeader):
    """A header that holds one value, sent more than once: gunicorn's 400 for a malformed header (JSON,
    `malformed_request`, the connection closed), saying which and why."""

    def __str__(self):
        return f"the {self.hdr.title()} header is sent more than once: it holds one value, send it once"


class MissingHost(InvalidHeader):
    """An HTTP/1.1 request without Host: RFC 9112 (3.2) has a server answer 400, and gunicorn served it.
    HTTP/1.0 has no such rule."""

    def __str__(self):
        return "the Host header is missing: an HTTP/1.1 request must send one (RFC 9112, 3.2)"


def lacks_host(req) -> bool:
    return req.version >= (1, 1) and not any(name == "HOST" for name, _ in req.headers)


def repeated_header(headers: list[tuple[str, str]]) -> str | None:
    """The first of ONE_VALUE_HEADERS that `headers` (gunicorn's parsed list, names upper-cased) repeats."""
    names = [name for name, _ in headers if name in ONE_VALUE_HEADERS]
    return next((name for i, name in enumerate(names) if name in names[:i]), None)


def announces_more_than(headers: list[tuple[str, str]], max_body: int) -> bool:
    """Whether the request's Content-Length (one number: gunicorn refused anything else) is over the body
    limit: the app will not read that body (its 413, or an answer that needs none)."""
    lengths = [value for name, value in headers if name == "CONTENT-LENGTH"]
    return len(lengths) == 1 and lengths[0].strip().isdigit() and int(lengths[0]) > max_body


def json_error(status: int, reason: str, message: str) -> bytes:
    """Karma's error body (app/api/errors.py) for an answer gunicorn gives before the app runs."""
    cause = CAUSES.get(status, "malformed_request")
    body = {
        "code": status,
        "status": reason,
        "error": "internal_error" if status >= 500 and status != 501 else "bad_request",
        "message": message or reason,
        "cause": cause,
    }
    return json.dumps(body).encode()


def _phrase(status: int, reason: str) -> str:
    """gunicorn's reason, unless it left its default on another code: an unknown transfer coding was
    answered `501 Bad Request` (and a configuration problem `500 Bad Request`)."""
    if reason == "Bad Request" and status != 400:
        with contextlib.suppress(ValueError):
            return HTTPStatus(status).phrase
    return reason


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """Replaces gunicorn.util.write_error (its HTML page) in Karma's workers. Sent as far as the socket
    takes it at once, never waited for: the connection is closed right after (a few hundred bytes, which
    a socket nearly always takes whole)."""
    reason = _phrase(status_int, reason)
    body = json_error(status_int, reason, mesg)
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n"
    )
    with contextlib.suppress(OSError):
        sock.send(head.encode("latin-1") + body, socket.MSG_DONTWAIT)


def _close_now(sock) -> None:
    """Close after our last answer without lingering for the peer (gunicorn's close_graceful waits up to
    2 s for it, on whatever thread closes): what the peer sent is read already, so the close sends a FIN,
    not a reset that could cut the answer."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
    with contextlib.suppress(OSError):
        while sock.recv(65536, socket.MSG_DONTWAIT):
            pass
    close_quietly(sock)


def _closes(fs) -> bool:
    """Whether gthread's finish_request would close this connection gracefully (its request said
    `Connection: close`, or failed): a cancelled request, or one whose handler answered False."""
    if fs.cancelled():
        return True
    try:
        return fs.result() is False
    except Exception:  # noqa: BLE001 - gthread closes those at once itself
        return False


class KarmaWorker(gthread.ThreadWorker):
    """gthread whose requests arrive, and whose answers leave, in the event loop, with time bounds; JSON
    protocol errors."""

    def init_process(self):
        settings = Settings.from_env()
        self.client_timeout, self.max_body = settings.client_timeout, settings.max_body_bytes
        self.lingering = Lingering()
        self.unsent = Unsent(self.client_timeout)
        util.write_error = write_json_error  # gunicorn's own answers (base.Worker.handle_error) as JSON
        util.write, util.write_chunk = self._write, self._write_chunk  # answers never wait on a slow reader
        super().init_process()

    def _write(self, sock, data, chunked=False):
        if chunked:
            self._write_chunk(sock, data)
        else:
            self.unsent.write(sock, data)

    def _write_chunk(self, sock, data):
        data = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        self.unsent.write(sock, b"%X\r\n%s\r\n" % (len(data), data))

    def handle(self, conn):
        # A new connection with nothing to read yet goes to the worker's event loop at once (gthread's
        # _DEFER), and comes back to a thread when bytes arrive; so does one whose request is still
        # arriving (slow_clients.Arrival). gthread itself waited up to 5 s here, and then for the rest of
        # the request, on a thread: a few hundred silent connections, or a few dozen stopped part-way,
        # held every thread and queued real requests behind them.
        fresh = not conn.initialized and not conn.data_ready
        if fresh and not conn.wait_for_data(0):
            return gthread._DEFER  # noqa: SLF001 - gthread's own "back to the event loop"
        state = self._arrival(conn)
        if state == slow_clients.WAITING:
            return gthread._DEFER  # noqa: SLF001
        if state == slow_clients.LATE:
            self._too_slow(conn)
            return False
        slow_clients.watch(conn.sock, time.monotonic() + self.client_timeout)  # a head the parser reads on
        try:
            return super().handle(conn)
        finally:
            slow_clients.unwatch(conn.sock)

    def _arrival(self, conn) -> str:
        """Gather what has arrived of the connection's next request (slow_clients.Arrival), or READY when
        this connection is not one the worker gathers for (TLS, HTTP/2)."""
        try:
            conn.init()
        except Exception:  # noqa: BLE001 - gthread's handle() meets and reports the same failure
            return slow_clients.READY
        if conn.is_http2 or self.cfg.is_ssl:
            return slow_clients.READY
        arrival = getattr(conn, "karma_arrival", None)
        if arrival is None:
            limits = (*self._head_limits(), self.max_body)
            arrival = conn.karma_arrival = slow_clients.Arrival(self.client_timeout, *limits)
        return arrival.feed(conn.sock, conn.parser.unreader)

    def _head_limits(self) -> tuple[int, int]:
        """The largest head and request line gunicorn's parser reads before refusing them (431 / 414)."""
        field = self.cfg.limit_request_field_size or 8190
        fields = self.cfg.limit_request_fields or 100
        line = self.cfg.limit_request_line or 8190
        return line + 2 + fields * (field + 2) + 4, line

    def _too_slow(self, conn) -> None:
        arrival = conn.karma_arrival
        message = (
            f"the request's {arrival.awaited()} did not arrive within {self.client_timeout:g} s (KARMA_CLIENT_TIMEOUT)"
        )
        arrival.reset()
        with contextlib.suppress(OSError):
            write_json_error(conn.sock, 408, "Request Timeout", message)
        _close_now(conn.sock)

    def finish_request(self, conn, fs):
        if self.unsent.pending(conn.sock):  # the answer first, then what the connection does next
            then, drop = partial(self.finish_request, conn, fs), partial(self._drop, conn)
            self.unsent.flush_later(conn.sock, self.poller, then, drop)
            return
        if not self.cfg.is_ssl and _closes(fs):
            self.nr_conns -= 1
            self.lingering.add(conn.sock, self.poller)
            return
        super().finish_request(conn, fs)
        arrival = getattr(conn, "karma_arrival", None)
        if arrival is not None and arrival.until is not None and conn in self.pending_conns:
            conn.timeout = arrival.until  # parked part-way: its own budget, not keep-alive's 5 s of silence

    def murder_pending(self):
        """gthread's, for connections parked part-way too: each has its own deadline, so the queue is not in
        deadline order, and one let go for being late is told so (a JSON 408) before it is closed."""
        now = time.monotonic()
        self.lingering.reap(self.poller, now)
        self.unsent.reap(self.poller, now)
        for conn in [c for c in self.pending_conns if c.timeout <= now]:
            self.pending_conns.remove(conn)
            with contextlib.suppress(OSError, KeyError, ValueError):
                self.poller.unregister(conn.sock)
            self.nr_conns -= 1
            arrival = getattr(conn, "karma_arrival", None)
            if arrival is not None and arrival.overdue(now):
                self._too_slow(conn)
            else:
                conn.close()

    def murder_keepalived(self, force=False):
        super().murder_keepalived(force)
        if force:  # the worker is stopping: nothing lingers past it
            self.lingering.reap(self.poller, float("inf"))
            self.unsent.reap(self.poller, float("inf"))

    def _drop(self, conn) -> None:
        """A connection whose answer could not be written, or not in time: closed at once."""
        self.nr_conns -= 1
        close_quietly(conn.sock)

    def handle_request(self, req, conn):
        slow_clients.unwatch(conn.sock)  # the headers are in; the body has its own budget (BoundedBodies)
        repeated = repeated_header(req.headers)
        if repeated:  # before the app: gunicorn answers it (handle_error) and closes
            raise RepeatedHeader(repeated, req=req)
        if lacks_host(req):
            raise MissingHost("HOST", req=req)
        if announces_more_than(req.headers, self.max_body):
            # Its answer (the app's 413, or a 401 first) says `Connection: close` and the connection is
            # closed at once: kept alive, gunicorn drained the unread body on this thread for up to 5 s
            # first (20 such clients kept /healthz waiting 9.5 s).
            req.force_close()
        if req.body is not None:  # a body read that fails or times out closes the connection, and says so
            setattr(req.body, slow_clients.OWNER, req)
        arrival = getattr(conn, "karma_arrival", None)
        if arrival is not None and arrival.said_continue():
            req._expected_100_continue = False  # noqa: SLF001 - said by the event loop (Arrival), not twice
        return super().handle_request(req, conn)
