"""The suite never runs on `make run`'s Neo4j: every test wipes the graph it runs on, and `pytest` run by
hand (not through `make test`) used to find the developer's own server and wipe their world, tokens and
audit log (tests/conftest.py: use_the_test_neo4j)."""

from __future__ import annotations

import pytest

from tests.conftest import DEV_HOME, TEST_HOME, use_the_test_neo4j


def test_a_hand_run_pytest_uses_the_test_neo4j_as_make_test_does():
    env: dict[str, str] = {}
    use_the_test_neo4j(env)
    assert env["KARMA_NEO4J_HOME"] == str(TEST_HOME) and env["KARMA_NEO4J_BOLT_PORT"] == "7697"
    assert env["KARMA_NEO4J_LIB"] == str(DEV_HOME / "lib")  # the jars make setup fetched
    moved = {"KARMA_TEST_BOLT_PORT": "7797"}
    use_the_test_neo4j(moved)
    assert moved["KARMA_NEO4J_BOLT_PORT"] == "7797"


def test_what_make_test_or_a_developer_chose_is_kept():
    env = {"KARMA_NEO4J_HOME": "/tmp/elsewhere", "KARMA_NEO4J_BOLT_PORT": "7001", "KARMA_NEO4J_LIB": "/jars"}
    use_the_test_neo4j(env)
    assert env == {"KARMA_NEO4J_HOME": "/tmp/elsewhere", "KARMA_NEO4J_BOLT_PORT": "7001", "KARMA_NEO4J_LIB": "/jars"}
    remote = {"NEO4J_URI": "neo4j://db.example:7687"}
    use_the_test_neo4j(remote)
    assert remote == {"NEO4J_URI": "neo4j://db.example:7687"}  # a named database is the caller's choice


@pytest.mark.parametrize("home", [str(DEV_HOME), str(DEV_HOME) + "/", str(DEV_HOME / "data" / "..")])
def test_make_runs_neo4j_is_refused(home):
    with pytest.raises(pytest.UsageError, match="make run's Neo4j"):
        use_the_test_neo4j({"KARMA_NEO4J_HOME": home})
