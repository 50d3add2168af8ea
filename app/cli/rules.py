"""``karma rules validate | list | test | replay | reload``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from app import settings
from app.settings import Settings
from app.cli.common import api_command, as_json_text, component_id, emit, listing, open_repo, output_format
from app.client import text
from app.policy import loader
from app.policy.effects import SEVERITY, listing_order
from app.policy.errors import RuleFileError
from app.ruletools.coverage import FAIL_ON
from app.seeding import SeedError


def _loaded_engine(directory: Path):
    """The rule engine over `directory`, loaded; broken rule files: each error on stderr, exit 1."""
    from app.policy.engine import PolicyEngine  # noqa: PLC0415 - durable_rules only for the commands that judge

    engine = PolicyEngine(directory)
    try:
        engine.load()
    except RuleFileError as exc:
        for error in exc.errors:
            click.echo(error, err=True)
        raise SystemExit(1) from None
    return engine


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
    click.echo(
        f"{directory}: OK, {compiled.rule_count} rules ({counts}{disabled}) in {len(compiled.files)} "
        f"file(s), fingerprint {compiled.fingerprint}"
    )
    _inert_warnings(compiled)


def _inert_warnings(compiled) -> None:
    """A rule naming a type or key the loaded types do not have loads (another deployment's vocabulary, not
    a misspelling: app.policy.vocabulary) but these types give it nothing to match: each such name as a
    warning line on stderr."""
    inert = [r for r in sorted(compiled.rules.values(), key=listing_order) if r.inert]
    for rule in inert:
        for why in rule.inert:
            click.echo(f"warning: {why}", err=True)
    if inert:
        click.echo(
            f"warning: {len(inert)} rule(s) name what these types lack ({', '.join(r.id for r in inert)})", err=True
        )


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
    rules = sorted(compiled.rules.values(), key=listing_order)
    if as_json:
        click.echo(as_json_text(listing([r.summary() for r in rules], disabled=sorted(compiled.disabled))))
        return
    if not rules:
        click.echo(f"{directory}: no rules")
        return
    rows = [[r.id, r.effect, r.scope, r.file, r.description] for r in rules]
    click.echo(text.table(["rule", "effect", "scope", "file", "description"], rows))
    if compiled.disabled:
        click.echo(f"disabled: {', '.join(sorted(compiled.disabled))}")
    _inert_warnings(compiled)


@rules_cli.command("test")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--rules",
    "rules_dir",
    type=click.Path(path_type=Path),
    help="The rule directory to test (default: $KARMA_RULES_DIR or ./rules).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcomes as JSON.")
def test_cmd(paths: tuple[Path, ...], rules_dir: Path | None, as_json: bool) -> None:
    """Run rule test cases (default: DIR/tests/*.yaml) through the service's pipeline, on fixture graphs.

    One line per case, a diff of expected and actual decisions for each failure, a summary; exit 1 if any
    case fails or a test file is broken. Nothing is written anywhere: no Neo4j is involved.
    """
    from app.ruletools import cases as rule_tests  # noqa: PLC0415 - loads the pipeline only for this command

    rules_dir = rules_dir or _default_dir()
    engine = _loaded_engine(rules_dir)
    try:
        outcomes, errors = rule_tests.run(list(paths) or [rules_dir / "tests"], engine)
    except rule_tests.CaseFileError as exc:
        outcomes, errors = [], exc.errors
    if as_json:
        click.echo(
            json.dumps(
                {
                    "rules_dir": str(rules_dir),
                    "fingerprint": engine.fingerprint,
                    "passed": sum(o.ok for o in outcomes),
                    "failed": sum(not o.ok for o in outcomes),
                    "errors": errors,
                    "cases": [o.to_dict() for o in outcomes],
                },
                indent=2,
                default=str,
            )
        )
    else:
        for line in rule_tests.report(outcomes, errors):
            click.echo(line)
    if errors or not outcomes or not all(o.ok for o in outcomes):
        raise SystemExit(1)


def _when(value: str | None, name: str):
    if value is None:
        return None
    from datetime import datetime, timezone  # noqa: PLC0415

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected an ISO date or date-time, got {value!r}", param_hint=name) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@rules_cli.command("replay")
@click.option("--since", help="Only requests at or after this ISO date/time.")
@click.option("--until", help="Only requests before this ISO date/time.")
@click.option("--component", callback=component_id, help="Only requests for this component id.")
@click.option("--environment", help="Only requests for components of this environment.")
@click.option(
    "--rules",
    "rules_dir",
    type=click.Path(path_type=Path),
    help="A candidate rule directory (default: the live one, $KARMA_RULES_DIR or ./rules).",
)
@click.option("--all", "show_all", is_flag=True, help="List every replayed request, not only the changed ones.")
@click.option("--json", "as_json", is_flag=True, help="Print the replay as JSON.")
@click.option(
    "--fail-on-change",
    is_flag=True,
    help="Exit 2 when any decision differs (or an entry cannot be replayed): a gate for a rules pull request.",
)
def replay_cmd(since, until, component, environment, rules_dir, show_all, as_json, fail_on_change) -> None:
    """Re-evaluate a rule set against the audited history: the decisions then and now, and a summary.

    Uses the facts each audit entry kept (what the rules saw then, at the request time); reads the audit log
    only — never the live graph for past state — and writes nothing.
    """
    from app.components.service import environment_warnings  # noqa: PLC0415
    from app.ruletools import replay  # noqa: PLC0415
    from app.settings import Settings  # noqa: PLC0415

    settings = Settings.from_env()
    engine = _loaded_engine(rules_dir or settings.rules_dir)
    summary, shown = replay.Summary(), []
    window = {"since": _when(since, "--since"), "until": _when(until, "--until")}
    target, repo = open_repo(settings)  # no schema step: a replay writes nothing at all
    try:
        for entry in repo.audited_facts(component=component, environment=environment, **window):
            result = replay.replay_entry(entry, engine)
            summary.add(result)
            if result.changed or show_all:
                shown.append(result)
        warnings = environment_warnings(repo, environment) if not summary.entries else []
    finally:
        repo.driver.close()
        if target.closer:
            target.closer()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "rules_dir": str(engine.rules_dir),
                    "fingerprint": engine.fingerprint,
                    "summary": summary.to_dict(),
                    "requests": [r.to_dict() for r in shown],
                    **({"warnings": warnings} if warnings else {}),
                },
                indent=2,
                default=str,
            )
        )
    else:
        for result in shown:
            for line in replay.describe(result):
                click.echo(line)
        click.echo("-" * 80)
        click.echo(f"rules {engine.rules_dir} ({engine.fingerprint})")
        for line in summary.lines():
            click.echo(line)
    for warning in warnings:  # an --environment no component lives in: a typo, not "nothing to replay"
        click.echo(f"warning: {warning}", err=True)
    if fail_on_change and (summary.changed or summary.errors):
        click.echo(f"--fail-on-change: {summary.changed} request(s) with different decisions", err=True)
        raise SystemExit(2)


def _reloaded(answer: dict) -> str:
    what = "reloaded" if answer.get("changed") else "reloaded (unchanged)"
    line = (
        f"{what}: {answer.get('rules')} rules from {answer.get('rules_dir')} (fingerprint {answer.get('fingerprint')})"
    )
    return line + (f"\nerror: {answer['error']}" if answer.get("error") else "")


@api_command(rules_cli, "reload")
def rules_reload(client, as_json: bool = False) -> None:
    """Validate the rule files, then ask the running service to reload them (an admin token: --token,
    KARMA_TOKEN, or the local admin token in .karma/admin-token)."""
    from app.policy import validate_dir  # noqa: PLC0415

    errors = validate_dir(Settings.from_env().rules_dir)
    if errors:
        raise click.ClickException("rule files are broken, not reloading:\n  " + "\n  ".join(errors))
    emit(client.post("/admin/rules/reload"), as_json, _reloaded)


@rules_cli.command("coverage")
@_dir_argument
@click.option(
    "--rules",
    "rules_dir",
    type=click.Path(path_type=Path),
    help="The rule directory (default: $KARMA_RULES_DIR or ./rules), as `rules test` and `rules replay` take "
    "it; a DIRECTORY argument (the older form) still works.",
)
@click.option(
    "--cases", "case_paths", multiple=True, type=click.Path(path_type=Path), help="Case files (default: DIR/tests)."
)
@click.option("--seed", type=click.Path(path_type=Path), help="Measure against a seed file instead of the live graph.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "markdown"]),
    default=None,
    help="Output: a table, JSON (also --json) or Markdown  [default: table]",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (as --format json).")
@click.option(
    "--fail-on",
    default="",
    help=f"Exit 2 when any rule is one of these (comma-separated: {', '.join(FAIL_ON)}), e.g. dead,uncovered.",
)
def coverage_cmd(
    directory: Path | None,
    rules_dir: Path | None,
    case_paths,
    seed: Path | None,
    fmt: str | None,
    as_json: bool,
    fail_on: str,
) -> None:
    """Per rule: reachable on the graph (or dead, and why), the cases that make it fire or not, conditions
    the cases do not test (mutations no case notices), rules that shadow it (docs/rules.md, "Rule coverage")."""
    from app.ruletools import coverage  # noqa: PLC0415

    kinds = [k for k in fail_on.split(",") if k]
    unknown = [k for k in kinds if k not in FAIL_ON]
    if unknown:
        raise click.BadParameter(
            f"unknown {', '.join(unknown)} (expected {', '.join(FAIL_ON)})", param_hint="--fail-on"
        )
    fmt = output_format(fmt, as_json)
    if directory is not None and rules_dir is not None and directory != rules_dir:
        raise click.UsageError(f"two rule directories: {directory} and --rules {rules_dir} (give one, with --rules)")
    settings = Settings.from_env()
    directory = rules_dir or directory or _default_dir()
    engine = _loaded_engine(directory)
    declared = coverage.declared_types(settings.types_dir)
    if seed is not None:
        try:
            world = coverage.seed_world(seed, declared)
        except SeedError as exc:  # a seed that cannot be read or is not one: said, never a traceback
            raise click.ClickException(str(exc)) from None
    else:
        target, repo = open_repo(settings)  # reads only: no schema step
        try:
            summary = repo.rules_coverage_world()
        finally:
            repo.driver.close()
            if target.closer:
                target.closer()
        world = coverage.World.from_summary(summary["types"], summary["edges"], declared)
    evaluations, fired, errors = coverage.case_evaluations(engine, list(case_paths) or [directory / "tests"])
    doc = coverage.report(engine.rules(), world, evaluations, fired, errors)
    if fmt == "json":
        click.echo(json.dumps(doc, indent=2, default=str))
    else:
        for line in (coverage.markdown if fmt == "markdown" else coverage.table)(doc):
            click.echo(line)
    for error in errors:
        click.echo(f"ERROR: {error}", err=True)
    failed = coverage.failures(doc, kinds)
    if failed:
        click.echo("--fail-on: " + "; ".join(failed), err=True)
        raise SystemExit(2)
