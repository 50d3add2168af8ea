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

from gunicorn.http.body import ChunkedReader
from gunicorn.http.errors import ParseException
from werkzeug.exceptions import RequestEntityTooLarge, RequestTimeout

from app.errors import BadRequest

# The attribute of a request's body (gunicorn's `Body`, the app's wsgi.input) naming the request it belongs
# to, set by app/gunicorn_worker.py: how a failed read marks the answer `Connection: close`.
OWNER = "karma_request"

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
            self._closes_after_answer()
            raise _malformed_body(exc) from None
        except RequestEntityTooLarge:  # chunks announcing more than the limit (refuse_chunks_over)
            self._closes_after_answer()
            raise
        finally:
            if self._sock is not None:
                unwatch(self._sock)
        if time.monotonic() >= until:
            self._closes_after_answer()
            raise RequestTimeout(f"the request body did not arrive within {self._seconds:g} s (KARMA_CLIENT_TIMEOUT)")
        if data is None:
            self._closes_after_answer()
            raise RequestTimeout("the connection failed while the request body was read")
        return data

    def _closes_after_answer(self) -> None:
        """A body whose read failed or ran out of time ends its connection (gunicorn closes it: where the
        next request would start is unknown, and a timed-out socket's read side is shut). Marked on
        gunicorn's request (`OWNER`, set by the worker on every body: a length-framed body's reader holds
        no request, a chunked one's does) so that the answer says `Connection: close`: a 408 for a body
        with a Content-Length said `keep-alive`, and the connection was closed under it."""
        request = getattr(self._stream, OWNER, None)
        if request is not None:
            request.force_close()

    def refuse_chunks_over(self, max_bytes: int) -> None:
        """A chunked body is a 413 once its chunk-size lines announce more than `max_bytes` in all, when
        such a line is read. Reading `max_bytes + 1` bytes first (app/reliability/bodies.py) waited for
        bytes a client had announced (`FFFFFFFF`) and never sent: a 408 after KARMA_CLIENT_TIMEOUT."""
        reader = getattr(self._stream, "reader", None)
        if isinstance(reader, ChunkedReader):  # its parser looks the method up on each chunk: ours first
            reader.parse_chunk_size = _announced_within(reader.parse_chunk_size, max_bytes)

    def read(self, *args):
        return self._call("read", *args)

    def readline(self, *args):
        return self._call("readline", *args)

    def readlines(self, *args):
        return self._call("readlines", *args)

    def __iter__(self):
        return iter(self.readline, b"")


def _announced_within(parse_chunk_size, max_bytes: int):
    """gunicorn's chunk-size parser, counting what the chunks announce. Raised from the body's read,
    the 413 marks the body failed: gunicorn closes the connection (the rest of the body is not drained)."""
    announced = 0

    def parse(unreader, data=None):
        nonlocal announced
        size, rest = parse_chunk_size(unreader, data)
        announced += size
        if announced > max_bytes:
            raise RequestEntityTooLarge(f"the request body's chunks announce more than {max_bytes} bytes")
        return size, rest

    return parse


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


# --- A request arrives in the worker's event loop, not on a thread -------------------------------------

READY, WAITING, LATE = "ready", "waiting", "late"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
CHUNK_FRAMING = 2  # a chunked body is gathered up to this many times the body limit in bytes, framing included


class Arrival:
    """What has arrived of a connection's next request, gathered without a thread (app/gunicorn_worker.py).

    Why: gthread gives a connection a thread from its first byte, and the thread then waits on the socket
    for the rest of the headers and the body. Clients stopped part-way (a few dozen are cheap to open) held
    every thread of a worker, and the requests that worker accepted queued behind them until
    KARMA_CLIENT_TIMEOUT cut them. Here each wake-up of the event loop reads what the socket holds, without
    blocking, and the connection is handed to a thread — what arrived put in the parser's own buffer
    (gunicorn's unreader, which the parser reads first) — only once the request line, the headers and the
    whole body are there. The headers have `seconds` from their first byte, then the body `seconds` more.

    The whole body, up to the body limit (`max_body`, KARMA_MAX_BODY_BYTES): 16 clients trickling the
    rest of a 100 KB body held both workers' threads for 10 s each, and the requests queued behind them
    waited (only its first 64 KiB was gathered here); a chunked body went to a thread with its head, so
    a few bytes a thread sufficed. A chunked body is followed chunk by chunk (`_chunks_complete`) up to
    its last chunk and trailers. A body announcing more than the limit (its Content-Length, or its
    chunks in all) goes over at once: the app answers the 413 without waiting for it. The bytes held
    per connection are so bounded by the largest head plus the limit (twice it for a chunked body's
    framing); what a client sends beyond that waits in the kernel, and the request goes over as it is.

    The head is complete at its blank line (`CRLF CRLF`, the only ending gunicorn's parser accepts).
    Anything the parser would refuse at once (a bare LF, a line or a head over gunicorn's limits, a chunk
    size that is no number) or the end of the stream is handed over as it is: the parser then answers it,
    so its errors stay gunicorn's. A client that sends `Expect: 100-continue` waits for our 100 before
    sending its body: the 100 is said from here (`_continue`) and the body gathered like any other. A
    length that is not one plain number goes to a thread with its head, as before.
    """

    def __init__(self, seconds: float, max_head: int, max_line: int, max_body: int):
        self.seconds, self.max_head, self.max_line, self.max_body = seconds, max_head, max_line, max_body
        self.continued = False  # `100 Continue` said here for the request being handed over (`said_continue`)
        self.reset()

    def feed(self, sock: socket.socket, unreader) -> str:
        """Read what `sock` holds and say whether the request can be handed over (then it is in `unreader`)."""
        self.held += unreader.take_buffered()  # read ahead by the parser: a pipelined request's start
        ended = False
        try:
            while len(self.held) < self._most():
                data = sock.recv(min(65536, self._most() - len(self.held)), socket.MSG_DONTWAIT)
                if not data:
                    ended = True
                    break
                self.held += data
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            ended = True  # a reset: the parser meets it on its own read
        state = self._state(ended, time.monotonic())
        if state == WAITING and self.expects_continue and not self.continued:
            state = self._continue(sock)
        if state == READY:
            unreader.unread(bytes(self.held))
            self.reset()
        return state

    def _continue(self, sock: socket.socket) -> str:
        """Say `100 Continue` from here to a client that waits for it before sending its body, so the
        body arrives here too (gunicorn said it from the request's thread, which then waited for the
        body: clients that asked and trickled held a thread each). If the socket does not take the 25
        bytes at once, the request goes over as it is, and gunicorn says it as before."""
        with contextlib.suppress(OSError):
            if sock.send(CONTINUE, socket.MSG_DONTWAIT) == len(CONTINUE):
                self.continued = True
                return WAITING
        return READY

    def said_continue(self) -> bool:
        """Whether the request just handed over was told `100 Continue` here (asked once, by the worker,
        so gunicorn does not say it again)."""
        said, self.continued = self.continued, False
        return said

    def _most(self) -> int:
        """The bytes held at most: the largest head, and the body limit (twice it for a chunked body)."""
        return self.max_head + self.max_body * (CHUNK_FRAMING if self.chunked else 1)

    def _state(self, ended: bool, now: float) -> str:
        if ended or self._complete(now) or len(self.held) >= self._most():
            return READY
        if self.until is None:
            self.until = now + self.seconds
        return LATE if now >= self.until else WAITING

    def _complete(self, now: float) -> bool:
        if self.head_end is None:
            end = self.held.find(b"\r\n\r\n", self.searched)
            if end < 0:
                self.searched = max(0, len(self.held) - 3)
                return self._parser_would_refuse(self.held)
            self.head_end = self.scanned = end + 4
            head = bytes(self.held[: self.head_end])
            self.chunked, self.body_length, self.expects_continue = _body_framing(head)
            self.until = now + self.seconds  # the body's own budget, from the end of the headers
        if self.chunked:
            return self._chunks_complete()
        body_length = self.body_length if self.body_length <= self.max_body else 0  # over: the app's 413
        return len(self.held) - self.head_end >= body_length

    def _chunks_complete(self) -> bool:
        """Whether the chunked body is all there (its last chunk and trailers), or is one to hand over as
        it is: framing gunicorn's parser refuses, or chunks announcing more than the limit in all."""
        held = self.held
        while not self.trailers:
            eol = held.find(b"\r\n", self.scanned)
            if eol < 0:
                return len(held) - self.scanned > self.max_line + 2  # the parser's "line too long"
            size = _chunk_size(bytes(held[self.scanned : eol]))
            if size is None:
                return True  # the parser's 400
            if self.announced + size > self.max_body:
                return True  # the app's 413
            if size == 0:
                self.trailers, self.scanned = True, eol + 2
                self.searched = self.lf_counted = self.scanned  # the trailers are searched like the head
            elif len(held) < eol + 2 + size + 2:
                return False  # this line is read again on the next wake-up
            else:
                self.scanned, self.announced = eol + 2 + size + 2, self.announced + size
        return self._trailers_complete(held)

    def _trailers_complete(self, held: bytearray) -> bool:
        """Whether the trailer section has ended (an empty line), or holds a bare LF (the parser's 400 at
        once: it waited KARMA_CLIENT_TIMEOUT for a blank line that would never come, then a 408). Each
        wake-up searches only what is new, as for the head."""
        if len(held) - self.scanned < 2:
            return False
        if held.startswith(b"\r\n", self.scanned):
            return True
        ended = held.find(b"\r\n\r\n", self.searched) >= 0
        self.searched = max(self.searched, len(held) - 3)
        return ended or self._bare_line_feed(held)

    def _parser_would_refuse(self, held: bytearray) -> bool:
        line_end = held.find(b"\r\n", 2 if held.startswith(b"\r\n") else 0)
        too_long = len(held) > self.max_head or (line_end < 0 and len(held) > self.max_line + 2)
        return too_long or self._bare_line_feed(held)

    def _bare_line_feed(self, held: bytearray) -> bool:
        """Whether what arrived since the last wake-up holds a LF without its CR (the parser's 400). Only
        the new bytes are counted (a CRLF split across two wake-ups is counted from its CR): counting the
        whole head again on each wake-up cost 0.45 s of CPU, the GIL held, for one ~800 KB head sent in
        1 KB pieces (4.6 s in 100-byte pieces), and grew with the square of its size."""
        start, self.lf_counted = self.lf_counted, len(held)
        return held.count(b"\n", start) != held.count(b"\r\n", max(0, start - 1))

    def reset(self) -> None:
        """The request was handed over: the next one on this connection starts afresh."""
        self.held = bytearray()  # what arrived, in the order it did; the parser's once handed over
        self.until: float | None = None  # the deadline of what is awaited: headers, then body
        self.head_end: int | None = None  # where the body starts in `held`, once the head is in
        self.searched = 0  # where the search for the head's end goes on (each wake-up scans only what is new)
        self.lf_counted = 0  # the head's bytes already counted for a bare LF (each wake-up counts what is new)
        self.chunked, self.body_length, self.expects_continue = False, 0, False
        self.scanned, self.announced, self.trailers = 0, 0, False  # a chunked body's next size line, its sum

    def overdue(self, now: float) -> bool:
        return self.until is not None and now >= self.until

    def awaited(self) -> str:
        return "headers" if self.head_end is None else "body"


def _body_framing(head: bytes) -> tuple[bool, int, bool]:
    """(chunked, length, expects 100-continue) of the body to wait for: a chunked body, or one plain
    Content-Length, of a request that expects nothing or `100-continue` (in as many Expect
    headers as it likes: gunicorn takes each; two went over with the head, gunicorn said the 100 from the
    thread, and the thread waited for the body); anything else (another expectation: gunicorn's 417; no or
    several lengths, an unusual Transfer-Encoding) goes over with the head."""
    lines = head.split(b"\r\n")
    expects = [
        value.strip().lower()
        for name, _, value in (line.partition(b":") for line in lines[1:])
        if name.strip().lower() == b"expect"
    ]
    if expects and set(expects) != {b"100-continue"}:
        return False, 0, False
    chunked, length = _plain_framing(lines[1:])
    # an HTTP/1.0 request's `100-continue` is ignored (RFC 9110 10.1.1; gunicorn does): its body is sent
    # without a 100 and gathered here like any other (it went to a thread with its head, which waited for it)
    continues = bool(expects) and lines[0].endswith(b" HTTP/1.1")
    return chunked, length, continues and (chunked or length > 0)


def _plain_framing(lines: list[bytes]) -> tuple[bool, int]:
    lengths: list[bytes] = []
    codings: list[bytes] = []
    for line in lines:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"transfer-encoding":
            codings.append(value.strip().lower())
        if name == b"content-length":
            lengths.append(value.strip())
    if codings:
        return (codings == [b"chunked"] and not lengths), 0
    if len(lengths) != 1 or not lengths[0].isdigit() or len(lengths[0]) > 12:
        return False, 0
    return False, int(lengths[0])


def _chunk_size(line: bytes) -> int | None:
    """A chunk-size line's size as gunicorn's parser reads it (extensions after `;`), None if it refuses it."""
    size, semicolon, _ = line.partition(b";")
    if semicolon:
        size = size.rstrip(b" \t")
    if not size or any(c not in b"0123456789abcdefABCDEF" for c in size):
        return None
    return int(size, 16)
