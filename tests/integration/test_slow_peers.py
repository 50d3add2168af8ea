"""Slow or stuck peers do not take the API down (issue 26), on the real server (gunicorn, 127.0.0.1):

- six clients trickling a /plan body, and one trickling its headers: /healthz and authenticated reads keep
  answering, and the trickling clients are cut with a JSON 408 (or a closed connection) within the client
  timeout;
- the malformed requests gunicorn answers itself are JSON 4xx naming the cause, and write nothing.

Time bounds are liveness bounds with wide margins: a test fails on "never answered", not on a target."""

from __future__ import annotations

import contextlib
import json
import select
import socket
import threading
import time

import pytest
import requests

from tests.integration.servers import gunicorn, wait_for

SLOW = 6
LIVE = 10.0  # seconds: an answer at all (the failure being fixed was 62 s, or never)


def raw(url: str, data: bytes, timeout: float = 15) -> bytes:
    """Send `data` as is and read the whole answer (the server closes after a protocol error)."""
    host, port = url.rsplit("/", 1)[-1].split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        return read_answer(sock)


def read_answer(sock: socket.socket) -> bytes:
    chunks: list[bytes] = []
    while not _complete(b"".join(chunks)):
        try:
            chunk = sock.recv(65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _complete(answer: bytes) -> bool:
    head, sep, body = answer.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def parse(answer: bytes) -> tuple[int, dict, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)}
    return int(lines[0].split()[1]), headers, json.loads(body)


@pytest.fixture(scope="module")
def server(service_env, repo, tmp_path_factory):
    env = {**service_env, "KARMA_CLIENT_TIMEOUT": "4", "KARMA_THREADS": "8"}
    server = gunicorn(env, workers=2, log=tmp_path_factory.mktemp("gunicorn") / "stderr.log")
    try:
        server.wait_ready(90)
        yield server
    finally:
        server.stop()


MALFORMED = {
    "negative_content_length": b"POST /plan HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    "non_ascii_path": b"GET /components/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
    "long_url": b"GET /components?" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "long_header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n",
    "chunked_and_length": (
        b"POST /plan HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
    "nul_in_header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
    "too_many_headers": b"GET /healthz HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(1000)) + b"\r\n",
    # the body's framing is parsed as the app reads it: its errors came up through the app as a 500
    "chunk_size_not_a_number": (
        b"POST /plan HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"ZZ\r\n{}\r\n0\r\n\r\n"
    ),
    "chunk_without_terminator": (
        b"POST /request-change HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n"
    ),
    "chunked_bad_trailer": (
        b"POST /plan HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\n{}\r\n0\r\nNo colon here\r\n\r\n"
    ),
    # HTTP/1.1 requires Host (RFC 9112 3.2: a 400); it was served
    "http11_without_host": b"GET /healthz HTTP/1.1\r\nConnection: keep-alive\r\n\r\n",
    # waited KARMA_CLIENT_TIMEOUT for a blank line the parser would never take, then a 408
    "chunked_trailer_bare_lf": (
        b"POST /plan HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\n{}\r\n0\r\nX-T: 1\n\r\n"
    ),
}
EXPECTED = {
    "long_url": 414,
    "long_header": 431,
    "too_many_headers": 431,
    "chunk_size_not_a_number": 400,
    "chunk_without_terminator": 400,
    "chunked_bad_trailer": 400,
    "chunked_trailer_bare_lf": 400,
    "http11_without_host": 400,
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_requests_are_json_4xx(server, world, graph_dump, name):
    before = graph_dump()
    status, headers, body = parse(raw(server.url, MALFORMED[name]))
    assert 400 <= status < 500, (status, body)
    assert headers["content-type"].startswith("application/json")
    assert body["code"] == status and body["message"] and body["cause"], body
    if name in EXPECTED:
        assert status == EXPECTED[name], body
    if name == "http11_without_host":
        assert "Host" in body["message"], body
    # where the next request would start is unknown: the connection is closed, and the answer says so (a
    # broken chunked body's 400 said `keep-alive`, and the connection was closed under it)
    assert headers["connection"] == "close", headers
    assert graph_dump() == before
    assert server.answers("/healthz")


def request_change(auth: str, *extra: bytes) -> bytes:
    """A /request-change that applies (200) when sent with one of each header; `extra` header lines added."""
    body = json.dumps({"component": "ecs-service/karma-dev-ingest", "proposed_change": {"desired_count": 7}})
    head = [
        b"POST /request-change HTTP/1.1",
        b"Host: x",
        b"Content-Type: application/json",
        b"Content-Length: %d" % len(body),
        f"Authorization: {auth}".encode(),
        *extra,
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + body.encode()


@pytest.mark.parametrize(
    "header,extra",
    [
        ("Authorization", [b"Authorization: Bearer not-a-token"]),  # the first token was not used alone...
        ("Authorization", ["Authorization: {auth}"]),  # ...nor the same one twice, as "<a>,Bearer <a>"
        ("Content-Type", [b"Content-Type: text/plain"]),
        ("Content-Length", [b"Content-Length: 2"]),  # two lengths: where the body ends is ambiguous
        ("Host", [b"Host: elsewhere"]),
    ],
)
def test_a_header_that_holds_one_value_sent_twice_is_a_400_naming_it(server, auth_headers, graph_dump, header, extra):
    """gunicorn joins a repeated header with a comma: two Authorization headers reached the app as one
    token, "<a>,Bearer <b>", a 401 `invalid_token` that did not say why. A header that holds one value,
    sent twice, is a JSON 400 naming it (gunicorn's own for Host, Content-Type and Content-Length; the
    worker's for Authorization), before the app runs: nothing changes, and the connection is closed.
    (Idempotency-Key twice is the app's 422, test_hostile_input.py; X-Request-Id twice is replaced.)"""
    before = graph_dump()
    auth = auth_headers["Authorization"]
    lines = [line.format(auth=auth).encode() if isinstance(line, str) else line for line in extra]
    status, headers, body = parse(raw(server.url, request_change(auth, *lines)))
    assert status == 400 and body["cause"] == "malformed_request", (status, body)
    assert header.lower() in body["message"].lower(), body
    assert headers["connection"] == "close", headers
    assert graph_dump() == before
    status, _, body = parse(raw(server.url, request_change(auth, b"Connection: close")))
    assert status == 200 and body["status"] == "applied", body  # with each header once, it applies


CHUNKED_HEAD = b"POST /plan HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"


@pytest.mark.parametrize(
    "chunks",
    [
        b"FFFFFFFF\r\n{",  # one chunk announcing 4 GiB, a byte of it sent
        b"2\r\n{}\r\n40000\r\n",  # 2 bytes, then 256 KiB announced: over the limit only together
    ],
)
def test_a_chunk_announcing_more_than_the_limit_is_a_413_at_once(server, auth_headers, graph_dump, chunks):
    """A chunk-size line announcing more than KARMA_MAX_BODY_BYTES is refused when it is read. The body
    used to be read up to the limit first: the server waited for bytes that were announced and never sent,
    and answered a 408 after KARMA_CLIENT_TIMEOUT. The connection is closed after the 413 (the rest of
    the body is not read)."""
    before = graph_dump()
    head = CHUNKED_HEAD + f"Authorization: {auth_headers['Authorization']}\r\n\r\n".encode()
    host, port = server.url.rsplit("/", 1)[-1].split(":")
    with socket.create_connection((host, int(port)), timeout=LIVE) as sock:
        sock.sendall(head + chunks)  # and nothing more: the client waits
        status, headers, body = parse(read_answer(sock))
        assert status == 413, (status, body)
        assert headers["content-type"].startswith("application/json")
        assert body["cause"] == "body_too_large" and body["limit"] == 256 * 1024, body
        assert "KARMA_MAX_BODY_BYTES" in body["message"], body
        assert headers["connection"] == "close", headers  # it said `keep-alive`, and then closed
        assert sock.recv(1024) == b"", "the connection stays open after a refused body"
    assert graph_dump() == before


@pytest.mark.parametrize(
    "head",
    [
        # a length of 13 digits: the event loop does not gather its body, a thread reads it (BoundedBodies)
        b"POST /plan HTTP/1.1\r\nHost: x\r\nContent-Length: 0000000000040\r\n",
        # a thread read it too (now the event loop gathers it, and its 408 says close as well)
        b"POST /plan HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nExpect: 100-continue\r\nContent-Length: 40\r\n",
    ],
)
def test_a_body_that_times_out_on_a_thread_is_a_408_that_says_the_connection_closes(server, auth_headers, head):
    """A length-framed body read by the app that does not arrive in KARMA_CLIENT_TIMEOUT is a JSON 408 and
    its connection is closed (its read side is shut): the answer said `Connection: keep-alive` (only a
    chunked body's reader knew its request, to mark it), and a client reusing the connection met a close."""
    host, port = server.url.rsplit("/", 1)[-1].split(":")
    auth = f"Authorization: {auth_headers['Authorization']}\r\nContent-Type: application/json\r\n\r\n".encode()
    with socket.create_connection((host, int(port)), timeout=LIVE) as sock:
        sock.sendall(head + auth + b'{"component": ')  # 14 of the 40 bytes, and then nothing
        status, headers, body = parse(read_answer(sock))
        assert status == 408 and body["cause"] == "request_timeout", (status, body)
        assert headers["connection"] == "close", headers  # it said `keep-alive`
        assert _read_until_end(sock) == b"", "the connection stays open after the 408"


ANNOUNCING = 20  # clients announcing a body over the limit: more than both workers' threads (2 x 8)


def test_a_body_announced_over_the_limit_is_refused_and_its_connection_closed_at_once(server, auth_headers):
    """A Content-Length over KARMA_MAX_BODY_BYTES is refused without reading the body (the app's 413; a 401
    first without a token), and the answer used to keep the connection alive: gunicorn then drained the
    unread body on the request's thread for up to 5 s. 20 such clients that sent a little and waited held
    both workers' threads, and /healthz waited 9.5 s. Now the answer says `Connection: close` and the
    server closes at once, reading nothing more of the body on a thread."""
    host, port = server.url.rsplit("/", 1)[-1].split(":")
    head = b"POST /plan HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n"
    clients = []
    try:
        for n in range(ANNOUNCING):
            sock = socket.create_connection((host, int(port)), timeout=LIVE)
            auth = f"Authorization: {auth_headers['Authorization']}\r\n".encode() if n else b""
            sock.sendall(head + auth + b"\r\n" + b"{" * 1000)  # and then nothing: the client waits
            clients.append(sock)
        started = time.monotonic()
        assert requests.get(f"{server.url}/healthz", timeout=LIVE).status_code == 200
        for n, sock in enumerate(clients):
            answer = _read_until_end(sock)
            status, headers, body = parse(answer)
            assert status == (413 if n else 401), (status, body)
            assert headers["connection"] == "close", headers
        closed = time.monotonic() - started
        assert closed < 3, f"the connections were closed {closed:.1f} s after (gunicorn drained each for 5 s)"
    finally:
        for sock in clients:
            sock.close()


def _read_until_end(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (bounded by the socket's timeout)."""
    received = bytearray()
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            received += chunk
    return bytes(received)


class Trickle:
    """A client sending its request one byte per `step` seconds (bounded: `limit` bytes), recording what
    the server answered and when."""

    def __init__(self, url: str, head: bytes, body_bytes: int, *, step: float = 1.0, limit: int = 30):
        host, port = url.rsplit("/", 1)[-1].split(":")
        self.addr, self.head, self.body_bytes, self.step, self.limit = (host, int(port)), head, body_bytes, step, limit
        self.answer: bytes | None = None
        self.seconds: float | None = None
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        started = time.monotonic()
        with socket.create_connection(self.addr, timeout=LIVE * 3) as sock:
            try:
                sock.sendall(self.head)
                for _ in range(self.limit):
                    sock.sendall(b" ")
                    if select.select([sock], [], [], self.step)[0]:
                        break  # the server answered (or closed): stop sending
            except OSError:  # the server gave up on us: fine, read what it said
                pass
            self.answer = read_answer(sock)
        self.seconds = time.monotonic() - started


def test_slow_clients_do_not_take_the_api_down(server, auth_headers):
    body_head = (
        b"POST /plan HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n"
        + f"Authorization: {auth_headers['Authorization']}\r\n\r\n".encode()
    )
    clients = [Trickle(server.url, body_head, 1000) for _ in range(SLOW)]
    clients.append(Trickle(server.url, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", 0, step=2.0, limit=15))
    for client in clients:
        client.thread.start()
    time.sleep(1.0)  # let them all be connected and trickling
    slowest = 0.0
    for _ in range(10):  # bounded: ten rounds while they trickle
        started = time.monotonic()
        assert requests.get(f"{server.url}/healthz", timeout=LIVE).status_code == 200
        resp = requests.get(f"{server.url}/components?page_size=5", headers=auth_headers, timeout=LIVE)
        assert resp.status_code == 200, resp.text[:300]
        slowest = max(slowest, time.monotonic() - started)
        time.sleep(0.3)
    print(f"slowest /healthz + read while {SLOW} clients trickle: {slowest:.3f} s")
    for client in clients:
        client.thread.join(timeout=LIVE * 4)
        assert not client.thread.is_alive(), "a trickling client was never let go"
    for client in clients[:SLOW]:  # the body tricklers: a JSON 408 within the client timeout (4 s) + margin
        status, headers, body = parse(client.answer)
        assert status == 408 and body["cause"] == "request_timeout", body
        assert client.seconds < 4 + LIVE, client.seconds
    header_trickler = clients[-1]  # cut (connection closed) long before its 30 s of bytes
    assert header_trickler.seconds < 4 + LIVE, header_trickler.seconds
    assert wait_for(lambda: server.answers("/healthz"), LIVE, what="/healthz after the slow clients")


IDLE = 200  # connections that send nothing: far more than the server's threads (2 workers x 8)


def test_connections_that_send_nothing_cost_no_thread(server, auth_headers):
    """A connection that has sent nothing waits in the worker's event loop, not on a thread: gthread let
    each new connection hold a thread for 5 s first, so 200 silent connections (a cheap flood, or a
    browser's preconnects at scale) queued every real request behind ~60 s of waiting threads."""
    host, port = server.url.rsplit("/", 1)[-1].split(":")
    silent = []
    try:
        for _ in range(IDLE):
            silent.append(socket.create_connection((host, int(port)), timeout=LIVE))
        resp = requests.get(f"{server.url}/healthz", timeout=LIVE)
        assert resp.status_code == 200
        resp = requests.get(f"{server.url}/components?page_size=5", headers=auth_headers, timeout=LIVE)
        assert resp.status_code == 200, resp.text[:300]
    finally:
        for sock in silent:
            sock.close()


PARKED = 40  # clients stopped part-way through their request: more than both workers' threads (2 x 8)
PARTS = {
    "headers": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a",
    "body": b"POST /plan HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{",
    # only a body's first 64 KiB was gathered in the event loop: the rest was waited for on a thread
    "large_body": (
        b"POST /plan HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        + b" " * (64 * 1024 + 1)
    ),
    # a chunked body went to a thread with its head
    "chunked_body": CHUNKED_HEAD + b"\r\nffff\r\n{",
    # an HTTP/1.0 request's `100-continue` is ignored: it went to a thread with its head, which waited
    "http10_expecting_body": (
        b"POST /plan HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nContent-Type: application/json\r\n"
        b"Expect: 100-continue\r\nContent-Length: 100\r\n\r\n{"
    ),
}


@pytest.mark.parametrize("part", sorted(PARTS))
def test_requests_arriving_slowly_cost_no_thread(server, auth_headers, part):
    """A request whose headers or body (up to KARMA_MAX_BODY_BYTES, chunked or not) are still arriving waits
    in the worker's event loop, not on a thread. gthread gave each such connection a thread from its first byte, so 12 clients stopped in the
    middle of their headers held one worker's 8 threads, and the requests that worker accepted queued behind
    them until KARMA_CLIENT_TIMEOUT cut them. Here 40 such clients (both workers' threads, twice over) are
    connected while real requests are answered; every one of those answers comes before any slow client is
    let go (none of their sockets has anything to read yet), and then each slow client gets a JSON 408."""
    host, port = server.url.rsplit("/", 1)[-1].split(":")
    parked = []
    try:
        for _ in range(PARKED):
            sock = socket.create_connection((host, int(port)), timeout=LIVE)
            sock.sendall(PARTS[part])
            parked.append(sock)
        time.sleep(0.3)  # let the workers take them in
        for _ in range(3):  # bounded
            assert requests.get(f"{server.url}/healthz", timeout=LIVE).status_code == 200
            resp = requests.get(f"{server.url}/components?page_size=5", headers=auth_headers, timeout=LIVE)
            assert resp.status_code == 200, resp.text[:300]
        readable, _, _ = select.select(parked, [], [], 0)
        assert not readable, f"{len(readable)} slow clients were answered or cut before the real requests were"
        for sock in parked:  # each is let go with a JSON 408 once its time is up (4 s here)
            status, _, body = parse(read_answer(sock))
            assert status == 408 and body["cause"] == "request_timeout", body
    finally:
        for sock in parked:
            sock.close()


EXPECTING = b"POST /plan HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"


def test_clients_expecting_100_continue_cost_no_thread_while_their_body_arrives(server, auth_headers):
    """A client sending `Expect: 100-continue` waits for the 100 before its body. gunicorn said it from the
    request's thread, which then waited for the body: 24 such clients trickling held both workers' 16
    threads for KARMA_CLIENT_TIMEOUT. The 100 is now said by the event loop, which gathers the body too:
    40 such clients stopped after the 100 leave real requests answered, then each gets a JSON 408; and a
    client that sends its body is answered after exactly one 100."""
    host, port = server.url.rsplit("/", 1)[-1].split(":")
    parked = []
    try:
        for _ in range(PARKED):
            sock = socket.create_connection((host, int(port)), timeout=LIVE)
            sock.sendall(EXPECTING + b"Content-Length: 50\r\n\r\n")
            parked.append(sock)
        for sock in parked:
            assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        for _ in range(3):  # bounded
            assert requests.get(f"{server.url}/healthz", timeout=LIVE).status_code == 200
            resp = requests.get(f"{server.url}/components?page_size=5", headers=auth_headers, timeout=LIVE)
            assert resp.status_code == 200, resp.text[:300]
        readable, _, _ = select.select(parked, [], [], 0)
        assert not readable, f"{len(readable)} slow clients were answered or cut before the real requests were"
        for sock in parked:
            status, _, body = parse(read_answer(sock))
            assert status == 408 and body["cause"] == "request_timeout", body
    finally:
        for sock in parked:
            sock.close()
    body = json.dumps({"component": "vpc/karma-dev", "proposed_change": {"cidr": "10.0.0.0/16"}}).encode()
    head = EXPECTING + f"Authorization: {auth_headers['Authorization']}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    with socket.create_connection((host, int(port)), timeout=LIVE) as sock:
        sock.sendall(head)
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        status, _, answer = parse(read_answer(sock))
    assert status in (200, 422), (status, answer)  # one 100, then the answer itself (a second 100 would be read here)


UNCLOSED = 40  # clients that are answered and never close their end


def test_clients_that_never_close_do_not_stall_the_worker(server):
    """After its last answer on a connection (`Connection: close`, a protocol error) the worker closes its
    end and waits for the client to close too, so a reset does not cut the answer (RFC 9112 9.6). gthread
    waited up to 2 s per connection on the worker's event loop, which then accepted nothing: 40 clients that
    asked with `Connection: close` and kept their end open held the service for 35 s. Each such wait is now
    a registration in that loop, and the service answers at once; each client still has its whole answer."""
    host, port = server.url.rsplit("/", 1)[-1].split(":")
    unclosed = []
    try:
        for _ in range(UNCLOSED):
            sock = socket.create_connection((host, int(port)), timeout=LIVE)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            unclosed.append(sock)
        time.sleep(0.5)  # let the workers answer them all
        for _ in range(3):  # bounded; the failure being fixed answered after 35 s
            assert requests.get(f"{server.url}/healthz", timeout=LIVE).status_code == 200
        for sock in unclosed:
            status, _, body = parse(read_answer(sock))
            assert status == 200 and body["status"] == "ok", body
    finally:
        for sock in unclosed:
            sock.close()


NOT_READING = 20  # clients that ask and never read: more than both workers' threads (2 x 8)
PIPELINED = 60  # /openapi.json answers (~120 KB each) per client: more than the kernel buffers hold (~1-4 MB)
LET_GO = "client too slow to read its answer"  # the worker's log line when it drops one


def test_clients_that_stop_reading_cost_no_thread(server):
    """An answer the client does not read is written by the worker's event loop, not by a thread blocked on
    the socket. gunicorn wrote with a blocking send and no deadline: 40 clients that asked (60 pipelined
    requests each, 7 MB of answers) and read nothing held every thread of both workers for as long as they
    stayed connected. Now real requests are answered meanwhile, and each such client is let go (its
    connection closed, before all its answers; the log says so) once its answer has waited past its time.
    The wait is for those log lines, not a fixed sleep: on a loaded machine the workers take a while to
    write the megabytes that fill the buffers before any answer waits."""
    host, port = server.url.rsplit("/", 1)[-1].split(":")
    request = b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n"
    already = server.log_tail(10**7).count(LET_GO)
    readers = []
    try:
        for _ in range(NOT_READING):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(LIVE)
            sock.connect((host, int(port)))
            sock.sendall(request * PIPELINED)
            readers.append(sock)
        for _ in range(10):  # bounded; each on a new connection, which either worker may accept
            assert requests.get(f"{server.url}/healthz", timeout=LIVE).status_code == 200
        wait_for(
            lambda: server.log_tail(10**7).count(LET_GO) >= already + NOT_READING,
            120,
            step=0.5,
            what=f"{NOT_READING} clients that read nothing let go",
        )
        for sock in readers:
            assert _read_until_closed(sock) < PIPELINED, "a client that read nothing was never let go"
    finally:
        for sock in readers:
            sock.close()


def _read_until_closed(sock: socket.socket) -> int:
    """How many answers arrive before the server closes the connection (bounded by the socket timeout)."""
    received = bytearray()
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(1 << 20):
            received += chunk
    return received.count(b"HTTP/1.1 200")
