"""`karma types` (list), `karma types validate [DIR]`, `karma types check [DIR]`, `karma types infer DIR`."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import click

from app.client import text

from app.cli.common import as_json_text, graph, listing
from app.components.loader import TypeFileError, default_directory, infer_directory, load_directory

_dir_argument = click.argument("directory", required=False, type=click.Path(path_type=Path))


@click.group(name="types", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print every type's description as JSON.")
@click.pass_context
def types_cli(ctx: click.Context, as_json: bool) -> None:
    """Component types (default DIR: $KARMA_TYPES_DIR or ./types). Without a command: list them
    (`karma types --json`: every type's whole description)."""
    if ctx.invoked_subcommand is None:
        described = [t.describe() for t in _load(default_directory())]
        if as_json:
            click.echo(as_json_text(listing(described)))
            return
        rows = [
            [t["name"], t["action"], len(t["config_keys"]), ", ".join(t["runtime_outputs"]) or "-",
             ", ".join(f"{r['key']}→{r['target_type']}" for r in t["references"]) or "-"]
            for t in described
        ]  # fmt: skip
        click.echo(text.table(["type", "action", "keys", "runtime outputs", "references"], rows))


def _load(directory: Path):
    try:
        return load_directory(directory)
    except TypeFileError as exc:
        for error in exc.errors:
            click.echo(error, err=True)
        click.echo(f"{len(exc.errors)} problem(s) in {directory}", err=True)
        raise SystemExit(1) from None


@types_cli.command("validate")
@_dir_argument
@click.option("--json", "as_json", is_flag=True, help="Print {directory, ok, types, references, errors} as JSON.")
def validate_cmd(directory: Path | None, as_json: bool) -> None:
    """Check every type file strictly (as the service does at start); exit 1 naming file and field."""
    directory = directory or default_directory()
    if not as_json:
        types = _load(directory)
        refs = sum(len(t.references) for t in types)
        click.echo(f"{directory}: OK, {len(types)} types, {refs} references")
        return
    try:
        types, errors = load_directory(directory), []
    except TypeFileError as exc:
        types, errors = [], list(exc.errors)
    report = {"directory": str(directory), "ok": not errors, "types": len(types), "errors": errors}
    click.echo(json.dumps(report | {"references": sum(len(t.references) for t in types)}, indent=2))
    if errors:
        raise SystemExit(1)


@types_cli.command("check")
@_dir_argument
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check_cmd(directory: Path | None, as_json: bool) -> None:
    """Which components in the graph would DIR's types make invalid? Exit 1 if any (id, field, cause).
    Also lists the edges their references would add or remove."""
    from app.components.check import check_graph  # noqa: PLC0415
    from app.settings import Settings  # noqa: PLC0415

    directory = directory or default_directory()
    types = _load(directory)
    with graph(Settings.from_env()) as repo:
        report = check_graph(repo, types, only_changed=False)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for p in report.problems:
            click.echo(f"{p['component']}: {p['field']}: {p['message']}")
        for sign, edges in (("+", report.edges_added), ("-", report.edges_removed)):
            for e in edges:
                click.echo(f"{sign} edge {e['source']} -[{e['kind']} via {e['via']}]-> {e['target']}")
        click.echo(
            f"{directory}: {report.components} components checked, {len(report.invalid_components)} would be invalid",
            err=not report.ok,
        )
    if not report.ok:
        raise SystemExit(1)


@types_cli.command("infer")
@click.argument("directory", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where to write the declarations (default: the folder holding the schemas).",
)
@click.option("--force", is_flag=True, help="Overwrite declarations that exist.")
def infer_cmd(directory: Path, out: Path | None, force: bool) -> None:
    """Read a folder of JSON Schemas unmodified (DIR, or DIR/schemas) and write the declaration inferred
    for each, `<type>.yaml`, for a person to review: references by the
    repository's conventions (<type>_nickname(s), <type>_runtime_path, nested keys such as
    functions.*.vpc_nickname), by-value references flagged `inferred: by-value`, the action defaulted.
    Exit 1 naming any schema nothing could be inferred from (nothing is skipped silently)."""
    found, errors = infer_directory(directory)
    for error in errors:
        click.echo(error, err=True)
    written = []
    for name, (schema_path, doc) in sorted(found.items()):
        target_dir = out or schema_path.parent
        target = target_dir / f"{name}.yaml"
        if target.exists() and not force:
            click.echo(f"{target}: exists, left alone (--force to overwrite)", err=True)
            continue
        target_dir.mkdir(parents=True, exist_ok=True)
        target.write_text(_declaration_text(name, schema_path, doc, target_dir), encoding="utf-8")
        written.append(target)
        refs = ", ".join(f"{r['key']} → {r['target']}" + (" (by value: confirm)" if r["inferred"] == "by-value" else "")
                         for r in doc["references"])  # fmt: skip
        click.echo(f"{target}: {refs or 'no references'}")
    said = f"{len(written)} declaration(s) written"
    if found:  # one folder of schemas (DIR or DIR/schemas): the declarations are in it, or in --out
        said += f"; {_next_steps(out or next(iter(found.values()))[0].parent)}"
    click.echo(said, err=bool(errors))
    if errors:
        raise SystemExit(1)


def _next_steps(folder: Path) -> str:
    """The commands that use the declarations, naming their folder: a bare `karma types validate` checks
    $KARMA_TYPES_DIR or ./types — pasted after an infer, it said `OK` of the built-in types."""
    folder = shlex.quote(str(folder))
    return f"review them, then `karma types validate {folder}` and `export KARMA_TYPES_DIR={folder}`"


def _declaration_text(name: str, schema_path: Path, doc: dict, target_dir: Path) -> str:
    import os  # noqa: PLC0415

    import yaml  # noqa: PLC0415

    body = {"description": doc["description"], "action": doc["action"]}
    body["config_schema"] = os.path.relpath(schema_path.resolve(), target_dir.resolve())
    body |= {"inferred": True, "review": doc["review"], "references": doc["references"]}
    header = (
        f"# Component type {name}: inferred by `karma types infer` from {schema_path.name} — review it.\n"
        "# Confirm every `inferred: by-value` reference, set `action`, add runtime_outputs and\n"
        "# runtime_matches, then drop `inferred` and `review` (docs/drift.md).\n"
    )
    return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
