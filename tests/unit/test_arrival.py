"""slow_clients.Arrival: when a request has arrived enough to be handed to a thread (app/gunicorn_worker.py).

A request is handed over once its head and (up to BODY_AHEAD) its body are in, or at once when gunicorn's
parser would answer it anyway (a bare LF, a line or a head over its limits, the end of the stream), so a
slow client never holds a thread and a malformed one still gets gunicorn's own (JSON) answer."""

from __future__ import annotations

import socket

import pytest
from gunicorn.http.unreader import SocketUnreader

from app.reliability import slow_clients
from app.reliability.slow_clients import LATE, READY, WAITING, Arrival


@pytest.fixture
def pair():
    ours, theirs = socket.socketpair()
    yield ours, theirs
    ours.close()
    theirs.close()


def feed(pair, *parts: bytes, seconds: float = 10.0) -> list[str]:
    ours, theirs = pair
    arrival, unreader = Arrival(seconds, max_head=2000, max_line=100), SocketUnreader(ours)
    states = []
    for part in parts:
        theirs.sendall(part)
        states.append(arrival.feed(ours, unreader))
    return states


HEAD = b"POST /plan HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n"


@pytest.mark.parametrize(
    ("parts", "states"),
    [
        ([b"GET /healthz HTTP/1.1\r\nHo", b"st: x\r\n", b"\r\n"], [WAITING, WAITING, READY]),
        ([HEAD, b'{"a":', b" 12}"], [WAITING, WAITING, READY]),
        ([HEAD + b'{"a": 12}'], [READY]),
        ([b"POST /plan HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"], [READY]),  # the app reads it
        ([b"POST /plan HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"], [READY]),  # waits for us
        ([b"POST /plan HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"], [READY]),  # the parser's 400
        ([b"GET / HTTP/1.1\nHost: x\n"], [READY]),  # a bare LF: the parser's 400 at once
        ([b"GET /" + b"a" * 200], [READY]),  # a request line over the limit: the parser's 414
        ([b"GET / HTTP/1.1\r\nX: " + b"b" * 2100], [READY]),  # a head over the limit: the parser's 431
    ],
)
def test_handed_over_when_there_or_refused(pair, parts, states):
    assert feed(pair, *parts) == states


def test_what_arrived_is_left_for_the_parser_in_order(pair):
    ours, theirs = pair
    arrival, unreader = Arrival(10.0, 2000, 100), SocketUnreader(ours)
    for part in (b"GET /a HTTP/1.1\r\n", b"Host: x\r\n\r\nGET /b"):
        theirs.sendall(part)
        arrival.feed(ours, unreader)
    assert unreader.take_buffered() == b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b"


def test_a_large_body_is_handed_over_once_its_first_part_is_there(pair):
    head = b"POST /plan HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n"
    assert feed(pair, head, b"x" * (slow_clients.BODY_AHEAD - 1), b"x") == [WAITING, WAITING, READY]


def test_the_end_of_the_stream_is_handed_over(pair):
    ours, theirs = pair
    arrival, unreader = Arrival(10.0, 2000, 100), SocketUnreader(ours)
    theirs.sendall(b"GET / HT")
    assert arrival.feed(ours, unreader) == WAITING
    theirs.shutdown(socket.SHUT_WR)
    assert arrival.feed(ours, unreader) == READY  # the parser meets the end and closes


def test_past_its_time_a_request_is_late_and_says_what_is_missing(pair):
    assert feed(pair, b"GET / HTTP/1.1\r\n", b"Host", seconds=0) == [LATE, LATE]
    ours, theirs = pair
    arrival, unreader = Arrival(0, 2000, 100), SocketUnreader(ours)
    theirs.sendall(HEAD)
    assert arrival.feed(ours, unreader) == LATE
    assert arrival.awaited() == "body"
