"""Advice that is never dangerous: beside a running server a command says what differs (never "stop the
database"), and a second `karma serve` on a taken port says who holds it and exits."""

from __future__ import annotations

import http.server
import socket
import threading

from click.testing import CliRunner

from karma_tools.neo4j_local import process
from karma_tools.neo4j_local.settings import LocalNeo4jSettings, render_conf


def test_the_running_servers_settings_difference_is_named(tmp_path):
    running = LocalNeo4jSettings.from_env({"KARMA_NEO4J_HOME": str(tmp_path), "KARMA_NEO4J_HTTP_PORT": "7474"})
    mine = LocalNeo4jSettings.from_env({"KARMA_NEO4J_HOME": str(tmp_path)})
    running.conf_file.parent.mkdir(parents=True, exist_ok=True)
    running.conf_file.write_text(render_conf(running))
    said = process.conf_difference(mine)
    assert "running" in said and "7474" in said and "stop" not in said


def _http_server(status: int):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_second_serve_on_a_taken_port_says_so_and_exits(monkeypatch):
    from app.cli import main
    from app.reliability import supervisor

    waits = []
    real_wait = supervisor.wait_for_address
    monkeypatch.setattr(supervisor, "wait_for_address", lambda *a, **k: waits.append(a) or real_wait(*a, **k))
    server = _http_server(200)
    try:
        port = server.server_address[1]
        result = CliRunner().invoke(main, ["serve", "--bind", f"127.0.0.1:{port}"])
        assert result.exit_code == 1 and f"Karma is already running on http://127.0.0.1:{port}" in result.output
        assert waits == []  # a running Karma is said at once, not after waiting for it to stop
    finally:
        server.shutdown()
    other = socket.socket()
    other.bind(("127.0.0.1", 0))
    other.listen(1)
    try:
        result = CliRunner().invoke(main, ["serve", "--bind", f"127.0.0.1:{other.getsockname()[1]}"])
        assert result.exit_code == 1 and "Something else is listening" in result.output
    finally:
        other.close()


def _beside(tmp_path, monkeypatch, record: dict | None, shell: dict):
    """adopt() in a shell with `shell` as its KARMA_NEO4J_*/NEO4J_URI, `record` the running server's."""
    import json
    import os

    from app.cli import beside
    from app.settings import Settings

    for key in {*beside.PICKS, *(k for k in os.environ if k.startswith(("KARMA_NEO4J_", "NEO4J_")))}:
        monkeypatch.setenv(key, "")  # recorded as the test found it (adopt() writes os.environ itself)
        monkeypatch.delenv(key)
    monkeypatch.setenv("KARMA_ADMIN_TOKEN_FILE", str(tmp_path / "admin-token"))
    for key, value in shell.items():
        monkeypatch.setenv(key, value)
    if record is not None:
        (tmp_path / "serving.json").write_text(json.dumps(record))
    return beside.adopt(Settings.from_env())


def test_beside_a_running_serve_a_command_uses_its_neo4j_or_says_how_to_point_at_it(tmp_path, monkeypatch, capsys):
    import os
    import subprocess

    import click
    import pytest

    server = subprocess.Popen(["sleep", "60"])  # a live pid standing for the running `karma serve`
    try:
        theirs = {"KARMA_NEO4J_HOME": str(tmp_path / "dev"), "KARMA_NEO4J_BOLT_PORT": "7743"}
        record = {"pid": server.pid, "url": "http://127.0.0.1:7742", "neo4j": "neo4j://127.0.0.1:7743"}
        record |= {"source": "local", "env": theirs}
        # this shell names no Neo4j: the server's settings are used (no second database is started)
        _beside(tmp_path, monkeypatch, record, {})
        assert {k: os.environ.get(k) for k in theirs} == theirs
        # this shell names another one: its choice, with a note saying what differs and how to point at it
        _beside(tmp_path, monkeypatch, record, {"KARMA_NEO4J_BOLT_PORT": "7687"})
        message = capsys.readouterr().err
        assert os.environ["KARMA_NEO4J_BOLT_PORT"] == "7687"  # not overridden
        assert "KARMA_NEO4J_BOLT_PORT: yours 7687, the server's 7743" in message
        assert f"export KARMA_NEO4J_HOME={tmp_path / 'dev'} KARMA_NEO4J_BOLT_PORT=7743" in message
        assert "stop" not in message.replace("stopped", "")  # never "stop the database"
        # the same server named another way: fine, nothing said
        _beside(tmp_path, monkeypatch, record, {**theirs, "KARMA_NEO4J_HOME": str(tmp_path / "x" / ".." / "dev")})
        # API commands go to the running server's address unless KARMA_URL says otherwise
        from app.cli.beside import api_url

        monkeypatch.delenv("KARMA_URL", raising=False)
        assert api_url() == "http://127.0.0.1:7742"
        monkeypatch.setenv("KARMA_URL", "http://elsewhere:9000/")
        assert api_url() == "http://elsewhere:9000"
        monkeypatch.delenv("KARMA_URL")
        # NEO4J_URI: this shell chose its database itself
        _beside(tmp_path, monkeypatch, record, {"NEO4J_URI": "neo4j://elsewhere:7687"})
        assert capsys.readouterr().err == ""
        # a server on another database than a local one, and a shell naming none: how to point at it
        with pytest.raises(click.ClickException, match="export NEO4J_URI=neo4j://db:7687"):
            _beside(tmp_path, monkeypatch, record | {"source": "env", "neo4j": "neo4j://db:7687"}, {})
    finally:
        server.kill()
        server.wait()
    # the server is gone: its record is ignored
    _beside(tmp_path, monkeypatch, record, {"KARMA_NEO4J_BOLT_PORT": "7687"})
    _beside(tmp_path, monkeypatch, None, {"KARMA_NEO4J_BOLT_PORT": "7687"})  # no record at all
    assert capsys.readouterr().err == ""
    assert api_url() == "http://127.0.0.1:8000"  # no server running: the default


def test_types_validate_speaks_json_too(tmp_path):
    import json

    from app.cli import main
    from app.settings import REPO_ROOT

    good = CliRunner().invoke(main, ["types", "validate", str(REPO_ROOT / "types"), "--json"])
    assert good.exit_code == 0 and json.loads(good.stdout)["ok"] is True and json.loads(good.stdout)["types"] > 5
    (tmp_path / "broken.yaml").write_text("name: [\n")
    bad = CliRunner().invoke(main, ["types", "validate", str(tmp_path), "--json"])
    report = json.loads(bad.stdout)
    assert bad.exit_code == 1 and report["ok"] is False and "broken.yaml" in report["errors"][0]


def test_serve_records_itself_as_starting_before_it_starts_the_local_neo4j(tmp_path, monkeypatch):
    """`make run`'s first minute is mostly the local Neo4j starting: the record (and so the address other
    shells use) must exist before that start, not after the seed."""
    import json

    from app.cli import beside, common
    from app.graph.driver import Target
    from app.settings import Settings

    for key in ("NEO4J_URI", "KARMA_TESTCONTAINERS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("KARMA_TESTCONTAINERS", "0")
    monkeypatch.setenv("KARMA_ADMIN_TOKEN_FILE", str(tmp_path / "admin-token"))
    settings = Settings.from_env()
    seen: list[dict | None] = []

    def started_local():
        path = beside.record_path(settings)
        seen.append(json.loads(path.read_text()) if path.exists() else None)
        return Target("local", "bolt://127.0.0.1:1", None)

    monkeypatch.setattr(common, "_started_local", started_local)
    before = lambda: beside.write(settings, "http://127.0.0.1:9", beside.LOCAL_STARTING, beside.STARTING)  # noqa: E731
    target, repo = common.open_repo(settings, beside_server=False, before_local=before)
    repo.driver.close()
    assert target.uri == "bolt://127.0.0.1:1"
    assert seen and seen[0] is not None, "no record while the local Neo4j was being started"
    assert seen[0]["state"] == "starting" and seen[0]["url"] == "http://127.0.0.1:9"
    assert seen[0]["source"] == "local"


def test_a_starting_servers_record_keeps_when_it_began_starting(tmp_path, monkeypatch):
    """`karma serve` writes `starting` before its local Neo4j starts and again with its address (up to a
    minute later): "still starting there (since …)" names the first time; `serving` has its own."""
    import json
    import time

    from app.cli import beside
    from app.graph.driver import Target
    from app.settings import Settings

    monkeypatch.setenv("KARMA_ADMIN_TOKEN_FILE", str(tmp_path / "admin-token"))
    settings = Settings.from_env()
    clock = iter(["09:00:00", "09:00:41", "09:00:55"])
    monkeypatch.setattr(time, "strftime", lambda _fmt: next(clock))
    path = beside.write(settings, "http://127.0.0.1:9", beside.LOCAL_STARTING, beside.STARTING)
    beside.write(settings, "http://127.0.0.1:9", Target("local", "bolt://127.0.0.1:1", None), beside.STARTING)
    record = json.loads(path.read_text())
    assert record["since"] == "09:00:00" and record["neo4j"] == "bolt://127.0.0.1:1"
    beside.write(settings, "http://127.0.0.1:9", Target("local", "bolt://127.0.0.1:1", None))
    assert json.loads(path.read_text())["since"] == "09:00:41"
