"""The local Neo4j server process: start, stop, status, pid file, password and readiness.

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
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from karma_tools.neo4j_local.java import check_java, ensure_jars, jars_present, required_jars
from karma_tools.neo4j_local.settings import (
    USER,
    Echo,
    LocalNeo4jSettings,
    Neo4jLocalError,
    load_settings,
    log,
    render_conf,
    say,
    tail_text,
    write_conf,
)

ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"
ADMIN_MAIN = "org.neo4j.cli.AdminTool"

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


def server_command(settings: LocalNeo4jSettings, java: str) -> list[str]:
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


def thread_states(pid: int) -> list[str]:
    """The state letter (/proc/<pid>/task/*/stat: R, S, T…) of each thread of ``pid``; a thread that exits
    meanwhile is left out."""
    states = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            states.append((task / "stat").read_text().rsplit(")", 1)[1].split()[0])
        except (OSError, IndexError):
            continue
    return states


def wait_stopped(pid: int, within: float = 10.0) -> None:
    """Until every thread of ``pid`` is stopped (after a SIGSTOP). kill(SIGSTOP) returns once the signal is
    sent, and each of the JVM's threads stops when it next runs: on a loaded machine one still answered a
    query 9–14 ms later. Whatever measures a frozen Neo4j (tests/integration/test_frozen_neo4j.py, `make
    chaos`) must measure one that IS frozen. Bounded: TimeoutError after ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        states = thread_states(pid)
        if states and all(state in ("T", "t") for state in states):
            return
        time.sleep(0.01)
    raise TimeoutError(f"Neo4j (pid {pid}) not stopped {within} s after SIGSTOP")


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


EXEC_WINDOW = 0.5  # seconds an empty command line is read again (below)


def is_our_server(pid: int, settings: LocalNeo4jSettings) -> bool:
    """The process runs the Neo4j entry point for this home (guards against recycled pids).

    A process caught inside its execve has an empty command line for a moment (the kernel has switched its
    memory but not yet set its arguments), and its parent may already be running: `karma neo4j status`
    right after a start called such a server stale and removed its pid file, and a test saw its own fake
    server as gone and started a real Neo4j. An empty one is read again for up to EXEC_WINDOW; a process
    that never has one (a kernel thread; a zombie, which pid_alive already leaves out) is not ours."""
    cmdline = process_cmdline(pid)
    deadline = time.monotonic() + EXEC_WINDOW
    while cmdline == [] and time.monotonic() < deadline:
        time.sleep(0.005)
        cmdline = process_cmdline(pid)
    if not cmdline:
        return False
    return ENTRY_POINT in cmdline and f"--home-dir={settings.home}" in cmdline


def read_pid(settings: LocalNeo4jSettings, cleanup: bool = True, echo: Echo | None = None) -> int | None:
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
        say(
            echo,
            f"Removed stale pid file {settings.pid_file} (pid {raw!r} is not a running Neo4j of this home).",
            "neo4j.pid.stale",
            pid_file=str(settings.pid_file),
            stale_pid=raw,
        )
    return None


def write_pid(settings: LocalNeo4jSettings, pid: int) -> None:
    tmp = settings.pid_file.with_suffix(".pid.tmp")
    tmp.write_text(f"{pid}\n", encoding="utf-8")
    os.replace(tmp, settings.pid_file)


def is_running(settings: LocalNeo4jSettings | None = None) -> bool:
    """True if this home's server process is alive (it may still be starting; see :func:`status`)."""
    settings = settings or load_settings()
    return read_pid(settings, cleanup=False) is not None


@contextlib.contextmanager
def _home_lock(settings: LocalNeo4jSettings) -> Iterator[None]:
    """Serialise start/stop of one home between processes."""
    settings.home.mkdir(parents=True, exist_ok=True)
    with open(settings.lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------------------------------- password


def read_password(settings: LocalNeo4jSettings) -> str | None:
    try:
        return settings.password_file.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def ensure_password(settings: LocalNeo4jSettings, echo: Echo | None = None) -> str:
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
    say(
        echo,
        f"Generated a password for user '{USER}' in {settings.password_file} (mode 0600).",
        "neo4j.password.generated",
        password_file=str(settings.password_file),
    )
    return password


def _argfile_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def set_initial_password(settings: LocalNeo4jSettings, java: str, password: str, echo: Echo | None = None) -> None:
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
            f"{proc.returncode}). Output:\n{tail_text(output.strip(), 20)}\nCheck that {settings.lib} holds "
            f"complete Neo4j {settings.version} jars (`karma neo4j jars --force`)."
        )
    say(echo, f"Set the initial password of user '{USER}'.", "neo4j.password.initial_set")


# ---------------------------------------------------------------------------------------------------- probing


def _probe(settings: LocalNeo4jSettings, password: str | None, timeout: float = 5.0) -> Exception | None:
    """None if Bolt answers ``RETURN 1`` with this password, else the exception (AuthError is final)."""
    from neo4j import GraphDatabase  # noqa: PLC0415 - keep `import karma_tools.neo4j_local` cheap for the CLI

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


def _auth_error_message(settings: LocalNeo4jSettings) -> str:
    return (
        f"The Neo4j server on {settings.uri('bolt')} refuses the password in {settings.password_file}. The data in "
        f"{settings.data_dir} was initialised with another password. Restore the matching password file, or "
        f"stop the server and delete {settings.data_dir} (this destroys the local graph) to start afresh."
    )


def _tail_file(path: Path, lines: int = 15) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 16384))
            return tail_text(handle.read().decode(errors="replace"), lines)
    except OSError:
        return ""


def _log_hint(settings: LocalNeo4jSettings) -> str:
    parts = []
    for path in (settings.out_log, settings.logs_dir / "neo4j.log"):
        tail = _tail_file(path)
        if tail.strip():
            parts.append(f"--- last lines of {path} ---\n{tail}")
    parts.append(f"Logs: {settings.out_log}, {settings.logs_dir / 'neo4j.log'}, {settings.logs_dir / 'debug.log'}")
    return "\n".join(parts)


def _wait_ready(
    settings: LocalNeo4jSettings,
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


def conf_difference(settings: LocalNeo4jSettings) -> str:
    """The neo4j.conf lines the running server has and the current settings would not (and back)."""
    try:
        running = set(settings.conf_file.read_text(encoding="utf-8").splitlines())
    except OSError:
        return f"{settings.conf_file} is unreadable"
    wanted = set(render_conf(settings).splitlines())
    parts = [f"running {line!r}" for line in sorted(running - wanted) if line.strip()]
    parts += [f"yours {line!r}" for line in sorted(wanted - running) if line.strip()]
    return "; ".join(parts) or "the same lines in another order"


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


def start(
    settings: LocalNeo4jSettings | None = None, echo: Echo | None = None, timeout: float | None = None
) -> StartResult:
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
                # It may be serving a running Karma (`make run`): use it as it is and say exactly what
                # differs; never advise stopping it (that would take the database from under the API).
                message = (
                    f"Neo4j (pid {pid}) runs with other settings than this shell's KARMA_NEO4J_* ones: "
                    f"{conf_difference(settings)}; using it as it runs (to run with yours, set the same "
                    "KARMA_NEO4J_* values as the shell that started it, or KARMA_NEO4J_HOME for a server of your own)."
                )
                if error is not None:
                    raise Neo4jLocalError(message + f" It does not answer on {settings.uri('bolt')}: {error}")
                log.debug("neo4j.start.settings_differ", extra={"pid": pid, "difference": message})
            if error is None:
                differ = "" if same_conf else f" {message}"
                say(
                    echo,
                    f"Neo4j is already running (pid {pid}) on {settings.uri()}.{differ}",
                    "neo4j.start.already_running",
                    pid=pid,
                    uri=settings.uri(),
                )
                return StartResult(pid=pid, uri=settings.uri(), started=False, seconds=0.0)
            say(echo, f"Neo4j (pid {pid}) is running but not answering yet; waiting...", "neo4j.start.waiting",
                 pid=pid)  # fmt: skip
            _wait_ready(settings, password, pid, timeout)
            say(echo, f"Neo4j is running (pid {pid}) on {settings.uri()}.", "neo4j.start.already_running",
                 pid=pid, uri=settings.uri())  # fmt: skip
            return StartResult(pid=pid, uri=settings.uri(), started=False, seconds=0.0)

        java, java_major = check_java(settings)
        ensure_jars(settings, echo=echo)
        if not jars_present(settings.lib, settings.version):
            raise Neo4jLocalError(
                f"The Neo4j {settings.version} jars ({', '.join(required_jars(settings.version))}) are not in "
                f"{settings.lib}. Run `karma neo4j jars --force`, or fix KARMA_NEO4J_LIB / KARMA_NEO4J_VERSION."
            )
        _refuse_taken_ports(settings)

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
        say(
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
        say(
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


def _refuse_taken_ports(settings: LocalNeo4jSettings) -> None:
    """Both ports the server binds are checked before it starts: a taken HTTP port (7474 under `make run`,
    often another Neo4j's) otherwise surfaces as a Java stack trace after the whole start timeout."""
    ports = [(settings.bolt_port, "KARMA_NEO4J_BOLT_PORT")]
    if settings.http_port:
        ports.append((settings.http_port, "KARMA_NEO4J_HTTP_PORT"))
    for port, variable in ports:
        if port_in_use(settings.listen, port):
            raise Neo4jLocalError(
                f"Port {port} on {settings.listen or '*'} is already in use by another process (not "
                f"the Neo4j of {settings.home}). Stop that process or choose another port with {variable}."
            )


def stop(settings: LocalNeo4jSettings | None = None, echo: Echo | None = None) -> bool:
    """Stop the server (SIGTERM, then SIGKILL after KARMA_NEO4J_STOP_TIMEOUT). True if one was running.
    Its messages name the home: `make stop` stops four of them in a row (dev, test, test-gw1, bench)."""
    settings = settings or load_settings()
    if not settings.pid_file.exists():  # nothing to do (and no need to create the home for a lock)
        say(echo, f"Neo4j of {settings.home} is not running.", "neo4j.stop.not_running", home=str(settings.home))
        return False
    with _home_lock(settings):
        pid = read_pid(settings, echo=echo)
        if pid is None:
            say(echo, f"Neo4j of {settings.home} is not running.", "neo4j.stop.not_running", home=str(settings.home))
            return False
        started = time.monotonic()
        say(echo, f"Stopping the Neo4j of {settings.home} (pid {pid})...", "neo4j.stop", pid=pid)
        killed = _terminate(pid, settings.stop_timeout)
        with contextlib.suppress(FileNotFoundError):
            settings.pid_file.unlink()
        seconds = time.monotonic() - started
        how = f"killed (SIGKILL after {settings.stop_timeout:.0f} s)" if killed else "stopped"
        say(echo, f"Neo4j {how} in {seconds:.1f} s.", "neo4j.stopped", pid=pid, seconds=round(seconds, 2),
             killed=killed)  # fmt: skip
        return True


def status(settings: LocalNeo4jSettings | None = None, probe: bool = True) -> Status:
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


def connection_info(settings: LocalNeo4jSettings | None = None) -> dict[str, str]:
    """``{"uri", "user", "password"}`` for the local server (as used by the service's driver)."""
    settings = settings or load_settings()
    password = read_password(settings)
    if password is None:
        raise Neo4jLocalError(
            f"No password file at {settings.password_file}: the local Neo4j has not been started yet. "
            "Run `karma neo4j start`."
        )
    return {"uri": settings.uri(), "user": USER, "password": password}


def local_connection(*, start_server: bool = False, echo: Echo | None = None) -> dict[str, str]:
    """The ``karma.neo4j`` entry point ``local``: connection info of the local server, started first if asked.

    ``app.graph.driver`` falls back to it when neither NEO4J_URI nor Docker is there (it does not start the
    server); the ``karma`` CLI asks it to start one (``start_server=True``), as ``make run`` expects.
    """
    if start_server:
        start(echo=echo)
    return connection_info()
