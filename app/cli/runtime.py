"""`karma runtime report TYPE/NICKNAME output=value…`: what a deploy reports (PUT …/runtime), as the
report role; it advances the transitions waiting for it and re-evaluates the queue."""

from __future__ import annotations

import click

from app.cli.common import api_command, component_id, emit
from app.client import text
from app.client.body import BodyError, build


@click.group("runtime")
def runtime_cli() -> None:
    """Runtime outputs of components (what deploys report)."""


@api_command(runtime_cli, "report")
@click.argument("component", callback=component_id)
@click.argument("outputs", nargs=-1, metavar="OUTPUT=VALUE…")
@click.option("-f", "--file", "file", type=click.Path(allow_dash=True), help="YAML/JSON of the outputs.")
@click.option(
    "--merge",
    is_flag=True,
    help="Keep the outputs last reported that these do not name (without it, a report replaces them all).",
)
def report(client, component, outputs, file=None, as_json=False, merge=False):
    """Record runtime outputs (VALUE parsed as JSON, else a string); validated against the type. A report
    is the component's whole runtime, as a deploy publishes it: an output it does not name is removed,
    unless --merge (what a person reports by hand after a deploy — the console's report form holds the
    last report the same way)."""
    from pathlib import Path  # noqa: PLC0415

    try:
        runtime = build(component, Path(file) if file else None, outputs, ())["proposed_change"]
    except BodyError as exc:
        said = str(exc).replace("--set/--unset", "OUTPUT=VALUE arguments")  # build() speaks of `karma plan`'s flags
        raise click.BadParameter(
            said.replace("--set ", "OUTPUT=VALUE argument ").replace("key=value", "OUTPUT=VALUE")
        ) from None
    if merge:  # the outputs as last reported, these over them (read now: a report in between is replaced)
        runtime = {**(client.get(f"/components/{component}").get("runtime") or {}), **runtime}
    emit(client.call("PUT", f"/components/{component}/runtime", body={"runtime": runtime}), as_json, text.runtime)
