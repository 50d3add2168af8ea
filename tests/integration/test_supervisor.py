"""`karma serve` and its children live and die together (issue 26), and its queue worker boots while
Neo4j is away.

- The supervisor is SIGKILLed: gunicorn (master and workers) and the queue worker go too (PR_SET_PDEATHSIG),
  and a new `karma serve` on the same address serves — no leftovers to find and kill by hand.
- `karma worker` started with Neo4j away (a TCP proxy that refuses) stays up, waiting, and starts its
  passes once the database answers.
Every wait is bounded (liveness bounds with wide margins); every process started here is killed in the end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import requests

from app.settings import REPO_ROOT
from tests.integration.faults import children
from tests.integration.servers import free_port, stop, wait_for

LIVE = 60.0


def serve(env: dict, port: int, log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--no-seed", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=3).status_code == 200
    except requests.RequestException:
        return False


def test_killed_supervisor_takes_its_children_and_a_new_serve_starts(world, service_env, tmp_path):
    env = {**service_env, "KARMA_ADMIN_TOKEN_FILE": str(tmp_path / "admin-token")}
    port, url = free_port(), ""
    url = f"http://127.0.0.1:{port}"
    first = serve(env, port, (tmp_path / "first.log").open("wb"))
    second = None
    family: list[int] = []
    try:
        wait_for(lambda: healthy(url), LIVE * 2, 0.3, "the first karma serve")
        record = tmp_path / "serving.json"  # beside the admin token: commands in other shells find its Neo4j
        assert json.loads(record.read_text())["pid"] == first.pid and json.loads(record.read_text())["url"] == url
        wait_for(lambda: len(children(first.pid)) == 2, LIVE, what="gunicorn and the queue worker")
        family = children(first.pid) + [w for c in children(first.pid) for w in children(c)]
        assert len(family) >= 3, family  # gunicorn master, its worker, the queue worker
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        wait_for(lambda: not any(alive(p) for p in family), LIVE, 0.2, "every child gone with the supervisor")
        second = serve(env, port, (tmp_path / "second.log").open("wb"))
        wait_for(lambda: healthy(url), LIVE * 2, 0.3, "a new karma serve on the same address")
        assert second.poll() is None, (tmp_path / "second.log").read_text()[-2000:]
        assert json.loads(record.read_text())["pid"] == second.pid  # the killed one's record replaced
        stop(second)
        second = None
        assert not record.exists()  # a server that stops takes its record with it
    finally:
        for proc in (first, second):
            if proc is not None:
                stop(proc)
        for pid in family:  # whatever a failure left behind
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_queue_worker_boots_while_neo4j_is_away(world, service_env, proxy, tmp_path):
    log = tmp_path / "worker.log"
    env = {**service_env, "NEO4J_URI": f"bolt://127.0.0.1:{proxy.port}", "KARMA_LOG_LEVEL": "INFO"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker", "--interval", "0.5"],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    try:
        wait_for(lambda: "waiting for neo4j" in log.read_text(), LIVE, 0.2, "the worker waiting for Neo4j")
        time.sleep(1.0)
        assert worker.poll() is None, log.read_text()[-2000:]  # waiting, not exited
        proxy.start()
        started = time.monotonic()
        wait_for(lambda: "worker started" in log.read_text(), LIVE, 0.2, "the worker starting once Neo4j answers")
        print(f"queue worker started {time.monotonic() - started:.2f} s after Neo4j came back")
        assert worker.poll() is None and "Traceback" not in log.read_text(), log.read_text()[-2000:]
    finally:
        stop(worker)


def test_a_starting_serve_is_found_and_named_by_commands_in_other_shells(world, service_env, proxy, tmp_path):
    """While `karma serve` waits for Neo4j, seeds and starts (a minute on a first `make run`), a command in
    another shell goes to its address (not the default :8000) and hears that it is starting, not only that
    nothing answers; once serving, the record says so, and it goes with the server."""
    env = {
        **service_env,
        "NEO4J_URI": f"bolt://127.0.0.1:{proxy.port}",
        "KARMA_ADMIN_TOKEN_FILE": str(tmp_path / "admin-token"),
        "KARMA_SERVE_DB_WAIT": "90",
    }
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    record = tmp_path / "serving.json"
    server = serve(env, port, (tmp_path / "serve.log").open("wb"))
    try:
        wait_for(record.exists, LIVE, 0.2, "the starting server's record")
        assert json.loads(record.read_text())["state"] == "starting"
        shell = {k: v for k, v in env.items() if k != "KARMA_URL"}
        asked = subprocess.run(
            [sys.executable, "-m", "app.cli", "changes", "--json"], env=shell, cwd=REPO_ROOT, capture_output=True
        )
        said = asked.stderr.decode() + asked.stdout.decode()
        assert asked.returncode == 1, said
        assert f"cannot reach Karma at {url}" in said and "Karma is still starting there" in said, said
        proxy.start()
        wait_for(lambda: healthy(url), LIVE * 2, 0.3, "the server once Neo4j answers")
        assert json.loads(record.read_text())["state"] == "serving"
        stop(server)
        server = None
        assert not record.exists()
    finally:
        if server is not None:
            stop(server)
