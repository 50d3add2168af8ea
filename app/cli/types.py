"""`karma types` (list), `karma types validate [DIR]`, `karma types check [DIR]`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from app.client import text

from app.cli.common import graph
from app.components.loader import TypeFileError, default_directory, load_directory

_dir_argument = click.argument("directory", required=False, type=click.Path(path_type=Path))


@click.group(name="types", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print every type's description as JSON.")
@click.pass_context
def types_cli(ctx: click.Context, as_json: bool) -> None:
    """Component types (default DIR: $KARMA_TYPES_DIR or ./types). Without a command: list them
    (`karma types --json`: every type's whole description)."""
    if ctx.invoked_subcommand is None:
        described = [t.describe() for t in _load(default_directory())]
        if as_json:
            click.echo(json.dumps(described, indent=2))
            return
        rows = [
            [t["name"], t["action"], len(t["config_keys"]), ", ".join(t["runtime_outputs"]) or "-",
             ", ".join(f"{r['key']}→{r['target_type']}" for r in t["references"]) or "-"]
            for t in described
        ]  # fmt: skip
        click.echo(text.table(["type", "action", "keys", "runtime outputs", "references"], rows))


def _load(directory: Path):
    try:
        return load_directory(directory)
    except TypeFileError as exc:
        for error in exc.errors:
            click.echo(error, err=True)
        click.echo(f"{len(exc.errors)} problem(s) in {directory}", err=True)
        raise SystemExit(1) from None


@types_cli.command("validate")
@_dir_argument
def validate_cmd(directory: Path | None) -> None:
    """Check every type file strictly (as the service does at start); exit 1 naming file and field."""
    directory = directory or default_directory()
    types = _load(directory)
    refs = sum(len(t.references) for t in types)
    click.echo(f"{directory}: OK, {len(types)} types, {refs} references")


@types_cli.command("check")
@_dir_argument
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check_cmd(directory: Path | None, as_json: bool) -> None:
    """Which components in the graph would DIR's types make invalid? Exit 1 if any (id, field, cause).
    Also lists the edges their references would add or remove."""
    from app.components.check import check_graph  # noqa: PLC0415
    from app.settings import Settings  # noqa: PLC0415

    directory = directory or default_directory()
    types = _load(directory)
    with graph(Settings.from_env()) as repo:
        report = check_graph(repo, types, only_changed=False)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for p in report.problems:
            click.echo(f"{p['component']}: {p['field']}: {p['message']}")
        for sign, edges in (("+", report.edges_added), ("-", report.edges_removed)):
            for e in edges:
                click.echo(f"{sign} edge {e['source']} -[{e['kind']} via {e['via']}]-> {e['target']}")
        click.echo(
            f"{directory}: {report.components} components checked, {len(report.invalid_components)} would be invalid",
            err=not report.ok,
        )
    if not report.ok:
        raise SystemExit(1)
