"""Generated rule sets for the rule-scaling benchmark are valid rule files."""

from __future__ import annotations

from karma_tools.bench import rules
from app.policy import PolicyEngine, validate_dir


def test_generated_rules_are_distinct_and_valid(tmp_path):
    generated = rules.generate(500)
    assert len(generated) == 500 == len({r["id"] for r in generated})
    assert {r["effect"] for r in generated} == {"reject", "block", "warn"}
    rules.write(tmp_path, 500)
    assert len(list(tmp_path.glob("*.yaml"))) == 10
    assert validate_dir(tmp_path) == []


def test_small_set_is_the_start_of_the_big_one_and_loads(tmp_path):
    assert rules.generate(5) == rules.generate(500)[:5]
    engine = PolicyEngine(rules.write(tmp_path, 5))
    engine.load()
    assert engine.rule_count == 5
