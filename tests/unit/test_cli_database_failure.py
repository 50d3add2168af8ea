"""A command that opens Neo4j itself and is failed by it says so in one line (a seed whose transaction ran
past the server's timeout printed a traceback); a commit whose answer was lost is unknown, not failed."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner
from neo4j.exceptions import IncompleteCommit, Neo4jError, ServiceUnavailable

from app.cli import main

TIMED_OUT = Neo4jError._hydrate_neo4j(code="Neo.ClientError.Transaction.TransactionTimedOut", message="timed out")
# what a 3,000-operation import met on the local server (256 MiB of transaction memory) before its stored
# answer named the set's components once
OUT_OF_MEMORY = Neo4jError._hydrate_neo4j(
    code="Neo.TransientError.General.MemoryPoolOutOfMemoryError",
    message="The allocation of an extra 71.0 MiB would use more than the limit 256.0 MiB.",
)


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (ServiceUnavailable("connection refused"), "the database failed the command (ServiceUnavailable"),
        (IncompleteCommit("lost"), "the outcome is unknown"),
        (TIMED_OUT, "its transaction timeout, KARMA_NEO4J_TX_TIMEOUT); nothing was changed. A large `karma import`"),
        (OUT_OF_MEMORY, "ran out of transaction memory (dbms.memory.transaction.total.max; KARMA_NEO4J_TX_MEMORY"),
    ],
)
def test_a_database_failure_is_one_line_not_a_traceback(error, said):
    @click.command("explode")
    def explode():
        raise error

    main.add_command(explode)
    try:
        result = CliRunner().invoke(main, ["explode"])
    finally:
        main.commands.pop("explode", None)
    assert result.exit_code == 1 and said in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, type(error))


def test_the_api_names_a_transaction_out_of_memory_as_such():
    """Not `database_busy` (lock contention, its transient class says so): the request itself is too large."""
    from flask import Flask

    from app.api.errors import database_error

    app = Flask(__name__)
    with app.test_request_context("/plan", method="POST"):
        from unittest import mock

        with mock.patch("app.api.context.services") as services:
            services.return_value.settings.retry_after_seconds = 1
            response, status = database_error(OUT_OF_MEMORY)
    assert status == 503 and response.get_json()["cause"] == "database_memory", response.get_json()


def test_a_transaction_refused_for_memory_is_not_retried_as_contention():
    """Its code is transient (the memory pool is shared), but the same transaction again needs the same
    memory: retrying it for the contention budget repeated a large import's whole work to fail alike."""
    from app.graph.driver import retry

    calls = []

    def attempt():
        calls.append(1)
        raise OUT_OF_MEMORY

    with pytest.raises(type(OUT_OF_MEMORY)):
        retry(attempt, what="the import", budget=5.0, connect_budget=5.0)
    assert len(calls) == 1
