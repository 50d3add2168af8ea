"""`karma cypher NAME|FILE --param key=value …`: the operators' Cypher library, run read-only, as a table."""

from __future__ import annotations

import json

import click

from app.cli.common import open_repo
from app.settings import Settings


@click.command("cypher")
@click.argument("ref", required=False)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A query parameter (JSON, 'quoted' or plain text); the file's `:param` lines are defaults.",
)
@click.option("--list", "list_", is_flag=True, help="List the library (cypher/ops_*.cypher) with each question.")
@click.option("--json", "as_json", is_flag=True, help="Rows as JSON objects.")
def cypher_cmd(ref: str | None, params: tuple[str, ...], list_: bool, as_json: bool) -> None:
    """Run an operator query from cypher/ops_*.cypher (or a .cypher file) READ-ONLY against the configured Neo4j."""
    from app.client.text import table  # noqa: PLC0415
    from app.graph import library  # noqa: PLC0415
    from app.yaml_strict import UnreadableFile  # noqa: PLC0415

    if list_ or not ref:
        rows = [[q.name, q.question, ", ".join(f"${p}" for p in q.parameters)] for q in library.library()]
        click.echo(
            json.dumps([dict(zip(["name", "question", "parameters"], r, strict=True)) for r in rows], indent=2)
            if as_json
            else table(["name", "question", "parameters"], rows)
        )
        return
    try:
        query = library.find(ref)
    except (LookupError, UnreadableFile) as exc:
        raise click.ClickException(str(exc)) from None
    given = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r}: expected key=value", param_hint="--param")
        given[key.strip()] = library.cypher_value(value)
    values = {**{k: v for k, v in query.defaults.items() if k in query.parameters}, **given}
    missing = [p for p in query.parameters if p not in values]
    if missing:
        raise click.ClickException(f"{query.name} needs " + " ".join(f"--param {p}=…" for p in missing))
    for key in sorted(set(query.defaults) & set(query.parameters) - set(given)):
        click.echo(f"${key} = {json.dumps(values[key])} (the file's example; --param {key}=… to change)", err=True)
    columns, rows = _run(query.text, values)
    if as_json:
        click.echo(json.dumps([dict(zip(columns, r, strict=True)) for r in rows], indent=2, default=str))
    else:
        click.echo(table(columns, rows) + f"\n{len(rows)} row{'' if len(rows) == 1 else 's'}")


def _run(text: str, values: dict) -> tuple[list, list]:
    from neo4j.exceptions import ClientError  # noqa: PLC0415

    from app.graph.library import run_read_only  # noqa: PLC0415

    target, repo = open_repo(Settings.from_env())
    try:
        return run_read_only(repo.driver, target.database, text, values)
    except ClientError as exc:
        raise click.ClickException(f"Neo4j refused the query: {exc.message}") from None
    finally:
        repo.driver.close()
        if target.closer:
            target.closer()
