"""`karma subscriptions list | create | delete`: webhook subscriptions (admin; /admin/subscriptions)."""

from __future__ import annotations

import click

from app.cli.common import api_command, emit
from app.client import text


@click.group("subscriptions")
def subscriptions_cli() -> None:
    """Webhook subscriptions: which events go to which URL (signed with a secret)."""


@api_command(subscriptions_cli, "list")
def list_(client, as_json=False):
    """Every subscription (from the notifications file or made here); secrets are never shown."""
    emit(client.get("/admin/subscriptions"), as_json, lambda page: text.subscriptions(page["subscriptions"]))


@api_command(subscriptions_cli, "create")
@click.argument("endpoint", metavar="URL")
@click.option("--event", "events", multiple=True, required=True, help="An event type (repeatable).")
@click.option("--environment", "environments", multiple=True, help="Only this environment (repeatable).")
@click.option("--secret", envvar="KARMA_WEBHOOK_SECRET", required=True, help="HMAC secret (16+ chars).")
@click.option("--description", help="A note for people, shown with the subscription.")
@click.option("--disabled", is_flag=True, help="Create it disabled.")
def create(client, endpoint, events, environments, secret, description, disabled, as_json=False):
    """Subscribe URL to event types (the secret may also come from KARMA_WEBHOOK_SECRET)."""
    body = {"url": endpoint, "events": list(events), "environments": list(environments), "secret": secret}
    body.update({"enabled": not disabled, **({"description": description} if description else {})})
    emit(client.post("/admin/subscriptions", body), as_json, text.subscription)


@api_command(subscriptions_cli, "delete")
@click.argument("subscription_id")
def delete(client, subscription_id, as_json=False):
    """Delete a subscription made through the API (file-declared ones: edit the file)."""
    emit(client.delete(f"/admin/subscriptions/{subscription_id}"), as_json, text.record)
