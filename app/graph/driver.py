"""Choosing and opening the Neo4j the service and the tests talk to.

Order: `NEO4J_URI` (+ credentials) if set → a testcontainers Neo4j when a Docker engine answers a
ping → the project's own local Neo4j server (`karma neo4j start`), reached through the
`karma.neo4j` entry point `local` that the tooling (karma_tools) installs. Any URI scheme the driver knows
works unchanged, including cluster routing URIs (`neo4j://`, `neo4j+s://`).
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from dataclasses import dataclass
from typing import Any, TypeVar
from collections.abc import Callable, Iterator

from neo4j import Driver, GraphDatabase
from neo4j.exceptions import (
    ClientError,
    ConfigurationError,
    DatabaseUnavailable,
    DriverError,
    IncompleteCommit,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
    TransientError,
)

from app import plugins
from app.graph import bolt_deadline, bolt_times
from app.reliability import deadline
from app.settings import Settings

log = logging.getLogger("karma.graph")
T = TypeVar("T")

# The driver's own errors that mean "Neo4j cannot be reached (now)": answered 503, never 500.
# IncompleteCommit is a ServiceUnavailable too, but its outcome is unknown: callers test it first.
UNAVAILABLE = (ServiceUnavailable, SessionExpired, TransientError)
DRIVER_ERRORS = (DriverError, Neo4jError)  # every error the driver raises, for the API's error handler
# Server-side states (not the request's fault) that a restarting or recovering Neo4j reports as client
# errors: answered 503 like an outage, never 500.
SERVER_STATE_CODES = (
    "Neo.ClientError.Database.DatabaseNotFound",
    "Neo.ClientError.Security.AuthProviderFailed",
    "Neo.ClientError.Security.AuthProviderTimeout",
    "Neo.ClientError.Transaction.Terminated",
    "Neo.ClientError.Transaction.TransactionTerminated",
    "Neo.ClientError.Cluster.NotALeader",
    "Neo.ClientError.General.ForbiddenOnReadOnlyDatabase",
)
# (a transaction ended at its timeout while it waited for a lock says LockClientStopped, as a client error
# or, in other server versions, a transient one)
TIMED_OUT_CODES = (
    "Neo.ClientError.Transaction.TransactionTimedOut",
    "Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration",
    "Neo.ClientError.Transaction.LockClientStopped",
    "Neo.TransientError.Transaction.LockClientStopped",
)

NEO4J_IMAGE = "neo4j:5.26-community"


@dataclass
class Target:
    source: str  # "env" | "testcontainers" | "local"
    uri: str
    auth: tuple[str, str] | None
    database: str | None = None
    closer: Callable[[], None] | None = None  # stops a container we started


def docker_available() -> bool:
    """True when a Docker *engine* answers (the client binary alone is not enough)."""
    try:
        import docker  # noqa: PLC0415 - optional path

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # noqa: BLE001 - any failure means "no engine"
        return False


def _testcontainers_target() -> Target:
    from testcontainers.neo4j import Neo4jContainer  # noqa: PLC0415

    container = Neo4jContainer(NEO4J_IMAGE)
    container.with_env("NEO4J_server_memory_heap_max__size", "512m")
    container.with_env("NEO4J_server_memory_pagecache_size", "64m")
    container.start()
    return Target(
        source="testcontainers",
        uri=container.get_connection_url(),
        auth=(container.username, container.password),
        closer=container.stop,
    )


class NoNeo4j(RuntimeError):
    """Nothing to connect to: no NEO4J_URI, no Docker, and no local-Neo4j provider installed."""


NO_NEO4J = (
    "No Neo4j to connect to: NEO4J_URI is not set, no testcontainers Neo4j was used, and no local Neo4j "
    "is installed (entry point karma.neo4j:local, from karma_tools). Set NEO4J_URI (and NEO4J_USER, "
    "NEO4J_PASSWORD) to the Neo4j to use."
)


def _local_target(*, start: bool = False, echo: Callable[[str], None] | None = None) -> Target:
    """The local server, through the `karma.neo4j` entry point `local` (started first when `start`)."""
    provider = plugins.installed("karma.neo4j").get("local")
    if provider is None:
        raise NoNeo4j(NO_NEO4J)
    info = provider(start_server=start, echo=echo)
    password = info.get("password")
    auth = (info.get("user", "neo4j"), password) if password else None
    return Target(source="local", uri=info["uri"], auth=auth)


def select_target(
    settings: Settings,
    *,
    docker_probe: Callable[[], bool] = docker_available,
    start_container: Callable[[], Target] = _testcontainers_target,
    local: Callable[[], Target] = _local_target,
) -> Target:
    """Pick the Neo4j to use; the probes are injectable so the order itself is testable."""
    if settings.neo4j_uri:
        auth = (settings.neo4j_user, settings.neo4j_password) if settings.neo4j_password else None
        log.info("neo4j selected", extra={"source": "env", "uri": settings.neo4j_uri})
        return Target("env", settings.neo4j_uri, auth, settings.neo4j_database)
    if settings.use_testcontainers and docker_probe():
        target = start_container()
        log.info("neo4j selected", extra={"source": target.source, "uri": target.uri})
        return target
    target = local()
    log.info("neo4j selected", extra={"source": target.source, "uri": target.uri})
    return target


def open_driver(target: Target, settings: Settings | None = None, **config: Any) -> Driver:
    """A driver whose every wait is bounded, so a request fails fast (503) instead of hanging
    while Neo4j is away: connect, pool acquisition and the managed-transaction retry window all
    come from the settings (seconds, `KARMA_NEO4J_*_TIMEOUT`)."""
    settings = settings or Settings.from_env()
    bolt_deadline.install()  # every Bolt wait also ends at the request's deadline
    bolt_times.install()  # every time sent goes as UTC, offset 0, as Karma stores it (a read one too)
    config.setdefault("max_connection_pool_size", 50)
    config.setdefault("connection_timeout", settings.neo4j_connect_timeout)
    config.setdefault("connection_acquisition_timeout", settings.neo4j_acquire_timeout)
    config.setdefault("max_transaction_retry_time", settings.neo4j_retry_time)
    config.setdefault("initial_retry_delay", 0.1)  # retries at 0.1, 0.3, 0.7 s… within the window
    config.setdefault("liveness_check_timeout", 30)  # a connection idle for 30 s is checked before use
    config.setdefault("notifications_min_severity", "OFF")  # schema-less property warnings are noise
    return GraphDatabase.driver(target.uri, auth=target.auth, **config)


@contextlib.contextmanager
def read_only() -> Iterator[None]:
    """Around a read: a connection lost while its transaction ended is not an unknown outcome — a read
    wrote nothing — so it is reported as a lost session (503 `database_unavailable`), never as
    `outcome_unknown`, which tells a client to retry a write with its Idempotency-Key."""
    try:
        yield
    except IncompleteCommit as exc:
        raise SessionExpired(f"the connection was lost at the end of a read: {exc}") from exc


def server_state(exc: BaseException) -> bool:
    """Neo4j cannot serve the request right now (starting, stopping, no leader), whatever the request."""
    return isinstance(exc, Neo4jError) and getattr(exc, "code", None) in SERVER_STATE_CODES


# a transaction that would take more than the server's transaction memory (dbms.memory.transaction.*)
OUT_OF_MEMORY_CODES = (
    "Neo.TransientError.General.MemoryPoolOutOfMemoryError",
    "Neo.TransientError.General.TransactionMemoryLimit",
)


def out_of_memory(exc: BaseException) -> bool:
    """A transaction the server refused because it ran past its transaction memory: transient by its
    code (the pool is shared), but a request as large retried alone fails alike, so it is not contention."""
    return isinstance(exc, Neo4jError) and getattr(exc, "code", None) in OUT_OF_MEMORY_CODES


def outage(exc: BaseException) -> bool:
    """The database was away, busy or out of time for this call (what the API answers 503), as opposed to
    a refusal of the statement itself (a Cypher error) or the driver's own configuration: bugs (500)."""
    if isinstance(exc, ConfigurationError):
        return False
    return isinstance(exc, DriverError | TransientError) or timed_out(exc) or server_state(exc)


def timed_out(exc: BaseException) -> bool:
    """A transaction the server ended because it ran past `db.transaction.timeout` (or ours)."""
    return isinstance(exc, ClientError | TransientError) and getattr(exc, "code", None) in TIMED_OUT_CODES


def retry(attempt: Callable[[], T], *, what: str, budget: float, connect_budget: float) -> T:
    """Run one attempt (a write transaction, or a read: `what` names it) until it succeeds, retrying
    what is safe to retry.

    The driver's own retry window is kept short (`max_transaction_retry_time`), so a dead server
    costs at most about a second; lock contention (deadlocks, transient errors) is then retried
    here for up to `budget` seconds, and a lost connection for up to `connect_budget` (a pooled
    connection killed by a server restart is replaced on the next attempt). An IncompleteCommit
    is never retried: nobody knows whether it committed. Nor is anything once the request's deadline
    would pass before the next attempt (DeadlineExceeded: nothing was written).
    """
    started, delay = time.monotonic(), 0.05
    while True:
        deadline.check(what)
        try:
            return attempt()
        except IncompleteCommit:
            raise
        except UNAVAILABLE as exc:
            if not exc.is_retryable() or out_of_memory(exc):  # as large again fails alike: no contention
                raise
            contended = isinstance(exc, TransientError) and not isinstance(exc, DatabaseUnavailable)
            limit = budget if contended else connect_budget
            if time.monotonic() - started + delay > limit:
                raise
            left = deadline.remaining()
            if left is not None and left <= delay:
                raise deadline.DeadlineExceeded(what) from exc
            log.info("neo4j retried", extra={"what": what, "error": type(exc).__name__, "delay": round(delay, 3)})
            time.sleep(delay * random.uniform(0.8, 1.2))  # jitter, not crypto
            delay = min(delay * 2, 1.0)
