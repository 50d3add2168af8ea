"""Policy rules: YAML rule files -> strict validation -> durable_rules -> decisions.

The rest of Karma uses only this surface::

    from app.policy import PolicyEngine, Decision, RuleFileError
    engine = PolicyEngine(rules_dir); engine.load(); engine.evaluate(facts) -> list[Decision]

See docs/rules.md for the rule language.
"""

from app.policy.engine import Decision, PolicyEngine
from app.policy.loader import validate_dir
from app.policy.errors import PolicyEvaluationError, RuleFileError


__all__ = ["Decision", "PolicyEngine", "PolicyEvaluationError", "RuleFileError", "validate_dir"]
