"""Round-trip counting: flushes of queued Bolt messages, per thread, patches removed afterwards."""

from __future__ import annotations

import threading

from neo4j._sync.io._bolt import Bolt

from karma_tools.bench.roundtrips import RoundTrips


def test_counts_flushes_and_names_messages(monkeypatch):
    sent = []
    monkeypatch.setattr(Bolt, "_append", lambda self, signature, *a, **kw: None)
    monkeypatch.setattr(Bolt, "_send_all", lambda self: sent.append(1))
    patched_append, patched_send = Bolt._append, Bolt._send_all
    with RoundTrips() as rt:
        Bolt._append(None, b"\x11")  # BEGIN
        Bolt._append(None, b"\x10")  # RUN
        Bolt._append(None, b"\x3f")  # PULL
        Bolt._send_all(None)
        Bolt._send_all(None)  # nothing queued: not a round trip
        Bolt._append(None, b"\x12")  # COMMIT
        Bolt._send_all(None)
    assert rt.count == 2
    assert rt.flushes == [["BEGIN", "RUN", "PULL"], ["COMMIT"]]
    assert len(sent) == 3
    assert Bolt._append is patched_append and Bolt._send_all is patched_send  # restored


def test_other_threads_are_not_counted(monkeypatch):
    monkeypatch.setattr(Bolt, "_append", lambda self, signature, *a, **kw: None)
    monkeypatch.setattr(Bolt, "_send_all", lambda self: None)
    with RoundTrips() as rt:

        def elsewhere():
            Bolt._append(None, b"\x10")
            Bolt._send_all(None)

        t = threading.Thread(target=elsewhere)
        t.start()
        t.join()
    assert rt.count == 0
