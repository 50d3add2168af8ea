"""The runtime tests a rule's condition makes, and the values that negate them (issue 13, derived waits)."""

from __future__ import annotations

from pathlib import Path

import yaml

from app.policy import remedies
from app.policy.language import Errors, parse_document

RULES = Path(__file__).resolve().parents[2] / "rules"


def rule(file_name: str, rule_id: str):
    doc = yaml.safe_load((RULES / file_name).read_text())
    errors = Errors(file_name)
    rules, _ = parse_document(doc, file_name, errors)
    return next(r for r in rules if r.id == rule_id)


def test_running_instance_rule_negates_to_the_first_other_declared_state():
    tests = remedies.runtime_tests(rule("network.yaml", "subnet-change-with-running-instance").when)
    assert [t.output for t in tests] == ["state"]
    choices = ["pending", "running", "stopping", "stopped", "terminated"]
    assert remedies.negation(tests[0], choices) == "stopped"


def test_unpublished_outputs_negate_to_non_empty():
    doc = yaml.safe_load((RULES / "dns.yaml").read_text())
    rules, _ = parse_document(doc, "dns.yaml", Errors("dns.yaml"))
    tests = remedies.runtime_tests(rules[0].when)
    assert sorted(t.output for t in tests) == ["distribution_id", "domain_name"]
    assert {remedies.negation(t, None) for t in tests} == {remedies.NON_EMPTY}


def test_a_rule_without_runtime_tests_derives_nothing():
    assert remedies.runtime_tests(rule("governance.yaml", "prod-change-needs-reason").when) == []
