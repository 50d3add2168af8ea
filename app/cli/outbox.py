"""`karma outbox list | retry | prune | deliver`: the transactional outbox of notifications."""

from __future__ import annotations

import json

import click

from app.cli.common import as_json_text, cli_identity, services
from app.client import text
from app.settings import Settings

JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _say(data: dict, as_json: bool) -> None:
    click.echo(json.dumps(data, default=str) if as_json else text.record(data))


@click.group("outbox")
def outbox_cli() -> None:
    """Notifications waiting, delivered or failed (the transactional outbox)."""


@outbox_cli.command("list")
@click.option(
    "--state", type=click.Choice(["pending", "retrying", "delivered", "failed"]), help="Only entries in this state."
)
@click.option("--change", "change_id", help="Only the events of one change request.")
@click.option(
    "--limit", type=click.IntRange(1, 1000), default=100, show_default=True, help="At most this many entries."
)
@JSON
def outbox_list(state: str | None, change_id: str | None, limit: int, as_json: bool) -> None:
    """Print outbox entries (newest first) and the counts per state."""
    with services(Settings.from_env()) as karma:
        listed = karma.outbox.list(state=state, change_id=change_id, limit=limit)
    if as_json:
        click.echo(as_json_text(listed))
        return
    counts = ", ".join(f"{n} {state}" for state, n in sorted(listed["counts"].items())) or "no entries"
    click.echo(
        text.listing(
            list(OUTBOX_COLUMNS), [[e.get(k) for k in OUTBOX_COLUMNS.values()] for e in listed["items"]], counts
        )
    )


# a column's header, as every table names it — in words (`change`, as `karma queue` and `karma log` say it);
# the JSON's keys are for --json: the headers read CHANGE_ID and LAST_ERROR beside plain words
OUTBOX_COLUMNS = {
    "id": "id",
    "type": "type",
    "state": "state",
    "attempts": "attempts",
    "destination": "destination",
    "change": "change_id",
    "last error": "last_error",
}


@outbox_cli.command("retry")
@click.argument("ids", nargs=-1)
@click.option("--all-failed", is_flag=True, help="Retry every failed entry.")
@JSON
def outbox_retry(ids: tuple[str, ...], all_failed: bool, as_json: bool) -> None:
    """Send failed entries again (by delivery id or event id, or --all-failed) on the next worker pass; a
    retrying entry named by id is made due now, not after its backoff (a conflict just settled)."""
    from app.errors import KarmaError  # noqa: PLC0415

    try:
        with services(Settings.from_env()) as karma:
            retried = karma.outbox.retry(by=cli_identity(), ids=list(ids), all_failed=all_failed)
    except KarmaError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(json.dumps(retried) if as_json else _retried(retried))


def _retried(answer: dict) -> str:
    """What a retry did, in words: an empty answer is "nothing", never a blank line."""
    done = answer["retried"]
    lines = [
        f"retried {len(done)}: {', '.join(done)} (due now)"
        if done
        else "retried nothing" + ("" if answer.get("skipped") else ": no failed entry")
    ]
    lines += [f"not retried {s['id']}: {_why_skipped(s)}" for s in answer.get("skipped", [])]
    return "\n".join(lines)


def _why_skipped(skipped: dict) -> str:
    if skipped.get("reason") == "subscription_deleted":
        return f"its subscription {skipped.get('subscription_id')} was deleted (it would fail again at once)"
    if skipped["state"] == "delivered":
        return "delivered (delivered entries are never resent)"
    return f"{skipped['state']} (only failed or retrying entries are retried)"


@outbox_cli.command("prune")
@click.option(
    "--older-than-days",
    type=click.FloatRange(min=0),
    required=True,
    help="Delete delivered entries delivered longer ago than this.",
)
@JSON
def outbox_prune(older_than_days: float, as_json: bool) -> None:
    """Delete delivered entries older than N days (failed and pending ones are always kept)."""
    with services(Settings.from_env()) as karma:
        _say(karma.outbox.prune(older_than_days=older_than_days, by=cli_identity()), as_json)


@outbox_cli.command("deliver")
@JSON
def outbox_deliver(as_json: bool) -> None:
    """One delivery pass now (what each `karma worker` pass does) and print the counts."""
    from app.notifications.delivery import DeliveryPolicy, deliver_pending  # noqa: PLC0415

    from app.configstore import handlers as config_store_handlers  # noqa: PLC0415

    settings = Settings.from_env()
    with services(settings) as karma:
        sent = deliver_pending(
            karma.repo,
            policy=DeliveryPolicy.from_settings(settings),
            handlers=config_store_handlers(karma.repo, settings),
        )
    _say(sent, as_json)
