"""Whether Neo4j answers, as this process last saw it, and the schema applied once it does.

A worker boots without Neo4j (nothing at import talks to it). The first request that needs the
database applies the constraints (idempotent); until that succeeds, and while the database is
known to be down, requests get a JSON 503 at once instead of each waiting for the driver's
timeouts: after a failure, one request per `probe_interval` is let through to probe, so the
service notices a recovery within that interval without any restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from app.errors import ServiceUnavailable

log = logging.getLogger("karma.reliability")


class Availability:
    def __init__(self, apply_schema: Callable[[], object], ping: Callable[[], object], *,
                 retry_after: float = 2, probe_interval: float = 0.5, clock=time.monotonic):
        self._apply_schema = apply_schema
        self._ping = ping
        self.retry_after = retry_after
        self.probe_interval = probe_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._schema_ready = False
        self._down_since: float | None = None
        self._last_probe = 0.0
        self.last_error: str | None = None

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def mark_down(self, exc: BaseException) -> None:
        with self._lock:
            if self._down_since is None:
                self._down_since = self._clock()
                log.warning("neo4j unavailable", extra={"error": type(exc).__name__})
            self._last_probe = self._clock()
            self.last_error = type(exc).__name__

    def mark_up(self) -> None:
        with self._lock:
            if self._down_since is not None:
                log.info("neo4j available again",
                         extra={"down_seconds": round(self._clock() - self._down_since, 3)})
            self._down_since = None
            self.last_error = None

    def _refuse(self) -> ServiceUnavailable:
        return ServiceUnavailable(retry_after=self.retry_after, neo4j=self.last_error or "unavailable")

    def guard(self) -> None:
        """Before a request that needs Neo4j: 503 at once while it is known to be down (except for one
        probing request per interval), and the schema applied before the first real work."""
        with self._lock:
            if self._down_since is not None:
                if self._clock() - self._last_probe < self.probe_interval:
                    raise self._refuse()
                self._last_probe = self._clock()  # this request is the probe
        if not self._schema_ready:
            self.ensure_schema()

    def ensure_schema(self) -> None:
        try:
            self._apply_schema()
        except Exception as exc:  # noqa: BLE001 - whatever stops the schema, the answer is "not yet"
            self.mark_down(exc)
            raise self._refuse() from None
        self._schema_ready = True
        self.mark_up()

    def check(self) -> tuple[bool, str]:
        """Readiness: a real round trip (bounded by the driver's timeouts), and the schema in place."""
        try:
            self._ping()
            if not self._schema_ready:
                self._apply_schema()
                self._schema_ready = True
        except Exception as exc:  # noqa: BLE001 - readiness reports, never raises
            self.mark_down(exc)
            return False, type(exc).__name__
        self.mark_up()
        return True, "ok"
