"""A command that opens Neo4j itself and is failed by it says so in one line (a seed whose transaction ran
past the server's timeout printed a traceback); a commit whose answer was lost is unknown, not failed."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner
from neo4j.exceptions import IncompleteCommit, ServiceUnavailable

from app.cli import main


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (ServiceUnavailable("connection refused"), "the database failed the command (ServiceUnavailable"),
        (IncompleteCommit("lost"), "the outcome is unknown"),
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
    assert result.exit_code == 1 and said in result.output, result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, type(error))
