"""`karma drift`: the drift report (contract, reference, runtime, orphan, unwritten) from the graph, as GET
/drift gives it."""

from __future__ import annotations


import click

from app.cli.common import as_json_text, component_id, given, graph
from app.client.outcome import DRIFT
from app.client.text import plural
from app.components.drift import KINDS, file_state


@click.command("drift")
@click.option("--kind", type=click.Choice(KINDS), help="Only this kind of drift.")
@click.option("--component", callback=component_id, help="Only this component (type/nickname).")
@click.option(
    "--environment",
    callback=lambda ctx, param, v: None if v is None else given(ctx, param, v),
    help="Only this environment's drift (counts within it too).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def drift_cli(kind: str | None, component: str | None, environment: str | None, as_json: bool) -> None:
    """Where what Karma holds disagrees with what it should be: a config its schema refuses (contract), a
    reference that resolves to nothing (reference), a report that contradicts the config (runtime), a
    component whose config file the imported tree no longer has (orphan), a change the config store has not
    written to the tree (unwritten) — the component, the field and why, never the value. Exit 5 when there
    is any (1: the report could not be read), --json too."""
    from app.components.drift_service import DriftService  # noqa: PLC0415
    from app.settings import Settings  # noqa: PLC0415

    with graph(Settings.from_env()) as repo:
        report = DriftService(repo).report(kind=kind, component=component, environment=environment)
    if as_json:  # every list command's shape (`items`, docs/cli.md); `entries`, as GET /drift names it, kept
        click.echo(as_json_text({"items": report["entries"], **report}))
    else:
        for e in report["entries"]:
            where = f" ({e['file']}, {file_state(e['kind'])})" if e.get("file") else ""
            click.echo(f"{e['kind']}: {e['component']}{where}: {e['field']}: {e['message']} [{e['rule']}]")
        counts = ", ".join(f"{report['counts'][k]} {k}" for k in KINDS)
        found = plural(report["total"], f"{kind} drift entry" if kind else "drift entry")  # 1 entry, 2 entries
        click.echo(f"{found} (of every kind: {counts})" if kind else f"{found}: {counts}", err=bool(report["total"]))
    for warning in report.get("warnings") or []:  # an --environment no component lives in: a typo?
        click.echo(f"warning: {warning}", err=True)
    if report["total"]:  # a finding, not a failure: a CI job tells "drift" from "could not ask"
        raise SystemExit(DRIFT)
