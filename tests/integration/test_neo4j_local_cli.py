"""The real Neo4j 5.26 server through the `neo4j` CLI group, each command in its own process.

Needs Java 17+ and the jars: $KARMA_NEO4J_LIB, else <repo>/.karma/neo4j/lib (fetched with Maven once if absent
and `mvn` is available). The server gets a free random port and a temporary home; it is stopped at the end.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from karma_tools import neo4j_local as nl

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-c", "from karma_tools.neo4j_local import neo4j_cli; neo4j_cli()"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lib() -> Path:
    # Only JAVA_HOME and KARMA_NEO4J_LIB/VERSION matter here; the home and port are the test's own.
    keep = ("JAVA_HOME", "KARMA_NEO4J_LIB", "KARMA_NEO4J_VERSION")
    settings = nl.LocalNeo4jSettings.from_env({k: v for k, v in os.environ.items() if k in keep})
    try:
        nl.check_java(settings)
    except nl.Neo4jLocalError as exc:
        pytest.skip(f"no usable Java: {exc.message}")
    if not nl.jars_present(settings.lib, settings.version):
        if not shutil.which("mvn"):
            pytest.skip(f"Neo4j jars not in {settings.lib} and no mvn to fetch them")
        nl.ensure_jars(settings)  # once; later runs reuse them
    return settings.lib


@pytest.fixture
def server_env(tmp_path: Path, lib: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KARMA_NEO4J_") or k == "KARMA_NEO4J_VERSION"}
    env.update(
        KARMA_NEO4J_HOME=str(tmp_path / "home"),
        KARMA_NEO4J_LIB=str(lib),
        KARMA_NEO4J_BOLT_PORT=str(_free_port()),
        KARMA_NEO4J_START_TIMEOUT="90",
        # The CLI subprocesses import `app` from this checkout even without `pip install -e`.
        PYTHONPATH=os.pathsep.join(p for p in (str(nl.REPO_ROOT), os.environ.get("PYTHONPATH")) if p),
    )
    yield env
    settings = nl.LocalNeo4jSettings.from_env(env)
    pid = nl.read_pid(settings, cleanup=False)
    if pid is not None:  # the test failed half-way: do not leak a JVM
        nl.stop(settings)


def run_cli(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """One `karma neo4j` command, waited for at most `timeout` seconds: a bound that fails only on a
    real hang (a start has KARMA_NEO4J_START_TIMEOUT of its own), never on a slow, loaded machine."""
    try:
        return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=nl.REPO_ROOT)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`karma neo4j {' '.join(args)}` hung: no exit within {timeout} s ({exc.stdout!r} {exc.stderr!r})")


def test_start_status_query_stop(server_env: dict[str, str], tmp_path: Path):
    from neo4j import GraphDatabase
    from neo4j.exceptions import AuthError

    settings = nl.LocalNeo4jSettings.from_env(server_env)
    port = settings.bolt_port

    started = run_cli(server_env, "start")
    assert started.returncode == 0, started.stdout + started.stderr
    assert "is ready on" in started.stdout
    assert stat_mode(settings.password_file) == 0o600

    # The CLI process has exited; the server lives on in its own session.
    status = run_cli(server_env, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "running" in status.stdout and f"port {port}" in status.stdout and "answering: yes" in status.stdout
    pid = nl.read_pid(settings)
    assert pid is not None and os.getsid(pid) == pid

    again = run_cli(server_env, "start")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already running" in again.stdout
    assert nl.read_pid(settings) == pid

    other_env = dict(server_env, KARMA_NEO4J_HOME=str(tmp_path / "other-home"))
    clash = run_cli(other_env, "start")
    assert clash.returncode == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in clash.stderr

    info = nl.connection_info(settings)
    assert info["uri"] == f"neo4j://127.0.0.1:{port}" and info["user"] == "neo4j"
    with GraphDatabase.driver(info["uri"], auth=(info["user"], info["password"])) as driver:
        records, _, _ = driver.execute_query(
            "CREATE (c:Component {name: $name}) RETURN c.name AS name", name="karma-probe"
        )
        assert records[0]["name"] == "karma-probe"
        records, _, _ = driver.execute_query("MATCH (c:Component) RETURN count(c) AS n", routing_="r")
        assert records[0]["n"] == 1
    with GraphDatabase.driver(settings.uri("bolt"), auth=("neo4j", "not-the-password")) as driver:
        with pytest.raises(AuthError):
            driver.verify_connectivity()

    shown = run_cli(server_env, "info")
    assert shown.returncode == 0 and info["password"] not in shown.stdout

    stopped = run_cli(server_env, "stop")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "stopped" in stopped.stdout
    assert not nl.pid_alive(pid)
    assert not settings.pid_file.exists()
    assert not nl.port_in_use("127.0.0.1", port)

    after = run_cli(server_env, "status")
    assert after.returncode == 3 and "stopped" in after.stdout
    twice = run_cli(server_env, "stop")
    assert twice.returncode == 0 and "not running" in twice.stdout


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777
