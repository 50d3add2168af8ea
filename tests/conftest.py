"""Fixtures: a real Neo4j (NEO4J_URI → testcontainers when Docker answers → the project's local
server), the karma world seeded fresh per test, and the real Flask app on top."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from app.settings import REPO_ROOT, Settings

SEED = REPO_ROOT / "seed" / "karma-world.yaml"


DEV_HOME = REPO_ROOT / ".karma" / "neo4j"  # `make run`'s server: the developer's world, tokens and audit log
TEST_HOME = REPO_ROOT / ".karma" / "neo4j-test"


def use_the_test_neo4j(env=os.environ) -> None:
    """The project's own TEST Neo4j (`.karma/neo4j-test`, Bolt 7697 — what `make test` passes) unless
    NEO4J_URI names a database: `pytest` run by hand, not through `make test`, used to find `make run`'s
    server, and every test wipes the graph it runs on (the developer's world, tokens and audit log went
    with it). A KARMA_NEO4J_HOME naming `make run`'s server is refused for the same reason."""
    if env.get("NEO4J_URI"):
        return
    env.setdefault("KARMA_NEO4J_HOME", str(TEST_HOME))
    env.setdefault("KARMA_NEO4J_BOLT_PORT", env.get("KARMA_TEST_BOLT_PORT") or "7697")
    env.setdefault("KARMA_NEO4J_LIB", str(DEV_HOME / "lib"))  # the jars `make setup` fetched, as make test
    if Path(env["KARMA_NEO4J_HOME"]).expanduser().resolve() == DEV_HOME.resolve():
        raise pytest.UsageError(
            f"KARMA_NEO4J_HOME={env['KARMA_NEO4J_HOME']} is make run's Neo4j and every test wipes the graph "
            "it runs on: unset it (the tests use .karma/neo4j-test, as make test does)"
        )


LAST_GOOD: list[str | None] = [None]  # the directory this process made (removed when the session ends)


def pytest_unconfigure(config):
    if LAST_GOOD[0]:
        shutil.rmtree(LAST_GOOD[0], ignore_errors=True)


def pytest_configure(config):
    """The test Neo4j, never `make run`'s (use_the_test_neo4j). Under pytest-xdist (`make test` runs two
    workers) every worker after the first gets a Neo4j of its own — its own data dir and ports, started
    on first use — because each test wipes and reseeds the graph it runs on: two workers on one database
    would wipe each other's world mid-test."""
    use_the_test_neo4j()
    # the apps the tests make share their last good rule sets in the session's own directory, not .karma
    if not os.environ.get("KARMA_RULES_LAST_GOOD_DIR"):
        os.environ["KARMA_RULES_LAST_GOOD_DIR"] = LAST_GOOD[0] = tempfile.mkdtemp(prefix="karma-rules-last-good-")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    if "PYTEST_XDIST_WORKER" in os.environ:
        os.environ.pop("COLUMNS", None)  # xdist hands its workers the terminal's width; the CLI would fit
        os.environ.pop("LINES", None)  # its tables to it as if a person were reading (app/client/text.py)
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    if index == 0 or os.environ.get("NEO4J_URI"):
        return
    os.environ["KARMA_NEO4J_HOME"] = f"{os.environ['KARMA_NEO4J_HOME']}-{worker}"
    bolt = int(os.environ["KARMA_NEO4J_BOLT_PORT"])
    os.environ["KARMA_NEO4J_BOLT_PORT"] = str(bolt + 100 * index)
    os.environ["KARMA_NEO4J_HTTP_PORT"] = "0"  # no Browser for a test server


@pytest.fixture
def restore_types():
    """For tests that switch the active component types: every other test runs on the built-in ones."""
    from app.components import registry

    saved = registry.snapshot()
    yield
    registry.replace(*saved)


def _local_started():
    from app.graph.driver import _local_target

    return _local_target(start=True)  # the local server (karma_tools) through its entry point


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


ADMIN = "admin@usekarma.dev"


class AuthClient(FlaskClient):
    """The real test client, signed in: each request carries an admin token whose identity is the
    request's own `requested_by`/`reported_by` (or ADMIN), unless the test sets Authorization itself."""

    tokens: dict[str, str]

    def token_for(self, who: str, role: str = "admin", environments=None) -> str:
        key = f"{who}|{role}|{environments}"
        if key not in self.tokens:
            self.tokens[key] = self.application.extensions["karma"].tokens.create(who, role, environments)[0]
        return self.tokens[key]

    def open(self, *args, **kwargs):
        headers = dict(kwargs.pop("headers", None) or {})
        if "Authorization" not in headers and not kwargs.pop("anonymous", False):
            body = kwargs.get("json") if isinstance(kwargs.get("json"), dict) else {}
            path = args[0] if args and isinstance(args[0], str) else ""
            query = parse_qs(urlsplit(path).query)
            who = (
                body.get("requested_by") or body.get("reported_by") or (query.get("requested_by") or [None])[0] or ADMIN
            )
            if isinstance(who, str):
                headers["Authorization"] = f"Bearer {self.token_for(who)}"
        return super().open(*args, headers=headers, **kwargs)


@pytest.fixture
def make_app(world):
    from app import create_app
    from app.components import registry
    from app.policy import PolicyEngine

    def _make(mode: str = "full", rules_dir: Path | None = None, **overrides):
        settings = Settings(mode=mode, rules_dir=rules_dir or REPO_ROOT / "rules", **overrides)
        registry.load(settings.types_dir)  # the types first, as create_app: the rules are judged against them
        policy = PolicyEngine(settings.rules_dir)
        policy.load()
        app = create_app(settings, repo=world, policy=policy)
        app.testing = True
        app.test_client_class = AuthClient
        AuthClient.tokens = {}
        return app

    return _make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


def dump(repo) -> dict:
    """The whole graph, properties included, for byte-for-byte comparisons. ApiToken nodes, and the audit
    entries of their making, are left out: the signed-in test client creates them lazily, as test setup,
    during the test."""
    graph = repo.dump()
    # KarmaType nodes are the type files' fingerprints, recorded by every process as it starts (a gunicorn
    # worker may still be booting while a test runs): bookkeeping of the process, not of the graph
    tokens = {
        n["id"]
        for n in graph["nodes"]
        if {"ApiToken", "KarmaType"} & set(n["labels"]) or n["props"].get("status") == "token_created"
    }
    return {"nodes": [n for n in graph["nodes"] if n["id"] not in tokens], "relationships": graph["relationships"]}


@pytest.fixture
def graph_dump(repo):
    return lambda: dump(repo)


def pytest_report_header(config):
    uri = os.environ.get("NEO4J_URI")
    return f"karma: Neo4j from {'NEO4J_URI=' + uri if uri else 'testcontainers (Docker) or the local server'}"


def raw_component(repo, component_id: str) -> dict | None:
    """The component node as stored (JSON text, cfg_*/rt_* properties) with its edges both ways: the
    storage-format checks read the node itself, not the service's decoded view."""
    return repo.read("component_get", id=component_id)
