"""`karma rules test`: the shipped cases pass (this is how `make test` runs them), and the runner reports
failures, broken test files and JSON the way an operator needs."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import yaml
from click.testing import CliRunner

from app.cli.rules import rules_cli
from app.policy import loader
from app.ruletools.cases import read_cases

RULES = Path(__file__).resolve().parents[2] / "rules"


def run(*args: str):
    return CliRunner().invoke(rules_cli, ["test", *args], catch_exceptions=False)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def test_every_shipped_case_passes():
    result = run("--rules", str(RULES))
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output
    summary = [line for line in result.output.splitlines() if line.startswith("PASS: ") and "/" in line][-1]
    passed, total = summary.removeprefix("PASS: ").split("/")
    assert passed == total and int(total) >= 30


def test_every_shipped_rule_has_cases_that_fire_it_and_cases_that_do_not():
    fires, quiet = set(), set()
    rule_ids = set(loader.build(RULES).rules)
    for path in sorted((RULES / "tests").glob("*.yaml")):
        for case in read_cases(path):
            expect = case.expect
            named = {d["rule"] for d in (expect.get("decisions") or []) + (expect.get("includes") or [])}
            fires |= named
            quiet |= {d["rule"] for d in expect.get("excludes") or []}
            if "decisions" in expect:
                quiet |= rule_ids - named
    assert rule_ids - fires == set()
    assert rule_ids - quiet == set()


def test_the_rules_loader_ignores_the_tests_directory(tmp_path):
    write(tmp_path / "r.yaml", "rules: []\n")
    before = loader.stat_signature(tmp_path)
    write(tmp_path / "tests" / "t.yaml", "cases: [not a rule file]\n")
    assert loader.stat_signature(tmp_path) == before
    assert loader.build(tmp_path).files == ["r.yaml"]


RULE = """
rules:
  - id: no-bastion-edits
    description: test
    effect: reject
    when: {change: {type: ec2-instance}}
    message: "{change.component} is frozen"
"""

CASES = """
fixture:
  components:
    - {id: vpc/v, environment: dev, config: {cidr: 10.0.0.0/16}}
    - {id: subnet/s, environment: dev, config: {vpc_nickname: v, cidr_block: 10.0.1.0/24}}
    - {id: ec2-instance/i, environment: dev, config: {subnet_nickname: s, instance_type: t3.micro}}
cases:
  - name: instance edits are rejected
    change: {component: ec2-instance/i, proposed_change: {instance_type: t3.large}, requested_by: a@b.c}
    expect:
      status: rejected
      decisions: [{rule: no-bastion-edits, effect: reject, component: ec2-instance/i, message: "is frozen"}]
  - name: a wrong expectation
    change: {component: ec2-instance/i, proposed_change: {instance_type: t3.large}, requested_by: a@b.c}
    expect:
      status: applied
      decisions: [{rule: some-other-rule, component: ec2-instance/i}]
  - name: subnet edits pass
    change: {component: subnet/s, proposed_change: {availability_zone: eu-west-3a}, requested_by: a@b.c}
    expect: {status: applied, decisions: []}
  - name: unknown config keys are invalid, as in the service
    change: {component: subnet/s, proposed_change: {nope: 1}, requested_by: a@b.c}
    expect: {status: invalid}
"""


def test_a_failing_case_shows_a_diff_and_exits_1(tmp_path):
    write(tmp_path / "rules" / "r.yaml", RULE)
    write(tmp_path / "rules" / "tests" / "t.yaml", CASES)
    result = run("--rules", str(tmp_path / "rules"))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "PASS: instance edits are rejected" in lines[1]
    assert lines[2].startswith("FAIL: a wrong expectation (cases[1]")
    assert lines[3:5] == ["  status: expected applied, got rejected", "  decisions: 1 missing, 1 unexpected"]
    assert "    -* some-other-rule on ec2-instance/i" in lines
    assert "    +reject no-bastion-edits on ec2-instance/i: ec2-instance/i is frozen" in lines
    assert lines[-2:] == ["PASS: 3/4", "FAIL: 1/4"]


def test_a_case_expecting_another_effect_says_which_the_rule_fired_as(tmp_path):
    """The rule fired on the expected component with the expected message, as another effect: the failure
    says so in one line (it said "1 missing, 1 unexpected" and a diff to read), in the text and the JSON;
    what else differs is still told as missing / unexpected."""
    write(tmp_path / "rules" / "r.yaml", RULE)
    fixture = CASES.partition("cases:")[0]  # CASES' graph
    effects = """cases:
  - name: expects a warning
    change: {component: ec2-instance/i, proposed_change: {instance_type: t3.large}, requested_by: a@b.c}
    expect:
      status: rejected
      decisions: [{rule: no-bastion-edits, effect: warn, message: "is frozen"}]
  - name: expects a block, and a decision on the vpc
    change: {component: ec2-instance/i, proposed_change: {instance_type: t3.large}, requested_by: a@b.c}
    expect:
      decisions: [{rule: no-bastion-edits, effect: block}, {rule: no-bastion-edits, component: vpc/v}]
"""
    write(tmp_path / "rules" / "tests" / "t.yaml", fixture + effects)
    result = run("--rules", str(tmp_path / "rules"))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    said = "  decisions: rule no-bastion-edits fired as reject on ec2-instance/i, expected"
    assert lines[1:3] == [lines[1], f"{said} warn"] and lines[1].startswith("FAIL: expects a warning (")
    assert lines[3].startswith("FAIL: expects a block, and a decision on the vpc")
    assert lines[4:6] == [f"{said} block", "  decisions: 1 missing, 0 unexpected"], lines
    assert "    -* no-bastion-edits on vpc/v" in lines
    body = json.loads(run("--rules", str(tmp_path / "rules"), "--json").output)
    assert body["cases"][0]["problems"] == [f"{said.strip()} warn"]


def test_json_output_and_explicit_paths(tmp_path):
    write(tmp_path / "rules" / "r.yaml", RULE)
    cases = write(tmp_path / "elsewhere" / "t.yaml", CASES)
    result = run("--rules", str(tmp_path / "rules"), "--json", str(cases))
    assert result.exit_code == 1
    body = json.loads(result.output)
    assert (body["passed"], body["failed"], body["errors"]) == (3, 1, [])
    first = body["cases"][0]
    assert first["ok"] and first["status"] == "rejected"
    assert first["decisions"] == [
        {
            "rule": "no-bastion-edits",
            "effect": "reject",
            "component": "ec2-instance/i",
            "message": "ec2-instance/i is frozen",
        }
    ]


def test_a_broken_test_file_names_file_and_field(tmp_path):
    write(tmp_path / "rules" / "r.yaml", RULE)
    doc = yaml.safe_load(CASES)
    doc["cases"][0]["expect"]["statuss"] = "applied"
    doc["cases"][1]["change"]["component"] = 3
    doc["cases"][2]["changes"] = []
    doc["cases"][3]["expect"]["decisions"] = [{"rule": "x", "efect": "warn"}]
    (tmp_path / "rules" / "tests").mkdir()
    (tmp_path / "rules" / "tests" / "t.yaml").write_text(yaml.safe_dump(doc))
    result = run("--rules", str(tmp_path / "rules"))
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("ERROR: ")]
    assert [e.split(": ", 2)[2] for e in errors[:5]] == [
        "cases[0].expect.statuss: unknown field (expected one of status, decisions, includes, excludes, remedies)",
        "cases[1].change.component: required, a string",
        "cases[2].changes: expected a non-empty list of operations",
        "cases[2].change: with changes, only requested_by, reason and on_blocked",
        "cases[3].expect.decisions[0].efect: unknown field (expected one of rule, effect, component, message)",
    ]
    assert errors[0].startswith("ERROR: ") and "t.yaml: cases[0]" in errors[0]


def test_a_broken_fixture_is_a_failure_naming_the_component(tmp_path):
    write(tmp_path / "rules" / "r.yaml", RULE)
    write(
        tmp_path / "rules" / "tests" / "t.yaml",
        """
        fixture:
          components:
            - {id: subnet/s, environment: dev, config: {vpc_nickname: missing, cidr_block: 10.0.1.0/24}}
        cases:
          - name: x
            change: {component: subnet/s, proposed_change: {availability_zone: a}, requested_by: a@b.c}
            expect: {status: applied}
        """,
    )
    result = run("--rules", str(tmp_path / "rules"))
    assert result.exit_code == 1
    assert (
        "fixture: components[0] (subnet/s): config.vpc_nickname: references unknown component 'vpc/missing'"
        in result.output
    )


def test_an_unexpected_invalid_says_why(tmp_path):
    write(tmp_path / "rules" / "r.yaml", RULE)
    cases = CASES.replace("expect: {status: invalid}", "expect: {status: applied}")
    write(tmp_path / "rules" / "tests" / "t.yaml", cases)
    result = run("--rules", str(tmp_path / "rules"))
    line = next(x for x in result.output.splitlines() if "expected applied, got invalid" in x)
    assert "nope" in line, result.output  # the service's validation message names the key


def test_rules_test_runs_from_a_copied_rules_directory(tmp_path, monkeypatch):
    """Case files name their seed relative to themselves (../../seed/…); a rules directory copied out of
    the project (a pull request's checkout) finds it from the working directory."""
    import shutil

    copy = shutil.copytree(RULES, tmp_path / "elsewhere" / "rules")
    monkeypatch.chdir(RULES.parent)
    result = run("--rules", str(copy))
    assert result.exit_code == 0, result.output[-3000:]
    assert "FAIL" not in result.output


def test_a_missing_file_fixture_is_said_once_not_once_per_case(tmp_path):
    write(tmp_path / "rules" / "r.yaml", RULE)
    doc = yaml.safe_load(CASES)
    doc["fixture"] = {"seed": "../no-such-seed.yaml"}
    (tmp_path / "rules" / "tests").mkdir()
    (tmp_path / "rules" / "tests" / "t.yaml").write_text(yaml.safe_dump(doc))
    result = run("--rules", str(tmp_path / "rules"))
    errors = [line for line in result.output.splitlines() if line.startswith("ERROR: ") and "t.yaml" in line]
    assert len(errors) == 1 and "fixture.seed" in errors[0] and "cannot read" in errors[0], result.output


def test_an_expectation_naming_no_rule_or_no_effect_fails_instead_of_holding(tmp_path):
    """`excludes: [a misspelt id]` held forever (no rule of that id ever fires), and an effect that is no
    effect matched nothing: a case that said nothing passed. An expected rule id the rule set has not
    fails the case, naming the nearest id; an unknown effect is refused with the file."""
    write(tmp_path / "rules" / "r.yaml", RULE)
    cases = CASES.split("  - name: a wrong expectation")[0] + textwrap.indent(
        textwrap.dedent(
            """\
            - name: a misspelt rule in excludes
              change: {component: ec2-instance/i, proposed_change: {instance_type: t3.large}, requested_by: a@b.c}
              expect: {excludes: [no-bastion-edit]}
            """
        ),
        "  ",
    )
    write(tmp_path / "rules" / "tests" / "t.yaml", cases)
    result = run("--rules", str(tmp_path / "rules"))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[2].startswith("FAIL: a misspelt rule in excludes (cases[1]")
    assert (
        lines[3] == "  expect.excludes[0].rule: no rule 'no-bastion-edit' is loaded (did you mean 'no-bastion-edits'?)"
    )
    write(
        tmp_path / "rules" / "tests" / "t.yaml",
        cases.replace("[no-bastion-edit]", "[{rule: no-bastion-edits, effect: rejct}]"),
    )
    result = run("--rules", str(tmp_path / "rules"))
    assert result.exit_code == 1
    assert (
        "cases[1].expect.excludes[0].effect: unknown effect 'rejct' (expected one of reject, block, require_approval, warn)"
        in result.output
    )


def test_an_expectation_naming_a_component_the_case_has_not_fails_instead_of_holding(tmp_path):
    """`excludes: [{rule, component: a misspelt id}]` held forever: no decision names a component the
    fixture and the change do not have. Such a component fails the case, naming the nearest id; a component
    the change creates is one a decision can name."""
    write(tmp_path / "rules" / "r.yaml", RULE)
    cases = CASES.split("  - name: a wrong expectation")[0] + textwrap.indent(
        textwrap.dedent(
            """\
            - name: a misspelt component in excludes
              change: {component: ec2-instance/i, proposed_change: {instance_type: t3.large}, requested_by: a@b.c}
              expect: {excludes: [{rule: no-bastion-edits, component: ec2-instance/ii}]}
            - name: a created component is one
              changes: [{op: create, component: ec2-instance/new, environment: dev,
                         config: {subnet_nickname: s, instance_type: t3.micro}}]
              change: {requested_by: a@b.c}
              expect: {includes: [{rule: no-bastion-edits, component: ec2-instance/new}]}
            """
        ),
        "  ",
    )
    write(tmp_path / "rules" / "tests" / "t.yaml", cases)
    result = run("--rules", str(tmp_path / "rules"))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[2].startswith("FAIL: a misspelt component in excludes (cases[1]")
    assert lines[3] == (
        "  expect.excludes[0].component: no component 'ec2-instance/ii' in the fixture or the change "
        "(did you mean 'ec2-instance/i'?)"
    )
    assert lines[4].startswith("PASS: a created component is one")
