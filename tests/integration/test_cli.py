"""The `karma` command against the real Neo4j the tests use (tokens, seed); the API commands: test_cli_api.py."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from app.cli import main


@pytest.fixture
def cli(world, service_env, monkeypatch):
    for key in ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "KARMA_TESTCONTAINERS"):
        if key in service_env:
            monkeypatch.setenv(key, service_env[key])
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args), catch_exceptions=False)


def test_tokens_create_list_revoke(cli, world):
    from app.security.tokens import TokenService

    made = cli("tokens", "create", "--name", "ci@usekarma.dev", "--role", "reporter", "--environment", "dev")
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    principal = TokenService(world).authenticate(token)
    assert principal.name == "ci@usekarma.dev" and principal.role == "reporter" and principal.environments == ("dev",)
    listed = json.loads(cli("tokens", "list").stdout)
    assert [t["name"] for t in listed] == ["ci@usekarma.dev"] and "hash" not in listed[0]
    assert token not in cli("tokens", "list").stdout
    assert cli("tokens", "revoke", "ci@usekarma.dev").exit_code == 0
    assert TokenService(world, cache_seconds=0).authenticate(token) is None
    bad = cli("tokens", "create", "--name", "x", "--role", "root")
    assert bad.exit_code != 0


def test_seed_command_refuses_a_bad_file(cli, tmp_path, graph_dump):
    before = graph_dump()
    bad = tmp_path / "bad.yaml"
    bad.write_text("components:\n  - {id: vpc/x, environment: dev, config: {cidr: nope}}\n")
    result = cli("seed", str(bad))
    assert result.exit_code == 1 and "components[0] (vpc/x): config.cidr" in result.output
    assert graph_dump() == before
