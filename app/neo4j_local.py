"""The project's own Neo4j 5.26 Community server, run from Maven Central jars without Docker.

Layout under the home directory (``$KARMA_NEO4J_HOME``, default ``<repo>/.karma/neo4j``)::

    lib/              server jars (``mvn dependency:copy-dependencies`` of neo4j/pom.xml), or $KARMA_NEO4J_LIB
    conf/neo4j.conf   generated from the settings on every start
    data/ logs/       the server's data and its own logs (neo4j.log, debug.log, ...)
    password          the generated password of user ``neo4j`` (0600)
    neo4j.pid         pid of the detached java process
    neo4j.out.log     stdout/stderr of the java process

The server is the real one (``org.neo4j.server.CommunityEntryPoint``) configured by ``neo4j.conf``; only the
launcher script of the tarball is replaced by this module (heap and ``--add-opens`` flags are passed here).
Authentication is on: the first start sets a random initial password with the admin tool
(``neo4j-admin dbms set-initial-password``, main class ``org.neo4j.cli.AdminTool``).

Only stdlib + ``neo4j`` + ``click``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import click

log = logging.getLogger("karma.neo4j")

REPO_ROOT = Path(__file__).resolve().parent.parent
POM = REPO_ROOT / "neo4j" / "pom.xml"

ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"
ADMIN_MAIN = "org.neo4j.cli.AdminTool"
USER = "neo4j"
MIN_JAVA = 17
MAX_TESTED_JAVA = 21  # 5.26 supports 17 and 21; newer JVMs get a warning, not a refusal.
VERSION_MARKER = ".neo4j-version"

# What the tarball's launcher adds and the entry point needs (Netty direct buffers, store files).
JVM_FLAGS = (
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+ExitOnOutOfMemoryError",
    "-Dfile.encoding=UTF-8",
)

DEFAULTS = {
    "KARMA_NEO4J_BOLT_PORT": "7687",
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


def _say(echo: Echo | None, message: str, event: str, **fields: object) -> None:
    log.info(event, extra={"neo4j_" + k if k in _LOG_RESERVED else k: v for k, v in fields.items()})
    if echo is not None:
        echo(message)


# --------------------------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    home: Path
    lib: Path
    bolt_port: int = 7687
    listen: str = "127.0.0.1"
    heap: str = "512m"
    pagecache: str = "64m"
    tx_memory: str = "256m"
    start_timeout: float = 120.0
    stop_timeout: float = 60.0
    version: str = "5.26.30"
    java_home: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
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


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    return Settings.from_env(env)


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# ------------------------------------------------------------------------------------------------- neo4j.conf


def render_conf(settings: Settings) -> str:
    """The whole neo4j.conf for these settings (rewritten on every start; edit the env vars, not the file)."""
    listen = _host_port(settings.listen, settings.bolt_port) if settings.listen else f":{settings.bolt_port}"
    lines = [
        "# Generated by app/neo4j_local.py on every start; changes here are overwritten.",
        "# Configure with KARMA_NEO4J_* environment variables instead.",
        f"server.default_listen_address={settings.listen or '0.0.0.0'}",
    ]
    if settings.listen not in _WILDCARDS:
        # Routing tables (neo4j:// URIs) hand out the advertised address; keep it reachable.
        lines.append(f"server.default_advertised_address={settings.listen}")
    lines += [
        "server.bolt.enabled=true",
        f"server.bolt.listen_address={listen}",
        "server.http.enabled=false",
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


def write_conf(settings: Settings) -> Path:
    settings.conf_dir.mkdir(parents=True, exist_ok=True)
    tmp = settings.conf_file.with_suffix(".conf.tmp")
    tmp.write_text(render_conf(settings), encoding="utf-8")
    os.replace(tmp, settings.conf_file)
    return settings.conf_file


def server_command(settings: Settings, java: str) -> list[str]:
    return [
        java,
        f"-Xmx{settings.heap}",
        f"-Xms{settings.heap}",
        *JVM_FLAGS,
        "-cp",
        str(settings.lib / "*"),
        ENTRY_POINT,
        f"--home-dir={settings.home}",
        f"--config-dir={settings.conf_dir}",
    ]


# ------------------------------------------------------------------------------------------------------- java


def find_java(settings: Settings) -> str:
    if settings.java_home is not None:
        candidate = settings.java_home / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
        raise Neo4jLocalError(
            f"JAVA_HOME is {settings.java_home} but {candidate} is not an executable. "
            f"Point JAVA_HOME at a JDK {MIN_JAVA}+ or unset it to use `java` from PATH."
        )
    found = shutil.which("java")
    if not found:
        raise Neo4jLocalError(
            f"No `java` found (JAVA_HOME unset, nothing on PATH). Install a JDK {MIN_JAVA} or {MAX_TESTED_JAVA} "
            "(e.g. `apt-get install openjdk-17-jre-headless`) or set JAVA_HOME."
        )
    return found


def parse_java_version(text: str) -> int | None:
    """Major version from ``java -version`` output (``"17.0.15"`` -> 17, ``"1.8.0_392"`` -> 8)."""
    match = re.search(r'version "([0-9]+)(?:\.([0-9]+))?[^"]*"', text)
    if not match:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2):
        return int(match.group(2))
    return major


def check_java(settings: Settings) -> tuple[str, int]:
    java = find_java(settings)
    try:
        proc = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Neo4jLocalError(f"Could not run `{java} -version`: {exc}") from exc
    major = parse_java_version(proc.stderr + proc.stdout)
    if major is None:
        raise Neo4jLocalError(f"Could not read the Java version from `{java} -version`: {proc.stderr.strip()!r}")
    if major < MIN_JAVA:
        raise Neo4jLocalError(
            f"{java} is Java {major}; Neo4j {settings.version} needs Java {MIN_JAVA} or {MAX_TESTED_JAVA}. "
            "Set JAVA_HOME to a newer JDK."
        )
    if major > MAX_TESTED_JAVA:
        log.warning("neo4j.java.untested", extra={"java": java, "java_major": major})
    return java, major


# ------------------------------------------------------------------------------------------------------- jars


def required_jars(version: str) -> tuple[str, ...]:
    return (f"neo4j-{version}.jar", f"neo4j-command-line-{version}.jar", f"neo4j-bolt-{version}.jar")


def jars_present(lib: Path, version: str) -> bool:
    """True when ``lib`` holds the jars of ``version`` (and no version marker says otherwise)."""
    if not all((lib / name).is_file() for name in required_jars(version)):
        return False
    marker = lib / VERSION_MARKER
    if marker.is_file():
        return marker.read_text(encoding="utf-8").strip() == version
    return True


def ensure_jars(settings: Settings | None = None, echo: Echo | None = None, force: bool = False) -> Path:
    """Fetch the server jars into ``settings.lib`` with Maven unless the right version is already there."""
    settings = settings or load_settings()
    lib = settings.lib
    if not force and jars_present(lib, settings.version):
        log.debug("neo4j.jars.present", extra={"lib": str(lib), "version": settings.version})
        return lib
    mvn = shutil.which("mvn")
    if not mvn:
        raise Neo4jLocalError(
            f"Neo4j {settings.version} jars are missing from {lib} and `mvn` is not on PATH. Install Maven 3.8+ "
            "(e.g. `apt-get install maven`), or set KARMA_NEO4J_LIB to a directory that already holds them."
        )
    if not POM.is_file():
        raise Neo4jLocalError(f"{POM} is missing; it lists the jars to fetch. Restore it from git.")
    lib.parent.mkdir(parents=True, exist_ok=True)
    partial = lib.parent / f".{lib.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    cmd = [
        mvn, "-B", "-q", "-f", str(POM), "dependency:copy-dependencies",
        f"-DoutputDirectory={partial}", "-DincludeScope=runtime", f"-Dneo4j.version={settings.version}",
    ]  # fmt: skip
    _say(
        echo,
        f"Fetching Neo4j {settings.version} jars with Maven into {lib} (about 125 MB the first time)...",
        "neo4j.jars.fetch",
        lib=str(lib),
        version=settings.version,
    )
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT)
        if proc.returncode != 0:
            tail = _tail_text((proc.stdout + proc.stderr).strip(), 25)
            raise Neo4jLocalError(
                f"Maven could not fetch the Neo4j {settings.version} jars (exit {proc.returncode}). Check network "
                f"access to Maven Central (or your ~/.m2/settings.xml mirror) and that the version exists.\n"
                f"Command: {' '.join(cmd)}\n{tail}"
            )
        missing = [name for name in required_jars(settings.version) if not (partial / name).is_file()]
        if missing:
            raise Neo4jLocalError(f"Maven ran but {', '.join(missing)} did not arrive in {partial}; see {POM}.")
        (partial / VERSION_MARKER).write_text(settings.version + "\n", encoding="utf-8")
        _replace_dir(partial, lib)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    jars = list(lib.glob("*.jar"))
    size_mb = sum(p.stat().st_size for p in jars) / 1e6
    seconds = time.monotonic() - started
    _say(
        echo,
        f"Fetched {len(jars)} jars ({size_mb:.0f} MB) in {seconds:.1f} s.",
        "neo4j.jars.fetched",
        lib=str(lib),
        jars=len(jars),
        size_mb=round(size_mb, 1),
        seconds=round(seconds, 1),
    )
    return lib


def _replace_dir(new: Path, target: Path) -> None:
    if target.is_symlink():
        target.unlink()
    elif target.exists():
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        os.replace(target, old)
        shutil.rmtree(old, ignore_errors=True)
    os.replace(new, target)


# ------------------------------------------------------------------------------------------- processes, ports


def port_in_use(host: str, port: int) -> bool:
    """True when something listens on ``host:port`` (we try to bind it, as the server would)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # Same as the server's listener: a port left in TIME_WAIT by a previous run is not "in use".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host or "0.0.0.0", port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


# Popen objects of servers started by this process, so stop() can reap them (no zombies, no ResourceWarning).
_CHILDREN: dict[int, subprocess.Popen] = {}


def pid_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie (reaping it if it is our own dead child)."""
    if pid <= 0:  # 0 and -1 mean "process group" / "every process" to kill() and waitpid()
        return False
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is not None:
            _CHILDREN.pop(pid, None)
            return False
        return True
    with contextlib.suppress(ChildProcessError, OSError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def process_cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        return [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    except FileNotFoundError:
        if Path("/proc/self").exists():
            return None
    except OSError:
        return None
    try:  # no /proc (macOS)
        out = subprocess.run(["ps", "-p", str(pid), "-o", "command="], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.split() if out.returncode == 0 and out.stdout.strip() else None


def is_our_server(pid: int, settings: Settings) -> bool:
    """The process runs the Neo4j entry point for this home (guards against recycled pids)."""
    cmdline = process_cmdline(pid)
    if not cmdline:
        return False
    return ENTRY_POINT in cmdline and f"--home-dir={settings.home}" in cmdline


def read_pid(settings: Settings, cleanup: bool = True, echo: Echo | None = None) -> int | None:
    """Pid of the running server of this home, or None; a stale pid file is removed (when ``cleanup``)."""
    try:
        raw = settings.pid_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    try:
        pid = int(raw)
    except ValueError:
        pid = None
    if pid is not None and pid > 0 and pid_alive(pid) and is_our_server(pid, settings):
        return pid
    if cleanup:
        with contextlib.suppress(FileNotFoundError):
            settings.pid_file.unlink()
        _say(
            echo,
            f"Removed stale pid file {settings.pid_file} (pid {raw!r} is not a running Neo4j of this home).",
            "neo4j.pid.stale",
            pid_file=str(settings.pid_file),
            stale_pid=raw,
        )
    return None


def write_pid(settings: Settings, pid: int) -> None:
    tmp = settings.pid_file.with_suffix(".pid.tmp")
    tmp.write_text(f"{pid}\n", encoding="utf-8")
    os.replace(tmp, settings.pid_file)


def is_running(settings: Settings | None = None) -> bool:
    """True if this home's server process is alive (it may still be starting; see :func:`status`)."""
    settings = settings or load_settings()
    return read_pid(settings, cleanup=False) is not None


@contextlib.contextmanager
def _home_lock(settings: Settings) -> Iterator[None]:
    """Serialise start/stop of one home between processes."""
    settings.home.mkdir(parents=True, exist_ok=True)
    with open(settings.lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------------------------------- password


def read_password(settings: Settings) -> str | None:
    try:
        return settings.password_file.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def ensure_password(settings: Settings, echo: Echo | None = None) -> str:
    """The stored password, generating one (0600) on first use; permissions are tightened if loosened."""
    settings.home.mkdir(parents=True, exist_ok=True)
    password = read_password(settings)
    if password is not None and password.startswith("-") and not settings.system_db_dir.exists():
        password = None  # an older generator's password that the admin tool read as an option: never set
    if password is not None:
        if settings.password_file.stat().st_mode & 0o077:
            os.chmod(settings.password_file, 0o600)
            log.warning("neo4j.password.chmod", extra={"password_file": str(settings.password_file)})
        return password
    # hex only: a urlsafe token can start with '-', which neo4j-admin reads as an option (exit 64)
    password = secrets.token_hex(20)
    fd = os.open(settings.password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    os.chmod(settings.password_file, 0o600)
    _say(
        echo,
        f"Generated a password for user '{USER}' in {settings.password_file} (mode 0600).",
        "neo4j.password.generated",
        password_file=str(settings.password_file),
    )
    return password


def _argfile_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def set_initial_password(settings: Settings, java: str, password: str, echo: Echo | None = None) -> None:
    """``neo4j-admin dbms set-initial-password`` (only effective before the first start).

    The password travels in a 0600 picocli @argfile, not on the command line where ``ps`` would show it.
    """
    argfile = settings.home / ".set-initial-password.args"
    with contextlib.suppress(FileNotFoundError):
        argfile.unlink()
    fd = os.open(argfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f"dbms\nset-initial-password\n{_argfile_quote(password)}\n")
    cmd = [java, "-Xmx256m", *JVM_FLAGS, "-cp", str(settings.lib / "*"), ADMIN_MAIN, f"@{argfile}"]
    env = dict(os.environ, NEO4J_HOME=str(settings.home), NEO4J_CONF=str(settings.conf_dir))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=settings.home, timeout=180)
    except subprocess.TimeoutExpired as exc:
        raise Neo4jLocalError("neo4j-admin dbms set-initial-password did not finish within 180 s.") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            argfile.unlink()
    output = (proc.stdout + proc.stderr).replace(password, "***")
    if proc.returncode != 0:
        raise Neo4jLocalError(
            f"Setting the initial Neo4j password failed (neo4j-admin dbms set-initial-password, exit "
            f"{proc.returncode}). Output:\n{_tail_text(output.strip(), 20)}\nCheck that {settings.lib} holds "
            f"complete Neo4j {settings.version} jars (`karma neo4j jars --force`)."
        )
    _say(echo, f"Set the initial password of user '{USER}'.", "neo4j.password.initial_set")


# ---------------------------------------------------------------------------------------------------- probing


def _probe(settings: Settings, password: str | None, timeout: float = 5.0) -> Exception | None:
    """None if Bolt answers ``RETURN 1`` with this password, else the exception (AuthError is final)."""
    from neo4j import GraphDatabase  # noqa: PLC0415 - keep `import app.neo4j_local` cheap for the CLI

    auth = (USER, password) if password is not None else None
    try:
        # bolt:// (direct): no routing-table warnings while the server is still coming up.
        with GraphDatabase.driver(
            settings.uri("bolt"), auth=auth, connection_timeout=timeout, connection_acquisition_timeout=timeout
        ) as driver:
            driver.verify_connectivity()
            records, _, _ = driver.execute_query("RETURN 1 AS ok")
            if not records or records[0]["ok"] != 1:
                return RuntimeError(f"RETURN 1 answered {records!r}")
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return exc
    return None


def _is_auth_error(exc: BaseException) -> bool:
    from neo4j.exceptions import AuthError  # noqa: PLC0415

    return isinstance(exc, AuthError)


def _auth_error_message(settings: Settings) -> str:
    return (
        f"The Neo4j server on {settings.uri('bolt')} refuses the password in {settings.password_file}. The data in "
        f"{settings.data_dir} was initialised with another password. Restore the matching password file, or "
        f"stop the server and delete {settings.data_dir} (this destroys the local graph) to start afresh."
    )


def _tail_text(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _tail_file(path: Path, lines: int = 15) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 16384))
            return _tail_text(handle.read().decode(errors="replace"), lines)
    except OSError:
        return ""


def _log_hint(settings: Settings) -> str:
    parts = []
    for path in (settings.out_log, settings.logs_dir / "neo4j.log"):
        tail = _tail_file(path)
        if tail.strip():
            parts.append(f"--- last lines of {path} ---\n{tail}")
    parts.append(f"Logs: {settings.out_log}, {settings.logs_dir / 'neo4j.log'}, {settings.logs_dir / 'debug.log'}")
    return "\n".join(parts)


def _wait_ready(
    settings: Settings,
    password: str,
    pid: int,
    timeout: float,
    proc: subprocess.Popen | None = None,
) -> float:
    started = time.monotonic()
    deadline = started + timeout
    last: Exception | None = None
    while True:
        if proc is not None and proc.poll() is not None:
            _CHILDREN.pop(pid, None)
            raise Neo4jLocalError(
                f"Neo4j exited with code {proc.returncode} while starting (pid {pid}).\n{_log_hint(settings)}"
            )
        if proc is None and not pid_alive(pid):
            raise Neo4jLocalError(f"Neo4j (pid {pid}) died while starting.\n{_log_hint(settings)}")
        remaining = deadline - time.monotonic()
        last = _probe(settings, password, timeout=max(1.0, min(5.0, remaining)))
        if last is None:
            return time.monotonic() - started
        if _is_auth_error(last):
            raise Neo4jLocalError(_auth_error_message(settings))
        if time.monotonic() >= deadline:
            raise Neo4jLocalError(
                f"Neo4j (pid {pid}) did not answer on {settings.uri('bolt')} within {timeout:.0f} s "
                f"(KARMA_NEO4J_START_TIMEOUT). Last error: {last}\n{_log_hint(settings)}"
            )
        time.sleep(0.25)


# ------------------------------------------------------------------------------------------ start/stop/status


@dataclass(frozen=True)
class StartResult:
    pid: int
    uri: str
    started: bool  # False when it was already running
    seconds: float  # from spawning java to the first answered RETURN 1 (0.0 when already running)
    first_start: bool = False  # True when the data directory was initialised by this start


@dataclass(frozen=True)
class Status:
    running: bool
    pid: int | None
    port: int
    uri: str
    home: Path
    out_log: Path
    neo4j_log: Path
    debug_log: Path
    answering: bool | None = None  # None when not running

    @property
    def exit_code(self) -> int:
        return 0 if self.running else 3


def start(settings: Settings | None = None, echo: Echo | None = None, timeout: float | None = None) -> StartResult:
    """Start the server detached and wait until Bolt answers; a no-op if it already runs."""
    settings = settings or load_settings()
    timeout = settings.start_timeout if timeout is None else timeout
    with _home_lock(settings):
        pid = read_pid(settings, echo=echo)
        if pid is not None:
            password = read_password(settings)
            if password is None:
                raise Neo4jLocalError(
                    f"Neo4j is running (pid {pid}) but {settings.password_file} is missing; stop it with "
                    "`karma neo4j stop` and restore the password file."
                )
            try:
                same_conf = settings.conf_file.read_text(encoding="utf-8") == render_conf(settings)
            except OSError:
                same_conf = False
            error = _probe(settings, password, timeout=3.0)
            if error is not None and _is_auth_error(error):
                raise Neo4jLocalError(_auth_error_message(settings))
            if not same_conf:
                message = (
                    f"Neo4j is running (pid {pid}) with other settings than the current KARMA_NEO4J_* ones "
                    f"({settings.conf_file} differs); run `karma neo4j stop` and start again to apply them."
                )
                if error is not None:
                    raise Neo4jLocalError(message + f" It does not answer on {settings.uri('bolt')}: {error}")
                _say(echo, message, "neo4j.start.settings_differ", pid=pid)
            if error is None:
                _say(
                    echo,
                    f"Neo4j is already running (pid {pid}) on {settings.uri()}.",
                    "neo4j.start.already_running",
                    pid=pid,
                    uri=settings.uri(),
                )
                return StartResult(pid=pid, uri=settings.uri(), started=False, seconds=0.0)
            _say(echo, f"Neo4j (pid {pid}) is running but not answering yet; waiting...", "neo4j.start.waiting",
                 pid=pid)  # fmt: skip
            _wait_ready(settings, password, pid, timeout)
            _say(echo, f"Neo4j is running (pid {pid}) on {settings.uri()}.", "neo4j.start.already_running",
                 pid=pid, uri=settings.uri())  # fmt: skip
            return StartResult(pid=pid, uri=settings.uri(), started=False, seconds=0.0)

        java, java_major = check_java(settings)
        ensure_jars(settings, echo=echo)
        if not jars_present(settings.lib, settings.version):
            raise Neo4jLocalError(
                f"The Neo4j {settings.version} jars ({', '.join(required_jars(settings.version))}) are not in "
                f"{settings.lib}. Run `karma neo4j jars --force`, or fix KARMA_NEO4J_LIB / KARMA_NEO4J_VERSION."
            )
        if port_in_use(settings.listen, settings.bolt_port):
            raise Neo4jLocalError(
                f"Port {settings.bolt_port} on {settings.listen or '*'} is already in use by another process (not "
                f"the Neo4j of {settings.home}). Stop that process or choose another port with "
                "KARMA_NEO4J_BOLT_PORT."
            )

        for directory in (settings.data_dir, settings.logs_dir, settings.home / "plugins", settings.home / "import"):
            directory.mkdir(parents=True, exist_ok=True)
        write_conf(settings)

        first_start = not settings.system_db_dir.exists()
        had_password = read_password(settings) is not None
        if not first_start and not had_password:
            raise Neo4jLocalError(
                f"{settings.data_dir} already holds a database but {settings.password_file} is missing, so the "
                f"password of user '{USER}' is unknown. Restore the password file, or delete {settings.data_dir} "
                "(this destroys the local graph) and start again."
            )
        password = ensure_password(settings, echo=echo)
        if first_start:
            set_initial_password(settings, java, password, echo=echo)

        cmd = server_command(settings, java)
        _say(
            echo,
            f"Starting Neo4j {settings.version} on {settings.uri()} (heap {settings.heap}, page cache "
            f"{settings.pagecache}, Java {java_major}); logs in {settings.logs_dir}.",
            "neo4j.start",
            uri=settings.uri(),
            home=str(settings.home),
            version=settings.version,
            heap=settings.heap,
            pagecache=settings.pagecache,
            first_start=first_start,
        )
        started = time.monotonic()
        with open(settings.out_log, "ab") as out:
            out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(cmd)}\n".encode())
            out.flush()
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=settings.home,
                start_new_session=True,  # own session: survives the caller and its terminal's signals
                close_fds=True,
            )
        _CHILDREN[proc.pid] = proc
        write_pid(settings, proc.pid)
        try:
            _wait_ready(settings, password, proc.pid, timeout, proc=proc)
        except BaseException:
            # Leave nothing half-started behind (timeout, Ctrl-C, wrong password).
            _terminate(proc.pid, grace=min(settings.stop_timeout, 30.0))
            with contextlib.suppress(FileNotFoundError):
                settings.pid_file.unlink()
            raise
        seconds = time.monotonic() - started
        _say(
            echo,
            f"Neo4j is ready on {settings.uri()} (pid {proc.pid}) after {seconds:.1f} s"
            f"{' (first start)' if first_start else ''}.",
            "neo4j.started",
            pid=proc.pid,
            uri=settings.uri(),
            seconds=round(seconds, 2),
            first_start=first_start,
        )
        return StartResult(pid=proc.pid, uri=settings.uri(), started=True, seconds=seconds, first_start=first_start)


def _terminate(pid: int, grace: float) -> bool:
    """SIGTERM, wait ``grace`` seconds, then SIGKILL. True if it needed SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_gone(pid, grace):
        _CHILDREN.pop(pid, None)
        return False
    log.warning("neo4j.stop.sigkill", extra={"pid": pid, "grace_seconds": grace})
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _wait_gone(pid, 15.0)
    _CHILDREN.pop(pid, None)
    return True


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def stop(settings: Settings | None = None, echo: Echo | None = None) -> bool:
    """Stop the server (SIGTERM, then SIGKILL after KARMA_NEO4J_STOP_TIMEOUT). True if one was running."""
    settings = settings or load_settings()
    if not settings.pid_file.exists():  # nothing to do (and no need to create the home for a lock)
        _say(echo, "Neo4j is not running.", "neo4j.stop.not_running", home=str(settings.home))
        return False
    with _home_lock(settings):
        pid = read_pid(settings, echo=echo)
        if pid is None:
            _say(echo, "Neo4j is not running.", "neo4j.stop.not_running", home=str(settings.home))
            return False
        started = time.monotonic()
        _say(echo, f"Stopping Neo4j (pid {pid})...", "neo4j.stop", pid=pid)
        killed = _terminate(pid, settings.stop_timeout)
        with contextlib.suppress(FileNotFoundError):
            settings.pid_file.unlink()
        seconds = time.monotonic() - started
        how = f"killed (SIGKILL after {settings.stop_timeout:.0f} s)" if killed else "stopped"
        _say(echo, f"Neo4j {how} in {seconds:.1f} s.", "neo4j.stopped", pid=pid, seconds=round(seconds, 2),
             killed=killed)  # fmt: skip
        return True


def status(settings: Settings | None = None, probe: bool = True) -> Status:
    settings = settings or load_settings()
    pid = read_pid(settings, cleanup=False)
    answering = None
    if pid is not None and probe:
        answering = _probe(settings, read_password(settings), timeout=3.0) is None
    return Status(
        running=pid is not None,
        pid=pid,
        port=settings.bolt_port,
        uri=settings.uri(),
        home=settings.home,
        out_log=settings.out_log,
        neo4j_log=settings.logs_dir / "neo4j.log",
        debug_log=settings.logs_dir / "debug.log",
        answering=answering,
    )


def connection_info(settings: Settings | None = None) -> dict[str, str]:
    """``{"uri", "user", "password"}`` for the local server (as used by the service's driver)."""
    settings = settings or load_settings()
    password = read_password(settings)
    if password is None:
        raise Neo4jLocalError(
            f"No password file at {settings.password_file}: the local Neo4j has not been started yet. "
            "Run `karma neo4j start`."
        )
    return {"uri": settings.uri(), "user": USER, "password": password}


# -------------------------------------------------------------------------------------------------------- CLI


@click.group(name="neo4j")
def neo4j_cli() -> None:
    """Run the project's own Neo4j Community server (no Docker; jars from Maven Central)."""


@neo4j_cli.command("start")
@click.option("--timeout", type=float, default=None, help="Seconds to wait for Bolt (KARMA_NEO4J_START_TIMEOUT).")
def start_cmd(timeout: float | None) -> None:
    """Start the server in the background and wait until it answers."""
    start(load_settings(), echo=click.echo, timeout=timeout)


@neo4j_cli.command("stop")
def stop_cmd() -> None:
    """Stop the server (idempotent)."""
    stop(load_settings(), echo=click.echo)


@neo4j_cli.command("status")
@click.pass_context
def status_cmd(ctx: click.Context) -> None:
    """Show whether the server runs; exit code 0 when running, 3 when stopped."""
    st = status(load_settings())
    if st.running:
        answering = "yes" if st.answering else "no (starting, or see the logs)"
        click.echo(f"Neo4j is running: pid {st.pid}, port {st.port}, uri {st.uri}, answering: {answering}")
    else:
        click.echo(f"Neo4j is stopped (port {st.port}, uri {st.uri}).")
    click.echo(f"  home:      {st.home}")
    click.echo(f"  logs:      {st.neo4j_log}, {st.debug_log}")
    click.echo(f"  java out:  {st.out_log}")
    ctx.exit(st.exit_code)


@neo4j_cli.command("jars")
@click.option("--force", is_flag=True, help="Fetch again even if the jars are present.")
def jars_cmd(force: bool) -> None:
    """Fetch the server jars with Maven (only)."""
    settings = load_settings()
    lib = ensure_jars(settings, echo=click.echo, force=force)
    jars = list(lib.glob("*.jar"))
    size_mb = sum(p.stat().st_size for p in jars) / 1e6
    click.echo(f"Neo4j {settings.version}: {len(jars)} jars, {size_mb:.0f} MB in {lib}")


@neo4j_cli.command("info")
@click.option("--show-password", is_flag=True, help="Print the password itself.")
def info_cmd(show_password: bool) -> None:
    """Print how to connect (the password only with --show-password)."""
    settings = load_settings()
    click.echo(f"uri:           {settings.uri()}")
    click.echo(f"user:          {USER}")
    click.echo(f"password file: {settings.password_file}")
    if show_password:
        password = read_password(settings)
        click.echo(f"password:      {password if password is not None else '(not generated yet: start first)'}")
