"""Fixtures: a real Neo4j (NEO4J_URI → testcontainers when Docker answers → the project's local
server), the karma world seeded fresh per test, and the real Flask app on top."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.settings import REPO_ROOT, Settings

SEED = REPO_ROOT / "seed" / "karma-world.yaml"


def _local_started():
    from app import neo4j_local
    from app.graph.driver import _local_target

    neo4j_local.start()
    return _local_target()


@pytest.fixture(scope="session")
def neo4j_target():
    from app.graph.driver import select_target

    target = select_target(Settings.from_env(), local=_local_started)
    yield target
    if target.closer:
        target.closer()


@pytest.fixture(scope="session")
def driver(neo4j_target):
    from app.graph.driver import open_driver

    drv = open_driver(neo4j_target)
    drv.verify_connectivity()
    yield drv
    drv.close()


@pytest.fixture(scope="session")
def repo(driver, neo4j_target):
    from app.graph.repository import GraphRepository

    r = GraphRepository(driver, neo4j_target.database)
    r.apply_schema()
    return r


def wipe(driver) -> None:
    with driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS").consume()


@pytest.fixture
def empty_graph(repo, driver):
    wipe(driver)
    return repo


@pytest.fixture
def world(empty_graph):
    """The karma world, freshly seeded."""
    from app import seeding

    seeding.load(empty_graph, SEED)
    return empty_graph


@pytest.fixture
def make_app(world):
    from app import create_app
    from app.policy import PolicyEngine

    def _make(mode: str = "full", rules_dir: Path | None = None, **overrides):
        settings = Settings(mode=mode, rules_dir=rules_dir or REPO_ROOT / "rules", **overrides)
        policy = PolicyEngine(settings.rules_dir)
        policy.load()
        app = create_app(settings, repo=world, policy=policy)
        app.testing = True
        return app

    return _make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


def dump(repo) -> dict:
    """The whole graph, properties included, for byte-for-byte comparisons."""
    return repo.dump()


@pytest.fixture
def graph_dump(repo):
    return lambda: dump(repo)


def pytest_report_header(config):
    uri = os.environ.get("NEO4J_URI")
    return f"karma: Neo4j from {'NEO4J_URI=' + uri if uri else 'testcontainers (Docker) or the local server'}"
