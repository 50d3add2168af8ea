"""Real servers for the integration tests: gunicorn serving the app as `make run` does (127.0.0.1 only),
and bounded waits on states — every wait here ends, by its count or its time, and fails saying what it
waited for (never a sleep standing in for a state)."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from app.serving import gunicorn_command
from app.settings import REPO_ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, seconds: float = 30.0, step: float = 0.1, what: str = "the condition"):
    """Poll `predicate` until it returns something truthy (returned), for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {seconds} s")
        time.sleep(step)


@dataclass
class Gunicorn:
    proc: subprocess.Popen
    url: str
    log: Path | None = None

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log and self.log.exists() else ""

    def answers(self, path: str = "/readyz", status: int = 200, timeout: float = 3) -> bool:
        try:
            return requests.get(f"{self.url}{path}", timeout=timeout).status_code == status
        except requests.RequestException:
            return False

    def wait_ready(self, seconds: float = 90, path: str = "/readyz") -> None:
        def up() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"gunicorn exited ({self.proc.returncode}): {self.log_tail()}")
            return self.answers(path)

        wait_for(up, seconds, 0.3, f"gunicorn answering {path}")

    def stop(self) -> None:
        stop(self.proc)


def gunicorn(env: dict, *, workers: int = 2, log: Path | None = None, port: int | None = None) -> Gunicorn:
    """Start gunicorn with the project's config (not waited for: call `wait_ready`)."""
    port = port or free_port()
    proc = subprocess.Popen(
        gunicorn_command(f"127.0.0.1:{port}", workers, "--access-logfile", "/dev/null"),
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb") if log else subprocess.DEVNULL,
    )
    return Gunicorn(proc, f"http://127.0.0.1:{port}", log)


def stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
