"""Choosing and opening the Neo4j the service and the tests talk to.

Order: `NEO4J_URI` (+ credentials) if set → a testcontainers Neo4j when a Docker engine answers a
ping → the project's own local Neo4j server (`karma neo4j start`), reached through the
`karma.neo4j` entry point `local` that the tooling (karma_tools) installs. Any URI scheme the driver knows
works unchanged, including cluster routing URIs (`neo4j://`, `neo4j+s://`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

from neo4j import Driver, GraphDatabase

from app import plugins
from app.settings import Settings

log = logging.getLogger("karma.graph")

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


NO_NEO4J = ("No Neo4j to connect to: NEO4J_URI is not set, no testcontainers Neo4j was used, and no local Neo4j "
            "is installed (entry point karma.neo4j:local, from karma_tools). Set NEO4J_URI (and NEO4J_USER, "
            "NEO4J_PASSWORD) to the Neo4j to use.")


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


def open_driver(target: Target, **config: Any) -> Driver:
    config.setdefault("max_connection_pool_size", 50)
    config.setdefault("connection_acquisition_timeout", 30)
    config.setdefault("notifications_min_severity", "OFF")  # schema-less property warnings are noise
    return GraphDatabase.driver(target.uri, auth=target.auth, **config)
