"""The gunicorn worker Karma runs: gunicorn's threaded worker (gthread), hardened against slow peers.

Why threads (docs/operations.md "Worker model"): with sync workers one connection held one process, so six
clients sending a body a byte at a time held every worker until gunicorn's timeout killed them all, and a
frozen Neo4j did the same with one request per worker. Here a worker accepts and waits for a request's
first bytes in its event loop (gunicorn's gthread), runs requests on `KARMA_THREADS` threads, and:

- a client sending its request line and headers has `KARMA_CLIENT_TIMEOUT` seconds from its first
  byte to finish them, whatever its rate: then the connection is closed (app/reliability/slow_clients.py);
- a request body has `KARMA_CLIENT_TIMEOUT` seconds in all to arrive (app/reliability/slow_clients.py):
  a body trickling in is a JSON 408, whatever its rate;
- what gunicorn answers itself, before the app sees the request (a malformed request line, a negative
  Content-Length, chunked plus Content-Length, a 10 KB URL: 414, a header over 8 KB: 431) is JSON in
  Karma's error shape, not gunicorn's HTML page.

Async workers (gevent) were not chosen: the Neo4j driver's synchronous API and durable_rules (a C
extension holding a process-wide lock) would block the event loop; a buffering proxy (nginx) is what a
deployment puts in front anyway, but it is not something the project can install or start with `make run`.
"""

from __future__ import annotations

import json
import time

from gunicorn import util
from gunicorn.workers import gthread

from app.reliability import slow_clients
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


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """Replaces gunicorn.util.write_error (its HTML page) in Karma's workers."""
    body = json_error(status_int, reason, mesg)
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


class KarmaWorker(gthread.ThreadWorker):
    """gthread with a time bound on a request's headers and JSON protocol errors."""

    def init_process(self):
        self.client_timeout = Settings.from_env().client_timeout
        util.write_error = write_json_error  # gunicorn's own answers (base.Worker.handle_error) as JSON
        super().init_process()

    def handle(self, conn):
        # A new connection with nothing to read yet goes to the worker's event loop at once (gthread's
        # _DEFER), and comes back to a thread when its first bytes arrive. gthread itself waits up to 5 s
        # here, on a thread: a few hundred silent connections held every thread and queued real requests
        # behind them for a minute. From the first byte, the request line and headers have client_timeout.
        fresh = not conn.initialized and not conn.data_ready
        if fresh and not conn.wait_for_data(0):
            return gthread._DEFER  # noqa: SLF001 - gthread's own "back to the event loop"
        slow_clients.watch(conn.sock, time.monotonic() + self.client_timeout)
        try:
            return super().handle(conn)
        finally:
            slow_clients.unwatch(conn.sock)

    def handle_request(self, req, conn):
        slow_clients.unwatch(conn.sock)  # the headers are in; the body has its own budget (BoundedBodies)
        return super().handle_request(req, conn)
