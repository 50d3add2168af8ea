"""``karma rules validate [DIR]`` and ``karma rules list [DIR]`` (the lead's app.cli adds ``reload``)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from app import settings
from app.policy import loader
from app.policy.language import SEVERITY, RuleFileError


def _default_dir() -> Path:
    return settings.rules_dir()


_dir_argument = click.argument("directory", required=False, type=click.Path(path_type=Path))


@click.group(name="rules")
def rules_cli() -> None:
    """Policy rule files: validate them, list them (default DIR: $KARMA_RULES_DIR or ./rules)."""


@rules_cli.command("validate")
@_dir_argument
def validate_cmd(directory: Path | None) -> None:
    """Check every rule file strictly; exit 1 and print each problem (file: field: message)."""
    directory = directory or _default_dir()
    try:
        compiled = loader.build(directory)
    except RuleFileError as exc:
        for error in exc.errors:
            click.echo(error, err=True)
        click.echo(f"{len(exc.errors)} problem(s) in {directory}", err=True)
        raise SystemExit(1) from None
    by_effect = dict.fromkeys(SEVERITY, 0)
    for rule in compiled.rules.values():
        by_effect[rule.effect] += 1
    counts = ", ".join(f"{n} {e}" for e, n in by_effect.items())
    disabled = f", {len(compiled.disabled)} disabled" if compiled.disabled else ""
    click.echo(f"{directory}: OK, {compiled.rule_count} rules ({counts}{disabled}) in {len(compiled.files)} "
               f"file(s), fingerprint {compiled.fingerprint}")


@rules_cli.command("list")
@_dir_argument
@click.option("--json", "as_json", is_flag=True, help="Print the rules as JSON.")
def list_cmd(directory: Path | None, as_json: bool) -> None:
    """List the rules: id, effect, scope, file and description."""
    directory = directory or _default_dir()
    try:
        compiled = loader.build(directory)
    except RuleFileError as exc:
        for error in exc.errors:
            click.echo(error, err=True)
        raise SystemExit(1) from None
    rules = sorted(compiled.rules.values(), key=lambda r: (SEVERITY[r.effect], r.id))
    if as_json:
        click.echo(json.dumps([{"id": r.id, "effect": r.effect, "scope": r.scope, "file": r.file,
                                "description": r.description, "message": r.message_text} for r in rules],
                              indent=2))
        return
    if not rules:
        click.echo(f"{directory}: no rules")
        return
    w_id, w_effect, w_file = (max(len(getattr(r, a)) for r in rules) for a in ("id", "effect", "file"))
    for r in rules:
        click.echo(f"{r.id:<{w_id}}  {r.effect:<{w_effect}}  {r.scope:<8}  {r.file:<{w_file}}  {r.description}")
    if compiled.disabled:
        click.echo(f"disabled: {', '.join(sorted(compiled.disabled))}")
