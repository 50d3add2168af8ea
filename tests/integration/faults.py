"""Fault injection for the reliability tests: a TCP proxy in front of the test Neo4j that can drop
every connection and refuse new ones (Neo4j "down") and come back, without touching the shared server."""

from __future__ import annotations

import os
import selectors
import signal
import socket
import struct
import threading


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, port: int):
        self.target = (target_host, target_port)
        self.port = port
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.clients: set[socket.socket] = set()  # the proxy's ends facing the service (not Neo4j)

    def start(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener, self._stop = listener, threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Like a SIGKILLed server: every connection reset, the port refuses new ones."""
        self._stop.set()
        if self._listener is not None:
            self._listener.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            for conn in self._conns:
                try:
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    conn.close()
                except OSError:
                    pass
            self._conns.clear()

    def _serve(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self._listener, selectors.EVENT_READ, None)
        pairs: dict[socket.socket, socket.socket] = {}
        while not self._stop.is_set():
            for key, _ in sel.select(timeout=0.1):
                sock = key.fileobj
                if sock is self._listener:
                    try:
                        client, _addr = self._listener.accept()
                        upstream = socket.create_connection(self.target, timeout=5)
                    except OSError:
                        continue
                    for s in (client, upstream):
                        s.setblocking(False)
                    pairs[client], pairs[upstream] = upstream, client
                    with self._lock:
                        self._conns += [client, upstream]
                        self.clients.add(client)
                    sel.register(client, selectors.EVENT_READ, None)
                    sel.register(upstream, selectors.EVENT_READ, None)
                    continue
                other = pairs.get(sock)
                try:
                    data = sock.recv(65536)
                    if data and other is not None:
                        if self.passes(sock, other, data):
                            other.setblocking(True)
                            other.sendall(data)
                            other.setblocking(False)
                        continue
                except OSError:
                    pass
                for s in (sock, other):
                    if s is None:
                        continue
                    try:
                        sel.unregister(s)
                    except (KeyError, ValueError):
                        pass
                    s.close()
                    pairs.pop(s, None)
        sel.close()

    def passes(self, sock: socket.socket, other: socket.socket, data: bytes) -> bool:
        """Whether `data`, read from `sock`, is forwarded to `other` (a subclass may hold it back)."""
        return True


COMMIT_MESSAGE = b"\x00\x02\xb0\x12\x00\x00"  # Bolt COMMIT: one chunk holding struct B0 12, then the end


class CommitFreeze(TcpProxy):
    """A proxy that freezes Neo4j (SIGSTOP `pid`) at a change's COMMIT, once armed: the connection that sent
    the commit statement (cypher/commit_change.cypher, known by its first comment) then sends COMMIT, and
    - `answered`: COMMIT is forwarded, and Neo4j stopped when it answers, its answer held back: the
      change committed, and the service never learns it;
    - `unsent`: Neo4j is stopped before COMMIT is forwarded: it never commits (the service cuts the
      connection first, and Neo4j, continued, finds it closed).
    The test continues Neo4j (SIGCONT) itself."""

    STATEMENT = b"Commits one change request"

    def __init__(self, *args, pid: int):
        super().__init__(*args)
        self.pid, self.mode, self.frozen = pid, None, threading.Event()
        self._writer: socket.socket | None = None
        self._held: socket.socket | None = None

    def arm(self, mode: str) -> None:
        self.mode, self._writer, self._held = mode, None, None
        self.frozen.clear()

    def passes(self, sock, other, data) -> bool:
        if self.mode is None:
            return True
        if sock in self.clients and self.STATEMENT in data:
            self._writer = sock
        if sock is self._writer and COMMIT_MESSAGE in data:
            if self.mode == "unsent":
                return self._freeze()
            self._held = other  # Neo4j's next answer to this connection is COMMIT's
        elif other is self._writer and sock is self._held:
            return self._freeze()
        return True

    def _freeze(self) -> bool:
        os.kill(self.pid, signal.SIGSTOP)
        self.mode = None
        self.frozen.set()
        return False


def children(pid: int) -> list[int]:
    """Child process ids (Linux /proc), e.g. a gunicorn master's workers."""
    out = []
    for stat in __import__("pathlib").Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return sorted(out)
