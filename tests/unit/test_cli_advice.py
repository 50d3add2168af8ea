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


def test_a_second_serve_on_a_taken_port_says_so_and_exits():
    from app.cli import main

    server = _http_server(200)
    try:
        port = server.server_address[1]
        result = CliRunner().invoke(main, ["serve", "--bind", f"127.0.0.1:{port}"])
        assert result.exit_code == 1 and f"Karma is already running on http://127.0.0.1:{port}" in result.output
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
