"""Counting Bolt round trips at the driver's socket (driver-level instrumentation).

A *round trip* is one write of queued Bolt messages to the socket (the client then waits for their
responses): the driver pipelines what it can (e.g. BEGIN + RUN + PULL go out together), so the number
of flushes is the number of times a request waits for the network. Every message is recorded too, so
a report can say which messages travelled together (`["BEGIN", "RUN", "PULL"], ["COMMIT"]`).

Installed by patching two methods of the sync Bolt connection class (`_append` to see the messages,
`_send_all` to see the flushes) for the duration of a `with RoundTrips() as rt:` block; only the
calling thread's traffic is counted, so a concurrent server thread does not pollute a measurement.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from collections.abc import Iterator

from neo4j._sync.io._bolt import Bolt

# Bolt message signatures (bolt 4.x/5.x/6.x).
MESSAGES = {
    0x01: "HELLO",
    0x02: "GOODBYE",
    0x0F: "RESET",
    0x10: "RUN",
    0x11: "BEGIN",
    0x12: "COMMIT",
    0x13: "ROLLBACK",
    0x2F: "DISCARD",
    0x3F: "PULL",
    0x54: "TELEMETRY",
    0x66: "ROUTE",
    0x6A: "LOGON",
    0x6B: "LOGOFF",
}

_local = threading.local()
_install_lock = threading.Lock()
_installed = 0
_originals: dict[str, object] = {}


def _name(signature) -> str:
    code = signature[0] if isinstance(signature, (bytes, bytearray)) else int(signature)
    return MESSAGES.get(code, f"0x{code:02X}")


def _patched_append(self, signature, *args, **kwargs):
    counter = getattr(_local, "counter", None)
    if counter is not None:
        counter._pending.append(_name(signature))
    return _originals["_append"](self, signature, *args, **kwargs)


def _patched_send_all(self):
    counter = getattr(_local, "counter", None)
    if counter is not None and counter._pending:
        counter.flushes.append(counter._pending)
        counter._pending = []
    return _originals["_send_all"](self)


def _install() -> None:
    global _installed
    with _install_lock:
        if _installed == 0:
            _originals["_append"] = Bolt._append
            _originals["_send_all"] = Bolt._send_all
            Bolt._append = _patched_append
            Bolt._send_all = _patched_send_all
        _installed += 1


def _uninstall() -> None:
    global _installed
    with _install_lock:
        _installed -= 1
        if _installed == 0:
            Bolt._append = _originals.pop("_append")
            Bolt._send_all = _originals.pop("_send_all")


class RoundTrips:
    """`with RoundTrips() as rt: ...` → `rt.count`, `rt.flushes` (the messages of each round trip)."""

    def __init__(self) -> None:
        self.flushes: list[list[str]] = []
        self._pending: list[str] = []

    def __enter__(self) -> RoundTrips:
        _install()
        self._outer = getattr(_local, "counter", None)
        _local.counter = self
        return self

    def __exit__(self, *exc) -> None:
        _local.counter = self._outer
        _uninstall()

    @property
    def count(self) -> int:
        return len(self.flushes)

    @property
    def messages(self) -> list[str]:
        return [m for flush in self.flushes for m in flush]

    def to_dict(self) -> dict:
        return {"round_trips": self.count, "messages": len(self.messages), "flushes": self.flushes}


@contextmanager
def counting() -> Iterator[RoundTrips]:
    with RoundTrips() as rt:
        yield rt
