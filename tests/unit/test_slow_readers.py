"""slow_readers.Unsent: an answer the socket does not take at once is held and written by the event loop,
in order, and a client that does not read it in its time is dropped (app/gunicorn_worker.py)."""

from __future__ import annotations

import selectors
import socket
import time

import pytest

from app.reliability.slow_readers import Unsent


@pytest.fixture
def pair():
    ours, theirs = socket.socketpair()
    ours.setblocking(True)  # as a request thread has it: Unsent must not wait anyway
    yield ours, theirs
    ours.close()
    theirs.close()


BIG = bytes(range(256)) * 40_000  # 10 MB: more than a socket pair's buffers


def test_a_small_answer_is_written_at_once(pair):
    ours, theirs = pair
    unsent = Unsent(10.0)
    unsent.write(ours, b"HTTP/1.1 200 OK\r\n\r\n")
    assert not unsent.pending(ours)
    assert theirs.recv(100) == b"HTTP/1.1 200 OK\r\n\r\n"


def test_what_does_not_fit_is_held_in_order_and_written_as_the_client_reads(pair):
    ours, theirs = pair
    unsent, poller, done = Unsent(10.0), selectors.DefaultSelector(), []
    started = time.monotonic()
    unsent.write(ours, BIG[:100])
    unsent.write(ours, BIG[100:])  # does not wait for the reader
    unsent.write(ours, b"tail")  # queued behind what is held
    assert time.monotonic() - started < 5 and unsent.pending(ours)
    unsent.flush_later(ours, poller, lambda: done.append("then"), lambda: done.append("dropped"))
    received = bytearray()
    theirs.setblocking(False)
    for _ in range(100_000):  # bounded: the event loop and the reader take turns
        for key, _ in poller.select(0):
            key.data(key.fileobj)
        try:
            received += theirs.recv(1 << 20)
        except BlockingIOError:
            pass
        if done and len(received) == len(BIG) + 4:
            break
    assert bytes(received) == BIG + b"tail"
    assert done == ["then"] and not unsent.pending(ours)


def test_a_client_that_does_not_read_in_its_time_is_dropped(pair):
    ours, _ = pair
    unsent, poller, done = Unsent(0.0), selectors.DefaultSelector(), []
    unsent.write(ours, BIG)
    unsent.flush_later(ours, poller, lambda: done.append("then"), lambda: done.append("dropped"))
    unsent.reap(poller, time.monotonic() + len(BIG))  # long past its time
    assert done == ["dropped"] and not unsent.pending(ours)
    assert not poller.get_map()
