"""`karma serve`: gunicorn (the API) and a queue worker side by side, the worker kept alive.

Queued changes are re-evaluated when what they wait on reports runtime — synchronously, in the
API. If the API is killed between the report's commit and the queue pass, nothing in the API will
look at those changes again; the worker's periodic pass does (each queued change applies exactly
once, whichever process gets there first). So `karma serve` always runs one, restarts it when it
dies (with a backoff), and stops it with the API.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Callable

log = logging.getLogger("karma.serve")


class Supervisor:
    def __init__(
        self,
        *,
        api: list[str],
        worker: list[str],
        env: dict,
        echo: Callable[[str], None] = print,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
    ):
        self.api_cmd, self.worker_cmd, self.env, self.echo = api, worker, env, echo
        self.backoff, self.max_backoff = backoff, max_backoff
        self.api: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self._stopping = False

    def forward(self, sig: int) -> None:
        """SIGHUP reloads both (rules); SIGINT/SIGTERM stop both."""
        if sig != signal.SIGHUP:
            self._stopping = True
        for proc in (self.api, self.worker):
            if proc is not None and proc.poll() is None:
                proc.send_signal(sig)

    def _start_worker(self) -> None:
        self._worker_started = time.monotonic()
        self.worker = subprocess.Popen(self.worker_cmd, env=self.env)
        log.info("queue worker started", extra={"pid": self.worker.pid})

    def run(self) -> int:
        self.api = subprocess.Popen(self.api_cmd, env=self.env)
        self._start_worker()
        delay, next_start = self.backoff, None
        while self.api.poll() is None:
            if not self._stopping and self.worker.poll() is not None:
                if next_start is None:
                    if time.monotonic() - self._worker_started > 60:  # it was healthy: backoff starts over
                        delay = self.backoff
                    self.echo(f"queue worker exited ({self.worker.returncode}); restarting in {delay:.0f} s")
                    next_start = time.monotonic() + delay
                elif time.monotonic() >= next_start:
                    self._start_worker()
                    next_start, delay = None, min(delay * 2, self.max_backoff)
            time.sleep(0.2)
        self._stop_worker()
        return self.api.returncode

    def _stop_worker(self) -> None:
        if self.worker is None or self.worker.poll() is not None:
            return
        self.worker.terminate()
        try:
            self.worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.worker.kill()
            self.worker.wait()
