"""Refused calls (401/403) audited cheaply and boundedly.

Each refusal used to be one audit write: one anonymous client wrote 400 entries in 1.6 s, and while
Neo4j was away every refusal held a worker. Now, per source (client address + identity) and cause,
the first `burst` refusals of a `window` are audited one by one, the rest are only counted, and the
count is written as ONE aggregate entry (`repeated: N`, `note`) when the window is over — so a flood
costs a handful of writes, and refusals from other sources or for other causes are never drowned.
While Neo4j is known to be down nothing is written (the refusal is logged); counting is in memory
and per process, so with W workers at most W × (burst + 1) entries per key and window.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("karma.security")

MAX_KEYS = 10_000  # bound the memory a spray of sources can take


@dataclass
class _Window:
    started: float
    audited: int = 0
    suppressed: int = 0
    first_entry: str | None = None
    sample: dict = field(default_factory=dict)


class BoundedRefusalAudit:
    def __init__(
        self,
        record: Callable[..., str | None],
        *,
        burst: int = 5,
        window: float = 60.0,
        is_down: Callable[[], bool] = lambda: False,
        clock=time.monotonic,
    ):
        self._record = record
        self.burst = burst
        self.window = window
        self._is_down = is_down
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple, _Window] = {}

    def record(self, *, source: str | None = None, **entry) -> str | None:
        """Audit one refusal (or count it); returns the audit entry id that covers it."""
        entry["source"] = source
        key = (source or "?", entry.get("who") or "anonymous", entry.get("status"), entry.get("cause"))
        now = self._clock()
        with self._lock:
            due = self._expired(now)
            win = self._windows.get(key)
            if win is None:
                win = self._windows[key] = _Window(started=now)
            audit_it = win.audited < self.burst
            if audit_it:
                win.audited += 1
            else:
                win.suppressed += 1
                win.sample = entry
        for old_key, old in due:
            self._write_aggregate(old_key, old)
        if not audit_it:
            return win.first_entry
        if self._is_down():
            log.warning("refused call (not audited: neo4j unavailable)", extra={"cause": entry.get("cause")})
            return None
        entry_id = self._record(**entry)
        with self._lock:
            win.first_entry = win.first_entry or entry_id
        return entry_id

    def flush(self) -> None:
        """Write every pending aggregate now (at exit, and in tests)."""
        with self._lock:
            due, self._windows = list(self._windows.items()), {}
        for key, win in due:
            self._write_aggregate(key, win)

    def _expired(self, now: float) -> list[tuple[tuple, _Window]]:
        if len(self._windows) > MAX_KEYS:
            due, self._windows = list(self._windows.items()), {}
            return due
        due = [(k, w) for k, w in self._windows.items() if now - w.started >= self.window]
        for key, _ in due:
            del self._windows[key]
        return due

    def _write_aggregate(self, key: tuple, win: _Window) -> None:
        if not win.suppressed or self._is_down():
            return
        sample = dict(win.sample)
        sample["message"] = (
            f"{win.suppressed} more refused calls like this from {key[0]} within {self.window:.0f} s (aggregated)"
        )
        try:
            self._record(**sample, repeated=win.suppressed)
        except Exception:  # auditing must never fail a request
            log.exception("could not write an aggregate refusal entry")
