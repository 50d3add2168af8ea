"""The `karma` command. One module per command group; what they share is in app/cli/common.py.

changes.py  plan, request, apply, approve, deny, cancel, rollback, show, impact, log, changes, queue (over HTTP)
serve.py    serve, worker          seed.py    seed            imports.py  import        drift.py  drift
rules.py    rules …                types.py   types …         cypher.py   cypher
outbox.py   outbox …               tokens.py  tokens …
transitions.py  transitions propose|execute|show|cancel|list    runtime.py  runtime report
subscriptions.py  subscriptions list|create|delete
Tooling groups (karma neo4j, karma bench) are plugins (entry points `karma.cli`).
"""

from __future__ import annotations

import click

from app import logs, plugins
from app.cli import (
    changes,
    common,
    cypher,
    drift,
    imports,
    outbox,
    rules,
    runtime,
    seed,
    serve,
    subscriptions,
    tokens,
    transitions,
    types,
)
from app.observability import context as request_ids


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log what the command does (JSON lines on stderr).")
def main(verbose: bool) -> None:
    """Karma: a graph-aware change gateway for infrastructure configuration."""
    logs.configure("DEBUG" if verbose else "WARNING")  # a command's stderr is for its own messages
    common.VERBOSE[0] = verbose
    token = request_ids.bind(request_ids.generate("cli"))  # one id per command: its log lines and audit entries
    click.get_current_context().call_on_close(lambda: request_ids.unbind(token))


changes.register(main)  # plan, request, apply, approve, deny, cancel, rollback, show, impact, log, queue…
for command in (
    seed.seed,
    serve.serve,
    serve.worker,
    outbox.outbox_cli,
    tokens.tokens_cli,
    cypher.cypher_cmd,
    rules.rules_cli,
    types.types_cli,
    imports.import_cli,
    drift.drift_cli,
    transitions.transitions_cli,
    runtime.runtime_cli,
    subscriptions.subscriptions_cli,
):
    main.add_command(command)
for group in plugins.installed("karma.cli").values():  # the tooling's groups (karma neo4j, karma bench)
    main.add_command(group)
