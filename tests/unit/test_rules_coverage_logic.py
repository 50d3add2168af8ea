"""app.ruletools.coverage on small worlds (the live-graph path: tests/integration/test_rules_coverage.py)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from click.testing import CliRunner

from app.cli.rules import rules_cli
from app.ruletools import coverage
from app.ruletools.coverage import Evaluation, World
from test_policy_support import change, engine_for, facts, rule_yaml

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
WORLD = World.from_components(
    [
        {"id": "subnet/s", "type": "subnet", "environment": "dev", "config": {"cidr_block": "x"}},
        {"id": "ec2-instance/i", "type": "ec2-instance", "environment": "dev", "config": {}, "runtime": {"state": 1}},
        {"id": "s3-bucket/b", "type": "s3-bucket", "environment": "prod", "config": {}},
    ],
    [{"source": "ec2-instance/i", "target": "subnet/s", "kind": "depends_on"}],
)


def _rules(tmp_path, *texts):
    body = "rules:\n" + "".join(t.split("rules:\n", 1)[1] for t in texts)
    return engine_for(tmp_path, body).rules()


def test_reachable_paths_and_dead_rules_with_their_reason(tmp_path):
    rules = _rules(
        tmp_path,
        rule_yaml("change: {type: subnet}\nimpacted: {type: ec2-instance, runtime.state: {exists: true}}", rule_id="a"),
        rule_yaml("change: {type: s3-bucket}\nimpacted: {type: lambda}", rule_id="b"),
        rule_yaml("change: {type: subnet, environment: prod}", rule_id="c"),
        rule_yaml("change: {type: vpc}", rule_id="d"),
    )
    by_id = {r.id: coverage.reachability(r, WORLD) for r in rules}
    assert by_id["a"].components == 1 and by_id["a"].paths == ["subnet <- ec2-instance"] and not by_id["a"].dead
    assert by_id["b"].dead and "reaches no component of lambda" in by_id["b"].reason
    assert by_id["c"].dead and by_id["c"].reason == "no subnet in environment prod"
    assert by_id["d"].dead and "vpc" in by_id["d"].reason


def test_a_condition_no_case_distinguishes_is_reported(tmp_path):
    (rule,) = _rules(tmp_path, rule_yaml("change: {type: subnet, environment: dev}", rule_id="r"))
    evals = [
        Evaluation("fires", facts(change_fact=change(environment="dev")), NOW),
        Evaluation("other env", facts(change_fact=change(environment="prod")), NOW),
    ]  # every case is a subnet change: nothing shows the type test matters
    untested = coverage.untested_conditions(rule, evals)
    assert untested == [{"condition": "change.type eq 'subnet'", "survives": ["removed"]}]


def test_a_stronger_rule_that_always_holds_shadows(tmp_path):
    rules = _rules(
        tmp_path,
        rule_yaml("change: {type: [subnet, vpc]}", rule_id="strong", effect="reject"),
        rule_yaml("change: {type: subnet, environment: dev}", rule_id="weak", effect="warn"),
        rule_yaml("change: {environment: dev}", rule_id="wider", effect="warn"),
    )
    by_id = {r.id: r for r in rules}
    # a warn that always comes with a reject, or with another warn, never changes the outcome
    assert coverage.shadowed_by(by_id["weak"], rules) == ["strong", "wider"]
    assert coverage.shadowed_by(by_id["wider"], rules) == []  # any dev change, not only subnets
    assert coverage.shadowed_by(by_id["strong"], rules) == []  # weaker rules never shadow


def test_fail_on_names_the_rules(tmp_path):
    rules = _rules(tmp_path, rule_yaml("change: {type: vpc}", rule_id="d"))
    doc = coverage.report(rules, WORLD, [], {"a case": set()})
    assert coverage.failures(doc, ["dead", "uncovered"]) == ["dead: d", "uncovered: d"]
    assert coverage.failures(doc, ["shadowed"]) == []
    assert "| `d` | warn | **dead**" in "\n".join(coverage.markdown(doc))


def test_an_untested_count_or_overlaps_is_named_as_the_rule_says_it(tmp_path):
    """They were shown by the compiler's internal keys: 'count.n57238d23b075.n gte 1', 'derived.o… eq True'."""
    (rule,) = _rules(
        tmp_path,
        rule_yaml(
            "change: {type: subnet, new.cidr_block: {overlaps: 10.0.0.0/8}}\n"
            "count: {impacted: {type: ec2-instance}, gte: 1}",
            rule_id="r",
        ),
    )
    evals = [Evaluation("no subnet", facts(change_fact=change(type="vpc")), NOW)]
    shown = [u["condition"] for u in coverage.untested_conditions(rule, evals)]
    assert shown == [
        "change.type eq 'subnet'",
        "change.new.cidr_block overlaps ['10.0.0.0/8']",
        "count(impacted where impacted.type eq 'ec2-instance') gte 1",
    ]
    doc = coverage.report([rule], WORLD, evals, {"no subnet": set()})
    assert "untested conditions" in coverage.table(doc)[0]


def test_coverage_takes_the_rule_directory_as_its_siblings_do(tmp_path):
    """`rules test` and `rules replay` take --rules; coverage took only a positional DIR (kept: the older form)."""
    root = Path(__file__).resolve().parents[2]
    runner = CliRunner()
    seed = str(root / "seed" / "karma-world.yaml")
    by_option = runner.invoke(
        rules_cli, ["coverage", "--rules", str(root / "rules"), "--seed", seed, "--format", "json"]
    )
    assert by_option.exit_code == 0, by_option.output
    by_argument = runner.invoke(rules_cli, ["coverage", str(root / "rules"), "--seed", seed, "--format", "json"])
    assert by_argument.exit_code == 0, by_argument.output
    strip = lambda out: {**json.loads(out), "summary": {**json.loads(out)["summary"], "seconds": 0}}  # noqa: E731
    assert strip(by_option.stdout) == strip(by_argument.stdout)
    both = runner.invoke(rules_cli, ["coverage", str(tmp_path), "--rules", str(root / "rules"), "--seed", seed])
    assert both.exit_code == 2 and "two rule directories" in both.output


def test_a_rule_naming_no_type_is_dead_on_an_empty_graph_for_that_reason(tmp_path):
    rules = _rules(
        tmp_path,
        rule_yaml("change: {environment: prod}", rule_id="any"),
        rule_yaml("change: {all: [{type: subnet}, {type: vpc}]}", rule_id="none"),
    )
    empty = World.from_components([], [])
    assert coverage.reachability(rules[0], empty).reason == "the graph has no components"
    assert coverage.reachability(rules[1], WORLD).reason == "its type conditions exclude every type"


def test_coverage_takes_json_as_its_siblings_do():
    """`rules test`, `rules replay` and the other commands take --json; coverage took only --format json
    (kept). Both, naming another format: a usage error."""
    root = Path(__file__).resolve().parents[2]
    runner = CliRunner()
    args = ["coverage", "--rules", str(root / "rules"), "--seed", str(root / "seed" / "karma-world.yaml")]
    by_flag = runner.invoke(rules_cli, [*args, "--json"])
    assert by_flag.exit_code == 0, by_flag.output
    by_format = runner.invoke(rules_cli, [*args, "--format", "json"])
    strip = lambda out: {**json.loads(out), "summary": {**json.loads(out)["summary"], "seconds": 0}}  # noqa: E731
    assert strip(by_flag.stdout) == strip(by_format.stdout)
    assert runner.invoke(rules_cli, args).stdout.startswith("rule ")  # a table by default
    both = runner.invoke(rules_cli, [*args, "--json", "--format", "markdown"])
    assert both.exit_code == 2 and "--json and --format markdown" in both.output


def test_a_seed_that_cannot_be_read_is_refused_in_one_line(tmp_path):
    """`rules coverage --seed nope.yaml` ended in a SeedError traceback; it is the command's error (exit 1)."""
    root = Path(__file__).resolve().parents[2]
    result = CliRunner().invoke(
        rules_cli, ["coverage", "--rules", str(root / "rules"), "--seed", str(tmp_path / "nope.yaml")]
    )
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    assert "nope.yaml: cannot read: No such file or directory" in result.output
