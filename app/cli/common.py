"""What every `karma` command group shares: the selected Neo4j, the service objects, the identity a CLI
write records, and the token CLI calls send. One place, so no command module imports another."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import click

from app.settings import Settings


def open_repo(settings: Settings):
    """Open the selected Neo4j (env → Docker → local, starting the local one if needed)."""
    from app.graph.driver import open_driver, select_target  # noqa: PLC0415
    from app.graph.repository import GraphRepository  # noqa: PLC0415

    target = select_target(settings, local=_started_local)
    return target, GraphRepository(open_driver(target), target.database)


@contextmanager
def graph(settings: Settings):
    """The selected Neo4j with the schema applied; the driver (and any container) closed afterwards."""
    target, repo = open_repo(settings)
    try:
        repo.apply_schema()
        yield repo
    finally:
        repo.driver.close()
        if target.closer:
            target.closer()


def _started_local():
    from app.graph.driver import NoNeo4j, _local_target  # noqa: PLC0415

    try:
        return _local_target(start=True, echo=lambda m: click.echo(m, err=True))
    except NoNeo4j as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def services(settings: Settings):
    from app.factory import Karma  # noqa: PLC0415
    from app.policy import PolicyEngine, RuleFileError  # noqa: PLC0415

    policy = PolicyEngine(settings.rules_dir)
    try:
        policy.load()
    except RuleFileError as exc:
        raise click.ClickException(f"broken rule files: {exc}") from None
    with graph(settings) as repo:
        yield Karma(settings=settings, repo=repo, policy=policy)


def cli_identity() -> str:
    """The local operator, as every CLI write records it (`cli:<os user>`, `via: cli`)."""
    import getpass  # noqa: PLC0415

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (a container's numeric uid)
        return f"cli:uid-{os.getuid()}"


def admin_token_file() -> Path:
    return Settings.from_env().admin_token_file


def admin_token() -> str | None:
    """The token CLI calls to the service send: KARMA_TOKEN, else the local admin token file."""
    from app.settings import service_token  # noqa: PLC0415

    token = service_token()
    if token:
        return token
    path = admin_token_file()
    try:
        return path.read_text().strip() or None
    except OSError:
        return None
