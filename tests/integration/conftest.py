"""Real processes: gunicorn serving the app (as `make run` does) and `karma` CLI subprocesses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from app.settings import REPO_ROOT
from tests.integration.faults import TcpProxy
from tests.integration.servers import free_port, gunicorn

__all__ = ["free_port"]  # imported from here by several test modules

# Many changes queued on one site, each setting a key of its own: one setting a key an earlier one set is
# rejected once that one applied (changed_since, docs/lifecycle.md), and the queue tests that use these are
# about every queued change applying exactly once, in order. The seed's rule holds only alias changes, so
# SITE_HOLD holds any change to a site until its distribution publishes (site_hold_rules).
SITE_KEYS = [
    ("cloudfront_aliases", ["s0.usekarma.dev"]),
    ("index_document", "home.html"),
    ("error_document", "oops.html"),
    ("cloudfront_comment", "staging, queued"),
    ("project", "karma-queued"),
    ("aliases", ["a5.usekarma.dev"]),
    ("domain_aliases", ["d6.usekarma.dev"]),
    ("tags", {"queued": "7"}),
    ("enable_custom_domain", False),
    ("site_name", "queued.usekarma.dev"),
    ("content_bucket_prefix", "karma-queued-site"),
]
SITE_HOLD = """
rules:
  - id: site-waits-for-its-distribution
    description: hold any change to a site until its distribution published (tests queue one key each)
    effect: block
    when:
      change: {type: serverless-site}
      impacted:
        type: cloudfront-distribution
        runtime.distribution_id: {empty: true}
    message: "{impacted.id} has not published its distribution_id yet"
"""


def site_hold_rules(where):
    """The seed's rules and SITE_HOLD, in a new directory under `where` (a tmp path): its path."""
    rules = where / "rules"
    shutil.copytree(REPO_ROOT / "rules", rules)
    (rules / "site-hold.yaml").write_text(SITE_HOLD)
    return rules


@pytest.fixture(scope="session")
def service_env(neo4j_target):
    env = {**os.environ, "NEO4J_URI": neo4j_target.uri, "KARMA_TESTCONTAINERS": "0", "KARMA_LOG_LEVEL": "WARNING"}
    if neo4j_target.auth:
        env["NEO4J_USER"], env["NEO4J_PASSWORD"] = neo4j_target.auth
    return env


@pytest.fixture(scope="module")
def gunicorn_workers() -> int:
    """How many workers `gunicorn_url` runs (a module that needs fewer overrides this fixture)."""
    return 4


@pytest.fixture(scope="module")
def gunicorn_url(service_env, repo, tmp_path_factory, gunicorn_workers):
    server = gunicorn(service_env, workers=gunicorn_workers, log=tmp_path_factory.mktemp("gunicorn") / "stderr.log")
    try:
        server.wait_ready(90)
        yield server.url
        if server.proc.poll() is not None:  # the module's tests then failed to connect: say why
            raise AssertionError(f"gunicorn exited ({server.proc.returncode}): {server.log_tail()}")
    finally:
        server.stop()


@pytest.fixture
def cli(world, service_env, monkeypatch):
    """`karma …` in process (click's runner) against the test Neo4j: cli("seed", path) → its Result."""
    from click.testing import CliRunner

    from app.cli import main

    for key in ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "KARMA_TESTCONTAINERS"):
        if key in service_env:
            monkeypatch.setenv(key, service_env[key])
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args), catch_exceptions=False)


def karma(service_env, *args, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        env=service_env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kw,
    )


def _token(repo, name: str, role: str = "admin") -> dict:
    from app.security.tokens import TokenService

    return {"Authorization": f"Bearer {TokenService(repo).create(name, role)[0]}"}


@pytest.fixture
def auth_headers(world):
    """An admin token (the graph is wiped per test, so tokens are made per test)."""
    return _token(world, "ci@usekarma.dev")


@pytest.fixture
def ted_headers(world):
    return _token(world, "ted@strall.com", "requester")


@pytest.fixture
def proxy(neo4j_target):
    """A TCP proxy in front of the test Neo4j that a test can cut, stall and restore (tests/integration/faults.py)."""
    target = urlsplit(neo4j_target.uri)
    p = TcpProxy(target.hostname, target.port or 7687, free_port())
    yield p
    p.stop()
