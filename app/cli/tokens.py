"""`karma tokens create | list | revoke`: API tokens (Neo4j keeps only their hash)."""

from __future__ import annotations

import json
from contextlib import contextmanager

import click

from app.cli.common import cli_identity, graph
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


@tokens_cli.command("create")
@click.option("--name", required=True, help="The identity the token acts as (e.g. ted@strall.com).")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--environment", "environments", multiple=True, help="Limit to an environment (repeatable).")
def tokens_create(name: str, role: str, environments: tuple[str, ...]) -> None:
    """Create a token and print it ONCE."""
    from app.errors import KarmaError  # noqa: PLC0415

    try:
        with _token_service() as tokens:
            token, record = tokens.create(name, role, list(environments), created_by=cli_identity())
    except KarmaError as exc:
        raise click.ClickException(json.dumps(exc.to_dict())) from None
    click.echo(json.dumps(record), err=True)
    click.echo(token)


@tokens_cli.command("list")
def tokens_list() -> None:
    """List tokens (never their secrets)."""
    with _token_service() as tokens:
        click.echo(json.dumps(tokens.list(), indent=2, default=str))


@tokens_cli.command("revoke")
@click.argument("ref")
def tokens_revoke(ref: str) -> None:
    """Revoke a token by id, or every active token of a name."""
    from app.errors import KarmaError  # noqa: PLC0415

    try:
        with _token_service() as tokens:
            click.echo(json.dumps({"revoked": tokens.revoke(ref, revoked_by=cli_identity())}))
    except KarmaError as exc:
        raise click.ClickException(exc.message) from None
