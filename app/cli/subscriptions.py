"""`karma subscriptions list | create | delete`: webhook subscriptions (admin; /admin/subscriptions)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from app.cli.common import api_command, emit
from app.client import text
from app.yaml_strict import UnreadableFile, read_text


@click.group("subscriptions")
def subscriptions_cli() -> None:
    """Webhook subscriptions: which events go to which URL (signed with a secret)."""


@api_command(subscriptions_cli, "list")
def list_(client, as_json=False):
    """Every subscription (from the notifications file or made here); secrets are never shown."""
    emit(client.get("/admin/subscriptions"), as_json, lambda page: text.subscriptions(page["items"]))


@api_command(subscriptions_cli, "create")
@click.argument("endpoint", metavar="URL")
@click.option("--event", "events", multiple=True, required=True, help="An event type (repeatable).")
@click.option("--environment", "environments", multiple=True, help="Only this environment (repeatable).")
@click.option(
    "--secret-file",
    "from_file",
    type=click.Path(path_type=Path, allow_dash=True),
    callback=lambda _ctx, _param, path: _read_secret(path),
    help="A file holding the HMAC secret (16+ chars; its trailing newline is dropped; - for stdin).",
)
@click.option(
    "--secret",
    help="The HMAC secret itself: visible to other users of this machine (ps) and kept in your shell's "
    "history — prefer --secret-file or KARMA_WEBHOOK_SECRET.",
)
@click.option("--description", help="A note for people, shown with the subscription.")
@click.option("--disabled", is_flag=True, help="Create it disabled.")
def create(client, endpoint, events, environments, from_file, secret, description, disabled, as_json=False):
    """Subscribe URL to event types. The HMAC secret comes from --secret-file, else KARMA_WEBHOOK_SECRET,
    else a prompt at a terminal (--secret also works, but shows it to `ps` and your shell's history)."""
    body = {"url": endpoint, "events": list(events), "environments": list(environments)}
    body.update(secret=_secret(secret, from_file), enabled=not disabled)
    body.update({"description": description} if description else {})
    emit(client.post("/admin/subscriptions", body), as_json, text.subscription)


SECRET_ENV = "KARMA_WEBHOOK_SECRET"


def _read_secret(path: Path | None) -> str | None:
    """--secret-file's text, its trailing newline dropped (`echo S > file` adds one); a file that cannot be
    read is refused naming the option and the file, as every file an operator names is (read_text)."""
    if path is None:
        return None
    try:
        return read_text(path).removesuffix("\n")
    except UnreadableFile as exc:
        raise click.BadParameter(str(exc)) from None


def _secret(given: str | None, from_file: str | None) -> str:
    """The subscription's secret, from where no one else reads it: `--secret S` put it in the shell's
    history and in every user's `ps`. One source, in order: --secret or --secret-file (not both), the
    environment, a hidden prompt at a terminal; none at all is refused before anything is sent."""
    if given is not None and from_file is not None:
        raise click.UsageError("give the secret once: --secret or --secret-file, not both")
    if from_file is not None or given is not None:
        return from_file if from_file is not None else given
    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV]
    if sys.stdin.isatty():
        return click.prompt("webhook secret (16+ characters)", hide_input=True, confirmation_prompt=True, err=True)
    raise click.UsageError(f"no secret: give --secret-file PATH (or set {SECRET_ENV}; a terminal is asked for it)")


@api_command(subscriptions_cli, "delete")
@click.argument("subscription_id")
def delete(client, subscription_id, as_json=False):
    """Delete a subscription made through the API (file-declared ones: edit the file)."""
    emit(client.delete(f"/admin/subscriptions/{subscription_id}"), as_json, text.record)
