"""Fault injection for the reliability tests: a TCP proxy in front of the test Neo4j that can drop
every connection and refuse new ones (Neo4j "down") and come back, without touching the shared server."""

from __future__ import annotations

import selectors
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
                    sel.register(client, selectors.EVENT_READ, None)
                    sel.register(upstream, selectors.EVENT_READ, None)
                    continue
                other = pairs.get(sock)
                try:
                    data = sock.recv(65536)
                    if data and other is not None:
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
