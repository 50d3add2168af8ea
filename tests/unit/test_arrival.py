"""slow_clients.Arrival: when a request has arrived enough to be handed to a thread (app/gunicorn_worker.py).

A request is handed over once its head and its whole body (up to the body limit; a chunked one to its last
chunk) are in, or at once when gunicorn's parser or the app would answer it anyway (a bare LF, a line or a
head over its limits, a bad chunk size, a body over the limit, the end of the stream), so a slow client
never holds a thread and a malformed one still gets gunicorn's own (JSON) answer."""

from __future__ import annotations

import socket

import pytest
from gunicorn.http.unreader import SocketUnreader

from app.reliability.slow_clients import LATE, READY, WAITING, Arrival


@pytest.fixture
def pair():
    ours, theirs = socket.socketpair()
    yield ours, theirs
    ours.close()
    theirs.close()


def feed(pair, *parts: bytes, seconds: float = 10.0) -> list[str]:
    ours, theirs = pair
    arrival, unreader = Arrival(seconds, max_head=2000, max_line=100, max_body=LIMIT), SocketUnreader(ours)
    states = []
    for part in parts:
        theirs.sendall(part)
        states.append(arrival.feed(ours, unreader))
    return states


HEAD = b"POST /plan HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n"
CHUNKED = b"POST /plan HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
LIMIT = 256 * 1024
HTTP10_EXPECTING = b"POST /plan HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"


@pytest.mark.parametrize(
    ("parts", "states"),
    [
        ([b"GET /healthz HTTP/1.1\r\nHo", b"st: x\r\n", b"\r\n"], [WAITING, WAITING, READY]),
        ([HEAD, b'{"a":', b" 12}"], [WAITING, WAITING, READY]),
        ([HEAD + b'{"a": 12}'], [READY]),
        ([CHUNKED, b"2\r\n{}", b"\r\n0\r\n", b"\r\n"], [WAITING, WAITING, WAITING, READY]),
        ([CHUNKED + b"2;x=1\r\n{}\r\n0\r\nX-T: 1\r\n", b"\r\n"], [WAITING, READY]),  # extension, trailer
        ([CHUNKED + b"0\r\nX-T: 1\r", b"\nX-U: 2\r\n"], [WAITING, WAITING]),  # a trailer's CRLF split
        ([CHUNKED + b"0\r\nX-T: 1\n\r\n"], [READY]),  # a bare LF in a trailer: the parser's 400, not a 408
        ([CHUNKED + b"zz\r\n"], [READY]),  # a chunk size that is no number: the parser's 400
        ([CHUNKED + b"FFFFFFFF\r\n{"], [READY]),  # more than the limit announced: the app's 413 at once
        ([CHUNKED + b"2\r\n{}\r\n40000\r\n"], [READY]),  # over the limit only together
        ([b"POST /plan HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n"], [READY]),  # the app's 413 at once
        ([b"POST /plan HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"], [READY]),  # the parser's 501
        ([HTTP10_EXPECTING, b"12345"], [WAITING, READY]),  # ignored (1.0), the body gathered here: it went over
        ([b"POST /plan HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 999999\r\n\r\n"], [READY]),  # 413
        ([b"POST /plan HTTP/1.1\r\nExpect: x\r\nContent-Length: 5\r\n\r\n"], [READY]),  # the parser's 417
        ([b"POST /plan HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"], [READY]),  # the parser's 400
        ([b"GET / HTTP/1.1\nHost: x\n"], [READY]),  # a bare LF: the parser's 400 at once
        ([b"GET / HTTP/1.1\r", b"\nHost: x\r", b"\n"], [WAITING] * 3),  # a CRLF split by a wake-up is no bare LF
        ([b"GET / HTTP/1.1\r\nHost: x\r\n", b"X: y\n"], [WAITING, READY]),  # a bare LF in a later piece
        ([b"GET /" + b"a" * 200], [READY]),  # a request line over the limit: the parser's 414
        ([b"GET / HTTP/1.1\r\nX: " + b"b" * 2100], [READY]),  # a head over the limit: the parser's 431
    ],
)
def test_handed_over_when_there_or_refused(pair, parts, states):
    assert feed(pair, *parts) == states


def test_an_http10_expectation_is_ignored_and_its_body_gathered_without_a_100(pair):
    """RFC 9110 10.1.1: a server ignores an HTTP/1.0 request's `100-continue` (gunicorn does). Its request
    went to a thread with its head, and the thread waited for the body: 16 clients trickling such bodies
    held both workers' threads for KARMA_CLIENT_TIMEOUT. It is gathered here, and no 100 is said."""
    assert feed(pair, HTTP10_EXPECTING) == [WAITING]
    theirs = pair[1]
    theirs.setblocking(False)
    with pytest.raises(BlockingIOError):
        theirs.recv(100)


def test_what_arrived_is_left_for_the_parser_in_order(pair):
    ours, theirs = pair
    arrival, unreader = Arrival(10.0, 2000, 100, LIMIT), SocketUnreader(ours)
    for part in (b"GET /a HTTP/1.1\r\n", b"Host: x\r\n\r\nGET /b"):
        theirs.sendall(part)
        arrival.feed(ours, unreader)
    assert unreader.take_buffered() == b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b"


def test_a_body_up_to_the_limit_is_handed_over_once_it_is_all_there(pair):
    """Only its first 64 KiB used to be gathered: a client trickling the rest held a thread for it."""
    head = b"POST /plan HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % LIMIT
    parts = (head, b"x" * (64 * 1024 + 1), b"x" * (LIMIT - 64 * 1024 - 2), b"x")
    assert feed(pair, *parts) == [WAITING, WAITING, WAITING, READY]


def test_a_chunked_body_is_handed_over_once_its_last_chunk_is_there(pair):
    """A chunked body went to a thread with its head: a client trickling it held that thread."""
    chunks = [b"%x\r\n%s\r\n" % (size, b"x" * size) for size in (1, 4096, 70_000)]
    parts = (CHUNKED, *chunks, b"0\r\n\r\nGET /next")
    assert feed(pair, *parts) == [WAITING] * 4 + [READY]


def test_a_chunk_trickling_in_is_waited_for_however_many_wake_ups_it_takes(pair):
    """Each wake-up reads the chunk's size line again: it counts towards the limit once, when passed."""
    parts = (CHUNKED + b"ffff\r\n", *[b"x" * 1000] * 60)  # 60,000 of its 65,535 bytes
    assert set(feed(pair, *parts)) == {WAITING}


def test_a_chunked_body_whose_framing_outgrows_what_is_held_goes_over_as_it_is(pair):
    """One-byte chunks take 6 bytes a byte: what is held stays bounded (twice the limit), the thread reads on."""
    ours, theirs = pair
    arrival, unreader = Arrival(10.0, 2000, 100, 1000), SocketUnreader(ours)
    theirs.sendall(CHUNKED + b"1\r\nx\r\n" * 1000)
    assert arrival.feed(ours, unreader) == WAITING  # the head said "chunked" once up to 3000 bytes were read
    assert arrival.feed(ours, unreader) == READY  # the socket is still readable: the event loop comes back
    assert len(unreader.take_buffered()) == 2000 + 2 * 1000


def test_the_end_of_the_stream_is_handed_over(pair):
    ours, theirs = pair
    arrival, unreader = Arrival(10.0, 2000, 100, LIMIT), SocketUnreader(ours)
    theirs.sendall(b"GET / HT")
    assert arrival.feed(ours, unreader) == WAITING
    theirs.shutdown(socket.SHUT_WR)
    assert arrival.feed(ours, unreader) == READY  # the parser meets the end and closes


def test_past_its_time_a_request_is_late_and_says_what_is_missing(pair):
    assert feed(pair, b"GET / HTTP/1.1\r\n", b"Host", seconds=0) == [LATE, LATE]
    ours, theirs = pair
    arrival, unreader = Arrival(0, 2000, 100, LIMIT), SocketUnreader(ours)
    theirs.sendall(HEAD)
    assert arrival.feed(ours, unreader) == LATE
    assert arrival.awaited() == "body"


def test_a_client_expecting_100_continue_is_told_here_and_its_body_gathered_too(pair):
    """It waits for our 100 before sending its body: gunicorn said it from the request's thread, which then
    waited for the body, so clients that asked and then trickled held a thread each."""
    ours, theirs = pair
    arrival, unreader = Arrival(10.0, 2000, 100, LIMIT), SocketUnreader(ours)
    head = b"POST /plan HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"
    theirs.sendall(head)
    assert arrival.feed(ours, unreader) == WAITING
    assert theirs.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
    theirs.sendall(b"hello")
    assert arrival.feed(ours, unreader) == READY
    assert arrival.said_continue() and not arrival.said_continue()  # the worker asks once: gunicorn is silent
    assert unreader.take_buffered() == head + b"hello"


def test_a_client_expecting_100_continue_twice_is_told_here_too(pair):
    """Two `Expect: 100-continue` headers (gunicorn takes each) went over with the head: gunicorn said the
    100 from the request's thread, which then waited for the body (KARMA_CLIENT_TIMEOUT per client)."""
    ours, theirs = pair
    arrival, unreader = Arrival(10.0, 2000, 100, LIMIT), SocketUnreader(ours)
    theirs.sendall(b"POST /plan HTTP/1.1\r\nExpect: 100-continue\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n")
    assert arrival.feed(ours, unreader) == WAITING
    assert theirs.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"


class CountingBytes(bytearray):
    """What is held, counting the bytes each search in it covers (count and find, from their start)."""

    covered = 0

    def count(self, sub, start=0, *rest):
        CountingBytes.covered += len(self) - start
        return super().count(sub, start, *rest)

    def find(self, sub, start=0, *rest):
        found = super().find(sub, start, *rest)
        CountingBytes.covered += (found if found >= 0 else len(self)) - start
        return found


def test_a_head_arriving_in_many_pieces_is_searched_once(pair):
    """Each wake-up counted the bare LFs of the whole head again: one head of ~800 KB (gunicorn's limit)
    sent in 1 KB pieces cost 0.45 s of CPU with the GIL held (4.6 s in 100-byte pieces), growing with the
    square of the head. What each wake-up counts is what it read."""
    ours, theirs = pair
    head = b"GET / HTTP/1.1\r\n" + b"X-Filler: " + b"v" * 99_000 + b"\r\n"
    arrival, unreader = Arrival(10.0, 200_000, 100, LIMIT), SocketUnreader(ours)
    CountingBytes.covered, arrival.held = 0, CountingBytes()
    for start in range(0, len(head), 1000):  # 100 wake-ups
        theirs.sendall(head[start : start + 1000])
        assert arrival.feed(ours, unreader) == WAITING
    assert CountingBytes.covered <= 4 * len(head), CountingBytes.covered  # it was ~100 times the head


def test_trailers_arriving_in_many_pieces_are_searched_once(pair):
    """The trailer section was searched for its end from its start on each wake-up, as the head was."""
    ours, theirs = pair
    trailer = b"X-Filler: " + b"v" * 99_000 + b"\r\n"
    arrival, unreader = Arrival(10.0, 2000, 100, LIMIT), SocketUnreader(ours)
    CountingBytes.covered, arrival.held = 0, CountingBytes()
    theirs.sendall(CHUNKED + b"2\r\n{}\r\n0\r\n")
    assert arrival.feed(ours, unreader) == WAITING
    for start in range(0, len(trailer), 1000):  # 100 wake-ups
        theirs.sendall(trailer[start : start + 1000])
        assert arrival.feed(ours, unreader) == WAITING
    assert CountingBytes.covered <= 4 * len(trailer), CountingBytes.covered
    theirs.sendall(b"\r\n")
    assert arrival.feed(ours, unreader) == READY
