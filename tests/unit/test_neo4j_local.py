"""Unit tests for karma_tools.neo4j_local: the parts that need neither Java nor a Neo4j server."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from karma_tools import neo4j_local as nl
from karma_tools.neo4j_local import java as nl_java
from karma_tools.neo4j_local import process as nl_process


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("KARMA_NEO4J_") or name == "JAVA_HOME":
            monkeypatch.delenv(name)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "neo4j-home"


@pytest.fixture
def settings(home: Path) -> nl.LocalNeo4jSettings:
    return nl.LocalNeo4jSettings.from_env({"KARMA_NEO4J_HOME": str(home)})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------------------------- settings


def test_defaults_from_empty_env():
    s = nl.LocalNeo4jSettings.from_env({})
    assert s.home == nl.REPO_ROOT / ".karma" / "neo4j"
    assert s.lib == s.home / "lib"
    assert (s.bolt_port, s.listen, s.heap, s.pagecache) == (7687, "127.0.0.1", "512m", "64m")
    assert s.tx_memory == "256m"
    assert (s.start_timeout, s.stop_timeout, s.version) == (120.0, 60.0, "5.26.30")
    assert s.java_home is None
    assert s.uri() == "neo4j://127.0.0.1:7687"
    assert s.uri("bolt") == "bolt://127.0.0.1:7687"
    assert s.pid_file == s.home / "neo4j.pid"
    assert s.out_log == s.home / "neo4j.out.log"
    assert s.password_file == s.home / "password"
    assert s.conf_file == s.home / "conf" / "neo4j.conf"


def test_env_overrides(tmp_path: Path):
    env = {
        "KARMA_NEO4J_HOME": str(tmp_path / "h"),
        "KARMA_NEO4J_LIB": str(tmp_path / "jars"),
        "KARMA_NEO4J_BOLT_PORT": "7711",
        "KARMA_NEO4J_LISTEN": "0.0.0.0",
        "KARMA_NEO4J_HEAP": "1g",
        "KARMA_NEO4J_PAGECACHE": "128m",
        "KARMA_NEO4J_TX_MEMORY": "300m",
        "KARMA_NEO4J_START_TIMEOUT": "30.5",
        "KARMA_NEO4J_STOP_TIMEOUT": "5",
        "KARMA_NEO4J_VERSION": "5.26.1",
        "JAVA_HOME": "/opt/jdk",
    }
    s = nl.LocalNeo4jSettings.from_env(env)
    assert s.home == tmp_path / "h"
    assert s.lib == tmp_path / "jars"
    assert s.bolt_port == 7711
    assert s.listen == "0.0.0.0"
    assert (s.heap, s.pagecache, s.tx_memory) == ("1g", "128m", "300m")
    assert (s.start_timeout, s.stop_timeout) == (30.5, 5.0)
    assert s.version == "5.26.1"
    assert s.java_home == Path("/opt/jdk")
    # A wildcard listen address is reached over loopback from this machine.
    assert s.uri() == "neo4j://127.0.0.1:7711"


def test_blank_values_fall_back_to_defaults():
    s = nl.LocalNeo4jSettings.from_env({"KARMA_NEO4J_BOLT_PORT": "", "KARMA_NEO4J_HEAP": "  "})
    assert (s.bolt_port, s.heap) == (7687, "512m")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KARMA_NEO4J_BOLT_PORT", "abc"),
        ("KARMA_NEO4J_BOLT_PORT", "0"),
        ("KARMA_NEO4J_BOLT_PORT", "70000"),
        ("KARMA_NEO4J_HEAP", "lots"),
        ("KARMA_NEO4J_PAGECACHE", "64 MB"),
        ("KARMA_NEO4J_TX_MEMORY", "-1m"),
        ("KARMA_NEO4J_START_TIMEOUT", "soon"),
        ("KARMA_NEO4J_START_TIMEOUT", "0"),
        ("KARMA_NEO4J_STOP_TIMEOUT", "-3"),
        ("KARMA_NEO4J_VERSION", "latest"),
    ],
)
def test_bad_settings_are_refused_with_the_variable_name(name: str, value: str):
    with pytest.raises(nl.Neo4jLocalError) as info:
        nl.LocalNeo4jSettings.from_env({name: value})
    assert name in info.value.message


def test_ipv6_addresses():
    s = nl.LocalNeo4jSettings.from_env({"KARMA_NEO4J_LISTEN": "[::1]", "KARMA_NEO4J_BOLT_PORT": "7700"})
    assert s.listen == "::1"
    assert s.uri() == "neo4j://[::1]:7700"
    assert "server.bolt.listen_address=[::1]:7700" in nl.render_conf(s)
    assert nl.LocalNeo4jSettings.from_env({"KARMA_NEO4J_LISTEN": "::"}).uri() == "neo4j://[::1]:7687"


# ------------------------------------------------------------------------------------------------- conf


def _conf_dict(text: str) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")]
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), "duplicate keys in neo4j.conf"
    return dict(pairs)


def test_render_conf_defaults(settings: nl.LocalNeo4jSettings):
    conf = _conf_dict(nl.render_conf(settings))
    assert conf["server.default_listen_address"] == "127.0.0.1"
    assert conf["server.default_advertised_address"] == "127.0.0.1"
    assert conf["server.bolt.enabled"] == "true"
    assert conf["server.bolt.listen_address"] == "127.0.0.1:7687"
    assert conf["server.http.enabled"] == "false"
    assert conf["server.https.enabled"] == "false"
    assert conf["dbms.security.auth_enabled"] == "true"
    assert conf["server.memory.pagecache.size"] == "64m"
    assert conf["server.memory.heap.max_size"] == "512m"
    assert conf["dbms.memory.transaction.total.max"] == "256m"
    assert conf["db.transaction.timeout"] == "15s"  # no transaction outlives a request
    assert conf["server.directories.data"] == str(settings.home / "data")
    assert conf["server.directories.logs"] == str(settings.home / "logs")
    assert conf["dbms.usage_report.enabled"] == "false"


def test_render_conf_follows_settings(tmp_path: Path):
    s = nl.LocalNeo4jSettings.from_env(
        {
            "KARMA_NEO4J_HOME": str(tmp_path),
            "KARMA_NEO4J_LISTEN": "0.0.0.0",
            "KARMA_NEO4J_BOLT_PORT": "7999",
            "KARMA_NEO4J_PAGECACHE": "16m",
            "KARMA_NEO4J_TX_MEMORY": "1g",
        }
    )
    conf = _conf_dict(nl.render_conf(s))
    assert conf["server.default_listen_address"] == "0.0.0.0"
    assert "server.default_advertised_address" not in conf  # Neo4j's default (localhost) for a wildcard
    assert conf["server.bolt.listen_address"] == "0.0.0.0:7999"
    assert conf["server.memory.pagecache.size"] == "16m"
    assert conf["dbms.memory.transaction.total.max"] == "1g"


def test_write_conf_replaces_the_file(settings: nl.LocalNeo4jSettings):
    settings.conf_dir.mkdir(parents=True)
    settings.conf_file.write_text("server.bolt.listen_address=0.0.0.0:1\n")
    path = nl.write_conf(settings)
    assert path.read_text() == nl.render_conf(settings)
    assert not list(settings.conf_dir.glob("*.tmp"))


def test_server_command(settings: nl.LocalNeo4jSettings):
    cmd = nl.server_command(settings, "/usr/bin/java")
    assert cmd[0] == "/usr/bin/java"
    assert "-Xmx512m" in cmd and "-Xms512m" in cmd
    assert "--add-opens=java.base/java.nio=ALL-UNNAMED" in cmd
    assert cmd[cmd.index("-cp") + 1] == f"{settings.lib}/*"
    assert cmd[-3:] == [nl.ENTRY_POINT, f"--home-dir={settings.home}", f"--config-dir={settings.home / 'conf'}"]


# ------------------------------------------------------------------------------------------------- java


@pytest.mark.parametrize(
    ("text", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_392"', 8),
        ('openjdk version "25-ea" 2025-09-16', 25),
        ("garbage", None),
    ],
)
def test_parse_java_version(text: str, major: int | None):
    assert nl.parse_java_version(text) == major


def _fake_java(tmp_path: Path, version_line: str) -> Path:
    java_home = tmp_path / "jdk"
    (java_home / "bin").mkdir(parents=True)
    java = java_home / "bin" / "java"
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    java.chmod(0o755)
    return java_home


def test_old_java_is_refused(tmp_path: Path):
    java_home = _fake_java(tmp_path, 'openjdk version "11.0.22" 2024-01-16')
    s = nl.LocalNeo4jSettings.from_env({"KARMA_NEO4J_HOME": str(tmp_path / "h"), "JAVA_HOME": str(java_home)})
    with pytest.raises(nl.Neo4jLocalError, match="Java 11"):
        nl.check_java(s)


def test_java_17_is_accepted(tmp_path: Path):
    java_home = _fake_java(tmp_path, 'openjdk version "17.0.15" 2025-04-15')
    s = nl.LocalNeo4jSettings.from_env({"KARMA_NEO4J_HOME": str(tmp_path / "h"), "JAVA_HOME": str(java_home)})
    assert nl.check_java(s) == (str(java_home / "bin" / "java"), 17)


def test_java_home_without_java(tmp_path: Path):
    s = nl.LocalNeo4jSettings.from_env({"KARMA_NEO4J_HOME": str(tmp_path / "h"), "JAVA_HOME": str(tmp_path / "nojdk")})
    with pytest.raises(nl.Neo4jLocalError, match="JAVA_HOME"):
        nl.find_java(s)


def test_missing_java(settings: nl.LocalNeo4jSettings, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(nl_java.shutil, "which", lambda name: None)
    with pytest.raises(nl.Neo4jLocalError, match="No `java` found"):
        nl.find_java(settings)


# ------------------------------------------------------------------------------------------------- jars


def _fake_lib(lib: Path, version: str = "5.26.30", marker: str | None = None) -> Path:
    lib.mkdir(parents=True, exist_ok=True)
    for name in nl.required_jars(version):
        (lib / name).write_bytes(b"PK")
    if marker is not None:
        (lib / nl.VERSION_MARKER).write_text(marker + "\n")
    return lib


def test_jars_present(tmp_path: Path):
    lib = tmp_path / "lib"
    assert not nl.jars_present(lib, "5.26.30")
    _fake_lib(lib)
    assert nl.jars_present(lib, "5.26.30")
    assert not nl.jars_present(lib, "5.26.31")
    (lib / nl.VERSION_MARKER).write_text("5.26.1\n")  # version changed since the fetch
    assert not nl.jars_present(lib, "5.26.30")


def test_ensure_jars_without_maven(settings: nl.LocalNeo4jSettings, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(nl_java.shutil, "which", lambda name: None)
    with pytest.raises(nl.Neo4jLocalError, match="`mvn` is not on PATH"):
        nl.ensure_jars(settings)


def test_ensure_jars_skips_maven_when_present(settings: nl.LocalNeo4jSettings, monkeypatch: pytest.MonkeyPatch):
    _fake_lib(settings.lib, marker="5.26.30")

    def boom(*args, **kwargs):
        raise AssertionError("mvn must not run")

    monkeypatch.setattr(nl_java.subprocess, "run", boom)
    assert nl.ensure_jars(settings) == settings.lib


# --------------------------------------------------------------------------------------------- pid files


def _fake_server(settings: nl.LocalNeo4jSettings) -> subprocess.Popen:
    """A process whose command line looks like this home's Neo4j (python ignores the extra argv)."""
    return subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", nl.ENTRY_POINT, f"--home-dir={settings.home}"],
        start_new_session=True,
    )


def test_no_pid_file(settings: nl.LocalNeo4jSettings):
    assert nl.read_pid(settings) is None
    assert not nl.is_running(settings)


def test_garbage_pid_file_is_removed(settings: nl.LocalNeo4jSettings):
    settings.home.mkdir(parents=True)
    settings.pid_file.write_text("not-a-pid\n")
    assert nl.read_pid(settings) is None
    assert not settings.pid_file.exists()


def test_dead_pid_is_stale(settings: nl.LocalNeo4jSettings):
    settings.home.mkdir(parents=True)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    settings.pid_file.write_text(f"{proc.pid}\n")
    assert nl.read_pid(settings, cleanup=False) is None
    assert settings.pid_file.exists()  # cleanup=False (status, is_running) leaves it
    assert nl.read_pid(settings) is None
    assert not settings.pid_file.exists()


def test_recycled_pid_of_another_program_is_stale(settings: nl.LocalNeo4jSettings):
    settings.home.mkdir(parents=True)
    settings.pid_file.write_text(f"{os.getpid()}\n")  # alive, but it is pytest, not Neo4j
    assert nl.read_pid(settings) is None
    assert not settings.pid_file.exists()


def test_server_of_another_home_is_not_ours(settings: nl.LocalNeo4jSettings, tmp_path: Path):
    other = nl.LocalNeo4jSettings.from_env({"KARMA_NEO4J_HOME": str(tmp_path / "other")})
    proc = _fake_server(other)
    try:
        settings.home.mkdir(parents=True)
        settings.pid_file.write_text(f"{proc.pid}\n")
        assert nl.read_pid(settings) is None
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_zombie_is_not_alive():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])

    def state() -> str:
        return Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]

    deadline = time.monotonic() + 10
    while state() != "Z" and time.monotonic() < deadline:
        time.sleep(0.05)
    # Exited but not yet waited for: kill(pid, 0) still succeeds on a zombie.
    assert not nl.pid_alive(proc.pid)
    proc.wait()


def test_a_server_caught_in_its_exec_is_still_ours(settings: nl.LocalNeo4jSettings, monkeypatch: pytest.MonkeyPatch):
    """Right after a spawn the kernel may show an empty command line (execve has switched the memory, not yet
    set the arguments): the fake server of test_running_server_is_found_and_stopped was once called stale
    that way, and `karma neo4j status` could remove a just-started server's pid file. Read again, briefly."""
    proc = _fake_server(settings)
    try:
        real = nl_process.process_cmdline
        empty = [[], []]  # twice empty, then what the kernel says

        def caught_in_exec(pid):
            return empty.pop() if empty else real(pid)

        monkeypatch.setattr(nl_process, "process_cmdline", caught_in_exec)
        assert nl_process.is_our_server(proc.pid, settings)
        monkeypatch.setattr(nl_process, "process_cmdline", lambda pid: [])  # never any: a kernel thread
        assert not nl_process.is_our_server(proc.pid, settings)
    finally:
        proc.kill()
        proc.wait()


def test_running_server_is_found_and_stopped(settings: nl.LocalNeo4jSettings):
    proc = _fake_server(settings)
    try:
        settings.home.mkdir(parents=True)
        nl.write_pid(settings, proc.pid)
        assert nl.read_pid(settings) == proc.pid
        assert nl.is_running(settings)
        st = nl.status(settings, probe=False)
        assert (st.running, st.pid, st.exit_code) == (True, proc.pid, 0)
        messages: list[str] = []
        assert nl.stop(settings, echo=messages.append) is True
        assert proc.poll() is not None
        assert not settings.pid_file.exists()
        assert any("stopped" in m for m in messages)
        assert f"the Neo4j of {settings.home} (pid {proc.pid})" in messages[0]  # make stop stops four: which
        again: list[str] = []
        assert nl.stop(settings, echo=again.append) is False  # idempotent
        assert again == [f"Neo4j of {settings.home} is not running."]
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_stop_escalates_to_sigkill(tmp_path: Path):
    s = nl.LocalNeo4jSettings.from_env({"KARMA_NEO4J_HOME": str(tmp_path / "h"), "KARMA_NEO4J_STOP_TIMEOUT": "0.5"})
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ok', flush=True); time.sleep(60)"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, nl.ENTRY_POINT, f"--home-dir={s.home}"],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert proc.stdout.readline().strip() == b"ok"  # the SIGTERM handler is installed
        s.home.mkdir(parents=True)
        nl.write_pid(s, proc.pid)
        messages: list[str] = []
        assert nl.stop(s, echo=messages.append) is True
        # stop() reaped it already (so Popen cannot see the signal); it is gone and was killed.
        assert not nl.pid_alive(proc.pid)
        assert any("SIGKILL" in m for m in messages)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()


def test_status_when_stopped(settings: nl.LocalNeo4jSettings):
    st = nl.status(settings)
    assert (st.running, st.pid, st.answering, st.exit_code) == (False, None, None, 3)
    assert st.uri == "neo4j://127.0.0.1:7687"
    assert st.neo4j_log == settings.home / "logs" / "neo4j.log"


# ------------------------------------------------------------------------------------------------ ports


def test_port_in_use_detects_a_listening_socket():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert nl.port_in_use("127.0.0.1", port)
        assert nl.port_in_use("0.0.0.0", port)  # a wildcard bind would clash too
    assert not nl.port_in_use("127.0.0.1", port)


def test_port_free():
    assert not nl.port_in_use("127.0.0.1", _free_port())


def test_start_refuses_a_taken_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        s = nl.LocalNeo4jSettings.from_env(
            {
                "KARMA_NEO4J_HOME": str(tmp_path / "h"),
                "KARMA_NEO4J_LIB": str(_fake_lib(tmp_path / "lib")),
                "KARMA_NEO4J_BOLT_PORT": str(port),
            }
        )
        monkeypatch.setattr(nl_process, "check_java", lambda settings: ("/usr/bin/java", 17))
        with pytest.raises(nl.Neo4jLocalError, match=f"Port {port} on 127.0.0.1 is already in use"):
            nl.start(s)
    assert not s.pid_file.exists()
    assert not s.password_file.exists()


def test_start_refuses_a_taken_http_port_naming_its_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`make run` asks for Neo4j's HTTP port (7474, often another Neo4j's): taken, it is said before the
    start, as the Bolt port is — not a Java stack trace after the start timeout."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        s = nl.LocalNeo4jSettings.from_env(
            {
                "KARMA_NEO4J_HOME": str(tmp_path / "h"),
                "KARMA_NEO4J_LIB": str(_fake_lib(tmp_path / "lib")),
                "KARMA_NEO4J_BOLT_PORT": str(_free_port()),
                "KARMA_NEO4J_HTTP_PORT": str(port),
            }
        )
        monkeypatch.setattr(nl_process, "check_java", lambda settings: ("/usr/bin/java", 17))
        with pytest.raises(
            nl.Neo4jLocalError, match=f"Port {port} on 127.0.0.1 is already in use.*KARMA_NEO4J_HTTP_PORT"
        ):
            nl.start(s)
    assert not s.pid_file.exists()


def test_start_refuses_existing_data_without_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    s = nl.LocalNeo4jSettings.from_env(
        {
            "KARMA_NEO4J_HOME": str(tmp_path / "h"),
            "KARMA_NEO4J_LIB": str(_fake_lib(tmp_path / "lib")),
            "KARMA_NEO4J_BOLT_PORT": str(_free_port()),
        }
    )
    s.system_db_dir.mkdir(parents=True)
    monkeypatch.setattr(nl_process, "check_java", lambda settings: ("/usr/bin/java", 17))
    with pytest.raises(nl.Neo4jLocalError, match="password file is missing|is missing"):
        nl.start(s)


# --------------------------------------------------------------------------------------------- password


def test_password_is_generated_private_and_stable(settings: nl.LocalNeo4jSettings):
    password = nl.ensure_password(settings)
    assert len(password) >= 24
    assert stat.S_IMODE(settings.password_file.stat().st_mode) == 0o600
    assert nl.ensure_password(settings) == password
    settings.password_file.chmod(0o644)
    assert nl.ensure_password(settings) == password
    assert stat.S_IMODE(settings.password_file.stat().st_mode) == 0o600


def test_connection_info(settings: nl.LocalNeo4jSettings):
    with pytest.raises(nl.Neo4jLocalError, match="karma neo4j start"):
        nl.connection_info(settings)
    password = nl.ensure_password(settings)
    assert nl.connection_info(settings) == {"uri": "neo4j://127.0.0.1:7687", "user": "neo4j", "password": password}


def test_argfile_quote():
    assert nl_process._argfile_quote("abc-_123") == '"abc-_123"'
    assert nl_process._argfile_quote('a"b\\c') == '"a\\"b\\\\c"'


# -------------------------------------------------------------------------------------------------- CLI


def test_cli_status_exit_code_when_stopped(home: Path):
    result = CliRunner().invoke(nl.neo4j_cli, ["status"], env={"KARMA_NEO4J_HOME": str(home)})
    assert result.exit_code == 3, result.output
    assert "stopped" in result.output


def test_cli_info_hides_the_password(settings: nl.LocalNeo4jSettings):
    password = nl.ensure_password(settings)
    env = {"KARMA_NEO4J_HOME": str(settings.home)}
    result = CliRunner().invoke(nl.neo4j_cli, ["info"], env=env)
    assert result.exit_code == 0, result.output
    assert password not in result.output
    assert str(settings.password_file) in result.output
    assert "neo4j://127.0.0.1:7687" in result.output
    shown = CliRunner().invoke(nl.neo4j_cli, ["info", "--show-password"], env=env)
    assert password in shown.output


def test_cli_bad_setting_is_a_clean_error(home: Path):
    result = CliRunner().invoke(
        nl.neo4j_cli, ["status"], env={"KARMA_NEO4J_HOME": str(home), "KARMA_NEO4J_BOLT_PORT": "x"}
    )
    assert result.exit_code == 1
    assert "KARMA_NEO4J_BOLT_PORT" in result.output
    assert "Traceback" not in result.output


def test_start_on_a_running_server_with_other_settings(settings: nl.LocalNeo4jSettings, tmp_path: Path):
    """A running server whose conf differs (e.g. the port was changed since) is reported, not waited for.
    Its jars are fakes: had the fake server not been found running, this test fetched the real jars and
    started a real Neo4j (512 MB of heap) that outlived the run (seen once under load)."""
    proc = _fake_server(settings)  # alive and "ours", but answers no Bolt
    try:
        nl.write_conf(settings)
        nl.ensure_password(settings)
        nl.write_pid(settings, proc.pid)
        moved = nl.LocalNeo4jSettings.from_env(
            {
                "KARMA_NEO4J_HOME": str(settings.home),
                "KARMA_NEO4J_BOLT_PORT": str(_free_port()),
                "KARMA_NEO4J_LIB": str(_fake_lib(tmp_path / "lib")),
            }
        )
        assert nl.is_running(moved), nl.process_cmdline(proc.pid)  # the fake is found, or the cause is named
        started = time.monotonic()
        with pytest.raises(nl.Neo4jLocalError, match="other settings"):
            nl.start(moved)
        assert time.monotonic() - started < 10
        assert proc.poll() is None  # not ours to kill from start()
    finally:
        proc.kill()
        proc.wait()


def test_generated_passwords_never_look_like_an_option(tmp_path):
    # a password starting with '-' made `neo4j-admin dbms set-initial-password` fail with exit 64
    from karma_tools import neo4j_local

    for i in range(50):
        settings = neo4j_local.LocalNeo4jSettings.from_env({"KARMA_NEO4J_HOME": str(tmp_path / f"h{i}")})
        password = neo4j_local.ensure_password(settings)
        assert password[0].isalnum() and len(password) >= 32


def test_a_never_used_option_like_password_is_replaced(tmp_path):
    from karma_tools import neo4j_local

    settings = neo4j_local.LocalNeo4jSettings.from_env({"KARMA_NEO4J_HOME": str(tmp_path / "h")})
    settings.home.mkdir(parents=True)
    settings.password_file.write_text("-Abc123\n")
    settings.password_file.chmod(0o600)
    assert not neo4j_local.ensure_password(settings).startswith("-")


THREADED_CHILD = (
    "import threading, time\n"
    "for _ in range(4):\n"
    "    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)


def test_wait_stopped_returns_once_every_thread_of_a_real_process_is_stopped():
    """The one helper `make chaos` and test_frozen_neo4j.py freeze Neo4j with: a process still running
    is not stopped (bounded, TimeoutError); after SIGSTOP it returns with every thread stopped."""
    child = subprocess.Popen([sys.executable, "-c", THREADED_CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "ready\n"
        assert len(nl.thread_states(child.pid)) == 5
        with pytest.raises(TimeoutError, match=f"pid {child.pid}"):
            nl.wait_stopped(child.pid, within=0.2)
        os.kill(child.pid, signal.SIGSTOP)
        nl.wait_stopped(child.pid, within=10)
        assert set(nl.thread_states(child.pid)) <= {"T", "t"}
        os.kill(child.pid, signal.SIGCONT)
    finally:
        child.kill()
        child.wait(timeout=10)


def test_wait_stopped_waits_for_the_last_thread(monkeypatch):
    """kill(SIGSTOP) returns once the signal is sent; a thread still running then must be waited for."""
    seen = iter([["T", "R", "T"], ["T", "S", "T"], ["T", "T", "T"]])
    reads = []
    monkeypatch.setattr(nl_process, "thread_states", lambda pid: reads.append(pid) or next(seen))
    nl.wait_stopped(7, within=5)
    assert reads == [7, 7, 7]


def test_chaos_measures_a_neo4j_whose_every_thread_is_stopped(monkeypatch):
    """`make chaos` sent SIGSTOP and measured at once; it now waits with the shared helper before its
    first request, and continues the server (SIGCONT) whatever happens."""
    from karma_tools import chaos

    class Measured(Exception):
        pass

    events = []
    monkeypatch.setattr(chaos, "_timed", lambda url, **kw: (None, 0.0))  # the six warm-up reads
    monkeypatch.setattr(chaos.os, "kill", lambda pid, sig: events.append((pid, sig)))
    monkeypatch.setattr(chaos, "wait_stopped", lambda pid: events.append((pid, "stopped")))

    def first_measure(*args):
        events.append("measured")
        raise Measured

    monkeypatch.setattr(chaos, "_healthz", first_measure)
    monkeypatch.setattr(chaos.threading, "Thread", lambda **kw: type("T", (), {"start": lambda self: None})())
    with pytest.raises(Measured):
        chaos._frozen("http://127.0.0.1:9", "token", 4242)
    assert events == [(4242, signal.SIGSTOP), (4242, "stopped"), "measured", (4242, signal.SIGCONT)]
