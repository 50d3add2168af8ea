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

from app.cli.startup import stopped_while_starting

try:  # a Ctrl-C while these load (a second or two on a cold start) is one line, not an import's traceback
    import importlib

    import click

    from app import logs, plugins
    from app.cli import changes, common
    from app.observability import context as request_ids
    from app.settings import SettingsError
except KeyboardInterrupt:
    stopped_while_starting()

# Each command group by name → where it lives, imported only when that command runs (or `karma --help`
# lists them): `karma plan` does not pay for the Neo4j driver, the rule engine or the type schemas.
LAZY = {
    "seed": "app.cli.seed:seed",
    "serve": "app.cli.serve:serve",
    "worker": "app.cli.serve:worker",
    "outbox": "app.cli.outbox:outbox_cli",
    "tokens": "app.cli.tokens:tokens_cli",
    "cypher": "app.cli.cypher:cypher_cmd",
    "rules": "app.cli.rules:rules_cli",
    "types": "app.cli.types:types_cli",
    "import": "app.cli.imports:import_cli",
    "drift": "app.cli.drift:drift_cli",
    "transitions": "app.cli.transitions:transitions_cli",
    "runtime": "app.cli.runtime:runtime_cli",
    "subscriptions": "app.cli.subscriptions:subscriptions_cli",
}


class Karma(click.Group):
    """`karma`: the API commands (light) up front; the other groups, and the tooling's (entry points
    `karma.cli`: karma neo4j, karma bench), loaded by name when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY, *plugins.available("karma.cli")})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        if name in LAZY:
            module, attr = LAZY[name].split(":")
            command = getattr(importlib.import_module(module), attr)
        elif name in (tools := plugins.available("karma.cli")):
            command = tools[name].load()
        else:
            return None
        self.add_command(command, name)
        return command

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            raise _an_error(exc, args) from None

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta[common.ARGV] = list(args)  # a usage error of the command still knows it was asked for --json
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        """A command that opens Neo4j itself answers a database failure in one line, never a traceback —
        and a commit whose answer was lost is said to be unknown, not failed. A usage error (a mistyped
        option, a bad choice) exits 1, an error: Click's own 2 is Karma's "rejected" (app.client.outcome),
        which a pipeline acts on. Under --json every failure also prints one JSON object on stdout."""
        try:
            try:
                return super().invoke(ctx)
            except click.UsageError as exc:
                raise _an_error(exc) from None
            except click.ClickException:
                raise
            except SettingsError as exc:  # a KARMA_* setting it cannot use: named, no traceback
                raise click.ClickException(str(exc)) from None
            except KeyboardInterrupt:  # Ctrl-C: "wrote nothing", or an unknown outcome if a write went out
                raise common.interrupted(ctx) from None
            except Exception as exc:
                if not type(exc).__module__.startswith("neo4j"):
                    raise
                raise click.ClickException(common.database_failure(exc)) from None
        except click.ClickException as exc:
            if common.asks_for_json(ctx):
                known = isinstance(exc, (common.Failed, common.Usage))
                click.echo(common.as_json_text(exc.body if known else common.failed(exc).body))
            if isinstance(exc, (common.Failed, click.UsageError)):
                raise
            raise common.failed(exc) from None  # its line spelled as every command's (common.ERROR_LINE)


def _an_error(exc: click.UsageError, args: list[str] | None = None) -> click.UsageError:
    if args is not None and common.json_asked(args):
        click.echo(common.as_json_text(common.failed(exc).body))  # `karma --bogus … --json`: before any command
    return common.Usage(exc)


@click.group(cls=Karma)
@click.option("-v", "--verbose", is_flag=True, help="Log what the command does (JSON lines on stderr).")
def main(verbose: bool) -> None:
    """Karma: a graph-aware change gateway for infrastructure configuration."""
    logs.configure("DEBUG" if verbose else "WARNING")  # a command's stderr is for its own messages
    common.VERBOSE[0] = verbose
    token = request_ids.bind(request_ids.generate("cli"))  # one id per command: its log lines and audit entries
    click.get_current_context().call_on_close(lambda: request_ids.unbind(token))


changes.register(main)  # plan, request, apply, approve, deny, cancel, rollback, show, impact, log, queue…
