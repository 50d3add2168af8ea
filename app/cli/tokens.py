"""`karma tokens create | list | revoke`: API tokens (Neo4j keeps only their hash)."""

from __future__ import annotations

import json
from contextlib import contextmanager

import click

from app.cli.common import as_json_text, cli_identity, graph, listing, one_a_line, quiet_option
from app.client import text
from app.security.roles import ROLES
from app.settings import Settings


@click.group("tokens")
def tokens_cli() -> None:
    """API tokens (Neo4j keeps only their hash)."""


@contextmanager
def _token_service():
    from app.security.tokens import TokenService  # noqa: PLC0415

    with graph(Settings.from_env()) as repo:
        yield TokenService(repo)


JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@tokens_cli.command("create")
@click.option("--name", required=True, help="The identity the token acts as (e.g. ted@strall.com).")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the token may do (docs/security.md).")
@click.option("--environment", "environments", multiple=True, help="Limit to an environment (repeatable).")
@JSON
def tokens_create(name: str, role: str, environments: tuple[str, ...], as_json: bool) -> None:
    """Create a token and print it ONCE (stdout: the token alone, so `> ted.token` keeps it)."""
    from app.client.api import describe  # noqa: PLC0415
    from app.errors import KarmaError  # noqa: PLC0415

    try:
        with _token_service() as tokens:
            token, record = tokens.create(name, role, list(environments), created_by=cli_identity())
    except KarmaError as exc:  # the fields, as an API refusal names them ("invalid token request" said no more)
        raise click.ClickException(describe(exc.body())) from None
    if as_json:
        click.echo(json.dumps({**record, "token": token}, default=str))
        return
    scope = ", ".join(environments) or "every environment"
    click.echo(f"created {record['id']}: {name} as {role} ({scope}); the token is shown only now", err=True)
    for warning in record.get("warnings") or []:
        click.echo(f"warning: {warning}", err=True)
    click.echo(token)


@tokens_cli.command("list")
@JSON
@quiet_option("token")
def tokens_list(as_json: bool, quiet: bool) -> None:
    """List tokens (never their secrets)."""
    with _token_service() as tokens:
        found = tokens.list()
    if as_json:
        click.echo(as_json_text(listing(found)))
        return
    if quiet:
        one_a_line([t["id"] for t in found])
        return
    rows = [
        [t["id"], t["name"], t["role"], ", ".join(t.get("environments") or []) or "*", text.moment(t.get("created_at")),
         t.get("created_by"), text.moment(t.get("revoked_at"))]
        for t in found
    ]  # fmt: skip
    headers = ["id", "name", "role", "environments", "created", "by", "revoked"]
    click.echo(text.listing(headers, rows, text.plural(len(rows), "token")))  # ends as every list says how many


@tokens_cli.command("revoke")
@click.argument("ref")
@click.option("--any-creator", is_flag=True, help="A name matches every token of it, not only those you made.")
@JSON
def tokens_revoke(ref: str, any_creator: bool, as_json: bool) -> None:
    """Revoke a token by id (tok-…), or by name the tokens you made (--any-creator: anyone's)."""
    from app.errors import KarmaError  # noqa: PLC0415

    try:
        with _token_service() as tokens:
            revoked = tokens.revoke(ref, revoked_by=cli_identity(), any_creator=any_creator)
    except KarmaError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(json.dumps({"revoked": revoked}) if as_json else f"revoked {', '.join(revoked)}")
