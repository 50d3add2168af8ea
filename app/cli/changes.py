"""The API commands of `karma`. Each one is one (or two) HTTP calls and a rendering; the exit code
says what happened (app/client/outcome.py), so a CI job can gate on `karma plan` / `karma request`."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from app.client import markdown, text
from app.client.api import ClientError, KarmaClient, OutcomeUnknown, resolve_token
from app.client.body import BodyError, build
from app.client.outcome import ERROR, OK, UNKNOWN, exit_code
from app.settings import service_url


def _emit(data, as_json: bool, human) -> None:
    click.echo(json.dumps(data, indent=2, default=str) if as_json else human(data))


def api_command(group: click.Group, name: str, json_flag: bool = True):
    """A command talking to the API: --url/--token, --json, and errors turned into exit codes."""

    def decorate(fn):
        @group.command(name, help=fn.__doc__)
        @click.option(
            "--url", default=service_url, show_default="KARMA_URL or http://127.0.0.1:8000", help="The Karma service."
        )
        @click.option("--token", default=None, help="API token [default: KARMA_TOKEN, else .karma/admin-token]")
        @functools.wraps(fn)
        def command(url: str, token: str | None, **kwargs):
            client = KarmaClient(url, resolve_token(token))
            as_json = kwargs.get("as_json", False)
            try:
                code = fn(client, **kwargs)
            except (BodyError, click.BadParameter) as exc:
                click.echo(f"error: {exc}", err=True)
                sys.exit(ERROR)
            except ClientError as exc:
                if as_json and exc.body:
                    click.echo(json.dumps(exc.body, indent=2))
                click.echo(f"error: {exc}", err=True)
                sys.exit(ERROR)
            except OutcomeUnknown as exc:
                click.echo(f"outcome unknown: {exc}", err=True)
                sys.exit(UNKNOWN)
            sys.exit(code or OK)

        if json_flag:
            command = click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")(command)
        return command

    return decorate


def change_options(fn):
    """The change itself: a component, a file and/or --set/--unset, and the request's fields."""
    for option in reversed(
        [
            click.argument("component", required=False),
            click.option(
                "-f",
                "--file",
                "file",
                type=click.Path(path_type=Path, allow_dash=True),
                help="YAML/JSON: a whole request or just the merge patch (- for stdin).",
            ),
            click.option(
                "--set",
                "sets",
                multiple=True,
                metavar="KEY=VALUE",
                help="Set a config key (VALUE parsed as JSON, else a string; a.b=1 for nested keys).",
            ),
            click.option("--unset", "unsets", multiple=True, metavar="KEY", help="Remove a config key."),
            click.option("--reason", help="Why (policy requires one for prod)."),
            click.option(
                "--queue",
                "on_blocked",
                flag_value="queue",
                default=None,
                help="Queue the change if a rule blocks it (default: reject).",
            ),
            click.option("--expected-version", type=int, help="Refuse (409) unless the component is at this version."),
            click.option(
                "--format",
                "fmt",
                type=click.Choice(["table", "json", "markdown"]),
                default="table",
                show_default=True,
                help="Output: tables, the API's JSON, or Markdown with a Mermaid graph.",
            ),
        ]
    ):
        fn = option(fn)
    return fn


def _send(
    client: KarmaClient,
    path: str,
    component,
    file,
    sets,
    unsets,
    reason,
    on_blocked,
    expected_version,
    fmt,
    as_json,
    headers=None,
) -> int:
    body = build(component, file, sets, unsets, reason=reason, on_blocked=on_blocked, expected_version=expected_version)
    result = client.post(path, body, headers=headers)
    return _result(result, "json" if as_json else fmt, body.get("on_blocked") or "reject")


def _result(result: dict, fmt: str, on_blocked: str = "reject") -> int:
    if fmt == "json":
        click.echo(json.dumps(result, indent=2, default=str))
    elif fmt == "markdown":
        click.echo(markdown.change_result(result, on_blocked), nl=False)
    else:
        click.echo(text.change_result(result, on_blocked))
    return exit_code(result, on_blocked)


def register(main: click.Group) -> None:  # one place lists every command
    """Add the API commands to the `karma` group."""

    @api_command(main, "plan")
    @change_options
    def plan(client, as_json=False, **change):
        """Dry run a change: the diff, decisions, actions in waves and a plan id; writes nothing.
        Exit 0 if it would apply, 2 if it would be rejected, 3 if it would wait (queue or approval)."""
        return _send(client, "/plan", as_json=as_json, **change)

    @api_command(main, "request")
    @change_options
    @click.option("--idempotency-key", help="A retry with the same key returns the first result.")
    def request(client, idempotency_key=None, as_json=False, **change):
        """Request a change: applied (exit 0), rejected (2), queued or pending approval (3)."""
        return _send(client, "/request-change", as_json=as_json, headers={"Idempotency-Key": idempotency_key}, **change)

    @api_command(main, "apply")
    @click.argument("plan_id")
    @click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table")
    def apply(client, plan_id, fmt, as_json=False):
        """Apply exactly what `karma plan` showed (409 if anything in its impact set moved since)."""
        return _result(client.post(f"/plans/{plan_id}/apply"), "json" if as_json else fmt)

    @api_command(main, "approve")
    @click.argument("change_id")
    @click.option("--comment")
    def approve(client, change_id, comment, as_json=False):
        """Approve a pending change (not your own); it re-runs against the graph as it is now."""
        body = {"comment": comment} if comment else {}
        return _result(client.post(f"/changes/{change_id}/approve", body), "json" if as_json else "table")

    @api_command(main, "deny")
    @click.argument("change_id")
    @click.option("--comment")
    def deny(client, change_id, comment, as_json=False):
        """Deny a pending change (not your own)."""
        body = {"comment": comment} if comment else {}
        return _result(client.post(f"/changes/{change_id}/deny", body), "json" if as_json else "table")

    @api_command(main, "cancel")
    @click.argument("change_id")
    def cancel(client, change_id, as_json=False):
        """Cancel a queued change (yours, or anyone's as admin)."""
        return _result(client.delete(f"/changes/{change_id}"), "json" if as_json else "table")

    @api_command(main, "rollback")
    @click.argument("change_id")
    @click.option("--reason")
    @click.option("--queue", "on_blocked", flag_value="queue", default="reject", help="Queue it if blocked.")
    @click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table")
    def rollback(client, change_id, reason, on_blocked, fmt, as_json=False):
        """Roll back an applied change: its inverse runs through the full pipeline, as your token's identity."""
        body = {"on_blocked": on_blocked, **({"reason": reason} if reason else {})}
        return _result(client.post(f"/changes/{change_id}/rollback", body), "json" if as_json else fmt, on_blocked)

    @api_command(main, "show")
    @click.argument("ref")
    def show(client, ref, as_json=False):
        """Show a component (type/nickname), a change (chg-…) or an audit entry (log-…)."""
        if "/" in ref:
            _emit(client.get(f"/components/{ref}"), as_json, text.component)
        elif ref.startswith("log-"):
            _emit(client.get(f"/log/{ref}"), as_json, text.log_entry)
        else:
            _emit(client.get(f"/changes/{ref}"), as_json, text.change)

    @api_command(main, "impact")
    @click.argument("component")
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "json", "mermaid", "dot", "svg"]),
        default="table",
        show_default=True,
    )
    def impact(client, component, fmt, as_json=False):
        """What a change to COMPONENT reaches: a table, JSON, or a picture (Mermaid, DOT, SVG)."""
        if fmt in ("mermaid", "dot", "svg"):
            click.echo(client.get(f"/components/{component}/impact", {"format": fmt}, accept="*/*"), nl=False)
        else:
            _emit(client.get(f"/components/{component}/impact"), as_json or fmt == "json", text.impact)

    @api_command(main, "log")
    @click.option("--component")
    @click.option("--requested-by")
    @click.option("--status")
    @click.option("--since", help="ISO 8601 with a time zone (inclusive).")
    @click.option("--until", help="ISO 8601 with a time zone (exclusive).")
    @click.option("--page", type=int, default=1, show_default=True)
    @click.option("--page-size", type=int, default=50, show_default=True)
    def log(client, as_json=False, **filters):
        """The audit log, newest first."""
        _emit(client.get("/log", filters), as_json, text.log_page)

    @api_command(main, "changes")
    @click.option("--status", help="applied, rejected, queued, pending_approval, cancelled, denied, expired")
    @click.option("--component")
    @click.option("--requested-by")
    @click.option("--page", type=int, default=1, show_default=True)
    @click.option("--page-size", type=int, default=50, show_default=True)
    def changes(client, as_json=False, **filters):
        """Change requests, newest first."""
        _emit(client.get("/changes", filters), as_json, text.changes_page)

    @main.group("queue", invoke_without_command=True)
    @click.pass_context
    def queue_cli(ctx):
        """The queue of blocked changes (`karma queue` lists it)."""
        if ctx.invoked_subcommand is None:
            ctx.invoke(queue_list)

    @api_command(queue_cli, "list")
    @click.option("--component")
    def queue_list(client, component=None, as_json=False):
        """Queued changes, per component in FIFO order."""
        _emit(client.get("/queue", {"component": component}), as_json, lambda page: text.queue(page["items"]))

    @api_command(queue_cli, "process")
    def queue_process(client, as_json=False):
        """Re-evaluate the queue now (admin) and print the transitions."""
        _emit(client.post("/queue/process")["processed"], as_json, text.transitions)
