"""Karma's exit codes are a pipeline's contract (app.client.outcome: 2 rejected, 3 waiting): a usage error
— a mistyped option, a bad choice, an unknown command — is an error, 1 (Click's own 2 read as "rejected")."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from app.cli import main
from app.client.outcome import loaded_exit_code


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "vpc/x", "--sett", "a=1"],
        ["--bogus"],
        ["no-such-command"],
        ["drift", "--kind", "bogus"],
        ["rules", "nope"],
    ],
)
def test_a_usage_error_exits_1(args):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output


def test_a_seed_or_an_import_exits_as_a_request_does():
    assert loaded_exit_code({"status": "unchanged"}) == loaded_exit_code({"status": "imported"}) == 0
    assert loaded_exit_code({"status": "applied"}) == 0 and loaded_exit_code({"status": "rejected"}) == 2
    assert loaded_exit_code({"status": "pending_approval"}) == loaded_exit_code({"status": "queued"}) == 3
    blocked = {"status": "planned", "decisions": [{"effect": "require_approval"}]}
    assert loaded_exit_code(blocked) == 3 and loaded_exit_code({"status": "planned", "decisions": []}) == 0


@pytest.mark.parametrize(
    "args", [["approve", ""], ["rollback", " "], ["show", ""], ["apply", ""], ["transitions", "show", ""]]
)
def test_an_empty_id_is_named_not_sent(args):
    """`CHANGE=$(karma changes -q | head -1)` of an empty list: the API answered a bare 404/405 about URLs."""
    result = CliRunner().invoke(main, [*args, "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1 and "is empty: give a" in result.output, result.output


def test_json_is_the_apis_text_as_it_is():
    """`--json` prints the API's JSON: `→` as it is, not `\\u2192` (docs/api.md)."""
    from app.cli.common import as_json_text

    assert as_json_text({"reason": "vpc/a → subnet/b"}) == '{\n  "reason": "vpc/a → subnet/b"\n}'


@pytest.mark.parametrize(
    ("args", "table"),
    [
        (["log", "--status"], "app.audit.statuses:LOG_STATUSES"),
        (["changes", "--status"], "app.changes.status:STORED"),
        (["transitions", "list", "--status"], "app.transitions.status:STORED"),
    ],
)
def test_an_unknown_status_filter_is_refused_naming_the_choices(args, table):
    """`karma log --status bogus` listed nothing, as if nothing had that status: refused (exit 1, nothing
    sent) with the statuses the one table has; each of those is taken."""
    import importlib

    module, name = table.split(":")
    statuses = getattr(importlib.import_module(module), name)
    result = CliRunner().invoke(main, [*args, "bogus", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1 and "'bogus' is not one of" in result.output, result.output
    assert all(f"'{s}'" in result.output for s in statuses)
    taken = CliRunner().invoke(main, [*args, statuses[-1], "--url", "http://127.0.0.1:9"])
    assert taken.exit_code == 1 and "cannot reach Karma" in taken.output  # parsed, then sent


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["impact", "foo"], "COMPONENT"),  # asked /components/foo/impact: the id 'foo/impact', not found
        (["runtime", "report", "foo", "a=1"], "COMPONENT"),  # PUT /components/foo/runtime: a 405
        (["impact", "dev/vpc/impact"], "COMPONENT': 'dev/vpc/impact' is not a component id: a qualified id's nickname"),
        (["plan", "Vpc/X", "--set", "a=1"], "COMPONENT"),
        (["request", "a/b/c/d", "--set", "a=1"], "COMPONENT"),
        (["transitions", "propose", "foo", "--set", "a=1"], "COMPONENT"),
        (["log", "--component", "foo"], "'--component'"),
        (["changes", "--component", "foo"], "'--component'"),
        (["queue", "list", "--component", "foo"], "'--component'"),
        (["transitions", "list", "--component", "foo"], "'--component'"),
    ],
)
def test_what_cannot_be_a_component_id_is_named_not_sent(args, named):
    """A component id is `<type>/<nickname>` (or `<environment>/<type>/<nickname>`): anything else is
    refused before a request is made, naming the argument and the shape."""
    result = CliRunner().invoke(main, [*args, "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1 and "is not a component id" in result.output, result.output
    assert named in result.output and "nickname" in result.output, result.output
    assert "unreachable" not in result.output.lower() and "connect" not in result.output.lower()


def test_a_component_id_is_sent_as_it_is():
    for args in (["impact", "vpc/x"], ["impact", "dev/vpc/x"], ["log", "--component", "vpc/x"]):
        result = CliRunner().invoke(main, [*args, "--url", "http://127.0.0.1:9"])
        assert result.exit_code == 1 and "is not a component id" not in result.output, result.output


@pytest.mark.parametrize(
    "env,named",
    [
        ({"KARMA_CLIENT_TIMEOUT": "abc"}, "KARMA_CLIENT_TIMEOUT must be a number, got 'abc'"),
        ({"KARMA_REQUEST_DEADLINE": "70"}, "KARMA_REQUEST_DEADLINE must be more than 0 and below the worker timeout"),
        ({"KARMA_WORKERS": "two"}, "KARMA_WORKERS must be an integer, got 'two'"),
    ],
)
def test_a_setting_karma_cannot_use_is_named_in_one_line(env, named):
    """An operator's typo in the environment: `karma serve` refuses to start (nothing was bound, no
    database opened), saying which setting and what it got — it printed a ValueError traceback."""
    result = CliRunner().invoke(main, ["serve", "--no-seed"], env=env)
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert named in result.output and "Traceback" not in result.output, result.output


def test_a_seed_file_that_is_not_there_is_named_before_any_database_starts(tmp_path):
    """`karma seed missing.yaml` started (or looked for) Neo4j, then said it could not read the file: a
    missing file is a usage error, exit 1, as `karma import` names a missing tree."""
    result = CliRunner().invoke(main, ["seed", str(tmp_path / "missing.yaml")], env={"NEO4J_URI": "bolt://127.0.0.1:9"})
    assert result.exit_code == 1 and "missing.yaml' does not exist" in result.output, result.output


def test_a_runtime_report_s_refusal_names_its_own_arguments():
    """`karma runtime report X stopped` said "--set 'stopped': expected key=value": a flag the command has not."""
    result = CliRunner().invoke(main, ["runtime", "report", "ec2-instance/x", "stopped", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1 and "OUTPUT=VALUE argument 'stopped': expected OUTPUT=VALUE" in result.output
    assert "--set" not in result.output, result.output


def test_the_bare_queue_takes_the_list_s_options():
    """`karma queue` lists the queue, but `karma queue --json` / `--component` was "No such option"."""
    result = CliRunner().invoke(main, ["queue", "--component", "foo", "--json", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1 and "is not a component id" in result.output, result.output  # parsed as `list`'s
    sent = CliRunner().invoke(main, ["queue", "--json", "--url", "http://127.0.0.1:9"])
    assert sent.exit_code == 1 and json.loads(sent.stdout)["error"] == "unreachable", sent.output
    assert "No such command 'bogus'" in CliRunner().invoke(main, ["queue", "bogus"]).output


def test_every_option_says_what_it_does():
    """`karma approve --help` listed `--comment TEXT` and nothing else (and 23 more options, --format of
    apply/rollback/impact, --status/--page of the lists, tokens create --role…): an operator's --help
    explains every option of every command."""
    import click

    ctx = click.Context(main)
    bare = []

    def walk(command: click.Command, path: list[str]) -> None:
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                if path or name not in ("bench", "neo4j"):  # the tooling's plugins: their own packages
                    walk(command.get_command(ctx, name), [*path, name])
        bare.extend(
            f"{' '.join(path)} {p.opts[0]}" for p in command.params if isinstance(p, click.Option) and not p.help
        )

    walk(main, [])
    assert not bare, bare


def test_no_matching_change_prints_no_line_under_quiet():
    """`karma changes -q` of an empty list printed one empty line: `| while read id` ran once with id ""."""
    from tests.unit.test_client import _answers

    url = _answers(200, b'{"items": [], "total": 0, "page": 1, "page_size": 500}')
    for args in (["changes", "-q"], ["changes", "-q", "--page", "1"]):
        result = CliRunner().invoke(main, [*args, "--url", url], env={"KARMA_TOKEN": "t"})
        assert result.exit_code == 0 and result.stdout == "", repr(result.stdout)


@pytest.mark.parametrize("args", [["drift", "--component", "foo"], ["rules", "replay", "--component", "foo"]])
def test_a_local_command_s_component_filter_is_checked_as_the_api_commands_do(args):
    """`karma drift --component foo` opened Neo4j and said "0 drift entries", as if foo had none."""
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "'foo' is not a component id" in result.output, result.output


@pytest.mark.parametrize("as_json", [[], ["--json"]])
def test_karma_drift_says_drift_found_apart_from_could_not_ask(monkeypatch, as_json):
    """`karma drift` exited 1 when there was drift — the code of an error (Neo4j away): a CI job could not
    tell "drift found" from "could not ask". Drift found is 5; none is 0; a failure to read stays 1."""
    import contextlib

    from neo4j.exceptions import ServiceUnavailable

    from app.cli import drift as drift_cli
    from app.components.drift_service import DriftService

    entry = {"kind": "orphan", "component": "vpc/x", "field": "config", "rule": "r", "message": "m"}
    counts = {"contract": 0, "reference": 0, "runtime": 0, "orphan": 1, "unwritten": 0}
    found = {"total": 1, "counts": counts, "entries": [entry]}
    none = {"total": 0, "counts": dict.fromkeys(found["counts"], 0), "entries": []}
    monkeypatch.setattr(drift_cli, "graph", lambda settings: contextlib.nullcontext(None))
    for report, code in ((found, 5), (none, 0)):
        monkeypatch.setattr(
            DriftService, "report", lambda self, kind=None, component=None, environment=None, r=report: r
        )
        result = CliRunner().invoke(main, ["drift", *as_json])
        assert result.exit_code == code, (result.exit_code, result.output)
        if not as_json:  # counted in words: "1 drift entries" was said of one
            said = {5: "1 drift entry: 0 contract", 0: "0 drift entries: 0 contract"}[code]
            assert said in result.output, result.output

    def away(self, kind=None, component=None, environment=None):
        raise ServiceUnavailable("connection refused")

    monkeypatch.setattr(DriftService, "report", away)
    result = CliRunner().invoke(main, ["drift", *as_json])
    assert result.exit_code == 1 and "the database failed the command" in " ".join(result.output.split())


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "vpc/x", "--set", "a=1", "--format", "markdown"],
        ["request", "vpc/x", "--set", "a=1", "--format", "table"],
        ["apply", "plan-00000000", "--format", "markdown"],
        ["rollback", "chg-1", "--format", "markdown"],
        ["impact", "vpc/x", "--format", "svg"],
        ["transitions", "propose", "vpc/x", "--set", "a=1", "--format", "markdown"],
    ],
)
def test_json_and_another_format_is_a_usage_error_before_anything_is_sent(args):
    """`plan --format markdown --json` printed JSON (the flag won in silence): both, naming another format,
    is a usage error (exit 1) naming both, and nothing is sent (no server here to send it to)."""
    result = CliRunner().invoke(main, [*args, "--url", "http://127.0.0.1:9", "--json"])
    assert result.exit_code == 1 and "--json and --format" in result.output, result.output
