"""`karma transitions propose | execute | show | cancel | list`: when Karma says no, the steps that would
make the change valid (verified by simulation), and carrying one out (over HTTP, like `karma plan`)."""

from __future__ import annotations

import click

from app.cli import common
from app.cli.common import api_command, change_options, component_id, emit, given, output_format
from app.client import handles, text
from app.client.api import ClientError
from app.client.body import build, parse_value, served_validators
from app.client.outcome import ERROR, OK, REJECTED, WAITING
from app.transitions.status import STORED


@click.group("transitions")
def transitions_cli() -> None:
    """Proposals for a refused change, and running them (POST/GET/DELETE /transitions)."""


def _with_handles(result: dict) -> dict:
    """Each executable proposal gets a short handle (`prop-…`); the full id stays in --json."""
    for proposal in result.get("proposals") or []:
        if proposal.get("id"):
            proposal["handle"] = handles.remember(proposal["id"])
    return result


@api_command(transitions_cli, "propose")
@change_options
@click.option(
    "--assume",
    multiple=True,
    metavar="TYPE/NICK.OUTPUT=VALUE",
    help="What-if: suppose this runtime output (VALUE parsed as JSON, else a string).",
)
@click.option("-q", "--quiet", is_flag=True, help="Only the best executable proposal's handle (for scripts).")
def propose(client, as_json=False, fmt=None, assume=(), quiet=False, **change):
    """What would make a refused change valid: change and wait steps, best first. Writes nothing."""
    as_json = output_format(fmt, as_json) == "json"  # markdown: tables, as before
    body = build(
        change.pop("component"),
        change.pop("file"),
        change.pop("sets"),
        change.pop("unsets"),
        validator_of=served_validators(lambda: client.get("/types")),
        **{k: v for k, v in change.items() if v is not None},
    )
    if assume:
        body["assume"] = {"runtime": _assumptions(assume)}
    try:
        result = client.post("/transitions", body)
    except ClientError as exc:
        if not common.already_reached(exc, body):
            raise
        return common.nothing_to_do(exc, body, "json" if as_json else "table", quiet=quiet, status="already_reached")
    if quiet and not as_json:
        runnable = [p["handle"] for p in _with_handles(result).get("proposals") or [] if p.get("handle")]
        if runnable:
            click.echo(runnable[0])
        else:  # said, not an empty line: a script's next command would get ""
            click.echo(f"{result.get('status')}: {_no_proposal(result)}", err=True)
        return PROPOSE_CODES.get(result.get("status"), ERROR)
    emit(result if as_json else _with_handles(result), as_json, text.proposals)
    return PROPOSE_CODES.get(result.get("status"), ERROR)


# a proposal search as a pipeline reads it: ways found or nothing to do 0; no way to make it valid 2
PROPOSE_CODES = {"proposals": OK, "allowed": OK, "no_transition": REJECTED}
# a transition run: done 0; waiting for a report (or still running) 3; stopped on a step 2
RUN_CODES = {"completed": OK, "waiting": WAITING, "running": WAITING, "stalled": REJECTED}


def _no_proposal(result: dict) -> str:
    if result.get("status") == "allowed":
        return "the change applies as it is; nothing to do first"
    return "; ".join(u.get("why") or "" for u in result.get("unresolved") or []) or "no way found"


def _assumptions(items: tuple[str, ...]) -> dict:
    """`--assume lambda/x.url=https://…` → {"lambda/x": {"url": "https://…"}}; `ecs-service/x.running_count=2`
    → 2 (an integer output: it was the string "2", a 422 the report of the same text does not get)."""
    out: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        component, dot, output = key.rpartition(".")
        if not (sep and dot and component and output):
            raise click.BadParameter(f"--assume {item!r}: expected TYPE/NICKNAME.OUTPUT=VALUE")
        out.setdefault(component, {})[output] = parse_value(value, f"--assume {key}")  # as `runtime report` reads it
    return out


@api_command(transitions_cli, "execute")
@click.argument("proposal", callback=given)
def execute(client, proposal, as_json=False):
    """Run a proposal (its handle `prop-…` or full id); 409 stale_proposal if the graph moved since. Exit 0
    completed, 3 waiting for a report, 2 stalled."""
    try:
        found = client.post(f"/transitions/{handles.resolve(proposal)}/execute")
    except ClientError as exc:
        raise common.with_next_commands(exc) from None
    emit(found, as_json, text.transition)
    return RUN_CODES.get(found.get("status"), OK)


@api_command(transitions_cli, "show")
@click.argument("transition_id", callback=given)
def show(client, transition_id, as_json=False):
    """A stored transition: its status, each step's progress, its audit trail."""
    emit(client.get(f"/transitions/{transition_id}"), as_json, text.transition)


@api_command(transitions_cli, "cancel")
@click.argument("transition_id", callback=given)
def cancel(client, transition_id, as_json=False):
    """Cancel what has not run yet (applied steps stay applied)."""
    emit(client.delete(f"/transitions/{transition_id}"), as_json, text.transition)


@api_command(transitions_cli, "list")
@click.option("--status", type=click.Choice(STORED), help="Only transitions in this state.")
@click.option(
    "--component", callback=component_id, help="Only transitions whose steps touched or affected this component."
)
@click.option("--requested-by", help="Only transitions this identity asked for.")
@common.paged_options("transition", "Transitions")
def list_(client, as_json=False, quiet=False, page=None, page_size=None, **filters):
    """Stored transitions, newest first."""
    common.paged_list(
        client, "/transitions", filters, text.transitions_page, as_json=as_json, quiet=quiet, page=page,
        page_size=page_size,
    )  # fmt: skip
