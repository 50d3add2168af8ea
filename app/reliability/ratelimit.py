"""API rate limits per token and per client address, shared by every worker of one server.

GCRA (the "generic cell rate algorithm", a token bucket kept as one number): each key stores its
theoretical arrival time `tat`; a request at `now` is allowed when `tat - now <= burst / rate`, and
then moves `tat` on by `1 / rate`. A refused request learns exactly how long to wait (Retry-After).

The state lives in a small memory-mapped file (a fixed table of slots, open addressing, one
`fcntl` lock around each update) that gunicorn's master creates before forking (`KARMA_RATE_FILE`,
set by app/gunicorn_conf.py), so all workers of a server count together at a cost of microseconds
and no Neo4j round trip. Without that variable (tests, the Flask dev server) each process gets a
private table. Limits are per server (host); several hosts each enforce their own.

Which address is "the client" (`client_address`): the peer of the connection, unless that peer is one of
`KARMA_TRUSTED_PROXIES` (addresses or networks of the reverse proxies in front): then X-Forwarded-For is
read from the right, skipping trusted hops, and the first untrusted address is the client. A client
cannot forge its address by sending X-Forwarded-For itself: only what a trusted proxy appended counts.
"""

from __future__ import annotations

import fcntl
import hashlib
import ipaddress
import mmap
import os
import struct
import tempfile
import threading
import time

SLOT = struct.Struct("<Qd")  # key hash, theoretical arrival time (epoch seconds)
PROBES = 8


class SharedBuckets:
    def __init__(self, path: str | None = None, slots: int = 8192, clock=time.time):
        if path is None:
            fd, path = tempfile.mkstemp(prefix="karma-rate-")
            os.unlink(path)  # private to this process
        else:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        size = slots * SLOT.size
        if os.fstat(fd).st_size < size:
            os.ftruncate(fd, size)
        self._fd = fd
        self._map = mmap.mmap(fd, size)
        self.slots = slots
        self._clock = clock
        self._thread_lock = threading.Lock()

    @staticmethod
    def _hash(key: str) -> int:
        return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") or 1

    def acquire(self, key: str, rate: float, burst: int) -> float:
        """0.0 if the request is allowed (and counted), else the seconds until it would be."""
        if rate <= 0:
            return 0.0
        interval, tolerance = 1.0 / rate, max(burst - 1, 0) / rate
        h = self._hash(key)
        with self._thread_lock:
            fcntl.lockf(self._fd, fcntl.LOCK_EX)
            try:
                now = self._clock()
                offset = self._slot(h, now)
                stored_h, tat = SLOT.unpack_from(self._map, offset)
                tat = max(tat if stored_h == h else 0.0, now)
                if tat - now > tolerance:
                    return tat - now - tolerance
                SLOT.pack_into(self._map, offset, h, tat + interval)
                return 0.0
            finally:
                fcntl.lockf(self._fd, fcntl.LOCK_UN)

    def _slot(self, h: int, now: float) -> int:
        """This key's slot, or a free/expired one near it; a full neighbourhood reuses the home slot."""
        home = h % self.slots
        for i in range(PROBES):
            offset = ((home + i) % self.slots) * SLOT.size
            stored_h, tat = SLOT.unpack_from(self._map, offset)
            if stored_h == h:
                return offset
        for i in range(PROBES):
            offset = ((home + i) % self.slots) * SLOT.size
            stored_h, tat = SLOT.unpack_from(self._map, offset)
            if stored_h == 0 or tat <= now:
                return offset
        return home * SLOT.size


def trusted_networks(entries) -> tuple:
    """KARMA_TRUSTED_PROXIES entries ("10.0.0.5", "10.0.0.0/8", "::1") as networks; a bad entry is an error."""
    try:
        return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())
    except ValueError as exc:
        raise ValueError(f"KARMA_TRUSTED_PROXIES: {exc}") from None


def _trusted(address: str, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(peer: str | None, forwarded_for: str | None, networks: tuple) -> str | None:
    """The client's address: `peer`, or — when `peer` is a trusted proxy — the right-most address of
    X-Forwarded-For that is not a trusted proxy itself."""
    if not peer or not networks or not forwarded_for or not _trusted(peer, networks):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops[-32:]):  # bounded: a long header is not walked
        if not _trusted(hop, networks):
            return hop[:64]
    return hops[0][:64] if hops else peer


class RateLimiter:
    """The API's limits: per client address (before authentication) and per token (after)."""

    def __init__(
        self,
        buckets: SharedBuckets,
        *,
        per_source: tuple[float, int],
        per_token: tuple[float, int],
        trusted_proxies: tuple = (),
    ):
        self.buckets = buckets
        self.per_source = per_source
        self.per_token = per_token
        self.trusted = trusted_networks(trusted_proxies)

    def client(self, peer: str | None, forwarded_for: str | None) -> str | None:
        return client_address(peer, forwarded_for, self.trusted)

    @classmethod
    def from_settings(cls, settings) -> RateLimiter:
        return cls(
            SharedBuckets(settings.rate_file),
            per_source=(settings.rate_per_source, settings.burst_per_source),
            per_token=(settings.rate_per_token, settings.burst_per_token),
            trusted_proxies=settings.trusted_proxies,
        )

    def source(self, address: str | None) -> float:
        return self.buckets.acquire(f"source:{address or '?'}", *self.per_source)

    def token(self, token_id: str) -> float:
        return self.buckets.acquire(f"token:{token_id}", *self.per_token)
