"""`karma serve`: gunicorn (the API) and a queue worker side by side, the worker kept alive.

Queued changes are re-evaluated when what they wait on reports runtime — synchronously, in the
API. If the API is killed between the report's commit and the queue pass, nothing in the API will
look at those changes again; the worker's periodic pass does (each queued change applies exactly
once, whichever process gets there first). So `karma serve` always runs one, restarts it when it
dies (with a backoff), and stops it with the API.

They live and die together (issue 26): each child is started with PR_SET_PDEATHSIG (Linux), so if the
supervisor itself is killed — SIGKILL, the OOM killer — the kernel sends its children SIGTERM: gunicorn
stops its workers and frees the port, the queue worker stops, and nothing runs unsupervised. A new
`karma serve` started meanwhile waits (bounded) for the old server to let go of the address
(`wait_for_address`) instead of failing with "Connection in use". If gunicorn dies, the supervisor stops
the queue worker and exits with gunicorn's status, for whatever restarts services (systemd, compose).
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable

log = logging.getLogger("karma.serve")


PR_SET_PDEATHSIG = 1


def die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn: the child gets SIGTERM when the process that started it dies (Linux; else None)."""
    if not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()

    def preexec() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def address_free(bind: str) -> bool:
    """Whether host:port can be bound now (what gunicorn is about to do)."""
    host, _, port = bind.rpartition(":")
    if not port.isdigit():
        return True  # a unix socket or something else gunicorn understands: its business
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]") or "0.0.0.0", int(port)))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def wait_for_address(bind: str, seconds: float, echo: Callable[[str], None] = print) -> bool:
    """Wait (at most `seconds`) for a server that is stopping — an earlier `karma serve` whose supervisor
    died — to release `bind`; True once it is free."""
    until, said = time.monotonic() + seconds, False
    while not address_free(bind):
        if time.monotonic() >= until:
            return False
        if not said:
            echo(f"{bind} is in use (a server still stopping?); waiting up to {seconds:.0f} s for it")
            said = True
        time.sleep(0.25)
    return True


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
        self.worker = subprocess.Popen(self.worker_cmd, env=self.env, preexec_fn=die_with_parent())
        log.info("queue worker started", extra={"pid": self.worker.pid})

    def run(self) -> int:
        self.api = subprocess.Popen(self.api_cmd, env=self.env, preexec_fn=die_with_parent())
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
