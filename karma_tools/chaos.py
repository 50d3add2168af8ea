"""`make chaos`: the availability figures of issue 26, measured on the real server → bench/results/chaos.json.

Runs gunicorn (as `make run` does, 127.0.0.1, a free port) against the project's own test Neo4j and
measures, every loop bounded in count and time:

- `/healthz` latency at rest, and while six clients trickle a /plan body (1 byte/s) — plus how long the
  tricklers are kept before their JSON 408;
- with Neo4j frozen (SIGSTOP; always SIGCONT afterwards): `/healthz` latency, how long requests caught
  waiting on the database take to get their 503, the time from the freeze (every thread stopped:
  neo4j_local.wait_stopped) to the first fast 503 of a new request, and the time from SIGCONT to /readyz 200.

The test suite asserts liveness with wide margins (tests/integration/test_slow_peers.py,
test_frozen_neo4j.py); the numbers live here and in docs/operations.md.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from app.serving import gunicorn_command
from app.settings import REPO_ROOT
from karma_tools.neo4j_local import wait_stopped

OUT = REPO_ROOT / "bench" / "results" / "chaos.json"
SLOW = 6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _timed(url: str, **kw) -> tuple[int | None, float]:
    started = time.monotonic()
    try:
        status = requests.get(url, timeout=60, **kw).status_code
    except requests.RequestException:
        status = None
    return status, time.monotonic() - started


def _summary(seconds: list[float]) -> dict:
    ms = sorted(s * 1000 for s in seconds)
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 2),
        "max_ms": round(ms[-1], 2),
    }


def _healthz(url: str, count: int, pause: float = 0.1) -> list[float]:
    out = []
    for _ in range(count):
        status, elapsed = _timed(f"{url}/healthz")
        out.append(elapsed if status == 200 else float("inf"))
        time.sleep(pause)
    return out


def _trickle(url: str, token: str, results: list[float]) -> None:
    host, port = url.rsplit("/", 1)[-1].split(":")
    head = (
        "POST /plan HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    ).encode()
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(head)
        for _ in range(60):  # bounded: at most 60 bytes, one a second
            try:
                sock.sendall(b" ")
            except OSError:
                break
            if select.select([sock], [], [], 1.0)[0]:
                break
    results.append(time.monotonic() - started)


def _slow_clients(url: str, token: str) -> dict:
    kept: list[float] = []
    threads = [threading.Thread(target=_trickle, args=(url, token, kept), daemon=True) for _ in range(SLOW)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    during = _healthz(url, 40, 0.2)
    for thread in threads:
        thread.join(timeout=90)
    return {"clients": SLOW, "healthz": _summary(during), "trickler_cut_after_s": round(max(kept), 2)}


def _frozen(url: str, token: str, pid: int) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    reads = f"{url}/components?page_size=5"
    for _ in range(6):
        _timed(reads, headers=headers)
    caught: list[tuple] = []
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_stopped(pid)  # the figures are a frozen Neo4j's: every thread stopped, not just signalled
        frozen_at = time.monotonic()
        threads = [
            threading.Thread(target=lambda: caught.append(_timed(reads, headers=headers)), daemon=True)
            for _ in range(6)
        ]
        for thread in threads:
            thread.start()
        during = _healthz(url, 25, 0.2)
        first_fast = None
        for _ in range(300):  # bounded: 60 s of tries
            status, elapsed = _timed(reads, headers=headers)
            if status == 503 and elapsed < 0.1:
                first_fast = time.monotonic() - frozen_at
                break
            time.sleep(0.2)
        for thread in threads:
            thread.join(timeout=60)
        fast = [_timed(reads, headers=headers)[1] for _ in range(20)]
    finally:
        os.kill(pid, signal.SIGCONT)
    continued = time.monotonic()
    recovered = None
    for _ in range(600):  # bounded: 60 s
        if _timed(f"{url}/readyz")[0] == 200:
            recovered = time.monotonic() - continued
            break
        time.sleep(0.1)
    return {
        "healthz": _summary(during),
        "caught_requests_503_after_s": round(max(e for _, e in caught), 2) if caught else None,
        "caught_statuses": sorted({s for s, _ in caught}, key=str),
        "first_fast_503_after_freeze_s": round(first_fast, 2) if first_fast is not None else None,
        "fast_503": _summary(fast),
        "ready_after_sigcont_s": round(recovered, 2) if recovered is not None else None,
    }


def main() -> int:
    from app.graph.driver import _local_target, open_driver  # noqa: PLC0415
    from app.graph.repository import GraphRepository  # noqa: PLC0415
    from app.security.tokens import TokenService  # noqa: PLC0415
    from karma_tools import neo4j_local  # noqa: PLC0415

    target = _local_target(start=True, echo=print)
    driver = open_driver(target)
    repo = GraphRepository(driver)
    repo.apply_schema()
    token, _ = TokenService(repo).create("chaos@usekarma.dev", "admin", created_by="make chaos")
    driver.close()
    env = {**os.environ, "NEO4J_URI": target.uri, "KARMA_TESTCONTAINERS": "0", "KARMA_LOG_LEVEL": "WARNING"}
    if target.auth:
        env["NEO4J_USER"], env["NEO4J_PASSWORD"] = target.auth
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = gunicorn_command(f"127.0.0.1:{port}", 4, "--access-logfile", "/dev/null")
    proc = subprocess.Popen(cmd, env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            if _timed(f"{url}/readyz")[0] == 200:
                break
            time.sleep(0.3)
        else:
            print("gunicorn never got ready", file=sys.stderr)
            return 1
        figures = {
            "workers": 4,
            "at_rest": {"healthz": _summary(_healthz(url, 40, 0.05))},
            "slow_clients": _slow_clients(url, token),
            "frozen_neo4j": _frozen(url, token, neo4j_local.read_pid(neo4j_local.load_settings())),
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    Path(OUT).parent.mkdir(parents=True, exist_ok=True)
    Path(OUT).write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
