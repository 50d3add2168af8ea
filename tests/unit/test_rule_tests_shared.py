"""The rule tests that make a rule fire (a rule's console page) run once per rule load for every worker of a
server, not once per worker (app/ruletools/shared_cases.py), and show the same."""

from __future__ import annotations

import textwrap

import pytest

from app.policy.engine import PolicyEngine
from app.ruletools import coverage
from app.ruletools.coverage import CoverageService
from app.settings import REPO_ROOT

RULE = """
rules:
  - id: frozen-instances
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
    expect: {status: rejected}
"""


def _no_run(*_args, **_kwargs):
    raise AssertionError("the rule tests ran again: another worker had kept their outcome")


def test_a_second_worker_reads_the_first_ones_outcome_and_shows_the_same(tmp_path, monkeypatch):
    """Each gunicorn worker ran every rule test (about a second) on its first rule page after a load."""
    engine = PolicyEngine(REPO_ROOT / "rules")
    engine.load()
    first = CoverageService(None, engine, {}, shared=tmp_path)
    alone = CoverageService(None, engine, {})  # a worker that shares nothing: what the page showed before
    ids = [rule.id for rule in engine.rules()]
    shown = {rule_id: first.cases_firing(rule_id) for rule_id in ids}
    assert shown == {rule_id: alone.cases_firing(rule_id) for rule_id in ids}
    assert any(cases for cases, _errors in shown.values())
    monkeypatch.setattr(coverage, "case_evaluations", _no_run)
    second = CoverageService(None, engine, {}, shared=tmp_path)  # another worker of the same server
    assert {rule_id: second.cases_firing(rule_id) for rule_id in ids} == shown


def test_an_edited_rule_test_shows_on_the_next_visit(tmp_path):
    """The outcome was kept per rule set only: an edited test showed after the next rule edit."""
    rules = tmp_path / "rules"
    (rules / "tests").mkdir(parents=True)
    (rules / "r.yaml").write_text(textwrap.dedent(RULE))
    (rules / "tests" / "t.yaml").write_text(textwrap.dedent(CASES))
    engine = PolicyEngine(rules)
    engine.load()
    service = CoverageService(None, engine, {}, shared=tmp_path / "shared")
    assert [c.split(": ", 1)[1] for c in service.cases_firing("frozen-instances")[0]] == ["instance edits are rejected"]
    (rules / "tests" / "t.yaml").write_text(textwrap.dedent(CASES).replace("instance edits", "edits of instances"))
    assert [c.split(": ", 1)[1] for c in service.cases_firing("frozen-instances")[0]] == [
        "edits of instances are rejected"
    ]
    other = CoverageService(None, engine, {}, shared=tmp_path / "shared")
    assert other.cases_firing("frozen-instances") == service.cases_firing("frozen-instances")


@pytest.mark.parametrize("kept", ["{not json", '{"fired": 3}', "[]"])
def test_a_kept_outcome_that_cannot_be_read_is_run_again(tmp_path, kept):
    engine = PolicyEngine(REPO_ROOT / "rules")
    engine.load()
    service = CoverageService(None, engine, {}, shared=tmp_path)
    shown = service.cases_firing("prod-wide-change-needs-approval")
    for path in (tmp_path / ".cases").glob("*.json"):
        path.write_text(kept)
    again = CoverageService(None, engine, {}, shared=tmp_path)
    assert again.cases_firing("prod-wide-change-needs-approval") == shown
