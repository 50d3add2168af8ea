"""Settings of the project's own local Neo4j server: the ``KARMA_NEO4J_*`` variables and the neo4j.conf they make.

Layout under the home directory (``$KARMA_NEO4J_HOME``, default ``<repo>/.karma/neo4j``)::

    lib/              server jars (``mvn dependency:copy-dependencies`` of neo4j/pom.xml), or $KARMA_NEO4J_LIB
    conf/neo4j.conf   generated from the settings on every start
    data/ logs/       the server's data and its own logs (neo4j.log, debug.log, ...)
    password          the generated password of user ``neo4j`` (0600)
    neo4j.pid         pid of the detached java process
    neo4j.out.log     stdout/stderr of the java process

Tooling, not product: the service's own settings are ``app.settings.Settings``; this class only describes the
local server that ``karma neo4j`` runs. Also the error and the echo/log helper the other modules share.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import click

log = logging.getLogger("karma.neo4j")

REPO_ROOT = Path(__file__).resolve().parents[2]
USER = "neo4j"

DEFAULTS = {
    "KARMA_NEO4J_BOLT_PORT": "7687",
    # HTTP (Neo4j Browser at /browser/): off unless set; `make run` sets 7474 (tests keep it off: no port clash)
    "KARMA_NEO4J_HTTP_PORT": "0",
    "KARMA_NEO4J_LISTEN": "127.0.0.1",
    "KARMA_NEO4J_HEAP": "512m",
    "KARMA_NEO4J_PAGECACHE": "64m",
    # Total memory all running transactions may hold (Neo4j's default is 70% of the heap, i.e. implicit).
    "KARMA_NEO4J_TX_MEMORY": "256m",
    "KARMA_NEO4J_START_TIMEOUT": "120",
    "KARMA_NEO4J_STOP_TIMEOUT": "60",
    "KARMA_NEO4J_VERSION": "5.26.30",
}

_MEMORY_RE = re.compile(r"^[1-9][0-9]*[kKmMgG]?$")
_VERSION_RE = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
_WILDCARDS = {"0.0.0.0", "::", ""}


class Neo4jLocalError(click.ClickException):
    """What failed and what to do; printed as ``Error: ...`` by click."""


Echo = Callable[[str], None]

_LOG_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "event"}


def say(echo: Echo | None, message: str, event: str, **fields: object) -> None:
    log.info(event, extra={"neo4j_" + k if k in _LOG_RESERVED else k: v for k, v in fields.items()})
    if echo is not None:
        echo(message)


# --------------------------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class LocalNeo4jSettings:
    home: Path
    lib: Path
    bolt_port: int = 7687
    http_port: int = 0  # 0: no HTTP connector
    listen: str = "127.0.0.1"
    heap: str = "512m"
    pagecache: str = "64m"
    tx_memory: str = "256m"
    start_timeout: float = 120.0
    stop_timeout: float = 60.0
    version: str = "5.26.30"
    java_home: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LocalNeo4jSettings:
        """Read the ``KARMA_NEO4J_*`` variables; raises :class:`Neo4jLocalError` on a bad value."""
        env = os.environ if env is None else env

        def get(name: str) -> str:
            value = env.get(name, "").strip()
            return value if value else DEFAULTS[name]

        # Resolved: the pid-file check compares it with the --home-dir= of the running process.
        home = Path(env.get("KARMA_NEO4J_HOME") or REPO_ROOT / ".karma" / "neo4j").expanduser().resolve()
        lib = Path(env["KARMA_NEO4J_LIB"]).expanduser().absolute() if env.get("KARMA_NEO4J_LIB") else home / "lib"

        port_raw = get("KARMA_NEO4J_BOLT_PORT")
        try:
            port = int(port_raw)
        except ValueError:
            port = -1
        if not 1 <= port <= 65535:
            raise Neo4jLocalError(f"KARMA_NEO4J_BOLT_PORT must be a port number 1-65535, got {port_raw!r}.")

        http_raw = get("KARMA_NEO4J_HTTP_PORT")
        http_port = int(http_raw) if http_raw.isdigit() else -1
        if not 0 <= http_port <= 65535 or http_port == port:
            raise Neo4jLocalError(
                f"KARMA_NEO4J_HTTP_PORT must be 0 (off) or a port 1-65535 other than Bolt's, got {http_raw!r}."
            )

        for name in ("KARMA_NEO4J_HEAP", "KARMA_NEO4J_PAGECACHE", "KARMA_NEO4J_TX_MEMORY"):
            if not _MEMORY_RE.match(get(name)):
                raise Neo4jLocalError(f"{name} must be a size like 512m or 1g, got {get(name)!r}.")

        timeouts = {}
        for name in ("KARMA_NEO4J_START_TIMEOUT", "KARMA_NEO4J_STOP_TIMEOUT"):
            try:
                timeouts[name] = float(get(name))
            except ValueError:
                timeouts[name] = -1.0
            if timeouts[name] <= 0:
                raise Neo4jLocalError(f"{name} must be a positive number of seconds, got {get(name)!r}.")

        version = get("KARMA_NEO4J_VERSION")
        if not _VERSION_RE.match(version):
            raise Neo4jLocalError(f"KARMA_NEO4J_VERSION must look like 5.26.30, got {version!r}.")

        listen = get("KARMA_NEO4J_LISTEN")
        if listen.startswith("[") and listen.endswith("]"):
            listen = listen[1:-1]

        java_home = env.get("JAVA_HOME")
        return cls(
            home=home,
            lib=lib,
            bolt_port=port,
            http_port=http_port,
            listen=listen,
            heap=get("KARMA_NEO4J_HEAP"),
            pagecache=get("KARMA_NEO4J_PAGECACHE"),
            tx_memory=get("KARMA_NEO4J_TX_MEMORY"),
            start_timeout=timeouts["KARMA_NEO4J_START_TIMEOUT"],
            stop_timeout=timeouts["KARMA_NEO4J_STOP_TIMEOUT"],
            version=version,
            java_home=Path(java_home) if java_home else None,
        )

    # paths
    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    @property
    def conf_file(self) -> Path:
        return self.conf_dir / "neo4j.conf"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def pid_file(self) -> Path:
        return self.home / "neo4j.pid"

    @property
    def out_log(self) -> Path:
        return self.home / "neo4j.out.log"

    @property
    def password_file(self) -> Path:
        return self.home / "password"

    @property
    def lock_file(self) -> Path:
        return self.home / ".lock"

    @property
    def system_db_dir(self) -> Path:
        return self.data_dir / "databases" / "system"

    # addresses
    @property
    def connect_host(self) -> str:
        """Where clients on this machine connect: the listen address, or loopback for a wildcard."""
        if self.listen in _WILDCARDS:
            return "::1" if self.listen == "::" else "127.0.0.1"
        return self.listen

    def uri(self, scheme: str = "neo4j") -> str:
        return f"{scheme}://{_host_port(self.connect_host, self.bolt_port)}"


def load_settings(env: Mapping[str, str] | None = None) -> LocalNeo4jSettings:
    return LocalNeo4jSettings.from_env(env)


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# ------------------------------------------------------------------------------------------------- neo4j.conf


def _http_lines(settings: LocalNeo4jSettings) -> list[str]:
    """The HTTP connector, only when asked for: it serves Neo4j Browser at /browser/ (login over Bolt)."""
    if not settings.http_port:
        return ["server.http.enabled=false"]
    listen = _host_port(settings.listen, settings.http_port) if settings.listen else f":{settings.http_port}"
    bolt = _host_port(settings.connect_host, settings.bolt_port)
    # the HTTP discovery document tells Browser where Bolt is: our port, not the default 7687
    return [
        "server.http.enabled=true",
        f"server.http.listen_address={listen}",
        f"server.bolt.advertised_address={bolt}",
    ]


def render_conf(settings: LocalNeo4jSettings) -> str:
    """The whole neo4j.conf for these settings (rewritten on every start; edit the env vars, not the file)."""
    listen = _host_port(settings.listen, settings.bolt_port) if settings.listen else f":{settings.bolt_port}"
    lines = [
        "# Generated by karma_tools/neo4j_local on every start; changes here are overwritten.",
        "# Configure with KARMA_NEO4J_* environment variables instead.",
        f"server.default_listen_address={settings.listen or '0.0.0.0'}",
    ]
    if settings.listen not in _WILDCARDS:
        # Routing tables (neo4j:// URIs) hand out the advertised address; keep it reachable.
        lines.append(f"server.default_advertised_address={settings.listen}")
    lines += [
        "server.bolt.enabled=true",
        f"server.bolt.listen_address={listen}",
        *_http_lines(settings),
        "server.https.enabled=false",
        "dbms.security.auth_enabled=true",
        f"server.memory.pagecache.size={settings.pagecache}",
        # The heap itself is set with -Xms/-Xmx on the java command line (no launcher script reads these).
        f"server.memory.heap.initial_size={settings.heap}",
        f"server.memory.heap.max_size={settings.heap}",
        f"dbms.memory.transaction.total.max={settings.tx_memory}",
        f"server.directories.data={settings.data_dir}",
        f"server.directories.logs={settings.logs_dir}",
        f"server.directories.plugins={settings.home / 'plugins'}",
        f"server.directories.import={settings.home / 'import'}",
        "dbms.usage_report.enabled=false",
        # No transaction outlives a request: the server ends any that runs longer (Karma's own limit is 10 s).
        "db.transaction.timeout=15s",
        # Bolt waits 5 s + 5 s for connections and worker threads on shutdown by default; 1 s is plenty locally.
        "internal.server.bolt.connection_shutdown_wait_time=1s",
        "internal.server.bolt.thread_pool_shutdown_wait_time=1s",
        "",
    ]
    return "\n".join(lines)


def write_conf(settings: LocalNeo4jSettings) -> Path:
    settings.conf_dir.mkdir(parents=True, exist_ok=True)
    tmp = settings.conf_file.with_suffix(".conf.tmp")
    tmp.write_text(render_conf(settings), encoding="utf-8")
    os.replace(tmp, settings.conf_file)
    return settings.conf_file


def tail_text(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:])
