"""The order in which Karma picks its Neo4j: NEO4J_URI → testcontainers (Docker answers) → local."""

from __future__ import annotations

from app.graph.driver import Target, select_target
from app.settings import Settings


def _calls():
    seen = []

    def docker():
        seen.append("docker")
        return True

    def container():
        seen.append("container")
        return Target("testcontainers", "bolt://127.0.0.1:49153", ("neo4j", "pw"))

    def local():
        seen.append("local")
        return Target("local", "neo4j://127.0.0.1:7687", ("neo4j", "pw"))

    return seen, docker, container, local


def test_env_uri_wins_and_nothing_else_is_probed():
    seen, docker, container, local = _calls()
    settings = Settings(neo4j_uri="neo4j://cluster.example:7687", neo4j_password="s3cret")
    target = select_target(settings, docker_probe=docker, start_container=container, local=local)
    assert (target.source, target.uri, target.auth) == ("env", "neo4j://cluster.example:7687", ("neo4j", "s3cret"))
    assert seen == []


def test_env_uri_without_password_means_no_auth():
    seen, docker, container, local = _calls()
    target = select_target(
        Settings(neo4j_uri="bolt://h:7687"), docker_probe=docker, start_container=container, local=local
    )
    assert target.auth is None


def test_docker_engine_next():
    seen, docker, container, local = _calls()
    target = select_target(Settings(), docker_probe=docker, start_container=container, local=local)
    assert target.source == "testcontainers" and seen == ["docker", "container"]


def test_local_server_when_no_engine_answers():
    seen, _docker, container, local = _calls()
    target = select_target(Settings(), docker_probe=lambda: False, start_container=container, local=local)
    assert target.source == "local" and seen == ["local"]


def test_testcontainers_can_be_switched_off():
    seen, docker, container, local = _calls()
    target = select_target(
        Settings(use_testcontainers=False), docker_probe=docker, start_container=container, local=local
    )
    assert target.source == "local" and seen == ["local"]


def test_the_cli_and_the_service_bound_the_repository_alike(monkeypatch):
    """Every wait of the repository comes from the settings, for a CLI command as for the service (the
    CLI used to set only the bulk bound, so KARMA_NEO4J_TX_TIMEOUT did not reach `karma` commands)."""
    from app.cli.common import open_repo

    for name, value in {"NEO4J_URI": "bolt://127.0.0.1:9", "KARMA_NEO4J_TX_TIMEOUT": "3.5",
                        "KARMA_NEO4J_BULK_TX_TIMEOUT": "77", "KARMA_NEO4J_RETRY_TIME": "0.25",
                        "KARMA_WRITE_RETRY_BUDGET": "2.5"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    target, repo = open_repo(Settings.from_env(), beside_server=False)
    try:
        assert target.source == "env"
        assert (repo.tx_timeout, repo.bulk_tx_timeout, repo.connect_retry_budget, repo.write_retry_budget) == (
            3.5,
            77.0,
            0.25,
            2.5,
        )
    finally:
        repo.driver.close()
